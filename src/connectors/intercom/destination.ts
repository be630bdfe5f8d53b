import { FatalError, RetriableError } from '../../errors.js';
import type { ConnectorContext, Destination, DestinationCapabilities, FieldCheck, WriteBatch, WriteOperation, WriteResult } from '../types.js';
import { INTERCOM_REQUEST_ENDPOINT, IntercomApi, IntercomRequestError, intercomPacing, type AttributeModel, type IntercomDataType } from './client.js';
import type { IntercomConfig } from './config.js';

/**
 * Intercom as a push destination. Intercom has no batch write API, so one write() call takes up to
 * `maxBatch` records and sends one request per record (plus one search per batch), `concurrency` at
 * a time, all paced by the client's shared limiter (see `client.ts`). Because a write() call is many
 * requests, the destination paces itself and leaves `capabilities.rateLimit` unset: the engine's
 * governor must not also count write() calls against Intercom's per-request allowance.
 *
 * Objects and keys:
 * - `contacts` keyed by `email` or `external_id`: the ledger's Intercom id is used when known;
 *   otherwise one `IN` search per batch finds existing contacts, which are updated (PUT), and the
 *   rest are created (POST). A 409 on create ("already exists with id=…") becomes an update.
 * - `companies` keyed by `company_id`: `POST /companies` creates or updates by company_id.
 * - `archive` (mirror mode) archives contacts; `delete` deletes contacts or companies.
 * Fields that are not standard Intercom attributes go under `custom_attributes`, which must exist
 * first: `preflight` lists data attributes and, with `create`, creates the missing ones.
 *
 * Per-record outcomes: a refusal (400/404/409/422) rejects that record with Intercom's error code;
 * a transient failure that outlived the client's retries marks the record retriable. If no record of
 * the batch got through and all failures were transient, write() throws RetriableError instead, so
 * the engine backs off as for any whole-batch 429.
 *
 * @example
 *   const dest = new IntercomDestination(new IntercomApi({ accessToken, baseUrl, requestsPerTenSeconds: 83 }), { concurrency: 4 });
 *   await dest.preflight('contacts', [{ name: 'xb_partner', type: 'string' }], true);
 *   await dest.write({ object: 'contacts', operation: 'upsert', keyField: 'email',
 *     records: [{ key: 'ada@acme.example', fields: { xb_partner: 'Globex' } }] });
 */

export const INTERCOM_MAX_BATCH = 50;

type ObjectKind = 'contacts' | 'companies';

const CONTACT_STANDARD = new Set(['role', 'external_id', 'email', 'phone', 'name', 'avatar', 'signed_up_at', 'last_seen_at', 'owner_id', 'unsubscribed_from_emails']);
const COMPANY_STANDARD = new Set(['company_id', 'name', 'plan', 'size', 'website', 'industry', 'remote_created_at', 'monthly_spend']);
const TIMESTAMP_FIELDS = new Set(['signed_up_at', 'last_seen_at', 'remote_created_at']);

const MODEL: Record<ObjectKind, AttributeModel> = { contacts: 'contact', companies: 'company' };

export function intercomObject(object: string): ObjectKind {
  const o = object.toLowerCase();
  if (o === 'contacts' || o === 'contact' || o === 'users' || o === 'leads') return 'contacts';
  if (o === 'companies' || o === 'company') return 'companies';
  throw new FatalError(`Intercom: object "${object}" is not supported`, { code: 'INTERCOM_OBJECT', hint: 'Use contacts or companies.' });
}

const DATA_TYPE: Record<'string' | 'number' | 'boolean' | 'datetime', IntercomDataType> = {
  string: 'string',
  // float accepts integers too; an integer attribute would refuse 1.5 later.
  number: 'float',
  boolean: 'boolean',
  datetime: 'date',
};

/** Intercom dates are Unix seconds. */
function toSeconds(v: unknown): unknown {
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : Math.floor(t / 1000);
  }
  return v;
}

