import { FatalError } from '../../errors.js';
import type { ReadMessage, ReadOptions, Source, StreamDescriptor } from '../types.js';
import type { SalesforceClient, SfField, SfRecord } from './client.js';
import type { SalesforceConfig } from './config.js';

/**
 * Salesforce as a source: Account, Contact and Opportunity as streams `accounts`, `contacts`,
 * `opportunities`, keyed by Id, incremental by SystemModstamp.
 *
 * - First read: `query` (live rows only), ordered by SystemModstamp, a checkpoint per page.
 * - Later reads: `queryAll` from the last SystemModstamp seen minus `overlapMinutes` (commits can
 *   land with an older stamp than rows already read; re-reading is an upsert), so changed rows
 *   come back as records and deleted ones (IsDeleted = true) as tombstones.
 * - When a COUNT() of the same WHERE is above `bulkThreshold`, the rows come from a Bulk API 2.0
 *   query job instead (one checkpoint at the end: a bulk job cannot resume halfway; a first read cut
 *   short after the extract loop committed part of it leaves `{ staged }`, so the next read sees deletions).
 * State is `{ since }` (ISO timestamp); its key includes the field list, so adding a field re-reads
 * everything once and no row lacks it.
 */

interface ObjectDef {
  stream: string;
  object: 'Account' | 'Contact' | 'Opportunity';
  fields: string[];
}

const AUDIT = ['CreatedDate', 'LastModifiedDate', 'SystemModstamp', 'IsDeleted'];

export const SALESFORCE_OBJECTS: readonly ObjectDef[] = [
  {
    stream: 'accounts',
    object: 'Account',
    fields: ['Id', 'Name', 'Website', 'ParentId', 'OwnerId', 'Type', 'Industry', 'BillingCountry', 'BillingState', 'BillingCity', 'NumberOfEmployees', 'AnnualRevenue', ...AUDIT],
  },
  {
    stream: 'contacts',
    object: 'Contact',
    fields: ['Id', 'AccountId', 'FirstName', 'LastName', 'Email', 'Title', 'Phone', 'OwnerId', ...AUDIT],
  },
  {
    stream: 'opportunities',
    object: 'Opportunity',
    fields: ['Id', 'AccountId', 'Name', 'StageName', 'Amount', 'CloseDate', 'Probability', 'IsClosed', 'IsWon', 'Type', 'LeadSource', 'OwnerId', ...AUDIT],
  },
];

const REQUIRED = new Set(['Id', 'SystemModstamp', 'IsDeleted']);

export interface SalesforceState {
  /** Largest SystemModstamp read so far (ISO, UTC). */
  since?: string;
  /** Largest Id read at exactly `since`: without an overlap window, a resume continues right after it. */
  lastId?: string;
  /** A first read that may have committed rows before its end: the read after it is not a first read. */
  staged?: true;
}

/** `2024-01-05T00:00:00.000+0000` (REST) or `…Z` (Bulk CSV) → epoch ms. */
export function parseSfDateTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || !v) return undefined;
  const t = Date.parse(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(t) ? undefined : t;
}

/** SOQL datetime literal, floored to the second (SOQL has no fractional-second literal). */
export function soqlDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const NUMERIC = new Set(['int', 'double', 'currency', 'percent', 'long']);

/** Bulk CSV gives every value as a string; give them the JSON types the REST API uses. */
export function fromBulkCsv(rec: SfRecord, types: Map<string, string>): SfRecord {
  const out: SfRecord = {};
  for (const [k, raw] of Object.entries(rec)) {
    const type = types.get(k.toLowerCase());
    if (raw === '' || raw === null || raw === undefined) out[k] = type === 'boolean' ? false : null;
    else if (typeof raw !== 'string') out[k] = raw;
    else if (type === 'boolean') out[k] = raw.toLowerCase() === 'true';
    else if (type && NUMERIC.has(type)) out[k] = Number(raw);
    else if (type === 'datetime') out[k] = raw.replace(/Z$/, '+0000');
    else out[k] = raw;
  }
  return out;
}

export class SalesforceSource implements Source {
  constructor(
    private readonly client: () => Promise<SalesforceClient>,
    private readonly config: SalesforceConfig,
  ) {}

  async check(): Promise<void> {
    const c = await this.client();
    await c.identity();
    for (const o of SALESFORCE_OBJECTS) await this.fieldsOf(o);
  }

  async discover(): Promise<StreamDescriptor[]> {
    return SALESFORCE_OBJECTS.map((o) => ({
      name: o.stream,
      primaryKey: ['Id'],
      cursorField: 'SystemModstamp',
      params: { object: o.object, extraFields: [...(this.config.extraFields[o.object] ?? [])].sort() },
    }));
  }

