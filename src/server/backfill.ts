import { createHash } from 'node:crypto';
import type { Inbox, InboxEventInput } from './inbox.js';

/**
 * `webhooks backfill`: recover events Crossbeam gave up delivering (it retries a few times, then
 * drops them) from its pull API, `/v1/signals/{accounts,leads}` filtered by `triggered_at[gte]`. Each
 * signal goes into the inbox under the webhook source's name, keyed by its `event_id`, so an event
 * that did arrive by webhook is a duplicate and not processed twice.
 *
 * @example
 *   const r = await backfillCrossbeam({ inbox, source: 'crossbeam', since: new Date('2025-01-01'), page: (p, q) => client.page(p, q) });
 *   // { fetched: 120, inserted: 7, duplicates: 113 }
 */
export interface SignalsPage {
  items: Array<Record<string, unknown>>;
  nextHref: string | null;
  hasMore: boolean;
}

export interface BackfillOptions {
  inbox: Inbox;
  /** The webhook source name the events are filed under (its actions run on them). */
  source: string;
  since: Date;
  until?: Date;
  feeds?: string[];
  /** One page of a Crossbeam list endpoint (the Crossbeam client's `page`). */
  page(pathOrHref: string, query?: Record<string, string | number>, signal?: AbortSignal): Promise<SignalsPage>;
  signal?: AbortSignal;
}

export interface BackfillResult {
  fetched: number;
  inserted: number;
  duplicates: number;
}

/** The dedupe key of a pulled signal: the webhook's event_id when the API gives it. */
export function signalEventId(item: Record<string, unknown>): string {
  for (const k of ['event_id', 'signal_id', 'id']) {
    const v = item[k];
    if ((typeof v === 'string' && v) || typeof v === 'number') return String(v);
  }
  return `sha256:${createHash('sha256').update(JSON.stringify(item)).digest('hex')}`;
}

export async function backfillCrossbeam(opts: BackfillOptions): Promise<BackfillResult> {
  const out: BackfillResult = { fetched: 0, inserted: 0, duplicates: 0 };
  for (const feed of opts.feeds ?? ['accounts', 'leads']) {
    const query: Record<string, string | number> = { limit: 1000, 'triggered_at[gte]': opts.since.toISOString() };
    if (opts.until) query['triggered_at[lt]'] = opts.until.toISOString();
    let page = await opts.page(`/v1/signals/${feed}`, query, opts.signal);
    for (;;) {
      const events: InboxEventInput[] = page.items.map((item) => ({
        source: opts.source,
        eventId: signalEventId(item),
        eventType: typeof item.event_type === 'string' ? item.event_type : null,
        body: JSON.stringify(item),
        headers: { 'x-partnersync-backfill': `signals/${feed}` },
      }));
      out.fetched += events.length;
      for (const o of await opts.inbox.addMany(events)) o === 'inserted' ? out.inserted++ : out.duplicates++;
      if (!page.hasMore || !page.nextHref) break;
      opts.signal?.throwIfAborted();
      page = await opts.page(page.nextHref, undefined, opts.signal);
    }
  }
  return out;
}
