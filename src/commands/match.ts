/**
 * `partnersync match` in file mode: accounts and signals from CSV files, results to CSV; `match eval`
 * against a gold file; `match explain <signal_id>`. Plain async functions: they return results or write
 * to the `out` they are given, throw PartnersyncErrors, and never print or exit.
 *
 * Input layouts (extra columns are ignored; header names are case-insensitive):
 * - accounts: `account_id,name[,website,domains,parent_account_id,country,duns,aliases,contact_emails]`
 *   (`domains`, `aliases`, `contact_emails` are `;`-separated)
 * - signals: `signal_id[,partner,population,company_name,website,email,country,duns]` (at least one of
 *   company_name, website, email)
 * - gold: `signal_id,expected_account_id[,stratum]`
 * Output: `signal_id,status,account_id,rule,confidence,candidate_account_ids,explanation`.
 *
 * @example
 *   await matchFiles({ accounts: 'accounts.csv', signals: 'signals.csv', out: 'matches.csv' });
 *   const report = await evaluateMatchFiles({ accounts: 'a.csv', signals: 's.csv', gold: 'gold.csv' });
 *   out.write(formatEvalReport(report));
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import { ConfigError, InputError, UsageError } from '../errors.js';
import { createMatcher, type Matcher } from '../matching/engine.js';
import { evaluateMatches, formatEvalReport, type EvalReport, type GoldRow } from '../matching/eval.js';
import { formatExplain } from '../matching/explain.js';
import { MatchPolicy, type AccountRecord, type MatchPolicyInput, type MatchResult, type SignalRecord } from '../matching/types.js';
import {
  decideReview,
  listReview,
  readDecisions,
  readStagedAccounts,
  readStagedSignals,
  runStagedMatch,
  applyDecision,
  MATCHES_TABLE,
} from '../matching/staging-store.js';
import { loadCommandConfig, withStagedRun, type CommandContext } from './context.js';

export { formatEvalReport };
export { createMatcher };

/** Anything with `write(string)`: process.stdout, an fs.WriteStream, or a test buffer. */
export interface OutWriter {
  write(chunk: string): unknown;
}

export const MATCH_OUTPUT_COLUMNS = [
  'signal_id', 'status', 'account_id', 'rule', 'confidence', 'candidate_account_ids', 'explanation',
] as const;

type Row = Record<string, string>;

/** Streams a CSV file's rows as objects keyed by lower-cased header; checks the required columns first. */
async function* readCsv(file: string, required: readonly string[], oneOf: readonly string[] = []): AsyncGenerator<Row> {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    columns: (header: string[]) => {
      const cols = header.map((h) => h.trim().toLowerCase());
      for (const c of required)
        if (!cols.includes(c))
          throw new InputError(`${file}: missing required column "${c}" (found: ${cols.join(', ') || 'none'})`, {
            hint: `the first line of ${file} must name the columns, including ${required.join(', ')}`,
          });
      if (oneOf.length && !oneOf.some((c) => cols.includes(c)))
        throw new InputError(`${file}: needs at least one of the columns ${oneOf.join(', ')}`);
      return cols;
    },
  });
  const input = createReadStream(file);
  const failed = new Promise<never>((_, reject) =>
    input.once('error', (e) =>
      reject(new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })),
    ),
  );
  failed.catch(() => undefined);
  input.pipe(parser);
  const it = parser[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = (await Promise.race([it.next(), failed])) as IteratorResult<Row>;
      if (next.done) return;
      yield next.value;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    input.destroy();
  }
}

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(';')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/** Reads an accounts CSV into records. */
export async function readAccountsCsv(file: string): Promise<AccountRecord[]> {
  const out: AccountRecord[] = [];
  for await (const r of readCsv(file, ['account_id', 'name'])) {
    out.push({
      accountId: (r.account_id ?? '').trim(),
      name: r.name ?? '',
      website: r.website || null,
      domains: list(r.domains),
      aliases: list(r.aliases),
      parentAccountId: r.parent_account_id?.trim() || null,
      country: r.country || null,
      duns: r.duns || null,
      contactEmails: list(r.contact_emails),
    });
  }
  return out;
}

/** Streams a signals CSV as records. */
export async function* readSignalsCsv(file: string): AsyncGenerator<SignalRecord> {
  for await (const r of readCsv(file, ['signal_id'], ['company_name', 'website', 'email'])) {
    yield {
      signalId: (r.signal_id ?? '').trim(),
      companyName: r.company_name || null,
      website: r.website || null,
      email: r.email || null,
      country: r.country || null,
      duns: r.duns || null,
    };
  }
}