/** Split record fields into Intercom's top-level attributes and `custom_attributes`. */
export function intercomBody(kind: ObjectKind, fields: Record<string, unknown>, dateAttributes: Set<string>): Record<string, unknown> {
  const standard = kind === 'contacts' ? CONTACT_STANDARD : COMPANY_STANDARD;
  const body: Record<string, unknown> = {};
  const custom: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(fields)) {
    if (raw === undefined) continue;
    if (standard.has(k)) body[k] = TIMESTAMP_FIELDS.has(k) ? toSeconds(raw) : raw;
    else custom[k] = dateAttributes.has(k) ? toSeconds(raw) : raw instanceof Date ? Math.floor(raw.getTime() / 1000) : raw;
  }
  if (Object.keys(custom).length) body.custom_attributes = custom;
  return body;
}

export interface IntercomDestinationOptions {
  /** Requests in flight at once (all still paced by the shared limiter). */
  concurrency: number;
  maxBatch?: number;
  /** Declared to the push governor as the `request` endpoint allowance (see client.ts). */
  requestsPerTenSeconds?: number;
}

export class IntercomDestination implements Destination {
  readonly capabilities: DestinationCapabilities;
  /** Custom attributes of type date/datetime, per model: their values are sent as Unix seconds. */
  private readonly dateAttributes: Record<AttributeModel, Set<string>> = { contact: new Set(), company: new Set() };

  constructor(
    readonly api: IntercomApi,
    private readonly opts: IntercomDestinationOptions,
  ) {
    this.capabilities = {
      maxBatch: opts.maxBatch ?? INTERCOM_MAX_BATCH,
      operations: ['upsert', 'update', 'create', 'archive', 'delete'],
      // No per-write() limit: the allowance is per request, taken inside write() from this bucket.
      ...(opts.requestsPerTenSeconds ? { endpointRateLimits: { [INTERCOM_REQUEST_ENDPOINT]: intercomPacing(opts.requestsPerTenSeconds) } } : {}),
    };
  }

  async check(): Promise<void> {
    await this.api.check();
  }

  async preflight(
    object: string,
    fields: Array<{ name: string; type: 'string' | 'number' | 'boolean' | 'datetime' }>,
    create: boolean,
    key?: { field: string; operation: WriteOperation },
  ): Promise<FieldCheck> {
    const kind = intercomObject(object);
    const model = MODEL[kind];
    if (key) {
      const allowed = kind === 'contacts' ? ['email', 'external_id', 'id'] : ['company_id', 'id'];
      if (!allowed.includes(key.field)) {
        throw new FatalError(`Intercom: ${kind} cannot be keyed by "${key.field}"`, {
          code: 'INTERCOM_KEY',
          hint: `Key ${kind} by ${allowed.join(', ')} (Intercom finds ${kind} only by these).`,
        });
      }
    }
    const attrs = await this.api.listDataAttributes(model);
    const known = new Map(attrs.map((a) => [a.name, a]));
    const standard = kind === 'contacts' ? CONTACT_STANDARD : COMPANY_STANDARD;
    const missing: string[] = [];
    const created: string[] = [];
    for (const f of fields) {
      if (standard.has(f.name)) continue;
      const a = known.get(f.name);
      if (a) {
        if (a.data_type === 'date' || a.data_type === 'datetime') this.dateAttributes[model].add(f.name);
        continue;
      }
      if (!create) {
        missing.push(f.name);
        continue;
      }
      await this.api.createDataAttribute({ name: f.name, model, data_type: DATA_TYPE[f.type], description: 'Written by partnersync' });
      if (f.type === 'datetime') this.dateAttributes[model].add(f.name);
      created.push(f.name);
    }
    return {
      missing,
      created,
      ...(missing.length ? { hints: [`Intercom only accepts custom attributes that exist: create them under Settings → Data → ${model === 'contact' ? 'People' : 'Companies'}, or re-run with --create-missing-fields.`] } : {}),
    };
  }

