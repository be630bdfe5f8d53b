import { Client } from '@hubspot/api-client';
import { AuthError, FatalError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import { isNetworkError, retryDelayFromHeaders, withRetry } from '../shared/http.js';
import type { Destination, DestinationCapabilities, FieldCheck, WriteBatch, WriteOperation, WriteResult } from '../types.js';
import type { HubspotConfig } from './config.js';

/**
 * HubSpot CRM v3 as a push destination: one batch endpoint call (≤ 100 inputs) per write().
 *
 * - upsert goes to `batch/upsert` with `idProperty` = the sync key, which HubSpot only accepts for a
 *   property with unique values (`hasUniqueValue`, or a contact's `email`). Upserting by `domain`
 *   is refused by the API, so preflight says so before anything is sent.
 * - update goes to `batch/update` by the HubSpot id the ledger remembered (or by a unique key).
 * - create goes to `batch/create`; delete/archive to `batch/archive`.
 * - Each input carries `objectWriteTraceId` = our key, so a 207's results and errors map back to
 *   records without relying on order.
 * - The SDK's own retries stay off (`numberOfApiCallRetries` 0): a 429 must reach the push
 *   governor, which honours X-HubSpot-RateLimit-* and paces every HubSpot call of the run.
 *
 * @example
 *   const dest = createHubspotDestination({ accessToken, baseUrl: emu.url, ... });
 *   await dest.preflight('companies', [{ name: 'partnersync_partner', type: 'string' }], true,
 *     { field: 'partnersync_account_id', operation: 'upsert' });
 *   const results = await dest.write({ object: 'companies', operation: 'upsert', keyField: 'partnersync_account_id',
 *     records: [{ key: 'acc-1', fields: { name: 'Acme', partnersync_partner: 'Globex' } }] });
 */

export const HUBSPOT_MAX_BATCH = 100;
/** Where `--create-missing-fields` puts the properties it creates. */
export const PARTNERSYNC_GROUP = 'partnersync';

type ObjectType = 'companies' | 'contacts' | 'deals';

const OBJECT_ALIASES: Record<string, ObjectType> = {
  companies: 'companies',
  company: 'companies',
  contacts: 'contacts',
  contact: 'contacts',
  deals: 'deals',
  deal: 'deals',
};

/** Unique without `hasUniqueValue` (HubSpot documents these as special cases). */
const IMPLICIT_UNIQUE: Record<ObjectType, string[]> = { companies: [], contacts: ['email'], deals: [] };

const HTTP_BY_CATEGORY: Record<string, number> = {
  VALIDATION_ERROR: 400,
  OBJECT_NOT_FOUND: 404,
  CONFLICT: 409,
  OBJECT_ALREADY_EXISTS: 409,
  RATE_LIMITS: 429,
};

export interface HubspotProperty {
  name: string;
  type: string;
  hasUniqueValue?: boolean;
  readOnlyValue?: boolean;
  archived?: boolean;
}

export function hubspotObjectType(object: string): ObjectType {
  const t = OBJECT_ALIASES[object.toLowerCase()];
  if (!t) throw new FatalError(`HubSpot: object "${object}" is not supported`, { code: 'HUBSPOT_OBJECT', hint: 'Use companies, contacts or deals.' });
  return t;
}

/** HubSpot takes every property value as a string; '' clears a property. */
export function hubspotValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

interface BatchErrorItem {
  category?: string;
  message?: string;
  context?: Record<string, string[]>;
  errors?: Array<{ message?: string; code?: string }>;
}

interface BatchAnswer {
  results?: Array<{ id: string; properties?: Record<string, string | null>; objectWriteTraceId?: string; _new?: boolean; new?: boolean }>;
  errors?: BatchErrorItem[];
}

type BatchApi = {
  upsert(body: unknown): Promise<BatchAnswer>;
  update(body: unknown): Promise<BatchAnswer>;
  create(body: unknown): Promise<BatchAnswer>;
  archive(body: unknown): Promise<void>;
};

const notUniqueHint = (object: string, key: string) =>
  `HubSpot can only upsert by a property with unique values. Create a unique property (e.g. partnersync_account_id, ` +
  `hasUniqueValue: true) on ${object} and use it as the key, or use update-only mode keyed by hs_object_id ` +
  `(the HubSpot record id). "${key}" is not unique.`;

export class HubspotDestination implements Destination {
  readonly capabilities: DestinationCapabilities;
  private readonly client: Client;
  private readonly propertyCache = new Map<ObjectType, Map<string, HubspotProperty>>();

  constructor(private readonly config: Pick<HubspotConfig, 'accessToken' | 'baseUrl' | 'requestsPerTenSeconds'> & { maxRetries?: number; baseDelayMs?: number }) {
    this.client = new Client({
      accessToken: config.accessToken,
      ...(config.baseUrl ? { basePath: config.baseUrl.replace(/\/+$/, '') } : {}),
      // 0 = the SDK never retries; the push engine's governor owns every retry and wait.
      numberOfApiCallRetries: 0,
    });
    this.capabilities = {
      maxBatch: HUBSPOT_MAX_BATCH,
      operations: ['upsert', 'update', 'create', 'delete', 'archive'],
      // Evenly spaced and 2% under the allowance instead of a bucket of 100: HubSpot counts fixed
      // 10-second windows, and a burst on top of a steady rate overruns one and costs a 10 s pause.
      rateLimit: { requests: 1, perMs: Math.ceil((10_000 / config.requestsPerTenSeconds) * 1.02) },
    };
  }

  private batchApi(t: ObjectType): BatchApi {
    return this.client.crm[t].batchApi as unknown as BatchApi;
  }

  async check(): Promise<void> {
    await this.call(() => this.client.crm.companies.basicApi.getPage(1), 'GET /crm/v3/objects/companies');
  }

  private async properties(t: ObjectType, fresh = false): Promise<Map<string, HubspotProperty>> {
    const cached = this.propertyCache.get(t);
    if (cached && !fresh) return cached;
    const res = (await this.call(() => this.client.crm.properties.coreApi.getAll(t, false), `GET /crm/v3/properties/${t}`)) as {
      results: Array<HubspotProperty & { modificationMetadata?: { readOnlyValue?: boolean } }>;
    };
    const map = new Map<string, HubspotProperty>();
    for (const p of res.results) {
      map.set(p.name, { name: p.name, type: p.type, hasUniqueValue: p.hasUniqueValue, readOnlyValue: p.modificationMetadata?.readOnlyValue, archived: p.archived });
    }
    this.propertyCache.set(t, map);
    return map;
  }

  async preflight(
    object: string,
    fields: Array<{ name: string; type: 'string' | 'number' | 'boolean' | 'datetime' }>,
    create: boolean,
    key?: { field: string; operation: WriteOperation },
  ): Promise<FieldCheck> {
    const t = hubspotObjectType(object);
    const props = await this.properties(t, true);
    const missing: string[] = [];
    const created: string[] = [];
    const hints: string[] = [];
    const keyNeedsCreating = key && key.field !== 'hs_object_id' && !props.has(key.field);
    const wanted = [...fields];
    if (keyNeedsCreating && !wanted.some((f) => f.name === key.field)) wanted.push({ name: key.field, type: 'string' });
    let groupReady = false;
    for (const f of wanted) {
      if (props.has(f.name)) continue;
      if (!create) {
        missing.push(f.name);
        continue;
      }
      if (!groupReady) {
        await this.ensureGroup(t);
        groupReady = true;
      }
      // A key property created by partnersync is created unique, so it can be upserted by.
      const unique = key?.field === f.name;
      await this.call(() => this.client.crm.properties.coreApi.create(t, propertyCreate(f.name, f.type, unique) as never), `POST /crm/v3/properties/${t}`);
      created.push(f.name);
    }
    if (created.length) await this.properties(t, true);
    if (missing.length) hints.push(`Create the missing ${t} properties in HubSpot, or re-run with --create-missing-fields (they go in the "${PARTNERSYNC_GROUP}" group).`);
    if (key && (key.operation === 'upsert' || key.operation === 'update') && key.field !== 'hs_object_id') {
      const p = (await this.properties(t)).get(key.field);
      const unique = IMPLICIT_UNIQUE[t].includes(key.field) || p?.hasUniqueValue === true;
      if (p && !unique && key.operation === 'upsert') {
        throw new FatalError(`HubSpot: cannot upsert ${t} by "${key.field}": the property does not have unique values`, {
          code: 'HUBSPOT_KEY_NOT_UNIQUE',
          hint: notUniqueHint(t, key.field),
        });
      }
    }
    return { missing, created, ...(hints.length ? { hints } : {}) };
  }

  private async ensureGroup(t: ObjectType): Promise<void> {
    try {
      await this.client.crm.properties.groupsApi.create(t, { name: PARTNERSYNC_GROUP, label: 'partnersync', displayOrder: -1 });
    } catch (e) {
      const code = (e as { code?: number }).code;
      // 409: the group exists already. 404: a portal (or emulator) without the groups endpoint.
      if (code === 409 || code === 404) return;
      throw this.mapError(e, `POST /crm/v3/properties/${t}/groups`);
    }
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    const t = hubspotObjectType(batch.object);
    if (batch.records.length === 0) return [];
    if (batch.records.length > HUBSPOT_MAX_BATCH) {
      throw new FatalError(`HubSpot: a batch holds at most ${HUBSPOT_MAX_BATCH} records, got ${batch.records.length}`, { code: 'BATCH_TOO_LARGE' });
    }
    switch (batch.operation) {
      case 'upsert':
        if (batch.keyField === 'hs_object_id' || batch.keyField === 'id') return this.update(t, batch);
        return this.bisecting(t, batch, (b) => this.upsert(t, b));
      case 'update':
        return this.bisecting(t, batch, (b) => this.update(t, b));
      case 'create':
        return this.bisecting(t, batch, (b) => this.create(t, b));
      case 'delete':
      case 'archive':
        return this.archive(t, batch);
      default:
        throw new FatalError(`HubSpot: operation ${String(batch.operation)} is not supported`);
    }
  }

  /**
   * Some refusals reject a whole batch for one record (a unique value held by another record on
   * batch create, a duplicate key). Halving the batch until the culprit stands alone turns that into
   * one rejected record and lets the rest land, at the cost of about log2(n) extra calls.
   */
  private async bisecting(t: ObjectType, batch: WriteBatch, send: (b: WriteBatch) => Promise<WriteResult[]>): Promise<WriteResult[]> {
    try {
      return await send(batch);
    } catch (e) {
      if (!(e instanceof BatchRefused)) throw e;
      if (batch.records.length === 1) {
        const code = e.status === 409 && batch.operation === 'create' ? 'DUPLICATE' : e.category;
        return [{ key: batch.records[0]!.key, ok: false, code, message: e.message, httpStatus: e.status }];
      }
      const mid = Math.ceil(batch.records.length / 2);
      const left = await this.bisecting(t, { ...batch, records: batch.records.slice(0, mid) }, send);
      const right = await this.bisecting(t, { ...batch, records: batch.records.slice(mid) }, send);
      return [...left, ...right];
    }
  }

  private async upsert(t: ObjectType, batch: WriteBatch): Promise<WriteResult[]> {
    const inputs = batch.records.map((r) => ({ idProperty: batch.keyField, id: r.key, properties: props(r.fields, batch.keyField), objectWriteTraceId: r.key }));
    const answer = await this.send(t, batch, () => this.batchApi(t).upsert({ inputs }), 'upsert');
    return this.results(batch, answer, (item) => item.properties?.[batch.keyField] ?? undefined);
  }

  private async update(t: ObjectType, batch: WriteBatch): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    const inputs: Array<Record<string, unknown>> = [];
    const sent: WriteBatch['records'] = [];
    const byId = batch.keyField === 'hs_object_id' || batch.keyField === 'id';
    for (const r of batch.records) {
      const id = r.destinationId ?? (byId ? r.key : undefined);
      if (id !== undefined) inputs.push({ id, properties: props(r.fields, batch.keyField), objectWriteTraceId: r.key });
      // No HubSpot id known: address the record by its unique key property instead.
      else inputs.push({ id: r.key, idProperty: batch.keyField, properties: props(r.fields, batch.keyField), objectWriteTraceId: r.key });
      sent.push(r);
    }
    const answer = await this.send(t, batch, () => this.batchApi(t).update({ inputs }), 'update');
    results.push(...this.results({ ...batch, records: sent }, answer, () => undefined, false));
    return results;
  }

  private async create(t: ObjectType, batch: WriteBatch): Promise<WriteResult[]> {
    const inputs = batch.records.map((r) => ({ properties: { ...props(r.fields), ...(isKeyProperty(batch.keyField) ? { [batch.keyField]: r.key } : {}) }, associations: [], objectWriteTraceId: r.key }));
    const answer = await this.send(t, batch, () => this.batchApi(t).create({ inputs }), 'create');
    return this.results(batch, answer, (item) => item.properties?.[batch.keyField] ?? undefined, true);
  }

  private async archive(t: ObjectType, batch: WriteBatch): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    const inputs: Array<{ id: string }> = [];
    for (const r of batch.records) {
      const id = r.destinationId ?? (batch.keyField === 'hs_object_id' ? r.key : undefined);
      if (id === undefined) results.push({ key: r.key, ok: false, code: 'NO_DESTINATION_ID', message: 'HubSpot archives by record id; this record has none in the sync ledger' });
      else inputs.push({ id });
    }
    if (inputs.length) {
      await this.send(t, batch, () => this.batchApi(t).archive({ inputs }), 'archive');
      // batch/archive answers 204 for the lot (unknown ids included): every input counts as done.
      for (const r of batch.records) if (!results.some((x) => x.key === r.key)) results.push({ key: r.key, ok: true, destinationId: r.destinationId ?? r.key });
    }
    return results;
  }

  /** Map a 200/207 answer back to the batch's records, by trace id, then by key property. */
  private results(batch: WriteBatch, answer: BatchAnswer, keyOf: (item: NonNullable<BatchAnswer['results']>[number]) => string | undefined, created?: boolean): WriteResult[] {
    const byKey = new Map<string, WriteResult>();
    const keys = new Map(batch.records.map((r) => [r.key.toLowerCase(), r.key]));
    const idToKey = new Map(batch.records.filter((r) => r.destinationId).map((r) => [r.destinationId!, r.key]));
    for (const item of answer.results ?? []) {
      const k = item.objectWriteTraceId ?? keyOf(item) ?? idToKey.get(item.id);
      const key = k === undefined ? undefined : (keys.get(String(k).toLowerCase()) ?? String(k));
      if (key === undefined) continue;
      const isNew = item._new ?? item.new;
      byKey.set(key, { key, ok: true, destinationId: item.id, created: created ?? isNew ?? false });
    }
    for (const err of answer.errors ?? []) {
      const ctx = err.context ?? {};
      const refs = [...(ctx.objectWriteTraceId ?? [])];
      if (!refs.length) {
        for (const id of ctx.ids ?? []) refs.push(idToKey.get(id) ?? id);
        for (const i of ctx.inputIndex ?? []) {
          const r = batch.records[Number(i)];
          if (r) refs.push(r.key);
        }
      }
      const detail = err.errors?.map((d) => d.message).filter(Boolean).join('; ');
      // The push engine understands NOT_FOUND (update-only: skip) and DUPLICATE (create-only: exists).
      const code =
        err.category === 'OBJECT_NOT_FOUND' ? 'NOT_FOUND' : err.category === 'CONFLICT' && created ? 'DUPLICATE' : (err.errors?.[0]?.code ?? err.category ?? 'ERROR');
      for (const ref of refs) {
        const key = keys.get(String(ref).toLowerCase()) ?? String(ref);
        byKey.set(key, {
          key,
          ok: false,
          code,
          message: redact(detail || err.message || 'rejected by HubSpot'),
          httpStatus: HTTP_BY_CATEGORY[err.category ?? ''] ?? 400,
        });
      }
    }
    return batch.records.map(
      (r) =>
        byKey.get(r.key) ?? { key: r.key, ok: false, code: 'NO_RESULT', message: 'HubSpot returned neither a result nor an error for this record', retriable: true },
    );
  }

  private async send<T>(t: ObjectType, batch: WriteBatch, fn: () => Promise<T>, op: string): Promise<T> {
    const where = `POST /crm/v3/objects/${t}/batch/${op}`;
    try {
      return await fn();
    } catch (e) {
      const status = (e as { code?: unknown }).code;
      const body = (e as { body?: { message?: string; category?: string } }).body;
      if (typeof status === 'number' && (status === 400 || status === 409)) {
        const message = body?.message ?? String((e as Error).message);
        if (/non-unique/i.test(message)) {
          throw new FatalError(`HubSpot: ${where} → ${status} ${redact(message)}`, { code: 'HUBSPOT_KEY_NOT_UNIQUE', status, hint: notUniqueHint(t, batch.keyField) });
        }
        if (status === 409 || /duplicate/i.test(message)) throw new BatchRefused(redact(message), body?.category ?? 'CONFLICT', status);
      }
      throw this.mapError(e, where);
    }
  }

  /** Reads and schema calls (check, preflight): safe to repeat, so transient failures are retried here. */
  private async call<T>(fn: () => Promise<T>, where: string): Promise<T> {
    return withRetry(
      async () => {
        try {
          return await fn();
        } catch (e) {
          throw this.mapError(e, where);
        }
      },
      { maxRetries: this.config.maxRetries ?? 6, baseDelayMs: this.config.baseDelayMs ?? 500 },
    );
  }

  /** ApiException {code, body, headers} / network errors → the error tree. */
  private mapError(e: unknown, where: string): Error {
    const status = (e as { code?: unknown }).code;
    const headers = (e as { headers?: Record<string, string> }).headers;
    const body = (e as { body?: { message?: string; category?: string; policyName?: string } }).body;
    if (typeof status === 'number' && status >= 100) {
      const detail = redact([body?.category, body?.message].filter(Boolean).join(': '));
      const message = `HubSpot: ${where} → ${status}${detail ? ` ${detail}` : ''}`;
      if (status === 401 || status === 403) return new AuthError(message, { hint: 'Check the private-app token and its scopes (crm.objects.*.write, crm.schemas.*.write).', cause: e });
      if (status === 429 || status === 408 || status >= 500) {
        let retryAfterMs = retryDelayFromHeaders(headers);
        // The ten-secondly window says nothing about when it resets; its length is the safe wait.
        if (retryAfterMs === undefined && status === 429) retryAfterMs = body?.policyName === 'SECONDLY' ? 1_000 : body?.policyName === 'DAILY' ? 3_600_000 : 10_000;
        return new RetriableError(message, { status, retryAfterMs, cause: e });
      }
      return new FatalError(message, { status, cause: e });
    }
    if (isNetworkError(e) || e instanceof SyntaxError) {
      return new RetriableError(`HubSpot: ${where}: ${redact(String((e as Error).message ?? e))}`, { cause: e });
    }
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** A whole-batch refusal caused by (probably) one record: worth bisecting. */
class BatchRefused extends Error {
  constructor(
    message: string,
    readonly category: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function isKeyProperty(keyField: string): boolean {
  return keyField !== 'hs_object_id' && keyField !== 'id';
}

function props(fields: Record<string, unknown>, keyField?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k === keyField || v === undefined) continue;
    out[k] = hubspotValue(v);
  }
  return out;
}

function propertyCreate(name: string, type: 'string' | 'number' | 'boolean' | 'datetime', unique: boolean): Record<string, unknown> {
  const label = name.replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
  const base = { name, label, groupName: PARTNERSYNC_GROUP, description: 'Written by partnersync', hasUniqueValue: unique, formField: false };
  switch (type) {
    case 'number':
      return { ...base, type: 'number', fieldType: 'number' };
    case 'boolean':
      return {
        ...base,
        type: 'bool',
        fieldType: 'booleancheckbox',
        options: [
          { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
          { label: 'No', value: 'false', displayOrder: 1, hidden: false },
        ],
      };
    case 'datetime':
      return { ...base, type: 'datetime', fieldType: 'date' };
    default:
      return { ...base, type: 'string', fieldType: 'text' };
  }
}

export function createHubspotDestination(config: HubspotConfig): HubspotDestination {
  return new HubspotDestination(config);
}