/** Reads a gold CSV. */
export async function readGoldCsv(file: string): Promise<GoldRow[]> {
  const out: GoldRow[] = [];
  for await (const r of readCsv(file, ['signal_id', 'expected_account_id']))
    out.push({ signalId: (r.signal_id ?? '').trim(), expectedAccountId: r.expected_account_id?.trim() || null, stratum: r.stratum ?? null });
  return out;
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One output line (with the trailing newline) for a result. */
export function resultToCsvLine(r: MatchResult): string {
  return (
    [
      r.signalId,
      r.status,
      r.accountId ?? '',
      r.rule ?? '',
      r.confidence.toFixed(3),
      r.candidates.map((c) => c.accountId).join(';'),
      r.explanation,
    ]
      .map(csvCell)
      .join(',') + '\n'
  );
}

export interface MatchSummary {
  signals: number;
  matched: number;
  review: number;
  unmatched: number;
  byRule: Record<string, number>;
  /** Parent-link cycles found among the accounts (reported, not followed). */
  cycles: string[][];
  danglingParents: number;
  duplicateAccountIds: string[];
}

export interface MatchFilesOptions {
  accounts: string;
  signals: string;
  /** A file path (created/overwritten) or a writer. */
  out: string | OutWriter;
  policy?: MatchPolicy | MatchPolicyInput;
}

async function write(out: OutWriter, chunk: string): Promise<void> {
  // Honour back-pressure of real streams so a million rows never pile up in memory.
  const emitter = out as unknown as NodeJS.EventEmitter;
  if (out.write(chunk) === false && typeof emitter.once === 'function') await once(emitter, 'drain');
}

/** File mode: matches every signal and writes one CSV row per signal. */
export async function matchFiles(opts: MatchFilesOptions): Promise<MatchSummary> {
  const accounts = await readAccountsCsv(opts.accounts);
  const matcher = createMatcher(accounts, opts.policy ?? {});
  const file = typeof opts.out === 'string' ? createWriteStream(opts.out) : null;
  const out: OutWriter = file ?? (opts.out as OutWriter);
  const summary: MatchSummary = {
    signals: 0, matched: 0, review: 0, unmatched: 0, byRule: {},
    cycles: matcher.index.cycles, danglingParents: matcher.index.danglingParents.length,
    duplicateAccountIds: matcher.index.duplicateIds,
  };
  try {
    await write(out, MATCH_OUTPUT_COLUMNS.join(',') + '\n');
    for await (const s of readSignalsCsv(opts.signals)) {
      const r = matcher.match(s);
      summary.signals++;
      summary[r.status]++;
      if (r.status === 'matched' && r.rule) summary.byRule[r.rule] = (summary.byRule[r.rule] ?? 0) + 1;
      await write(out, resultToCsvLine(r));
    }
  } finally {
    if (file) {
      file.end();
      await once(file, 'close');
    }
  }
  return summary;
}

export interface MatchEvalOptions {
  accounts: string;
  signals: string;
  gold: string;
  policy?: MatchPolicy | MatchPolicyInput;
}

/** `match eval` in file mode: runs the engine over the files and scores it against the gold file. */
export async function evaluateMatchFiles(opts: MatchEvalOptions): Promise<EvalReport> {
  const accounts = await readAccountsCsv(opts.accounts);
  const gold = await readGoldCsv(opts.gold);
  const matcher = createMatcher(accounts, opts.policy ?? {});
  const results: MatchResult[] = [];
  for await (const s of readSignalsCsv(opts.signals)) results.push(matcher.match(s));
  return evaluateMatches(results, gold, matcher.index);
}

export interface ExplainSignalOptions {
  accounts: string;
  signals: string;
  signalId: string;
  policy?: MatchPolicy | MatchPolicyInput;
}

/** `match explain <signal_id>` in file mode: the decision for one signal and a readable account of it. */
export async function explainSignal(opts: ExplainSignalOptions): Promise<{ result: MatchResult; text: string }> {
  const accounts = await readAccountsCsv(opts.accounts);
  let matcher: Matcher | undefined;
  for await (const s of readSignalsCsv(opts.signals)) {
    if (s.signalId !== opts.signalId) continue;
    matcher = createMatcher(accounts, opts.policy ?? {});
    const result = matcher.match(s);
    return { result, text: formatExplain(result, s, matcher.index) };
  }
  throw new InputError(`signal ${opts.signalId} is not in ${opts.signals}`, { hint: 'check the signal_id column' });
}

// --- CLI handlers (wired in src/cli.ts) -------------------------------------------------------------

interface MatchCliOptions {
  accounts?: string;
  signals?: string;
  out?: string;
  gold?: string;
  args?: unknown[];
}

/** The `match:` section of partnersync.yaml as a policy; file mode works without a config file. */
function policyFromConfig(ctx: CommandContext): { policy: MatchPolicy; hasConfig: boolean } {
  const loaded = loadCommandConfig(ctx, true);
  const parsed = MatchPolicy.safeParse(loaded.config.match ?? {});
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((i) => `match.${i.path.join('.')}: ${i.message}`), { file: loaded.file ?? undefined });
  return { policy: parsed.data, hasConfig: Boolean(loaded.file) };
}

function fileMode(opts: MatchCliOptions, command: string): { accounts: string; signals: string } | null {
  if (!opts.accounts && !opts.signals) return null;
  if (!opts.accounts || !opts.signals)
    throw new UsageError(`${command} in file mode needs both --accounts and --signals`, { hint: `e.g. ${command} --accounts accounts.csv --signals signals.csv` });
  return { accounts: opts.accounts, signals: opts.signals };
}

