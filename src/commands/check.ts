import type { LoadedConfig } from '../config/load.js';
import { redact } from '../config/secrets.js';
import type { ConnectionConfig } from '../connectors/config-schemas.js';
import { getConnector } from '../connectors/registry.js';
import type { ConnectorContext, Destination, Source } from '../connectors/types.js';
import { isPartnersyncError, PartnersyncError, UsageError } from '../errors.js';
import { resolveTarget } from '../push/config.js';
import { preflightTarget, unsupportedMode } from '../push/target-preflight.js';
import { openStaging, type Staging } from '../staging/db.js';
import type { Output } from '../ui/output.js';
import { loadCommandConfig, type CommandContext } from './context.js';

/**
 * `partnersync check`: every configured connection is tried (sources: credentials, permissions and
 * the streams the pipelines name; destinations: credentials, the operations the targets' modes need,
 * and — through `preflight` without creating anything — the fields/attributes and the sync key of
 * every target) and EVERY problem is reported, not just the first. Exit 1 when there is any.
 * Nothing is written anywhere; no staging lock is taken, so it is safe while a run is going on.
 *
 * @example
 *   partnersync check --json   # { ok, staging, connections: [...], problems: [{connection, target?, kind, message, hint}] }
 */
export interface CheckOptions {
  connection?: string[];
}

export type ProblemKind = 'auth' | 'fields' | 'streams' | 'mode' | 'config' | 'error';

export interface CheckProblem {
  connection: string;
  target?: string;
  kind: ProblemKind;
  message: string;
  hint?: string;
}

export interface TargetCheck {
  target: string;
  object: string;
  /** Fields/attributes the destination lacks (empty: all there). */
  missing: string[];
  /** Why fields were not checked (the model is not built yet and the target maps no fields). */
  note?: string;
}

export interface ConnectionCheck {
  connection: string;
  type: string;
  roles: Array<'source' | 'destination'>;
  ok: boolean;
  seconds: number;
  streams?: string[];
  targets: TargetCheck[];
}

export interface CheckReport {
  ok: boolean;
  staging: { url: string; ok: boolean };
  connections: ConnectionCheck[];
  problems: CheckProblem[];
}

export async function check(ctx: CommandContext, opts: CheckOptions): Promise<void> {
  const { config, baseDir } = loadCommandConfig(ctx);
  const names = opts.connection?.length ? opts.connection : Object.keys(config.connections);
  const unknown = names.filter((n) => !config.connections[n]);
  if (unknown.length) {
    throw new UsageError(`no connection named ${unknown.map((n) => `"${n}"`).join(', ')}`, { hint: `configured: ${Object.keys(config.connections).join(', ') || 'none'}` });
  }
  if (names.length === 0) throw new UsageError('no connections configured', { hint: 'add a `connections:` section to partnersync.yaml' });

  const problems: CheckProblem[] = [];
  // Staging is read (never locked) only to learn the columns of models whose targets map no fields.
  let staging: Staging | undefined;
  let stagingOk = true;
  try {
    staging = await openStaging(config.staging.url, { baseDir });
  } catch (err) {
    stagingOk = false;
    problems.push({ connection: 'staging', kind: 'error', message: `staging database: ${messageOf(err)}`, hint: hintOf(err) });
  }
  try {
    // Connections are independent: try them all at once, so a slow one does not hide the others.
    const results = await Promise.all(names.map((name) => checkConnection(ctx.out, config, baseDir, staging, name)));
    for (const r of results) problems.push(...r.problems);
    const report: CheckReport = {
      ok: problems.length === 0,
      staging: { url: staging?.displayUrl ?? redact(config.staging.url), ok: stagingOk },
      connections: results.map((r) => r.check),
      problems: problems.map((p) => ({ ...p, message: redact(p.message), ...(p.hint ? { hint: redact(p.hint) } : {}) })),
    };
    if (report.ok) {
      ctx.out.result(report, () => renderCheck(report));
      return;
    }
    const n = report.problems.length;
    const failed = new Set(report.problems.map((p) => p.connection)).size;
    const err = new PartnersyncError(`check found ${n} problem${n === 1 ? '' : 's'} in ${failed} of ${names.length} connection${names.length === 1 ? '' : 's'}`, {
      code: 'CHECK_FAILED',
      hint: 'fix them and run `partnersync check` again',
    });
    // --json: one document with the report and the error.
    if (ctx.out.json) throw Object.assign(err, { result: report });
    ctx.out.result(report, () => renderCheck(report));
    throw err;
  } finally {
    await staging?.close();
  }
}

