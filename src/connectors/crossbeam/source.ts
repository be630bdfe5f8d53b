import { AuthError, FatalError } from '../../errors.js';
import { stableStringify } from '../../staging/state.js';
import type { ReadMessage, ReadOptions, Source, StreamDescriptor } from '../types.js';
import type { CrossbeamClient } from './client.js';
import type { CrossbeamConfig } from './config.js';

/**
 * Crossbeam as a source. Three kinds of stream:
 * - lists (partners, populations, partner_populations): small, read whole every run;
 * - records (records_accounts, records_leads): cursor-paged snapshots, resumable within a pass;
 *   lists and records are snapshot streams (StreamDescriptor.snapshot): a row a completed pass no
 *   longer returns is tombstoned;
 * - feeds (overlaps_*, signals_*): bookmarkable — the final `next_href` of a pass is kept as state,
 *   and the next run starting from it gets only what was created, changed or deleted since
 *   (deletions carry `is_deleted: true` and become tombstones).
 * State is `{ nextHref }` per stream and per hash of the filters (StreamDescriptor.params): a
 * bookmark issued for other filters would silently miss changes, so changing filters starts over.
 */

type Query = Record<string, string | number | Array<string | number> | undefined>;

interface StreamDef {
  descriptor: Omit<StreamDescriptor, 'params'>;
  path: string;
  kind: 'list' | 'records' | 'feed';
  /** Filters sent as query parameters (and hashed into the state key). */
  filters?: (c: CrossbeamConfig) => Query;
}

const OVERLAP_KEY = ['crossbeam_record_id', 'partner_crossbeam_record_id'];

const overlapFilters = (c: CrossbeamConfig): Query => ({
  'partner-id': c.overlaps.partnerId,
  'population-ids': c.overlaps.populationIds,
  'partner-population-ids': c.overlaps.partnerPopulationIds,
});
const signalFilters = (c: CrossbeamConfig): Query => ({ event_type: c.signals.eventTypes, partner_id: c.signals.partnerIds });

export const CROSSBEAM_STREAMS: readonly StreamDef[] = [
  { descriptor: { name: 'partners', primaryKey: ['uuid'] }, path: '/v1/partners', kind: 'list' },
  { descriptor: { name: 'populations', primaryKey: ['id'] }, path: '/v1/populations', kind: 'list' },
  { descriptor: { name: 'partner_populations', primaryKey: ['id'] }, path: '/v1/partner-populations', kind: 'list' },
  { descriptor: { name: 'records_accounts', primaryKey: ['crossbeam_record_id'], cursorField: 'updated_at' }, path: '/v1/records/accounts', kind: 'records' },
  { descriptor: { name: 'records_leads', primaryKey: ['crossbeam_record_id'], cursorField: 'updated_at' }, path: '/v1/records/leads', kind: 'records' },
  { descriptor: { name: 'overlaps_accounts', primaryKey: OVERLAP_KEY }, path: '/v1/overlaps/accounts', kind: 'feed', filters: overlapFilters },
  { descriptor: { name: 'overlaps_leads', primaryKey: OVERLAP_KEY }, path: '/v1/overlaps/leads', kind: 'feed', filters: overlapFilters },
  { descriptor: { name: 'signals_accounts', primaryKey: ['event_id'], cursorField: 'triggered_at' }, path: '/v1/signals/accounts', kind: 'feed', filters: signalFilters },
  { descriptor: { name: 'signals_leads', primaryKey: ['event_id'], cursorField: 'triggered_at' }, path: '/v1/signals/leads', kind: 'feed', filters: signalFilters },
  { descriptor: { name: 'signals_own_deals', primaryKey: ['event_id'], cursorField: 'triggered_at' }, path: '/v1/signals/own-deals', kind: 'feed', filters: signalFilters },
];

export interface CrossbeamState {
  /** Where to continue: the next page of a pass, or a feed's bookmark. */
  nextHref?: string;
  /** The filters the href was issued for; state for other filters is ignored (never half-applied). */
  filters?: string;
}

function definedOnly(q: Query): Query {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
}

export class CrossbeamSource implements Source {
  constructor(
    private readonly client: CrossbeamClient,
    private readonly config: CrossbeamConfig,
  ) {}

  async check(): Promise<void> {
    const orgs = await this.client.organizations();
    if (!orgs.some((o) => o.uuid === this.config.organization)) {
      throw new AuthError(`Crossbeam: these credentials cannot act for organization ${this.config.organization}`, {
        hint: orgs.length ? `organizations available: ${orgs.map((o) => `${o.uuid}${o.name ? ` (${o.name})` : ''}`).join(', ')}` : 'the user belongs to no organization',
      });
    }
    await this.client.page('/v1/partners', { limit: 1 });
  }

  async discover(): Promise<StreamDescriptor[]> {
    return CROSSBEAM_STREAMS.map((s) => {
      const params = s.filters ? definedOnly(s.filters(this.config)) : undefined;
      return { ...s.descriptor, ...(params && Object.keys(params).length ? { params } : {}), ...(s.kind === 'feed' ? {} : { snapshot: true }) };
    });
  }

  async *read(stream: StreamDescriptor, opts: ReadOptions): AsyncIterable<ReadMessage> {
    const def = CROSSBEAM_STREAMS.find((s) => s.descriptor.name === stream.name);
    if (!def) throw new FatalError(`Crossbeam has no stream "${stream.name}"`, { hint: `streams: ${CROSSBEAM_STREAMS.map((s) => s.descriptor.name).join(', ')}` });
    const filters = def.filters ? definedOnly(def.filters(this.config)) : {};
    const filterKey = stableStringify(filters);
    const saved = (opts.state ?? {}) as CrossbeamState;
    const state: CrossbeamState = saved.nextHref && (saved.filters ?? stableStringify({})) === filterKey ? saved : {};
    const key = def.descriptor.primaryKey;
    let href: string;
    let query: Query | undefined;
    if (state.nextHref) href = this.client.rebase(state.nextHref);
    else {
      href = def.path;
      query = { limit: this.config.pageSize, ...filters };
      if (def.kind !== 'feed') yield { type: 'snapshot-start' };
    }
    for (;;) {
      if (opts.signal?.aborted) return;
      const page = await this.client.page(href, query, opts.signal).catch((e: unknown) => {
        if (state.nextHref && e instanceof FatalError && e.status === 400 && /cursor/i.test(e.message)) {
          throw new FatalError(`Crossbeam refused the saved bookmark of ${stream.name}: ${e.message}`, {
            status: 400,
            cause: e,
            hint: `Start the stream over: partnersync extract <connection> --stream ${stream.name} --full-refresh`,
          });
        }
        throw e;
      });
      query = undefined;
      for (const item of page.items) {
        if (item.is_deleted === true) yield { type: 'delete', key: Object.fromEntries(key.map((k) => [k, item[k]])) };
        else yield { type: 'record', record: item };
      }
      if (page.hasMore && page.nextHref) {
        href = page.nextHref;
        yield { type: 'checkpoint', state: { nextHref: this.client.rebase(href), filters: filterKey } satisfies CrossbeamState };
        continue;
      }
      // The end of a pass: a feed keeps its bookmark; snapshots start over next time.
      if (def.kind !== 'feed') {
        yield { type: 'checkpoint', state: {} satisfies CrossbeamState, snapshotEnd: true };
        return;
      }
      const done: CrossbeamState = page.nextHref ? { nextHref: this.client.rebase(page.nextHref), filters: filterKey } : {};
      yield { type: 'checkpoint', state: done };
      return;
    }
  }
}