  async write(batch: WriteBatch, signal?: AbortSignal): Promise<WriteResult[]> {
    const kind = intercomObject(batch.object);
    if (batch.records.length === 0) return [];
    if (batch.records.length > this.capabilities.maxBatch) {
      throw new FatalError(`Intercom: a batch holds at most ${this.capabilities.maxBatch} records, got ${batch.records.length}`, { code: 'BATCH_TOO_LARGE' });
    }
    const results = new Map<string, WriteResult>();
    const transient: RetriableError[] = [];
    const settle = async (key: string, fn: () => Promise<WriteResult>) => {
      try {
        results.set(key, await fn());
      } catch (e) {
        results.set(key, this.failure(key, e, transient));
      }
    };

    if (kind === 'companies') {
      await pool(batch.records, this.opts.concurrency, (r) => settle(r.key, () => this.writeCompany(batch, r, signal)), signal);
    } else {
      // One search resolves every record the ledger has no Intercom id for.
      let ids = new Map<string, string>();
      const unresolved = batch.records.filter((r) => !r.destinationId);
      const searchable = batch.keyField === 'email' || batch.keyField === 'external_id';
      if (unresolved.length && searchable) {
        // A search that keeps failing fails the whole batch (RetriableError): nothing was written yet.
        ids = await this.lookupContacts(batch.keyField as 'email' | 'external_id', unresolved.map((r) => r.key), signal);
      }
      await pool(batch.records, this.opts.concurrency, (r) => settle(r.key, () => this.writeContact(batch, r, r.destinationId ?? ids.get(norm(batch.keyField, r.key)), signal)), signal);
    }

    const out = batch.records.map((r) => results.get(r.key)!);
    // Nothing landed and every failure was transient: a whole-batch failure for the governor.
    if (transient.length && out.every((r) => !r.ok && r.retriable)) {
      const withWait = transient.find((t) => t.retryAfterMs !== undefined);
      throw new RetriableError(transient[0]!.message, { status: transient[0]!.status, retryAfterMs: withWait?.retryAfterMs, cause: transient[0] });
    }
    return out;
  }

  private failure(key: string, e: unknown, transient: RetriableError[]): WriteResult {
    if (e instanceof IntercomRequestError) return { key, ok: false, code: e.intercomCode, message: e.message, httpStatus: e.status };
    if (e instanceof RetriableError) {
      transient.push(e);
      return { key, ok: false, code: e.status === 429 ? 'RATE_LIMITED' : 'TRANSIENT', message: e.message, httpStatus: e.status, retriable: true };
    }
    throw e;
  }

  private async lookupContacts(field: 'email' | 'external_id', keys: string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const found = await this.api.searchContacts(field, keys, signal);
    const ids = new Map<string, string>();
    for (const c of found) {
      const v = field === 'email' ? c.email : c.external_id;
      if (v) ids.set(norm(field, v), c.id);
    }
    return ids;
  }

  private async writeContact(batch: WriteBatch, r: WriteBatch['records'][number], id: string | undefined, signal?: AbortSignal): Promise<WriteResult> {
    const model = 'contact';
    const body = intercomBody('contacts', r.fields, this.dateAttributes[model]);
    const keyed = batch.keyField === 'email' || batch.keyField === 'external_id' ? { [batch.keyField]: r.key } : {};
    switch (batch.operation) {
      case 'archive':
      case 'delete': {
        if (!id) return { key: r.key, ok: true };
        if (batch.operation === 'archive') await this.api.archiveContact(id, signal);
        else await this.api.deleteContact(id, signal);
        return { key: r.key, ok: true, destinationId: id };
      }
      case 'update': {
        if (!id) return { key: r.key, ok: false, code: 'NOT_FOUND', message: `Intercom: no contact with ${batch.keyField} ${r.key} (update-only mode does not create)`, httpStatus: 404 };
        return this.updateContact(r.key, id, body, signal, keyed);
      }
      case 'create':
      case 'upsert': {
        if (id && batch.operation === 'upsert') return this.updateContact(r.key, id, body, signal, keyed);
        if (id) return { key: r.key, ok: false, code: 'DUPLICATE', message: `Intercom: a contact with ${batch.keyField} ${r.key} exists (create-only mode)`, httpStatus: 409 };
        try {
          const c = await this.api.createContact({ role: 'user', ...body, ...keyed }, signal);
          return { key: r.key, ok: true, destinationId: c.id, created: true };
        } catch (e) {
          // Created by an earlier attempt whose answer was lost, or by someone else meanwhile.
          const existing = e instanceof IntercomRequestError && e.status === 409 ? /id=([0-9a-f]+)/i.exec(e.message)?.[1] : undefined;
          if (existing && batch.operation === 'upsert') return this.updateContact(r.key, existing, body, signal, keyed);
          throw e;
        }
      }
    }
  }