  /** Default fields the org has, plus every configured extra field (all must exist). */
  private async fieldsOf(o: ObjectDef): Promise<{ fields: string[]; described: SfField[] }> {
    const described = await (await this.client()).describe(o.object);
    const have = new Map(described.map((f) => [f.name.toLowerCase(), f.name]));
    const extra = this.config.extraFields[o.object] ?? [];
    const missing = [...[...REQUIRED].filter((f) => !have.has(f.toLowerCase())), ...extra.filter((f) => !have.has(f.toLowerCase()))];
    if (missing.length) {
      throw new FatalError(`Salesforce: ${o.object} has no field ${missing.join(', ')}`, {
        hint: 'Check extraFields (API names, custom fields end in __c) and the field-level security of the integration user.',
      });
    }
    const fields = [...new Set([...o.fields.filter((f) => have.has(f.toLowerCase())), ...extra.map((f) => have.get(f.toLowerCase())!)])];
    return { fields, described };
  }

  async *read(stream: StreamDescriptor, opts: ReadOptions): AsyncIterable<ReadMessage> {
    const def = SALESFORCE_OBJECTS.find((o) => o.stream === stream.name);
    if (!def) throw new FatalError(`Salesforce has no stream "${stream.name}"`, { hint: `streams: ${SALESFORCE_OBJECTS.map((o) => o.stream).join(', ')}` });
    const client = await this.client();
    const { fields, described } = await this.fieldsOf(def);
    const state = (opts.state ?? {}) as SalesforceState;

    const saved = parseSfDateTime(state.since);
    let where = '';
    if (saved !== undefined && this.config.overlapMinutes === 0 && state.lastId && saved % 1000 === 0 && !opts.since) {
      // Exact keyset on (SystemModstamp, Id): a resume neither repeats nor skips a row.
      const at = soqlDateTime(saved);
      where = ` WHERE (SystemModstamp > ${at} OR (SystemModstamp = ${at} AND Id > '${state.lastId.replace(/[^A-Za-z0-9]/g, '')}'))`;
    } else {
      let from = saved === undefined ? undefined : saved - this.config.overlapMinutes * 60_000;
      if (opts.since && (from === undefined || opts.since.getTime() > from)) from = opts.since.getTime();
      if (from !== undefined) where = ` WHERE SystemModstamp >= ${soqlDateTime(from)}`;
    }
    // Tombstones only matter once rows are staged: a first read asks for live rows only.
    const all = state.since !== undefined || state.staged === true;

    let maxStamp = saved;
    let lastId = state.lastId;
    const emit = function* (rows: SfRecord[]): Generator<ReadMessage> {
      for (const row of rows) {
        const { attributes: _attributes, ...rec } = row;
        const stamp = parseSfDateTime(rec.SystemModstamp);
        if (stamp !== undefined && (maxStamp === undefined || stamp >= maxStamp)) {
          if (stamp !== maxStamp || !lastId || String(rec.Id) > lastId) lastId = String(rec.Id);
          maxStamp = stamp;
        }
        if (rec.IsDeleted === true) yield { type: 'delete', key: { Id: rec.Id } };
        else yield { type: 'record', record: rec };
      }
    };
    const checkpoint = (): ReadMessage => ({
      type: 'checkpoint',
      state: (maxStamp === undefined ? {} : { since: new Date(maxStamp).toISOString(), ...(lastId ? { lastId } : {}) }) satisfies SalesforceState,
    });

    const total = await client.count(`SELECT COUNT() FROM ${def.object}${where}`, { all });
    if (total > this.config.bulkThreshold) {
      // The extract loop commits a long checkpoint-less job in parts (bounded memory). If this first
      // read is cut short after such a part, the next one must ask for tombstones too, or a row
      // deleted in between stays live in staging.
      if (!all) yield { type: 'checkpoint', state: { staged: true } satisfies SalesforceState };
      const types = new Map(described.map((f) => [f.name.toLowerCase(), f.type]));
      for await (const chunk of client.bulkQuery(`SELECT ${fields.join(', ')} FROM ${def.object}${where}`, { all, signal: opts.signal })) {
        yield* emit(chunk.map((r) => fromBulkCsv(r, types)));
      }
      yield checkpoint();
      return;
    }
    const soql = `SELECT ${fields.join(', ')} FROM ${def.object}${where} ORDER BY SystemModstamp ASC, Id ASC`;
    for await (const page of client.queryPages(soql, { all, batchSize: this.config.queryBatchSize, signal: opts.signal })) {
      yield* emit(page);
      // Rows come in SystemModstamp order, so everything up to maxStamp has been yielded.
      yield checkpoint();
    }
  }
}
