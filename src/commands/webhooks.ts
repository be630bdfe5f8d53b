import { ConfigError, UsageError } from '../errors.js';
import { openStaging, type Staging } from '../staging/db.js';
import { backfillCrossbeam } from '../server/backfill.js';
import { Inbox, INBOX_STATUSES, type InboxStatus } from '../server/inbox.js';
import { table } from '../ui/output.js';
import { loadCommandConfig, type CommandContext } from './context.js';
import type { ConfigResult } from '../config/load.js';

/**
 * `partnersync webhooks list|retry|replay|backfill`: inspect and steer the webhook inbox. These
 * only change row states; the worker of a running `partnersync serve` (or the next one started)
 * picks the events up.
 */
async function withInbox<T>(ctx: CommandContext, fn: (inbox: Inbox, staging: Staging, loaded: ConfigResult) => Promise<T>): Promise<T> {
  const loaded = loadCommandConfig(ctx, true);
  const staging = await openStaging(loaded.config.staging.url, { baseDir: loaded.baseDir });
  try {
    return await fn(new Inbox(staging), staging, loaded);
  } finally {
    await staging.close();
  }
}

function parseIds(args: unknown[] | undefined): number[] | undefined {
  const list = (args ?? []).flat().map(String).filter(Boolean);
  if (list.length === 0) return undefined;
  return list.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`expected inbox ids (numbers from \`partnersync webhooks list\`), got "${v}"`);
    return n;
  });
}

export function parseSince(value: string): Date {
  // Relative durations ("2h", "3d") are handy after an outage; anything else must be a date.
  const rel = /^(\d+)\s*(m|h|d)$/.exec(value.trim());
  if (rel) return new Date(Date.now() - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd']);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--since: expected an ISO date/time or a duration like 6h or 2d, got "${value}"`);
  return new Date(t);
}

export async function webhooksList(ctx: CommandContext, opts: { status?: string[]; source?: string; limit?: number }): Promise<void> {
  const bad = (opts.status ?? []).filter((s) => !(INBOX_STATUSES as string[]).includes(s));
  if (bad.length) throw new UsageError(`--status: unknown ${bad.join(', ')} (one of ${INBOX_STATUSES.join(', ')})`);
  await withInbox(ctx, async (inbox) => {
    const rows = await inbox.list({ status: opts.status as InboxStatus[] | undefined, source: opts.source, limit: opts.limit ?? 50 });
    const depth = await inbox.depth();
    const view = rows.map((r) => ({
      id: r.id,
      source: r.source,
      event_id: r.event_id,
      type: r.event_type,
      status: r.status,
      attempts: r.attempts,
      received_at: r.received_at,
      next_attempt_at: r.status === 'failed' ? r.next_attempt_at : null,
      processed_at: r.processed_at,
      last_error: r.last_error,
    }));
    ctx.out.result({ depth, events: view }, () =>
      [`inbox: ${Object.entries(depth).map(([k, v]) => `${k}=${v}`).join(' ')}`, '', table(view.map((v) => ({ ...v, last_error: v.last_error?.split('\n')[0] ?? '' })))].join('\n'),
    );
  });
}

export async function webhooksRetry(ctx: CommandContext, opts: { args?: unknown[]; source?: string; failed?: boolean }): Promise<void> {
  const ids = parseIds(opts.args);
  await withInbox(ctx, async (inbox) => {
    const n = await inbox.retry({ ids, source: opts.source, includeFailed: opts.failed });
    ctx.out.result({ requeued: n }, `requeued ${n} event(s) with a fresh attempt budget; a running \`partnersync serve\` processes them`);
  });
}

export async function webhooksReplay(ctx: CommandContext, opts: { args?: unknown[]; source?: string; since?: string }): Promise<void> {
  const ids = parseIds(opts.args);
  if (!ids && !opts.since) throw new UsageError('say which events to replay: inbox ids, or --since <time>', { hint: 'partnersync webhooks replay 12 13, or partnersync webhooks replay --since 2h --source crossbeam' });
  const since = opts.since ? parseSince(opts.since).toISOString() : undefined;
  await withInbox(ctx, async (inbox) => {
    const n = await inbox.replay({ ids, source: opts.source, since });
    ctx.out.result({ replayed: n }, `queued ${n} event(s) to run their actions again`);
  });
}

export async function webhooksBackfill(ctx: CommandContext, opts: { since?: string; until?: string; source?: string }): Promise<void> {
  if (!opts.since) throw new UsageError('--since is required (e.g. --since 2025-01-15T00:00:00Z or --since 6h)');
  const since = parseSince(opts.since);
  const until = opts.until ? parseSince(opts.until) : undefined;
  await withInbox(ctx, async (inbox, staging, loaded) => {
    const candidates = Object.entries(loaded.config.serve.sources).filter(([n, s]) => s.scheme === 'crossbeam' && (!opts.source || n === opts.source));
    if (candidates.length === 0) throw new ConfigError([`serve.sources: no crossbeam source${opts.source ? ` named "${opts.source}"` : ''} to backfill`]);
    if (candidates.length > 1) throw new UsageError(`several crossbeam sources (${candidates.map(([n]) => n).join(', ')}): choose one with --source`);
    const [sourceName, source] = candidates[0]!;
    const connName = source.connection ?? Object.entries(loaded.config.connections).find(([, c]) => c.type === 'crossbeam')?.[0];
    const conn = connName ? loaded.config.connections[connName] : undefined;
    if (!conn || conn.type !== 'crossbeam') {
      throw new ConfigError([`serve.sources.${sourceName}.connection: name the crossbeam connection to read signals from`]);
    }
    const { createCrossbeamClient } = await import('../connectors/crossbeam/client.js');
    const client = createCrossbeamClient(conn);
    const progress = ctx.out.progress(`backfilling ${sourceName} from Crossbeam signals since ${since.toISOString()}`);
    try {
      const r = await backfillCrossbeam({ inbox, source: sourceName, since, until, page: (p, q, signal) => client.page(p, q, signal), signal: ctx.signal });
      progress.succeed(`backfill: ${r.fetched} signal(s) fetched, ${r.inserted} new in the inbox, ${r.duplicates} already there`);
      ctx.out.result({ source: sourceName, since: since.toISOString(), ...r, staging: staging.displayUrl }, '');
    } catch (err) {
      progress.fail();
      throw err;
    }
  });
}
