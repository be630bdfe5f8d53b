import { FatalError } from '../../errors.js';
import type { ReadMessage, ReadOptions, Source, SourceRecord, StreamDescriptor } from '../types.js';
import type { HubspotClient, HubspotObject, HubspotObjectType } from './client.js';
import type { HubspotConfig } from './config.js';

/**
 * HubSpot as a source: `companies`, `contacts`, `deals` (keyed by `id`) and `company_contacts`
 * (keyed by company_id + contact_id).
 *
 * - A first read lists every record (list paging, resumable by `after`).
 * - Later reads search for records modified in [last run − overlapMinutes, now). Search serves at
 *   most 10 000 results per query and its `after` offset shifts when a record in the window changes
 *   mid-read; so the window is read by keyset instead — sorted by hs_object_id, each request asking
 *   for ids above the last one seen, `after` never used — which neither hits the cap nor skips rows,
 *   whatever the window holds. Archived records whose `archivedAt` falls in the window become tombstones.
 * - `company_contacts` is re-read whole each run (associations changes do not touch the records'
 *   modification dates): companies by list paging, their contacts by v4 batch association reads. It
 *   is a snapshot stream: associations a complete read no longer returns are tombstoned.
 */

interface ObjectStream {
  name: HubspotObjectType;
  /** The property HubSpot bumps on every change of this object type. */
  modified: string;
  defaults: string[];
}

export const HUBSPOT_OBJECTS: readonly ObjectStream[] = [
  { name: 'companies', modified: 'hs_lastmodifieddate', defaults: ['name', 'domain', 'website', 'country', 'city', 'industry', 'numberofemployees', 'annualrevenue', 'lifecyclestage', 'hubspot_owner_id', 'createdate', 'hs_lastmodifieddate'] },
  { name: 'contacts', modified: 'lastmodifieddate', defaults: ['email', 'firstname', 'lastname', 'jobtitle', 'phone', 'company', 'lifecyclestage', 'hubspot_owner_id', 'createdate', 'lastmodifieddate'] },
  { name: 'deals', modified: 'hs_lastmodifieddate', defaults: ['dealname', 'amount', 'closedate', 'pipeline', 'dealstage', 'hubspot_owner_id', 'createdate', 'hs_lastmodifieddate'] },
];


export interface HubspotState {
  /** Start of the next incremental window (ISO): the end of the last completed read. */
  since?: string;
  /** An unfinished read: its window (or full listing) and how far it got. */
  pass?: { mode: 'list'; until: string; after?: string } | { mode: 'search'; from: string; until: string; afterId?: string };
}

export function flattenHubspot(o: HubspotObject): SourceRecord {
  return { id: o.id, ...o.properties, createdAt: o.createdAt ?? null, updatedAt: o.updatedAt ?? null };
}

export class HubspotSource implements Source {
  private readonly propsCache = new Map<HubspotObjectType, string[]>();

