import { Command, Option } from 'commander';
import type { CommandContext, GlobalOptions } from './commands/context.js';
import { UsageError } from './errors.js';

/**
 * Every command, flag and example of partnersync, in one place. Handlers live in
 * `src/commands/<name>.ts` as plain `(ctx, options) => Promise<void>` functions and are imported
 * only when their command runs, so `partnersync --help` never loads knex, jsforce or snowflake-sdk.
 */
export interface Runtime {
  version: string;
  makeContext(globals: GlobalOptions): Promise<CommandContext>;
}

type Handler = (ctx: CommandContext, options: Record<string, unknown>) => Promise<void>;
type Loader = () => Promise<Record<string, unknown>>;

function action(runtime: Runtime, load: Loader, name: string) {
  return async (...received: unknown[]) => {
    const cmd = received[received.length - 1] as Command;
    const args = received.slice(0, -2);
    const mod = await load();
    const handler = mod[name] as Handler | undefined;
    if (typeof handler !== 'function') throw new UsageError(`\`partnersync ${cmd.name()}\` is not available yet in this version.`);
    const ctx = await runtime.makeContext(cmd.optsWithGlobals() as GlobalOptions);
    await handler(ctx, { ...cmd.opts(), args });
  };
}

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`expected a number, got "${v}"`);
  return n;
};
const rate = (v: string) => {
  const n = num(v);
  if (n < 0 || n > 1) throw new UsageError(`--max-reject-rate is a share between 0 and 1, got "${v}"`);
  return n;
};

