import { UsageError } from '../errors.js';
import { openStaging } from '../staging/db.js';
import { currentLock } from '../staging/lock.js';
import { getRun, listRuns } from '../staging/runs.js';
import { listState, resetState } from '../staging/state.js';
import { table } from '../ui/output.js';
import { loadCommandConfig, withStagedRun, type CommandContext } from './context.js';

async function withReadOnlyStaging<T>(ctx: CommandContext, fn: (s: Awaited<ReturnType<typeof openStaging>>) => Promise<T>): Promise<T> {
  const { config, baseDir } = loadCommandConfig(ctx, true);
  const staging = await openStaging(config.staging.url, { baseDir });
  try {
    return await fn(staging);
  } finally {
    await staging.close();
  }
}

const duration = (a: string, b: string | null) => (b ? `${((Date.parse(b) - Date.parse(a)) / 1000).toFixed(1)}s` : 'running');

/** `partnersync status`: recent runs and the lock holder. Reads only; takes no lock. */
export async function status(ctx: CommandContext, opts: { limit?: number }): Promise<void> {
  await withReadOnlyStaging(ctx, async (staging) => {
    const runs = await listRuns(staging, opts.limit ?? 20);
    const lock = await currentLock(staging);
    ctx.out.result({ staging: staging.displayUrl, lock: lock ?? null, runs }, () => {
      const lines = [`staging: ${staging.displayUrl}`];
      lines.push(lock ? `lock: held by ${lock.command} (run ${lock.runId}), pid ${lock.pid} on ${lock.host} since ${lock.startedAt}` : 'lock: free');
      lines.push('');
      lines.push(table(runs.map((r) => ({
        run: r.id,
        command: r.command,
        started: r.startedAt,
        took: duration(r.startedAt, r.endedAt),
        status: r.status,
        exit: r.exitCode,
        counts: summariseCounts(r.counts),
        error: r.error?.split('\n')[0] ?? '',
      }))));
      return lines.join('\n');
    });
  });
}

function summariseCounts(counts: Record<string, unknown>): string {
  // Steps keep counts flat ({sent: 3}) or per item ({accounts: {rows: 3}}): show numeric totals per step.
  const totals = (v: unknown, acc: Map<string, number>) => {
    for (const [k, x] of Object.entries((v as Record<string, unknown>) ?? {})) {
      if (typeof x === 'number') acc.set(k, (acc.get(k) ?? 0) + x);
      else if (x && typeof x === 'object') totals(x, acc);
    }
    return acc;
  };
  return Object.entries(counts)
    .map(([step, c]) => `${step}: ${[...totals(c, new Map())].filter(([k]) => k !== 'ms').map(([k, v]) => `${k}=${v}`).join(' ')}`)
    .join('; ');
}

/** `partnersync runs show <id>`. */
export async function runsShow(ctx: CommandContext, opts: { args: unknown[] }): Promise<void> {
  const id = String(opts.args[0]);
  await withReadOnlyStaging(ctx, async (staging) => {
    const found = await getRun(staging, id);
    if (!found) throw new UsageError(`no run with id ${id}`, { hint: 'run `partnersync status` to list recent runs' });
    const rejects: Array<{ step: string; source: string; kind: string; n: number | string }> = await staging.db('rejects').where({ run_id: id }).select('step', 'source', 'kind').count({ n: '*' }).groupBy('step', 'source', 'kind');
    ctx.out.result({ ...found, rejects }, () => {
      const r = found.run;
      const lines = [
        `run ${r.id}: ${r.command} ${r.status} (exit ${r.exitCode ?? '-'}) started ${r.startedAt}, took ${duration(r.startedAt, r.endedAt)}`,
        `args: ${JSON.stringify(r.args)}`,
        '',
        'counts per step:',
        ...Object.entries(r.counts).map(([step, c]) => `  ${step}: ${JSON.stringify(c)}`),
        '',
        `rejects: ${rejects.length ? rejects.map((x) => `${x.step} ${x.source} ${x.kind}=${x.n}`).join(', ') : 'none'}`,
        '',
        'events:',
        ...found.events.map((e) => `  ${e.at} ${e.level.padEnd(5)} ${e.step ? `[${e.step}] ` : ''}${e.message}`),
      ];
      if (r.error) lines.push('', `error: ${r.error}`);
      return lines.join('\n');
    });
  });
}

/** `partnersync state show [connection]`. */
export async function stateShow(ctx: CommandContext, opts: { args: unknown[] }): Promise<void> {
  const conn = opts.args[0] as string | undefined;
  await withReadOnlyStaging(ctx, async (staging) => {
    const rows = (await listState(staging)).filter((r) => !conn || r.connection === conn);
    ctx.out.result(rows, () => table(rows.map((r) => ({ connection: r.connection, stream: r.stream, params: r.params_hash.slice(0, 8), updated: r.updated_at, state: r.state }))));
  });
}

/** `partnersync state reset <connection> [stream]`: takes the lock, so it never races a running extract. */
export async function stateReset(ctx: CommandContext, opts: { args: unknown[] }): Promise<void> {
  const [conn, stream] = opts.args as [string, string | undefined];
  await withStagedRun(ctx, { command: 'state-reset', args: { connection: conn, stream }, configOptional: true }, async ({ staging }) => {
    const n = await resetState(staging, conn, stream);
    ctx.out.result({ connection: conn, stream: stream ?? null, removed: n }, `removed ${n} saved cursor(s) for ${conn}${stream ? `/${stream}` : ''}`);
  });
}
