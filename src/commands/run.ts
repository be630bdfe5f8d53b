import { ConfigError, InterruptedError, isPartnersyncError, UsageError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';
import { extractStreams, rejectsOverLimit, type ExtractSummary } from '../extract/extract-streams.js';
import { MatchPolicy } from '../matching/types.js';
import { runStagedMatch, type StagedMatchSummary } from '../matching/staging-store.js';
import { selectModels } from '../model/graph.js';
import { planProject, runModels, type ModelRunResult } from '../model/runner.js';
import { pushTargets, throwIfRejectsOverLimit, type PushReport } from '../push/push-targets.js';
import { interrupted as interruptedError, throwIfAborted, withStagedRun, type CommandContext } from './context.js';

export const STEPS = ['extract', 'model', 'match', 'push'] as const;
export type Step = (typeof STEPS)[number];

export interface RunOptions {
  args?: unknown[];
  only?: string[];
  from?: string;
  since?: string;
  /**
   * `true` (bare `--full-refresh`): every extract stream of the pipeline starts over. A list limits it
   * to those streams: `connection` (all of its streams) or `connection.stream`.
   */
  fullRefresh?: boolean | string[];
  maxRejectRate?: number;
}

export interface StepReport {
  step: Step;
  status: 'succeeded' | 'failed' | 'skipped';
  seconds: number;
  summary: string;
  detail?: unknown;
  error?: string;
}

export interface RunReport {
  runId: string;
  pipeline: string;
  status: 'succeeded' | 'failed';
  steps: StepReport[];
}

/** Tables whose presence the post-match model pass depends on. */
const MATCH_TABLES = new Set(['matches', 'match_review']);

/**
 * `partnersync run [pipeline]`: the configured steps in order — extract → model → match → push — in ONE
 * run holding the staging lock, stopping at the first failure with a summary of what each step did.
 * Models that read `matches` (the plays) run after match, so a first run on an empty staging database
 * produces them too.
 */
export async function run(ctx: CommandContext, opts: RunOptions): Promise<void> {
  const requested = (opts.args?.[0] as string | undefined) ?? undefined;
  const since = opts.since ? parseDate(opts.since) : undefined;
  await withStagedRun(ctx, { command: 'run', args: { pipeline: requested, ...opts, args: undefined } }, async ({ config, baseDir, staging, run: runLog }) => {
    const [name, pipeline] = choosePipeline(config, requested);
    const steps = selectSteps(pipeline.steps as Step[], opts.only, opts.from);
    const refresh = fullRefreshSelector(pipeline.extract, opts.fullRefresh);
    const report: RunReport = { runId: runLog.id, pipeline: name, status: 'succeeded', steps: [] };
    let failure: unknown;
    // Seconds per step, kept in the run log's counts so `status` and `runs show` show where time went.
    const seconds: Partial<Record<Step, number>> = {};
    const recordSeconds = async (step: Step, s: number) => {
      seconds[step] = Number(((seconds[step] ?? 0) + s).toFixed(3));
      await runLog.count('seconds', { ...seconds });
    };
    // First in the counts, so the one-line summary of `partnersync status` starts with where time went.
    await runLog.count('seconds', {});

    const doStep = async (step: Step, fn: () => Promise<{ summary: string; detail?: unknown }>) => {
      if (failure) return;
      if (!steps.includes(step)) {
        report.steps.push({ step, status: 'skipped', seconds: 0, summary: 'not selected' });
        return;
      }
      throwIfAborted(ctx);
      const progress = ctx.out.progress(`${step}…`);
      const t0 = Date.now();
      try {
        const r = await fn();
        const took = (Date.now() - t0) / 1000;
        report.steps.push({ step, status: 'succeeded', seconds: took, summary: r.summary, detail: r.detail });
        progress.succeed(`${step}: ${r.summary} (${took.toFixed(1)}s)`);
        await recordSeconds(step, took);
        await runLog.event('info', `${step}: ${r.summary} (${took.toFixed(1)}s)`, { seconds: took }, step);
      } catch (caught) {
        // A request cut short by SIGINT/SIGTERM may surface as whatever its client throws (an abort
        // reason, a fetch error): after a signal, the step was interrupted, not failed.
        const err: unknown = ctx.signal.aborted && !isPartnersyncError(caught) ? interruptedError(ctx) : caught;
        const took = (Date.now() - t0) / 1000;
        const message = (err as Error)?.message ?? String(err);
        const interrupted = err instanceof InterruptedError;
        report.steps.push({ step, status: 'failed', seconds: took, summary: message.split('\n')[0]!, error: message, detail: (err as { detail?: unknown }).detail });
        progress.fail(`${step} ${interrupted ? 'interrupted' : 'failed'} after ${took.toFixed(1)}s`);
        await recordSeconds(step, took);
        await runLog.event(interrupted ? 'warn' : 'error', `${step} ${interrupted ? 'interrupted' : 'failed'} after ${took.toFixed(1)}s: ${message}`, { seconds: took }, step);
        failure = err;
      }
    };

    await doStep('extract', async () => {
      const summaries: ExtractSummary[] = [];
      for (const e of pipeline.extract) {
        // Streams to start over and streams to continue go as two calls, so one flag can name one stream.
        for (const part of refresh(e)) {
          summaries.push(await extractStreams({
            staging, run: runLog, connection: e.connection, config: config.connections[e.connection]!, baseDir,
            streams: part.streams, fullRefresh: part.fullRefresh, since,
            maxRejectRate: opts.maxRejectRate, throwOnRejects: false, signal: ctx.signal, out: ctx.out,
          }));
        }
      }
      const streams = summaries.flatMap((s) => s.streams);
      const over = summaries.find((s) => s.overLimit.length > 0);
      const sum = (k: 'records' | 'inserted' | 'updated' | 'unchanged' | 'deleted' | 'rejected') => streams.reduce((n, s) => n + s[k], 0);
      const summary = `${streams.length} stream(s), ${sum('records')} records: ${sum('inserted')} new, ${sum('updated')} changed, ${sum('unchanged')} unchanged, ${sum('deleted')} deleted, ${sum('rejected')} rejected`;
      // Over the reject limit, the input is suspect: stop before anything is modelled or pushed from it.
      if (over) throw Object.assign(rejectsOverLimit(over), { detail: streams });
      return { summary, detail: streams };
    });

    // The plays read `matches`: they run after match. Everything else runs before it.
    const { project, graph } = planProject(config.models, baseDir);
    const afterMatch = new Set<string>();
    for (const m of project.models.values()) {
      if (m.deps.tables.some((t) => MATCH_TABLES.has(t))) for (const d of [m.name, ...descendantsOf(graph.children, m.name)]) afterMatch.add(d);
    }
    const selected = new Set(pipeline.models?.length ? selectModels(graph, pipeline.models) : graph.names);
    const before = graph.names.filter((n) => selected.has(n) && !afterMatch.has(n));
    const after = graph.names.filter((n) => selected.has(n) && afterMatch.has(n));
    const modelSummary = (rs: ModelRunResult[]) => {
      const built = rs.filter((r) => r.status === 'built');
      return `${built.length} model(s) built${rs.length > built.length ? `, ${rs.length - built.length} skipped` : ''}`;
    };

    let modelResults: ModelRunResult[] = [];
    await doStep('model', async () => {
      modelResults = before.length ? (await runModels(staging, config, { select: before, run: runLog, baseDir, missingTables: 'skip', signal: ctx.signal })).models : [];
      return { summary: modelSummary(modelResults), detail: modelResults };
    });

    await doStep('match', async () => {
      const parsed = MatchPolicy.safeParse(config.match ?? {});
      if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `match.${i.path.join('.')}: ${i.message}`));
      const s: StagedMatchSummary = await runStagedMatch(staging.db, parsed.data, runLog.id);
      await runLog.count('match', { signals: s.signals, matched: s.matched, review: s.review, unmatched: s.unmatched });
      return { summary: `${s.signals} signal(s): ${s.matched} matched, ${s.review} to review, ${s.unmatched} unmatched`, detail: s };
    });

    if (after.length && steps.includes('model') && !failure) {
      await doStep('model', async () => {
        const rs = (await runModels(staging, config, { select: after, run: runLog, baseDir, missingTables: 'skip', signal: ctx.signal })).models;
        return { summary: `${modelSummary(rs)} after match`, detail: rs };
      });
    }

    let pushReport: PushReport | undefined;
    await doStep('push', async () => {
      pushReport = await pushTargets({ config, baseDir, staging, run: runLog }, pipeline.push, { maxRejectRate: opts.maxRejectRate, out: ctx.out, signal: ctx.signal });
      const totals = pushReport.targets.reduce((a, t) => ({ sent: a.sent + t.counts.sent, unchanged: a.unchanged + t.counts.unchanged, rejected: a.rejected + t.counts.rejected + t.counts.invalid }), { sent: 0, unchanged: 0, rejected: 0 });
      // Over the limit, the step fails but its report (what was delivered, where the rejects are) stays.
      try {
        throwIfRejectsOverLimit(pushReport);
      } catch (err) {
        throw Object.assign(err as object, { detail: pushReport });
      }
      return { summary: `${pushReport.targets.length} target(s): ${totals.sent} sent, ${totals.unchanged} unchanged, ${totals.rejected} rejected`, detail: pushReport };
    });

    report.status = failure ? 'failed' : 'succeeded';
    if (failure) {
      // --json: the summary travels with the error so stdout still holds exactly one JSON document.
      if (ctx.out.json && isPartnersyncError(failure)) throw Object.assign(failure, { result: report });
      ctx.out.result(report, () => renderRun(report));
      throw failure;
    }
    ctx.out.result(report, () => renderRun(report));
  });
}