export function buildProgram(runtime: Runtime): Command {
  const program = new Command('partnersync')
    .description('Move partner-ecosystem data: extract from Crossbeam, CRMs and warehouses; model and match in staging; push to Salesforce, HubSpot, Intercom and warehouses.')
    .version(runtime.version, '-V, --version')
    .option('-c, --config <file>', 'config file (default: $PARTNERSYNC_CONFIG or ./partnersync.yaml)')
    .option('--json', 'print one JSON document with the result on stdout')
    .addOption(new Option('--log-format <format>', 'log lines on stderr').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .showHelpAfterError('(add --help for usage)')
    // Set before any subcommand is added: commander copies these settings into each subcommand.
    .exitOverride()
    .addHelpText('after', examples([
      'partnersync init my-project',
      'partnersync run --config partnersync.yaml',
      'partnersync push --target intercom --dry-run',
      'partnersync status --json',
    ]));

  // --- init -------------------------------------------------------------------------------------
  program
    .command('init [dir]')
    .description('scaffold partnersync.yaml, .env.example and folders (never overwrites)')
    .addHelpText('after', examples(['partnersync init', 'partnersync init ./partner-data']))
    .action(action(runtime, () => import('./commands/init.js'), 'init'));

  // --- extract ----------------------------------------------------------------------------------
  program
    .command('extract [connection] [streams...]')
    .description('pull records from a source into staging (raw_<connection>__<stream>), incrementally and resumably')
    .option('--full-refresh', 'forget saved cursors and re-read the streams from the start')
    .option('--since <date>', 'only records changed since this date (backfill window)')
    .option('--file <path>', 'one-off CSV extract without a config: the file to read')
    .option('--stream <name>', 'one-off CSV extract: the stream (table) name to load into')
    .option('--delimiter <char>', 'one-off CSV: field delimiter')
    .option('--encoding <name>', 'one-off CSV: utf8 | utf16le | latin1 | auto')
    .option('--max-reject-rate <share>', 'fail (exit 3) when more than this share of rows is rejected', rate)
    .addHelpText('after', examples([
      'partnersync extract                         # every extract step of the default pipeline',
      'partnersync extract crossbeam overlaps_accounts',
      'partnersync extract salesforce --full-refresh',
      'partnersync extract csv --file accounts.csv --stream crm_accounts',
    ]))
    .action(action(runtime, () => import('./commands/extract.js'), 'extract'));

  // --- model ------------------------------------------------------------------------------------
  const model = program
    .command('model')
    .description('run SQL models in staging (canonical accounts, partner signals, plays)')
    .option('-s, --select <selectors...>', 'models to run: name, name+ (with dependents), +name (with parents)')
    .addHelpText('after', examples(['partnersync model', 'partnersync model --select partner_signals+', 'partnersync model list']))
    .action(action(runtime, () => import('./commands/model.js'), 'model'));
  model
    .command('list')
    .description('show the model graph in run order')
    .action(action(runtime, () => import('./commands/model.js'), 'modelList'));

  // --- match ------------------------------------------------------------------------------------
  const match = program
    .command('match')
    .description('decide which account each partner signal belongs to; doubtful ones go to review')
    .option('--accounts <file>', 'file mode: accounts CSV (account_id,name,website,domains,parent_account_id,country)')
    .option('--signals <file>', 'file mode: signals CSV (signal_id,partner,population,company_name,website,email,country)')
    .option('--out <file>', 'file mode: where to write matches CSV')
    .option('--encoding <name>', 'file mode: the input files\' encoding: auto (UTF-8 unless a UTF-16 byte-order mark says otherwise) | utf8 | latin1 | windows-1252 | utf16le | utf-16')
    .addHelpText('after', examples([
      'partnersync match                                        # staging: partner_signals × accounts → matches',
      'partnersync match --accounts accounts.csv --signals signals.csv --out matches.csv',
      'partnersync match eval --accounts accounts.csv --signals signals.csv --gold gold.csv',
      'partnersync match explain SIG-000123',
      'partnersync match review list',
    ]))
    .action(action(runtime, () => import('./commands/match.js'), 'match'))
    // The root program reads options anywhere on the line (so `--json` may follow a subcommand), which makes
    // `match` — the first command declaring --accounts/--signals — parse `match eval --accounts a.csv` itself.
    // Positional options would need the root to be positional too; instead hand them on to the subcommand
    // that declares them, and leave `match` without them.
    .hook('preSubcommand', (parent, sub) => {
      for (const o of sub.options) {
        const key = o.attributeName();
        if (parent.getOptionValueSource(key) !== 'cli') continue;
        sub.setOptionValueWithSource(key, parent.getOptionValue(key), 'cli');
        parent.setOptionValueWithSource(key, undefined, 'default');
      }
    });
  match
    .command('explain <signalId>')
    .description('show the evidence, candidates and the rule that decided one signal')
    .option('--accounts <file>', 'file mode: accounts CSV')
    .option('--signals <file>', 'file mode: signals CSV')
    .option('--encoding <name>', 'file mode: the input files\' encoding (see match --help)')
    .action(action(runtime, () => import('./commands/match.js'), 'matchExplain'));
  match
    .command('eval')
    .description('measure precision, recall, F1 and review rate against a gold file')
    .requiredOption('--gold <file>', 'gold CSV: signal_id,expected_account_id[,stratum]')
    .option('--accounts <file>', 'file mode: accounts CSV')
    .option('--signals <file>', 'file mode: signals CSV')
    .option('--encoding <name>', 'the input files\' encoding, the gold file\'s included (see match --help)')
    .action(action(runtime, () => import('./commands/match.js'), 'matchEval'));
  match
    .command('review <action> [signalId] [accountId]')
    .description('list the review queue, or accept/reject a decision (list | accept | reject)')
    .action(action(runtime, () => import('./commands/match.js'), 'matchReview'));

  // --- push -------------------------------------------------------------------------------------
  program
    .command('push')
    .description('write model rows to destinations: only what changed, batched, rate-limited, rejects reported')
    .option('-t, --target <names...>', 'targets to push (default: all configured)')
    .option('--dry-run', 'print the plan (creates, updates, deletes, sample diffs, predicted calls); send nothing')
    .option('--plan-out <file>', 'save the plan as JSON')
    .option('--apply <file>', 'execute exactly a saved plan')
    .option('--full-resync', 'ignore the sync ledger and send every row')
    .option('--create-missing-fields', 'create destination fields/attributes that do not exist yet')
    .option('--max-reject-rate <share>', 'fail (exit 3) when more than this share of records is rejected', rate)
    .addHelpText('after', examples([
      'partnersync push --target intercom',
      'partnersync push --target salesforce --dry-run --plan-out plan.json',
      'partnersync push --apply plan.json',
    ]))
    .action(action(runtime, () => import('./commands/push.js'), 'push'));

  // --- run --------------------------------------------------------------------------------------
  program
    .command('run [pipeline]')
    .description('run a pipeline from partnersync.yaml: extract → model → match → push, stopping at the first failure')
    .option('--only <steps...>', 'run only these steps (extract, model, match, push)')
    .option('--from <step>', 'start at this step')
    .option('--since <date>', 'extract only records changed since this date')
    .option('--full-refresh [streams...]', 'extract from the start: every stream, or only these (<connection> or <connection>.<stream>)')
    .option('--max-reject-rate <share>', 'fail (exit 3) when more than this share of records is rejected', rate)
    .addHelpText('after', examples([
      'partnersync run',
      'partnersync run nightly --from push',
      'partnersync run --json > summary.json',
      'partnersync run --since 2024-01-01            # backfill: records changed since then',
      'partnersync run default --full-refresh crossbeam.overlaps_accounts',
    ]))
    .action(action(runtime, () => import('./commands/run.js'), 'run'));

  // --- status, runs, state, check ---------------------------------------------------------------
  program
    .command('status')
    .description('recent runs with their status, counts and errors; who holds the lock')
    .option('-n, --limit <n>', 'how many runs', num, 20)
    .action(action(runtime, () => import('./commands/status.js'), 'status'));
  const runs = program.command('runs').description('inspect the run log');
  runs
    .command('show <runId>')
    .description('one run: per-step counts, durations, rejects, events, last error')
    .action(action(runtime, () => import('./commands/status.js'), 'runsShow'));
  const state = program.command('state').description('inspect or reset stream cursors');
  state
    .command('show [connection]')
    .description('saved cursors per connection and stream')
    .action(action(runtime, () => import('./commands/status.js'), 'stateShow'));
  state
    .command('reset <connection> [stream]')
    .description('forget saved cursors (the next extract re-reads from the start)')
    .action(action(runtime, () => import('./commands/status.js'), 'stateReset'));
  program
    .command('check')
    .description('verify every configured connection (auth, permissions, fields) and report all problems at once')
    .option('--connection <names...>', 'only these connections (default: all configured)')
    .addHelpText('after', examples(['partnersync check', 'partnersync check --json', 'partnersync check --connection salesforce intercom']))
    .action(action(runtime, () => import('./commands/check.js'), 'check'));

  // --- emulate ----------------------------------------------------------------------------------
  program
    .command('emulate <service>')
    .description('serve a local emulator of salesforce | hubspot | intercom | crossbeam | snowflake until stopped')
    .option('-p, --port <port>', 'port (0 = random)', num, 0)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--seed <file>', 'JSON seed data')
    .option('--faults <spec>', 'inject faults, e.g. "429:0.2,reset:0.05,latency:50"')
    .option('--fault-seed <n>', 'seed for reproducible faults', num, 1)
    .addHelpText('after', examples(['partnersync emulate hubspot --port 4010', 'partnersync emulate salesforce --faults "429:0.2,reset:0.05" --fault-seed 7']))
    .action(action(runtime, () => import('./commands/emulate.js'), 'emulate'));

  // --- serve ------------------------------------------------------------------------------------
  program
    .command('serve')
    .description('receive partner webhooks and deal submissions (verified, deduplicated, durable)')
    .option('--host <host>', 'address to bind (default: serve.host, 127.0.0.1)')
    .option('-p, --port <port>', 'port (default: serve.port, 8787)', num)
    .option('--no-worker', 'only receive; another process works the inbox')
    .addHelpText('after', examples(['partnersync serve', 'partnersync serve --port 9000 --no-worker']))
    .action(action(runtime, () => import('./commands/serve.js'), 'serve'));
  const webhooks = program.command('webhooks').description('inspect and steer the webhook inbox');
  webhooks
    .command('list')
    .description('recent inbox events with status, attempts and last error')
    .option('--status <status...>', 'received | processing | processed | failed | dead')
    .option('--source <name>', 'only this webhook source')
    .option('-n, --limit <n>', 'how many events', num, 50)
    .action(action(runtime, () => import('./commands/webhooks.js'), 'webhooksList'));
  webhooks
    .command('retry [ids...]')
    .description('requeue dead events (or these ids) with a fresh attempt budget')
    .option('--source <name>', 'only this webhook source')
    .option('--failed', 'also requeue failed events waiting for their back-off')
    .action(action(runtime, () => import('./commands/webhooks.js'), 'webhooksRetry'));
  webhooks
    .command('replay [ids...]')
    .description('run the actions of already processed events again')
    .option('--source <name>', 'only this webhook source')
    .option('--since <time>', 'events received since (ISO time, or 6h / 2d)')
    .action(action(runtime, () => import('./commands/webhooks.js'), 'webhooksReplay'));
  webhooks
    .command('backfill')
    .description("fetch events missed by webhooks from Crossbeam's signals API into the inbox")
    .requiredOption('--since <time>', 'signals triggered since (ISO time, or 6h / 2d)')
    .option('--until <time>', 'and before')
    .option('--source <name>', 'the crossbeam webhook source to file them under')
    .addHelpText('after', examples(['partnersync webhooks backfill --since 2025-01-15T00:00:00Z', 'partnersync webhooks backfill --since 12h']))
    .action(action(runtime, () => import('./commands/webhooks.js'), 'webhooksBackfill'));

  // --- partners / deals (the partner deal API) ----------------------------------------------------
  const partners = program.command('partners').description('partners allowed to call the deal API, and their credentials');
  partners
    .command('add <partnerId>')
    .description('add a partner; prints its API key and OAuth client secret once')
    .option('--name <name>', 'display name (default: the id)')
    .option('--scopes <scopes>', 'deals:read and/or deals:write (default both)')
    .option('--expires-days <n>', 'credential lifetime (default: deals.apiKeyTtlDays)', num)
    .addHelpText('after', examples(['partnersync partners add northwind --name "Northwind Traders"', 'partnersync partners add acme --scopes deals:read --expires-days 30']))
    .action(action(runtime, () => import('./commands/partners.js'), 'partnersAdd'));
  partners.command('list').description('partners and their credentials (ids, state, expiry; never secrets)').action(action(runtime, () => import('./commands/partners.js'), 'partnersList'));
  partners
    .command('revoke-key <credentialOrPartner>')
    .description('revoke one credential (k_… / pc_…) or every credential of a partner, at once')
    .action(action(runtime, () => import('./commands/partners.js'), 'partnersRevokeKey'));
  partners
    .command('rotate-key <partnerId>')
    .description('issue a new credential; the old ones stop now or after --grace-hours')
    .addOption(new Option('--kind <kind>', 'which credential').choices(['api-key', 'oauth-client']).default('api-key'))
    .option('--grace-hours <n>', 'keep the old credential working this long', num)
    .option('--expires-days <n>', 'lifetime of the new credential', num)
    .option('--scopes <scopes>', 'scopes of the new credential (default: as before)')
    .addHelpText('after', examples(['partnersync partners rotate-key northwind --grace-hours 24', 'partnersync partners rotate-key northwind --kind oauth-client']))
    .action(action(runtime, () => import('./commands/partners.js'), 'partnersRotateKey'));
  const deals = program.command('deals').description('decide on deals partners registered through the deal API');
  deals
    .command('review')
    .description('deals waiting for a decision (conflicts with their reason), or --status')
    .option('--status <status>', 'open | submitted | conflict | accepted | rejected | all', 'open')
    .option('--partner <id>', 'only this partner')
    .action(action(runtime, () => import('./commands/deals.js'), 'dealsReview'));
  deals
    .command('accept <dealIds...>')
    .description('accept deals and push them to the CRM targets in deals.crm.targets (once, via the push ledger)')
    .option('--account <accountId>', 'the account the deal belongs to (when matching was unsure)')
    .option('--note <text>', 'why')
    .option('--by <name>', 'who decided (default: $PARTNERSYNC_USER or the OS user)')
    .option('--no-push', 'only record the decision; push later with `deals push`')
    .addHelpText('after', examples(['partnersync deals accept dl_3f2a… --note "first to register"', 'partnersync deals accept dl_3f2a… --account 001XX000003DHP0']))
    .action(action(runtime, () => import('./commands/deals.js'), 'dealsAccept'));
  deals
    .command('reject <dealIds...>')
    .description('reject deals (they never reach the CRM)')
    .option('--note <text>', 'why')
    .option('--by <name>', 'who decided')
    .action(action(runtime, () => import('./commands/deals.js'), 'dealsReject'));
  deals.command('push').description('push accepted deals not yet confirmed by the CRM (after a failure)').action(action(runtime, () => import('./commands/deals.js'), 'dealsPush'));

  // --- attribute --------------------------------------------------------------------------------
  const attribute = program
    .command('attribute')
    .description('compute partner credit, commissions and clawbacks into an append-only ledger')
    .option('--as-of <date>', 'replay: the result as of this date (YYYY-MM-DD = end of day UTC), printed, not posted')
    .option('--rules <version>', 'rule version to apply (default: attribution.activeRules)')
    .option('--diff', 'show what changed against what the ledger recorded (as of --as-of, or now)')
    .addOption(new Option('--format <format>', 'output of --as-of / --diff').choices(['table', 'csv', 'json']).default('table'))
    .addHelpText('after', examples([
      'partnersync attribute                                   # compute now, post reversals + new lines',
      'partnersync attribute --as-of 2024-03-31 --rules v1 --format csv',
      'partnersync attribute --diff --rules v2',
      'partnersync attribute explain OPP-0042',
      'partnersync attribute report --period 2024-Q2 --format csv',
    ]))
    .action(action(runtime, () => import('./commands/attribute.js'), 'attribute'))
    // Flags typed after a subcommand (`attribute ledger --as-of …`) are parsed by this parent first,
    // since it declares the same ones; hand them on to the subcommand that declares them too.
    .hook('preSubcommand', (parent, sub) => {
      for (const o of sub.options) {
        const key = o.attributeName();
        if (parent.getOptionValueSource(key) === 'cli') sub.setOptionValueWithSource(key, parent.getOptionValue(key), 'cli');
      }
    });
  attribute
    .command('explain <opportunity>')
    .description('show each touch, how it counted, the split and every number for one opportunity')
    .option('--as-of <date>', 'as of this date')
    .option('--rules <version>', 'rule version to apply')
    .action(action(runtime, () => import('./commands/attribute.js'), 'attributeExplain'));
  attribute
    .command('report')
    .description('per partner and currency: sourced/influenced pipeline and revenue, commissions, clawbacks, net')
    .requiredOption('--period <period>', '2024, 2024-Q2, 2024-03 or 2024-01-01..2024-06-30')
    .option('--as-of <date>', 'the ledger as it stood on this date')
    .addOption(new Option('--format <format>', 'output').choices(['table', 'csv', 'json']).default('table'))
    .action(action(runtime, () => import('./commands/attribute.js'), 'attributeReport'));
  attribute
    .command('ledger')
    .description('the recorded lines (open as of --as-of), or every ledger row with --all')
    .option('--as-of <date>', 'the ledger as it stood on this date')
    .option('--all', 'every row, reversals included')
    .addOption(new Option('--format <format>', 'output').choices(['table', 'csv', 'json']).default('table'))
    .action(action(runtime, () => import('./commands/attribute.js'), 'attributeLedger'));

  return program;
}