async function checkConnection(out: Output, config: LoadedConfig, baseDir: string, staging: Staging | undefined, name: string): Promise<{ check: ConnectionCheck; problems: CheckProblem[] }> {
  const conn = config.connections[name]! as ConnectionConfig;
  const t0 = Date.now();
  const problems: CheckProblem[] = [];
  const targets = Object.entries(config.targets).filter(([, t]) => t.connection === name);
  const result: ConnectionCheck = { connection: name, type: conn.type, roles: [], ok: true, seconds: 0, targets: [] };
  const cctx: ConnectorContext = {
    connection: name,
    baseDir,
    staging,
    log: (level, m) => (level === 'warn' ? out.warn(`${name}: ${m}`) : undefined),
  };
  let def;
  try {
    def = await getConnector(conn.type);
  } catch (err) {
    problems.push({ connection: name, kind: 'config', message: messageOf(err), hint: hintOf(err) });
    return { check: { ...result, ok: false }, problems };
  }

  // Wanted streams per pipeline extract step, and whether a model input reads from this connection.
  const wantedStreams = new Set<string>();
  let extracted = false;
  for (const p of Object.values(config.pipelines)) {
    for (const e of p.extract) {
      if (e.connection !== name) continue;
      extracted = true;
      for (const s of e.streams ?? []) wantedStreams.add(s);
    }
  }
  for (const inputs of Object.values(config.models.inputs)) {
    for (const i of inputs) {
      if (i.source.split('.')[0] !== name) continue;
      extracted = true;
      wantedStreams.add(i.source.slice(name.length + 1));
    }
  }
  const asSource = Boolean(def.createSource) && (extracted || targets.length === 0 || !def.createDestination);
  const asDestination = Boolean(def.createDestination) && (targets.length > 0 || !def.createSource);

  if (asSource) {
    result.roles.push('source');
    let source: Source | undefined;
    try {
      source = await def.createSource!(conn as never, cctx);
      await source.check();
      const streams = await source.discover();
      result.streams = streams.map((s) => s.name);
      const missing = [...wantedStreams].filter((w) => !result.streams!.includes(w));
      if (missing.length) {
        problems.push({
          connection: name,
          kind: 'streams',
          message: `${name} has no stream ${missing.map((m) => `"${m}"`).join(', ')} (named by pipelines or models.inputs)`,
          hint: `streams: ${result.streams.join(', ') || '(none)'}`,
        });
      }
    } catch (err) {
      problems.push({ connection: name, kind: kindOf(err), message: messageOf(err), hint: hintOf(err) });
    } finally {
      await source?.close?.().catch(() => undefined);
    }
  }

  if (asDestination) {
    result.roles.push('destination');
    let destination: Destination | undefined;
    try {
      destination = await def.createDestination!(conn as never, cctx);
      await destination.check();
      for (const [tName, raw] of targets) {
        const model = raw.model ?? tName;
        let columns: string[] | undefined;
        if (!raw.fields && staging && (await staging.db.schema.hasTable(model))) columns = Object.keys(await staging.db(model).columnInfo());
        const tc: TargetCheck = { target: tName, object: raw.object ?? model, missing: [] };
        result.targets.push(tc);
        try {
          const target = resolveTarget(tName, raw, columns);
          const modeProblem = unsupportedMode(target, conn.type, destination.capabilities);
          if (modeProblem) {
            problems.push({ connection: name, target: tName, kind: 'mode', message: modeProblem });
            continue;
          }
          if (!raw.fields && !columns) tc.note = `fields not checked: the model "${model}" is not built yet (run the pipeline once, or map fields in targets.${tName}.fields)`;
          // create=false: check never changes the destination, it only says what is missing.
          const pre = await preflightTarget(destination, target, false);
          tc.missing = pre.missing;
          if (pre.missing.length) {
            problems.push({
              connection: name,
              target: tName,
              kind: 'fields',
              message: `target ${tName}: ${target.object} has no field${pre.missing.length > 1 ? 's' : ''} ${pre.missing.join(', ')}`,
              hint: pre.hints?.join('; ') || `create them, or push once with: partnersync push --target ${tName} --create-missing-fields`,
            });
          } else if (pre.hints?.length) {
            for (const h of pre.hints) out.warn(`${name}: target ${tName}: ${h}`);
          }
        } catch (err) {
          problems.push({ connection: name, target: tName, kind: kindOf(err), message: messageOf(err), hint: hintOf(err) });
        }
      }
    } catch (err) {
      problems.push({ connection: name, kind: kindOf(err), message: messageOf(err), hint: hintOf(err) });
    } finally {
      await destination?.close?.().catch(() => undefined);
    }
  }

  result.ok = problems.length === 0;
  result.seconds = (Date.now() - t0) / 1000;
  return { check: result, problems };
}

function kindOf(err: unknown): ProblemKind {
  if (!isPartnersyncError(err)) return 'error';
  if (err.code === 'AUTH_FAILED') return 'auth';
  if (err.code === 'CONFIG_INVALID' || err.code === 'USAGE') return 'config';
  return 'error';
}

const messageOf = (err: unknown) => redact(String((err as Error)?.message ?? err));
const hintOf = (err: unknown) => (isPartnersyncError(err) && err.hint ? redact(err.hint) : undefined);

function renderCheck(report: CheckReport): string {
  const lines = [`${report.staging.ok ? '✔' : '✖'} staging ${report.staging.url}`];
  for (const c of report.connections) {
    const mine = report.problems.filter((p) => p.connection === c.connection);
    lines.push(`${c.ok ? '✔' : '✖'} ${c.connection} (${c.type}, ${c.roles.join(' + ') || 'unused'}) ${c.ok ? 'ok' : `${mine.length} problem${mine.length === 1 ? '' : 's'}`} (${c.seconds.toFixed(1)}s)`);
    for (const t of c.targets) {
      if (!mine.some((p) => p.target === t.target)) lines.push(`    ✔ target ${t.target} → ${t.object}${t.note ? ` (${t.note})` : ''}`);
    }
    for (const p of mine) {
      lines.push(`    ✖ ${p.target ? `target ${p.target}: ` : ''}${p.message.split('\n')[0]}`);
      if (p.hint) lines.push(`      hint: ${p.hint}`);
    }
  }
  for (const p of report.problems.filter((x) => x.connection === 'staging')) lines.push(`    ✖ ${p.message}`);
  lines.push('', report.ok ? 'all connections ok' : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} found`);
  return lines.join('\n');
}