function renderRun(report: RunReport): string {
  const lines = [`pipeline ${report.pipeline} ${report.status} (run ${report.runId})`];
  for (const s of report.steps) {
    const mark = s.status === 'succeeded' ? '✔' : s.status === 'failed' ? '✖' : '-';
    lines.push(`  ${mark} ${s.step.padEnd(8)} ${s.status === 'skipped' ? 'skipped' : `${s.seconds.toFixed(1)}s`}  ${s.summary}`);
  }
  return lines.join('\n');
}

function choosePipeline(config: LoadedConfig, name: string | undefined): [string, LoadedConfig['pipelines'][string]] {
  const names = Object.keys(config.pipelines);
  if (name) {
    const p = config.pipelines[name];
    if (!p) throw new UsageError(`no pipeline named "${name}"`, { hint: names.length ? `configured: ${names.join(', ')}` : 'add one under `pipelines:` in partnersync.yaml' });
    return [name, p];
  }
  if (config.pipelines.default) return ['default', config.pipelines.default];
  if (names.length === 1) return [names[0]!, config.pipelines[names[0]!]!];
  if (names.length === 0) throw new UsageError('no pipeline configured', { hint: 'add `pipelines: { default: { extract: [...] } }` to partnersync.yaml (see the README)' });
  throw new UsageError(`several pipelines are configured (${names.join(', ')}); name one`, { hint: 'partnersync run <pipeline>' });
}