  constructor(
    private readonly client: HubspotClient,
    private readonly config: HubspotConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async check(): Promise<void> {
    for (const o of HUBSPOT_OBJECTS) await this.propertiesOf(o);
    await this.client.listPage('companies', { limit: 1 });
  }

  async discover(): Promise<StreamDescriptor[]> {
    return [
      ...HUBSPOT_OBJECTS.map((o) => ({
        name: o.name,
        primaryKey: ['id'],
        cursorField: o.modified,
        params: { properties: [...(this.config.properties[o.name] ?? [])].sort() },
      })),
      // Re-read whole each run: a snapshot, so an association removed in HubSpot is tombstoned.
      { name: 'company_contacts', primaryKey: ['company_id', 'contact_id'], snapshot: true },
    ];
  }

  private async propertiesOf(o: ObjectStream, signal?: AbortSignal): Promise<string[]> {
    const cached = this.propsCache.get(o.name);
    if (cached) return cached;
    const have = new Set(await this.client.propertyNames(o.name, signal));
    const extra = this.config.properties[o.name] ?? [];
    const missing = extra.filter((p) => !have.has(p));
    if (missing.length) {
      throw new FatalError(`HubSpot: ${o.name} have no property ${missing.join(', ')}`, { hint: 'Use internal property names (Settings → Properties → the property → "Internal name").' });
    }
    const props = [...new Set([...o.defaults.filter((p) => have.has(p)), ...extra, o.modified])];
    this.propsCache.set(o.name, props);
    return props;
  }

  async *read(stream: StreamDescriptor, opts: ReadOptions): AsyncIterable<ReadMessage> {
    if (stream.name === 'company_contacts') return yield* this.readAssociations(opts);
    const def = HUBSPOT_OBJECTS.find((o) => o.name === stream.name);
    if (!def) throw new FatalError(`HubSpot has no stream "${stream.name}"`, { hint: 'streams: companies, contacts, deals, company_contacts' });
    const properties = await this.propertiesOf(def, opts.signal);
    const state = (opts.state ?? {}) as HubspotState;
    const overlap = this.config.overlapMinutes * 60_000;
    let pass = state.pass;
    if (!pass) {
      const until = new Date(this.now()).toISOString();
      const since = state.since ? Date.parse(state.since) - overlap : opts.since?.getTime();
      pass = since === undefined ? { mode: 'list', until } : { mode: 'search', from: new Date(since).toISOString(), until };
    }

    if (pass.mode === 'list') {
      let after = pass.after;
      for (;;) {
        const page = await this.client.listPage(def.name, { limit: this.config.pageSize, after, properties }, opts.signal);
        for (const o of page.results) yield { type: 'record', record: flattenHubspot(o) };
        after = page.after;
        if (!after) break;
        yield { type: 'checkpoint', state: { ...state, pass: { ...pass, after } } satisfies HubspotState };
      }
      yield { type: 'checkpoint', state: { since: pass.until } satisfies HubspotState };
      return;
    }

    const from = Date.parse(pass.from);
    const until = Date.parse(pass.until);
    let afterId = pass.afterId;
    for (;;) {
      const filters = [
        { propertyName: def.modified, operator: 'GTE', value: String(from) },
        { propertyName: def.modified, operator: 'LT', value: String(until) },
        ...(afterId ? [{ propertyName: 'hs_object_id', operator: 'GT', value: afterId }] : []),
      ];
      const page = await this.client.search(
        def.name,
        { filterGroups: [{ filters }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }], properties, limit: this.config.pageSize },
        opts.signal,
      );
      for (const o of page.results) yield { type: 'record', record: flattenHubspot(o) };
      if (page.results.length < this.config.pageSize || page.results.length === page.total) break;
      afterId = page.results[page.results.length - 1]!.id;
      yield { type: 'checkpoint', state: { ...state, pass: { ...pass, afterId } } satisfies HubspotState };
    }
    // Archived records carry no searchable modification date; list them and keep those archived in the window.
    let after: string | undefined;
    do {
      const page = await this.client.listPage(def.name, { limit: this.config.pageSize, after, archived: true, properties: ['hs_object_id'] }, opts.signal);
      for (const o of page.results) {
        const at = o.archivedAt ? Date.parse(o.archivedAt) : Number.NaN;
        if (at >= from) yield { type: 'delete', key: { id: o.id } };
      }
      after = page.after;
    } while (after);
    yield { type: 'checkpoint', state: { since: pass.until } satisfies HubspotState };
  }

  private async *readAssociations(opts: ReadOptions): AsyncIterable<ReadMessage> {
    let after = (opts.state as { after?: string } | undefined)?.after;
    // A read from the first page is a new pass; one resumed at `after` continues the pass it cut.
    if (!after) yield { type: 'snapshot-start' };
    for (;;) {
      const page = await this.client.listPage('companies', { limit: this.config.pageSize, after, properties: ['hs_object_id'] }, opts.signal);
      const links = await this.client.associations('companies', 'contacts', page.results.map((c) => c.id), opts.signal);
      for (const l of links) {
        for (const to of l.toIds) yield { type: 'record', record: { company_id: l.fromId, contact_id: to.id, association_type_ids: to.typeIds } };
      }
      after = page.after;
      if (!after) break;
      yield { type: 'checkpoint', state: { after } };
    }
    yield { type: 'checkpoint', state: {}, snapshotEnd: true };
  }
}
