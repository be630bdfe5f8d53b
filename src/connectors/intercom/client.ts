import { IntercomClient, IntercomError, IntercomTimeoutError } from 'intercom-client';
import { AuthError, FatalError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import { isNetworkError, retryDelayFromHeaders, withRetry } from '../shared/http.js';
import { RateLimiter } from '../shared/rate-limiter.js';
import type { RateGate } from '../types.js';

/**
 * The narrow slice of intercom-client 7 partnersync uses, with two things the SDK does not do:
 *
 * - Pacing. Intercom counts requests in 10-second windows (83 by default). Every call takes a token
 *   from one limiter shared by all of a destination's concurrent workers, spaced evenly so a
 *   fixed window is never overrun by a burst; a 429 pauses the whole limiter until X-RateLimit-Reset.
 * - Retries that the caller can see. The SDK's own retry (2, header-driven) is turned off so that
 *   every 429/5xx/reset goes through `withRetry` here, pauses the shared limiter, and is counted.
 *
 * Non-transient refusals are thrown as IntercomRequestError (status, Intercom error code, message),
 * which the destination turns into a per-record reject.
 *
 * @example
 *   const api = new IntercomApi({ accessToken, baseUrl: emu.url, requestsPerTenSeconds: 83 });
 *   const found = await api.searchContacts('email', ['ada@acme.example']);
 */

export type AttributeModel = 'contact' | 'company';
export type IntercomDataType = 'string' | 'integer' | 'float' | 'boolean' | 'date' | 'datetime';

export interface ContactRef {
  id: string;
  email?: string | null;
  external_id?: string | null;
}

export interface DataAttributeInfo {
  name: string;
  model: AttributeModel;
  data_type: string;
  custom: boolean;
  api_writable?: boolean;
}

/** Intercom refused one request for a reason a retry will not fix (400, 404, 409, 422). */
export class IntercomRequestError extends FatalError {
  readonly intercomCode: string;
  constructor(message: string, opts: { status?: number; intercomCode: string; cause?: unknown }) {
    super(message, { code: 'INTERCOM_REJECTED', status: opts.status, cause: opts.cause });
    this.intercomCode = opts.intercomCode;
  }
}

export interface IntercomApiOptions {
  accessToken: string;
  baseUrl?: string;
  apiVersion?: string;
  timeoutMs?: number;
  /** Intercom's allowance per 10-second window. */
  requestsPerTenSeconds: number;
  /** Retries of one request on 429/5xx/network errors. */
  maxRetries?: number;
  /** First backoff (tests shorten it). */
  baseDelayMs?: number;
  /**
   * The push engine's shared governor for this connection: when given, every request takes a token
   * of its `request` endpoint bucket (declared in the destination's capabilities) instead of the
   * client's own limiter, so all targets on one workspace share the one allowance.
   */
  gate?: RateGate;
}

/** The endpoint name of Intercom's per-request allowance in the push governor. */
export const INTERCOM_REQUEST_ENDPOINT = 'request';

/** Evenly spaced, 2% under the allowance: a fixed 10-second window is never overrun by a burst. */
export function intercomPacing(requestsPerTenSeconds: number): { requests: number; perMs: number } {
  return { requests: 1, perMs: Math.ceil((10_000 / requestsPerTenSeconds) * 1.02) };
}

export class IntercomApi {
  private readonly sdk: IntercomClient;
  readonly limiter: RateLimiter;
  /** Requests sent (attempts, retries included) and 429s seen: for the summary and the bench. */
  readonly stats = { requests: 0, throttled: 0, retries: 0 };

  constructor(private readonly opts: IntercomApiOptions) {
    this.sdk = new IntercomClient({
      token: opts.accessToken,
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl.replace(/\/+$/, '') } : {}),
      ...(opts.apiVersion ? { version: opts.apiVersion as never } : {}),
      maxRetries: 0,
      timeoutInSeconds: Math.ceil((opts.timeoutMs ?? 60_000) / 1000),
    });
    this.limiter = new RateLimiter(intercomPacing(opts.requestsPerTenSeconds));
  }

  private take(signal?: AbortSignal): Promise<void> {
    return this.opts.gate ? this.opts.gate.take(INTERCOM_REQUEST_ENDPOINT, signal) : this.limiter.take('default', 1, signal);
  }

  private pause(ms: number): void {
    if (this.opts.gate) this.opts.gate.pause(ms, INTERCOM_REQUEST_ENDPOINT);
    else this.limiter.pause('default', ms);
  }

  private async call<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(
      async () => {
        await this.take(signal);
        this.stats.requests += 1;
        try {
          return await fn();
        } catch (e) {
          throw this.mapError(e, what);
        }
      },
      {
        maxRetries: this.opts.maxRetries ?? 6,
        baseDelayMs: this.opts.baseDelayMs ?? 500,
        onRetry: () => {
          this.stats.retries += 1;
        },
      },
      signal,
    );
  }

  private mapError(e: unknown, what: string): Error {
    if (e instanceof IntercomTimeoutError) return new RetriableError(`Intercom: ${what} timed out`, { cause: e });
    if (e instanceof IntercomError) {
      const status = e.statusCode;
      const body = e.body as { errors?: Array<{ code?: string; message?: string; field?: string }> } | string | undefined;
      const items = typeof body === 'object' && body && Array.isArray(body.errors) ? body.errors : [];
      const detail = redact(items.map((x) => x.message).filter(Boolean).join('; ') || (typeof body === 'string' ? body.slice(0, 200) : e.message));
      const message = `Intercom: ${what} → ${status ?? 'no response'}${detail ? ` ${detail}` : ''}`;
      // No status (connection reset) or a 2xx whose body did not parse: the request may or may not
      // have landed; every write here is idempotent by key, so it is safe to send again.
      if (status === undefined || (status >= 200 && status < 300)) return new RetriableError(message, { cause: e });
      if (status === 401 || status === 403) return new AuthError(message, { hint: 'Check the Intercom access token and its scopes (read/write users and companies).', cause: e });
      if (status === 408 || status === 429 || status >= 500) {
        const headers = e.rawResponse?.headers;
        const retryAfterMs = retryDelayFromHeaders(headers ? headersRecord(headers) : undefined);
        if (status === 429) {
          this.stats.throttled += 1;
          this.pause(retryAfterMs ?? 10_000);
        }
        return new RetriableError(message, { status, retryAfterMs, cause: e });
      }
      return new IntercomRequestError(message, { status, intercomCode: items[0]?.code ?? `http_${status}`, cause: e });
    }
    if (isNetworkError(e)) return new RetriableError(`Intercom: ${what}: network error`, { cause: e });
    return e instanceof Error ? e : new Error(String(e));
  }

  /** Contacts whose `field` is one of `values` (one request: an IN filter, up to 150 per page). */
  async searchContacts(field: 'email' | 'external_id', values: string[], signal?: AbortSignal): Promise<ContactRef[]> {
    if (values.length === 0) return [];
    const out: ContactRef[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const res = await this.call(
        'POST /contacts/search',
        () =>
          this.sdk.contacts
            .search({
              query: { field, operator: 'IN', value: values } as never,
              pagination: { per_page: 150, ...(startingAfter ? { starting_after: startingAfter } : {}) },
            })
            .then((p) => p.response as { data?: ContactRef[]; pages?: { next?: { starting_after?: string } | null } }),
        signal,
      );
      for (const c of res.data ?? []) out.push({ id: c.id, email: c.email, external_id: c.external_id });
      startingAfter = res.pages?.next?.starting_after ?? undefined;
      if (!startingAfter) return out;
    }
  }

  async createContact(body: Record<string, unknown>, signal?: AbortSignal): Promise<{ id: string }> {
    const c = await this.call('POST /contacts', () => this.sdk.contacts.create(body as never), signal);
    return { id: (c as { id: string }).id };
  }

  async updateContact(id: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<{ id: string }> {
    const c = await this.call('PUT /contacts/{id}', () => this.sdk.contacts.update({ ...body, contact_id: id } as never), signal);
    return { id: (c as { id: string }).id };
  }

  async archiveContact(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('POST /contacts/{id}/archive', () => this.sdk.contacts.archive({ contact_id: id }), signal);
  }

  async deleteContact(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE /contacts/{id}', () => this.sdk.contacts.delete({ contact_id: id }), signal);
  }

  /** POST /companies: created when `company_id` is new, updated otherwise. */
  async upsertCompany(body: Record<string, unknown> & { company_id: string }, signal?: AbortSignal): Promise<{ id: string; createdAt?: number }> {
    const c = (await this.call('POST /companies', () => this.sdk.companies.createOrUpdate(body as never), signal)) as { id: string; created_at?: number };
    return { id: c.id, ...(typeof c.created_at === 'number' ? { createdAt: c.created_at } : {}) };
  }

  async findCompany(companyId: string, signal?: AbortSignal): Promise<{ id: string } | undefined> {
    try {
      const c = await this.call('GET /companies?company_id=', () => this.sdk.companies.retrieve({ company_id: companyId }), signal);
      return { id: (c as { id: string }).id };
    } catch (e) {
      if (e instanceof IntercomRequestError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** PUT /companies/{id} takes Intercom's own id (the SDK calls the parameter company_id). */
  async updateCompany(id: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<{ id: string }> {
    const c = await this.call('PUT /companies/{id}', () => this.sdk.companies.update({ ...body, company_id: id } as never), signal);
    return { id: (c as { id: string }).id };
  }

  async deleteCompany(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE /companies/{id}', () => this.sdk.companies.delete({ company_id: id }), signal);
  }

  async listDataAttributes(model: AttributeModel, signal?: AbortSignal): Promise<DataAttributeInfo[]> {
    const res = await this.call('GET /data_attributes', () => this.sdk.dataAttributes.list({ model }), signal);
    return ((res as { data?: DataAttributeInfo[] }).data ?? []).map((a) => ({ name: a.name, model: a.model, data_type: a.data_type, custom: a.custom, api_writable: a.api_writable }));
  }

  /** v7 mistypes this request (no name/model); the JSON goes through as given. */
  async createDataAttribute(attr: { name: string; model: AttributeModel; data_type: IntercomDataType; description?: string }, signal?: AbortSignal): Promise<void> {
    await this.call('POST /data_attributes', () => this.sdk.dataAttributes.create(attr as never), signal);
  }

  async check(signal?: AbortSignal): Promise<void> {
    await this.listDataAttributes('company', signal);
  }
}

function headersRecord(h: Headers | Record<string, unknown>): Record<string, unknown> {
  if (typeof (h as Headers).forEach === 'function' && typeof (h as Headers).get === 'function') {
    const out: Record<string, unknown> = {};
    (h as Headers).forEach((v, k) => (out[k] = v));
    return out;
  }
  return h as Record<string, unknown>;
}
