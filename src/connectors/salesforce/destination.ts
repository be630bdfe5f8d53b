import type jsforce from 'jsforce';
import { AuthError, FatalError, PartnersyncError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import { isNetworkError, retryDelayFromHeaders, sleep, withRetry } from '../shared/http.js';
import type { Destination, DestinationCapabilities, FieldCheck, WriteBatch, WriteOperation, WriteResult } from '../types.js';
import type { SalesforceConfig } from './config.js';

/**
 * Salesforce as a push destination, over jsforce 3's authenticated connection.
 *
 * - Small diffs: sObject Collections, at most 200 records per request, `allOrNone: false` so every
 *   record gets its own SaveResult. upsert = `PATCH /composite/sobjects/{object}/{externalIdField}`,
 *   update = `PATCH /composite/sobjects` by Id, create = `POST /composite/sobjects`,
 *   delete = `DELETE /composite/sobjects?ids=`.
 * - Large diffs: when one write() gets more than `bulkThreshold` records, they go as ONE Bulk API 2.0
 *   ingest job (create → upload CSV → UploadComplete → poll → successful/failed/unprocessed results).
 *   `capabilities.bulk` tells the engine it may send batches that large once a run's diff is above
 *   the threshold; otherwise it sends batches of 200 (`capabilities.maxBatch`).
 * - UNABLE_TO_LOCK_ROW (another transaction holds the record or its parent) is retried serially,
 *   a record at a time with a growing pause, `lockRetries` times; what still fails is retriable.
 * - A collection refused as a whole with a 400 is bisected until the offending record stands alone,
 *   so one bad record cannot reject 199 good ones.
 * - Requests go through jsforce with its own retries switched off (`retry.maxRetries: 0`) and a
 *   transport shim that keeps the raw response, so a whole-request 429/5xx/reset surfaces as
 *   RetriableError with the server's Retry-After for the push governor; 401 is still refreshed by
 *   jsforce (session expiry), other 401/403 become AuthError.
 *
 * Salesforce fields cannot be created through the REST API: preflight reports missing custom fields
 * with a hint (Setup or the Metadata API) instead of creating them.
 *
 * @example
 *   const dest = new SalesforceDestination(async () => (await connectSalesforce(config)).connection, { bulkThreshold: 2000 });
 *   await dest.write({ object: 'Account', operation: 'upsert', keyField: 'Crossbeam_Id__c',
 *     records: [{ key: 'xb-1', fields: { Name: 'Acme', Partner_Status__c: 'customer' } }] });
 */

export const COLLECTION_MAX = 200;
/** Bulk API 2.0 takes up to 150 MB of CSV per job; 100k partner rows are far below that. */
export const BULK_MAX_BATCH = 100_000;

export interface SalesforceDestinationOptions {
  /** Above this many records in one write(), use a Bulk API 2.0 job. */
  bulkThreshold: number;
  bulkMaxBatch?: number;
  bulkPollIntervalMs?: number;
  bulkPollTimeoutMs?: number;
  /** Retries of UNABLE_TO_LOCK_ROW records, one record at a time. */
  lockRetries?: number;
  lockRetryDelayMs?: number;
  /** Retries of transient errors while a bulk job is being polled or its results fetched. */
  maxRetries?: number;
  baseDelayMs?: number;
}

/** What the last HTTP exchange of a request answered (kept by the transport shim). */
interface RawResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface SaveResult {
  id?: string;
  success: boolean;
  created?: boolean;
  errors?: Array<{ statusCode?: string; errorCode?: string; message?: string; fields?: string[] }>;
}

interface DescribeField {
  name: string;
  type: string;
  createable?: boolean;
  updateable?: boolean;
  externalId?: boolean;
  unique?: boolean;
  idLookup?: boolean;
}

type Rec = WriteBatch['records'][number];

const LOCK = 'UNABLE_TO_LOCK_ROW';
/** Refusals about the request's shape, not one record's content: bisecting would not help. */
const STRUCTURAL = new Set(['NOT_FOUND', 'INVALID_TYPE', 'EXCEEDED_ID_LIMIT', 'INVALID_SESSION_ID', 'API_DISABLED_FOR_ORG', 'INSUFFICIENT_ACCESS', 'REQUEST_LIMIT_EXCEEDED']);

const BULK_OPERATION: Partial<Record<WriteOperation, string>> = { upsert: 'upsert', update: 'update', create: 'insert', delete: 'delete' };

/** One value as JSON for the REST API. */
function jsonValue(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v;
}

/** One value as a Bulk API 2.0 CSV cell: '' leaves a field unchanged, '#N/A' clears it. */
export function bulkCell(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return '#N/A';
  const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --` → code, message. */
export function parseBulkError(raw: string): { code: string; message: string } {
  const text = raw.replace(/\s*--\s*$/, '');
  const i = text.indexOf(':');
  if (i < 0) return { code: 'BULK_ERROR', message: text };
  const code = text.slice(0, i);
  let message = text.slice(i + 1);
  // The trailing `:Field1,Field2` is the field list; the message itself may contain ':' too.
  const j = message.lastIndexOf(':');
  if (j >= 0 && /^[A-Za-z0-9_,]*$/.test(message.slice(j + 1))) message = message.slice(0, j);
  return { code, message };
}

export class SalesforceDestination implements Destination {
  readonly capabilities: DestinationCapabilities;
  /** Requests sent and bulk jobs run, for the summary and the bench. */
  readonly stats = { requests: 0, bulkJobs: 0, collections: 0 };
  private conn: jsforce.Connection | undefined;

  constructor(
    private readonly connect: () => Promise<jsforce.Connection>,
    private readonly opts: SalesforceDestinationOptions,
  ) {
    this.capabilities = {
      maxBatch: COLLECTION_MAX,
      operations: ['upsert', 'update', 'create', 'delete'],
      bulk: { threshold: opts.bulkThreshold, maxBatch: opts.bulkMaxBatch ?? BULK_MAX_BATCH },
    };
  }

  private async connection(): Promise<jsforce.Connection> {
    this.conn ??= await this.connect();
    return this.conn;
  }

  /**
   * One REST call through jsforce (auth header, session refresh on 401) with jsforce's own retries
   * off; errors are mapped with the status and headers of the raw response.
   */
  private async rest<T>(method: string, path: string, body?: string, contentType = 'application/json'): Promise<T> {
    const conn = await this.connection();
    let last: RawResponse | undefined;
    const real = (conn as unknown as { _transport: { httpRequest(req: unknown, opts: unknown): Promise<RawResponse> } })._transport;
    const transport = {
      httpRequest(req: unknown, opts: unknown) {
        const p = real.httpRequest(req, opts);
        p.then(
          (res) => {
            last = res;
          },
          () => undefined,
        );
        return p;
      },
    };
    this.stats.requests += 1;
    try {
      const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType };
      return (await conn.request({ method, url: path, body, headers } as never, { transport, retry: { maxRetries: 0 } } as never)) as T;
    } catch (e) {
      throw this.mapError(e, `${method} ${path.split('?')[0]}`, last);
    }
  }

  private mapError(e: unknown, what: string, res: RawResponse | undefined): PartnersyncError {
    if (e instanceof PartnersyncError) return e;
    const code = String((e as { errorCode?: unknown }).errorCode ?? '');
    const detail = redact(String((e as Error)?.message ?? e).split('\n')[0] ?? '');
    const status = res && res.statusCode >= 400 ? res.statusCode : undefined;
    const message = `Salesforce: ${what} → ${status ?? 'failed'}${code ? ` ${code}` : ''}: ${detail}`;
    if (status === undefined) {
      if (isNetworkError(e) || /ECONNRESET|socket hang up|network|terminated/i.test(String((e as Error)?.message))) return new RetriableError(message, { cause: e });
      return new FatalError(message, { cause: e, code: code || 'SALESFORCE_ERROR' });
    }
    const retryAfterMs = retryDelayFromHeaders(res?.headers);
    if (status === 403 && code === 'REQUEST_LIMIT_EXCEEDED') {
      return new FatalError(message, { status, cause: e, code, hint: 'The org used up its daily API allowance; wait for it to reset or raise it.' });
    }
    if (status === 401 || status === 403) return new AuthError(message, { cause: e, hint: 'Check the connection credentials and the user’s permissions on this object.' });
    if (status === 408 || status === 420 || status === 429 || status >= 500) return new RetriableError(message, { status, retryAfterMs, cause: e });
    return new FatalError(message, { status, cause: e, code: code || `HTTP_${status}` });
  }

  async check(): Promise<void> {
    await this.retrying(() => this.rest('GET', '/limits'));
  }

  private async describe(object: string): Promise<DescribeField[]> {
    const d = await this.retrying(() => this.rest<{ fields: DescribeField[] }>('GET', `/sobjects/${encodeURIComponent(object)}/describe`));
    return d.fields;
  }

  async preflight(
    object: string,
    fields: Array<{ name: string; type: 'string' | 'number' | 'boolean' | 'datetime' }>,
    _create: boolean,
    key?: { field: string; operation: WriteOperation },
  ): Promise<FieldCheck> {
    const described = new Map((await this.describe(object)).map((f) => [f.name.toLowerCase(), f]));
    const missing: string[] = [];
    const hints: string[] = [];
    for (const f of fields) {
      const d = described.get(f.name.toLowerCase());
      if (!d) {
        missing.push(f.name);
        continue;
      }
      if (d.createable === false && d.updateable === false) hints.push(`${object}.${d.name} is read-only for this user (not createable or updateable).`);
      const expected = TYPE_FAMILY[f.type];
      if (expected && !expected.includes(d.type)) hints.push(`${object}.${d.name} is a ${d.type} field; partnersync maps a ${f.type} to it.`);
    }
    if (missing.length) {
      hints.push(
        `Salesforce fields cannot be created through the REST API: add ${missing.map((m) => `${object}.${m}`).join(', ')} in Setup → Object Manager → ${object} → Fields & Relationships, or deploy them with the Metadata API (sf project deploy start).`,
      );
    }
    if (key && key.operation === 'upsert' && key.field.toLowerCase() !== 'id') {
      const d = described.get(key.field.toLowerCase());
      if (!d) {
        if (!missing.includes(key.field)) missing.push(key.field);
      } else if (!d.externalId && !d.idLookup && !d.unique) {
        throw new FatalError(`Salesforce: cannot upsert ${object} by ${d.name}: it is not an External ID field`, {
          code: 'SALESFORCE_KEY_NOT_EXTERNAL_ID',
          hint: `Mark ${object}.${d.name} as "External ID" (and Unique) in Setup, or key the target by another External ID field.`,
        });
      }
    }
    return { missing, created: [], ...(hints.length ? { hints } : {}) };
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    if (batch.records.length === 0) return [];
    if (!this.capabilities.operations.includes(batch.operation)) {
      throw new FatalError(`Salesforce: operation ${batch.operation} is not supported`, { hint: 'Use upsert, update, create or delete (mirror mode deletes).' });
    }
    if (batch.records.length > this.opts.bulkThreshold) {
      if (batch.records.length > (this.capabilities.bulk?.maxBatch ?? BULK_MAX_BATCH)) {
        throw new FatalError(`Salesforce: a bulk batch holds at most ${this.capabilities.bulk?.maxBatch} records, got ${batch.records.length}`, { code: 'BATCH_TOO_LARGE' });
      }
      return this.retryLocked(batch, await this.bulk(batch));
    }
    // Up to the bulk threshold a write may hold more than one collection; they go one after another.
    const out: WriteResult[] = [];
    for (let i = 0; i < batch.records.length; i += COLLECTION_MAX) {
      const part = { ...batch, records: batch.records.slice(i, i + COLLECTION_MAX) };
      try {
        out.push(...(await this.collection(part)));
      } catch (e) {
        // Later chunks failing transiently after earlier ones landed: report the landed ones.
        if (i > 0 && e instanceof RetriableError) {
          for (const r of batch.records.slice(i)) out.push({ key: r.key, ok: false, code: 'TRANSIENT', message: e.message, httpStatus: e.status, retriable: true });
          return this.retryLocked(batch, out);
        }
        throw e;
      }
    }
    return this.retryLocked(batch, out);
  }

  /** One sObject Collections request (≤ 200), bisected when refused as a whole. */
  private async collection(batch: WriteBatch): Promise<WriteResult[]> {
    try {
      return await this.collectionOnce(batch);
    } catch (e) {
      const code = (e as PartnersyncError).code;
      if (!(e instanceof FatalError) || e.status !== 400 || STRUCTURAL.has(code)) throw e;
      if (batch.records.length === 1) return [{ key: batch.records[0]!.key, ok: false, code, message: e.message, httpStatus: 400 }];
      const mid = Math.ceil(batch.records.length / 2);
      return [...(await this.collection({ ...batch, records: batch.records.slice(0, mid) })), ...(await this.collection({ ...batch, records: batch.records.slice(mid) }))];
    }
  }

  private async collectionOnce(batch: WriteBatch): Promise<WriteResult[]> {
    const type = { type: batch.object };
    const byId = batch.keyField.toLowerCase() === 'id';
    const fieldsOf = (r: Rec) => Object.fromEntries(Object.entries(r.fields).filter(([k, v]) => v !== undefined && k.toLowerCase() !== 'id').map(([k, v]) => [k, jsonValue(v)]));
    let answer: SaveResult[];
    let sent: Rec[] = batch.records;
    const pre: WriteResult[] = [];
    this.stats.collections += 1;
    switch (batch.operation) {
      case 'upsert': {
        if (byId) return this.collectionOnce({ ...batch, operation: 'update' });
        const records = batch.records.map((r) => ({ attributes: type, ...fieldsOf(r), [batch.keyField]: r.key }));
        answer = await this.rest<SaveResult[]>('PATCH', `/composite/sobjects/${encodeURIComponent(batch.object)}/${encodeURIComponent(batch.keyField)}`, JSON.stringify({ allOrNone: false, records }));
        break;
      }
      case 'create': {
        const records = batch.records.map((r) => ({ attributes: type, ...fieldsOf(r), ...(byId ? {} : { [batch.keyField]: r.key }) }));
        answer = await this.rest<SaveResult[]>('POST', '/composite/sobjects', JSON.stringify({ allOrNone: false, records }));
        break;
      }
      case 'update':
      case 'delete': {
        const ids = await this.resolveIds(batch);
        sent = batch.records.filter((r) => ids.has(r.key));
        for (const r of batch.records) {
          if (!ids.has(r.key)) {
            pre.push(
              batch.operation === 'delete'
                ? { key: r.key, ok: true }
                : { key: r.key, ok: false, code: 'NOT_FOUND', message: `Salesforce: no ${batch.object} with ${batch.keyField} = ${r.key} (update-only mode does not create)`, httpStatus: 404 },
            );
          }
        }
        if (!sent.length) return pre;
        if (batch.operation === 'update') {
          const records = sent.map((r) => ({ attributes: type, id: ids.get(r.key), ...fieldsOf(r) }));
          answer = await this.rest<SaveResult[]>('PATCH', '/composite/sobjects', JSON.stringify({ allOrNone: false, records }));
        } else {
          answer = await this.rest<SaveResult[]>('DELETE', `/composite/sobjects?allOrNone=false&ids=${sent.map((r) => ids.get(r.key)).join(',')}`);
        }
        break;
      }
      default:
        throw new FatalError(`Salesforce: operation ${batch.operation} is not supported`);
    }
    if (!Array.isArray(answer) || answer.length !== sent.length) {
      // A 200 whose body did not parse (or does not match the request) hides what happened: resend.
      throw new RetriableError(`Salesforce: ${batch.operation} of ${sent.length} ${batch.object} records → malformed answer`);
    }
    const results = sent.map((r, i) => {
      const out = saveResult(r.key, answer[i]!, batch.operation === 'create' ? true : undefined);
      if (out.ok) return out;
      // The codes the push engine understands: a create that finds the key taken, a delete of a record already gone.
      if (batch.operation === 'create' && (out.code === 'DUPLICATE_VALUE' || out.code === 'DUPLICATE_EXTERNAL_ID')) return { ...out, code: 'DUPLICATE' };
      if (batch.operation === 'delete' && (out.code === 'ENTITY_IS_DELETED' || out.code === 'INVALID_CROSS_REFERENCE_KEY')) return { key: r.key, ok: true as const };
      return out;
    });
    const all = new Map([...pre, ...results].map((x) => [x.key, x]));
    return batch.records.map((r) => all.get(r.key)!);
  }

  /** Salesforce Ids for update/delete: from the ledger, or one SOQL query by the key field. */
  private async resolveIds(batch: WriteBatch): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const byId = batch.keyField.toLowerCase() === 'id';
    const unknown: string[] = [];
    for (const r of batch.records) {
      if (r.destinationId) ids.set(r.key, r.destinationId);
      else if (byId) ids.set(r.key, r.key);
      else unknown.push(r.key);
    }
    for (let i = 0; i < unknown.length; i += 200) {
      const part = unknown.slice(i, i + 200);
      const soql = `SELECT Id, ${batch.keyField} FROM ${batch.object} WHERE ${batch.keyField} IN (${part.map(soqlString).join(', ')})`;
      const lower = new Map(part.map((k) => [k.toLowerCase(), k]));
      let url: string | undefined = `/query?q=${encodeURIComponent(soql)}`;
      while (url) {
        const at: string = url;
        const page: { records: Array<Record<string, unknown>>; nextRecordsUrl?: string; done?: boolean } = await this.retrying(() => this.rest('GET', at));
        for (const rec of page.records) {
          const k = lower.get(String(rec[batch.keyField] ?? '').toLowerCase());
          if (k !== undefined) ids.set(k, String(rec.Id));
        }
        url = page.done === false && page.nextRecordsUrl ? page.nextRecordsUrl : undefined;
      }
    }
    return ids;
  }

  /** Records refused with UNABLE_TO_LOCK_ROW, retried one at a time, with a growing pause. */
  private async retryLocked(batch: WriteBatch, results: WriteResult[]): Promise<WriteResult[]> {
    const locked = results.filter((r) => !r.ok && r.code === LOCK).map((r) => r.key);
    if (!locked.length) return results;
    const byKey = new Map(results.map((r) => [r.key, r]));
    const recs = new Map(batch.records.map((r) => [r.key, r]));
    let pending = locked;
    const tries = this.opts.lockRetries ?? 3;
    for (let attempt = 1; attempt <= tries && pending.length; attempt++) {
      await sleep((this.opts.lockRetryDelayMs ?? 500) * attempt);
      const still: string[] = [];
      for (const key of pending) {
        let r: WriteResult;
        try {
          [r] = (await this.collection({ ...batch, records: [recs.get(key)!] })) as [WriteResult];
        } catch (e) {
          if (!(e instanceof RetriableError)) throw e;
          r = { key, ok: false, code: LOCK, message: e.message, retriable: true };
        }
        byKey.set(key, r);
        if (!r.ok && r.code === LOCK) still.push(key);
      }
      pending = still;
    }
    for (const key of pending) byKey.set(key, { ...(byKey.get(key) as Extract<WriteResult, { ok: false }>), retriable: true });
    return batch.records.map((r) => byKey.get(r.key)!);
  }

  // ---------- Bulk API 2.0 ----------

  private async bulk(batch: WriteBatch): Promise<WriteResult[]> {
    const operation = BULK_OPERATION[batch.operation];
    if (!operation) throw new FatalError(`Salesforce: Bulk API 2.0 cannot ${batch.operation}`);
    const byId = batch.keyField.toLowerCase() === 'id';
    let keyColumn = batch.keyField;
    let rows = batch.records;
    const pre: WriteResult[] = [];
    const idToKey = new Map<string, string>();
    if (operation === 'update' || operation === 'delete') {
      const ids = await this.resolveIds(batch);
      rows = batch.records.filter((r) => ids.has(r.key));
      for (const r of batch.records) {
        if (ids.has(r.key)) idToKey.set(ids.get(r.key)!, r.key);
        else pre.push(operation === 'delete' ? { key: r.key, ok: true } : { key: r.key, ok: false, code: 'NOT_FOUND', message: `Salesforce: no ${batch.object} with ${batch.keyField} = ${r.key}`, httpStatus: 404 });
      }
      keyColumn = 'Id';
      if (!rows.length) return pre;
    } else if (byId) {
      throw new FatalError('Salesforce: upsert/create keyed by Id cannot use Bulk API 2.0', { hint: 'Key the target by an External ID field.' });
    }
    const csv = this.bulkCsv(rows, keyColumn, operation === 'delete', idToKey);
    this.stats.bulkJobs += 1;
    const job = await this.rest<{ id: string }>(
      'POST',
      '/jobs/ingest',
      JSON.stringify({ object: batch.object, operation, contentType: 'CSV', lineEnding: 'LF', ...(operation === 'upsert' ? { externalIdFieldName: batch.keyField } : {}) }),
    );
    try {
      await this.rest('PUT', `/jobs/ingest/${job.id}/batches`, csv, 'text/csv');
      await this.rest('PATCH', `/jobs/ingest/${job.id}`, JSON.stringify({ state: 'UploadComplete' }));
    } catch (e) {
      // Nothing was processed: abort the job (best effort) and let the engine send the batch again.
      await this.rest('PATCH', `/jobs/ingest/${job.id}`, JSON.stringify({ state: 'Aborted' })).catch(() => undefined);
      throw e;
    }
    const info = await this.pollJob(job.id);
    if (info.state !== 'JobComplete') {
      throw new FatalError(`Salesforce: Bulk API 2.0 job ${job.id} ${info.state}: ${redact(String(info.errorMessage ?? ''))}`, {
        code: 'BULK_JOB_FAILED',
        hint: 'The job failed as a whole (often a column that is not a field); see the message, fix the mapping, and re-run.',
      });
    }
    const fetchCsv = (which: string) => this.retrying(() => this.rest<Array<Record<string, string>> | string>('GET', `/jobs/ingest/${job.id}/${which}`));
    const [ok, failed, unprocessed] = [await fetchCsv('successfulResults'), await fetchCsv('failedResults'), await fetchCsv('unprocessedrecords')];
    const byKey = new Map<string, WriteResult>(pre.map((r) => [r.key, r]));
    const keyOf = (row: Record<string, string>): string | undefined => (keyColumn === 'Id' ? idToKey.get(String(row.Id ?? row.sf__Id ?? '')) : row[keyColumn]);
    const lower = new Map(rows.map((r) => [r.key.toLowerCase(), r.key]));
    const canon = (k: string | undefined) => (k === undefined ? undefined : (lower.get(k.toLowerCase()) ?? k));
    for (const row of asRows(ok)) {
      const key = canon(keyOf(row));
      if (key !== undefined) byKey.set(key, { key, ok: true, destinationId: row.sf__Id, created: row.sf__Created === 'true' });
    }
    for (const row of asRows(failed)) {
      const key = canon(keyOf(row));
      if (key === undefined) continue;
      const { code, message } = parseBulkError(String(row.sf__Error ?? ''));
      byKey.set(key, { key, ok: false, code, message: redact(message), httpStatus: 400 });
    }
    for (const row of asRows(unprocessed)) {
      const key = canon(keyOf(row));
      if (key !== undefined) byKey.set(key, { key, ok: false, code: 'UNPROCESSED', message: `Bulk API 2.0 job ${job.id} did not process this record`, retriable: true });
    }
    return batch.records.map((r) => byKey.get(r.key) ?? { key: r.key, ok: false, code: 'NO_RESULT', message: `Bulk API 2.0 job ${job.id} reported nothing for this record`, retriable: true });
  }

  private bulkCsv(rows: Rec[], keyColumn: string, idOnly: boolean, idToKey: Map<string, string>): string {
    const keyToId = new Map([...idToKey].map(([id, key]) => [key, id]));
    const columns: string[] = [];
    if (!idOnly) {
      const seen = new Set<string>([keyColumn.toLowerCase()]);
      for (const r of rows) {
        for (const k of Object.keys(r.fields)) {
          if (!seen.has(k.toLowerCase()) && k.toLowerCase() !== 'id') {
            seen.add(k.toLowerCase());
            columns.push(k);
          }
        }
      }
    }
    const lines = [[keyColumn, ...columns].join(',')];
    for (const r of rows) {
      const key = keyColumn === 'Id' ? keyToId.get(r.key)! : r.key;
      lines.push([bulkCell(key), ...columns.map((c) => bulkCell(r.fields[c]))].join(','));
    }
    return lines.join('\n') + '\n';
  }

  private async pollJob(id: string): Promise<{ state: string; errorMessage?: string }> {
    const deadline = Date.now() + (this.opts.bulkPollTimeoutMs ?? 600_000);
    for (;;) {
      const info = await this.retrying(() => this.rest<{ state: string; errorMessage?: string }>('GET', `/jobs/ingest/${id}`));
      if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return info;
      if (Date.now() > deadline) {
        throw new RetriableError(`Salesforce: Bulk API 2.0 job ${id} still ${info.state} after ${this.opts.bulkPollTimeoutMs ?? 600_000} ms`, {
          hint: 'The job keeps running in Salesforce; re-running resends the batch (upserts are idempotent).',
        });
      }
      await sleep(this.opts.bulkPollIntervalMs ?? 2000);
    }
  }

  /** GETs of a running bulk job are safe to repeat: retry them here rather than resending the job. */
  private retrying<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, { maxRetries: this.opts.maxRetries ?? 6, baseDelayMs: this.opts.baseDelayMs ?? 1000 });
  }
}

const TYPE_FAMILY: Record<string, string[]> = {
  string: ['string', 'textarea', 'url', 'email', 'phone', 'picklist', 'multipicklist', 'id', 'reference', 'combobox', 'encryptedstring'],
  number: ['int', 'double', 'currency', 'percent', 'long'],
  boolean: ['boolean'],
  datetime: ['datetime', 'date'],
};

function soqlString(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function asRows(v: Array<Record<string, string>> | string): Array<Record<string, string>> {
  // A header-only CSV parses to [] (or '' when jsforce sees no rows at all).
  return Array.isArray(v) ? v : [];
}

function saveResult(key: string, r: SaveResult, created?: boolean): WriteResult {
  if (r.success) return { key, ok: true, ...(r.id ? { destinationId: r.id } : {}), created: created ?? r.created ?? false };
  const e = r.errors?.[0];
  const code = e?.statusCode ?? e?.errorCode ?? 'ERROR';
  const fields = e?.fields?.length ? ` (${e.fields.join(', ')})` : '';
  return { key, ok: false, code, message: redact(`${e?.message ?? 'rejected by Salesforce'}${fields}`), httpStatus: 400 };
}

export async function createSalesforceDestination(config: SalesforceConfig): Promise<SalesforceDestination> {
  const { connectSalesforce } = await import('./client.js');
  return new SalesforceDestination(async () => (await connectSalesforce(config)).connection, {
    bulkThreshold: config.bulkThreshold,
    bulkPollTimeoutMs: config.bulkPollTimeoutMs,
    bulkPollIntervalMs: config.bulkPollIntervalMs,
    maxRetries: config.maxRetries,
  });
}