  private async updateContact(key: string, id: string, body: Record<string, unknown>, signal: AbortSignal | undefined, keyed: Record<string, string>): Promise<WriteResult> {
    try {
      const c = await this.api.updateContact(id, { ...body, ...keyed }, signal);
      return { key, ok: true, destinationId: c.id, created: false };
    } catch (e) {
      // The ledger remembered a contact that has since been deleted in Intercom: recreate it.
      if (e instanceof IntercomRequestError && e.status === 404) {
        const c = await this.api.createContact({ role: 'user', ...body, ...keyed }, signal);
        return { key, ok: true, destinationId: c.id, created: true };
      }
      throw e;
    }
  }

  private async writeCompany(batch: WriteBatch, r: WriteBatch['records'][number], signal?: AbortSignal): Promise<WriteResult> {
    const body = intercomBody('companies', r.fields, this.dateAttributes.company);
    delete body.company_id;
    switch (batch.operation) {
      case 'delete':
      case 'archive': {
        const id = r.destinationId ?? (await this.api.findCompany(r.key, signal))?.id;
        if (id) await this.api.deleteCompany(id, signal);
        return { key: r.key, ok: true, ...(id ? { destinationId: id } : {}) };
      }
      case 'update': {
        const id = r.destinationId ?? (await this.api.findCompany(r.key, signal))?.id;
        if (!id) return { key: r.key, ok: false, code: 'NOT_FOUND', message: `Intercom: no company with company_id ${r.key} (update-only mode does not create)`, httpStatus: 404 };
        const c = await this.api.updateCompany(id, body, signal);
        return { key: r.key, ok: true, destinationId: c.id, created: false };
      }
      default: {
        const sentAt = Math.floor(Date.now() / 1000);
        const c = await this.api.upsertCompany({ ...body, company_id: r.key }, signal);
        // POST /companies does not say whether it created. A company created before this request existed
        // already (someone else's): it must not count as partnersync's, or mirror mode would delete it.
        const created = !r.destinationId && (c.createdAt === undefined || c.createdAt >= sentAt - 1);
        return { key: r.key, ok: true, destinationId: c.id, created };
      }
    }
  }
}

function norm(field: string, v: string): string {
  // Intercom matches e-mail addresses case-insensitively; external ids exactly.
  return field === 'email' ? v.toLowerCase() : v;
}

/** Run `fn` over items with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      if (signal?.aborted) throw signal.reason;
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

export function createIntercomDestination(config: IntercomConfig, ctx?: Pick<ConnectorContext, 'rate'>): IntercomDestination {
  const api = new IntercomApi({
    gate: ctx?.rate,
    accessToken: config.accessToken,
    baseUrl: config.baseUrl,
    apiVersion: config.apiVersion,
    timeoutMs: config.timeoutMs,
    requestsPerTenSeconds: config.requestsPerTenSeconds,
    maxRetries: config.maxRetries,
  });
  return new IntercomDestination(api, { concurrency: config.concurrency, requestsPerTenSeconds: config.requestsPerTenSeconds });
}