function summaryText(s: { signals: number; matched: number; review: number; unmatched: number }, where: string): string {
  const pc = (n: number) => (s.signals ? ((100 * n) / s.signals).toFixed(1) : '0.0') + '%';
  return `${s.signals} signals: ${s.matched} matched (${pc(s.matched)}), ${s.review} to review (${pc(s.review)}), ${s.unmatched} unmatched → ${where}`;
}

/** `partnersync match`: file mode with --accounts/--signals/--out, pipeline mode (staging) otherwise. */
export async function match(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  const { policy } = policyFromConfig(ctx);
  const files = fileMode(opts, 'partnersync match');
  if (files) {
    if (!opts.out) throw new UsageError('file mode needs --out <file> for the matches CSV', { hint: 'partnersync match --accounts a.csv --signals s.csv --out matches.csv' });
    const summary = await matchFiles({ ...files, out: opts.out, policy });
    for (const c of summary.cycles) ctx.out.warn(`parent links form a cycle: ${c.join(' → ')} (treated as one hierarchy)`);
    ctx.out.result(summary, () => summaryText(summary, opts.out!));
    return;
  }
  await withStagedRun(ctx, { command: 'match', args: {} }, async ({ staging, run }) => {
    const summary = await runStagedMatch(staging.db, policy, run.id);
    for (const c of summary.cycles) ctx.out.warn(`parent links form a cycle: ${c.join(' → ')} (treated as one hierarchy)`);
    ctx.out.result(summary, () => summaryText(summary, `${MATCHES_TABLE} (${summary.decidedByReview} decided in review)`));
  });
}

/** `partnersync match eval --gold gold.csv [--accounts a.csv --signals s.csv]`. */
export async function matchEval(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  if (!opts.gold) throw new UsageError('match eval needs --gold <file>');
  const { policy } = policyFromConfig(ctx);
  const files = fileMode(opts, 'partnersync match eval');
  let report: EvalReport;
  if (files) report = await evaluateMatchFiles({ ...files, gold: opts.gold, policy });
  else {
    const gold = await readGoldCsv(opts.gold);
    report = await withStagedRun(ctx, { command: 'match eval', args: { gold: opts.gold }, lock: false }, async ({ staging }) => {
      const matcher = createMatcher(await readStagedAccounts(staging.db, policy), policy);
      const decisions = await readDecisions(staging.db);
      const results = (await readStagedSignals(staging.db)).map((s) => applyDecision(matcher.match(s), decisions.get(s.signalId)));
      return evaluateMatches(results, gold, matcher.index);
    });
  }
  ctx.out.result(report, () => formatEvalReport(report));
}

/** `partnersync match explain <signalId> [--accounts a.csv --signals s.csv]`. */
export async function matchExplain(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  const signalId = String(opts.args?.[0] ?? '');
  if (!signalId) throw new UsageError('match explain needs a signal id');
  const { policy } = policyFromConfig(ctx);
  const files = fileMode(opts, 'partnersync match explain');
  if (files) {
    const { result, text } = await explainSignal({ ...files, signalId, policy });
    ctx.out.result(result, text);
    return;
  }
  await withStagedRun(ctx, { command: 'match explain', args: { signalId }, lock: false }, async ({ staging }) => {
    const signal = (await readStagedSignals(staging.db)).find((s) => s.signalId === signalId);
    if (!signal) throw new InputError(`signal ${signalId} is not in partner_signals`);
    const matcher = createMatcher(await readStagedAccounts(staging.db, policy), policy);
    const result = applyDecision(matcher.match(signal), (await readDecisions(staging.db)).get(signalId));
    ctx.out.result(result, formatExplain(result, signal, matcher.index));
  });
}

/** `partnersync match review list|accept|reject [signalId] [accountId]`. */
export async function matchReview(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  const [action, signalId, accountId] = (opts.args ?? []).map((a) => (a === undefined ? undefined : String(a)));
  if (action !== 'list' && action !== 'accept' && action !== 'reject')
    throw new UsageError(`unknown review action "${action ?? ''}"`, { hint: 'use: match review list | accept <signalId> [accountId] | reject <signalId>' });
  await withStagedRun(ctx, { command: `match review ${action}`, args: { signalId, accountId }, lock: action !== 'list' }, async ({ staging }) => {
    if (action === 'list') {
      const items = await listReview(staging.db, 'open');
      ctx.out.result(items, () =>
        items.length === 0
          ? 'the review queue is empty'
          : items
              .map((i) => `${i.signalId}\n${i.candidates.map((c, n) => `  ${n + 1}. ${c.accountId}  [${c.rule} ${c.score.toFixed(3)}]  ${c.reason}`).join('\n')}`)
              .join('\n'),
      );
      return;
    }
    if (!signalId) throw new UsageError(`match review ${action} needs a signal id`);
    const d = await decideReview(staging.db, signalId, action, accountId);
    ctx.out.result(d, d.status === 'accepted' ? `${signalId} → ${d.accountId} (stored; wins over the engine from now on)` : `${signalId} rejected: stays unmatched (stored)`);
  });
}