export function selectSteps(configured: Step[], only?: string[], from?: string): Step[] {
  for (const s of [...(only ?? []), ...(from ? [from] : [])]) {
    if (!(STEPS as readonly string[]).includes(s)) throw new UsageError(`unknown step "${s}" (one of ${STEPS.join(', ')})`);
  }
  let steps = STEPS.filter((s) => configured.includes(s));
  if (from) steps = steps.filter((s) => STEPS.indexOf(s) >= STEPS.indexOf(from as Step));
  if (only?.length) steps = steps.filter((s) => only.includes(s));
  return steps;
}

function descendantsOf(children: Map<string, string[]>, name: string): string[] {
  const out: string[] = [];
  const stack = [...(children.get(name) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (out.includes(n)) continue;
    out.push(n);
    stack.push(...(children.get(n) ?? []));
  }
  return out;
}

type ExtractStep = LoadedConfig['pipelines'][string]['extract'][number];

/**
 * Split each extract step into the streams that start over and the streams that continue from their
 * cursors. `--full-refresh` alone refreshes everything; `--full-refresh crossbeam.overlaps_accounts crm`
 * refreshes one stream of crossbeam and every stream of crm. A selector naming nothing in the pipeline
 * is a usage error (`run --full-refresh nightly` would otherwise silently refresh nothing).
 */
export function fullRefreshSelector(extract: ExtractStep[], flag: boolean | string[] | undefined): (e: ExtractStep) => Array<{ streams: string[] | undefined; fullRefresh: boolean }> {
  const selectors = Array.isArray(flag) ? flag : [];
  const all = flag === true;
  const parsed = selectors.map((sel) => {
    const m = /^([^./]+)(?:[./](.+))?$/.exec(sel);
    if (!m) throw new UsageError(`--full-refresh: cannot read "${sel}" (write <connection> or <connection>.<stream>)`);
    return { sel, connection: m[1]!, stream: m[2] };
  });
  for (const p of parsed) {
    const steps = extract.filter((e) => e.connection === p.connection);
    const known = steps.length > 0 && (p.stream === undefined || steps.some((e) => !e.streams?.length || e.streams.includes(p.stream!)));
    if (!known) {
      const names = extract.map((e) => (e.streams?.length ? e.streams.map((s) => `${e.connection}.${s}`).join(', ') : e.connection)).join(', ');
      throw new UsageError(`--full-refresh: "${p.sel}" is not extracted by this pipeline`, { hint: `extracted: ${names || 'nothing'}; name the pipeline before the flag (partnersync run <pipeline> --full-refresh <streams>)` });
    }
  }
  return (e) => {
    if (all || e.fullRefresh || parsed.some((p) => p.connection === e.connection && p.stream === undefined)) return [{ streams: e.streams, fullRefresh: true }];
    const named = parsed.filter((p) => p.connection === e.connection).map((p) => p.stream!);
    if (named.length === 0) return [{ streams: e.streams, fullRefresh: false }];
    // The rest of the step's streams continue as usual. A step that lists none extracts every discovered
    // stream: that second pass reads the refreshed ones again too, incrementally from the cursor just saved.
    const rest = e.streams?.length ? e.streams.filter((s) => !named.includes(s)) : undefined;
    return [{ streams: named, fullRefresh: true }, ...(rest === undefined || rest.length ? [{ streams: rest, fullRefresh: false }] : [])];
  };
}

function parseDate(s: string): Date {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since: "${s}" is not a date (use e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`);
  return d;
}
