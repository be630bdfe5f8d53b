import { Client } from '@hubspot/api-client';
import { FatalError, PartnersyncError, RetriableError } from '../../errors.js';
import { describeFailure, errorForStatus, isNetworkError, retryDelayFromHeaders, withRetry, type RetryPolicy } from '../shared/http.js';
import { RateLimiter } from '../shared/rate-limiter.js';
import type { HubspotConfig } from './config.js';

/**
 * The narrow HubSpot CRM API partnersync uses, over @hubspot/api-client 13. The SDK's own retry
 * decorator is off (it sleeps a fixed 10 s on any burst 429 and logs with console.error); instead
 * calls go through the shared token bucket (general and search allowances apart) and `withRetry`,
 * which honours the rate-limit headers, and errors are mapped to the error tree.
 *
 * @example
 *   const hs = createHubspotClient(config);
 *   const page = await hs.listPage('companies', { limit: 100, properties: ['name', 'domain'] });
 */
export type HubspotObjectType = 'companies' | 'contacts' | 'deals';

export interface HubspotObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt?: string;
  updatedAt?: string;
  archived?: boolean;
  archivedAt?: string;
}

export interface SearchRequest {
  filterGroups: Array<{ filters: Array<{ propertyName: string; operator: string; value?: string }> }>;
  sorts?: Array<{ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }>;
  properties?: string[];
  limit?: number;
  after?: string;
}

export interface HubspotClient {
  propertyNames(type: HubspotObjectType, signal?: AbortSignal): Promise<string[]>;
  listPage(type: HubspotObjectType, opts: { limit: number; after?: string; properties?: string[]; archived?: boolean }, signal?: AbortSignal): Promise<{ results: HubspotObject[]; after?: string }>;
  search(type: HubspotObjectType, req: SearchRequest, signal?: AbortSignal): Promise<{ total: number; results: HubspotObject[]; after?: string }>;
  /** v4 associations of many records at once; records without any are left out. */
  associations(from: HubspotObjectType, to: HubspotObjectType, ids: string[], signal?: AbortSignal): Promise<Array<{ fromId: string; toIds: Array<{ id: string; typeIds: number[] }> }>>;
  /** The SDK client, for destinations that need more than this interface. */
  readonly sdk: Client;
  readonly limiter: RateLimiter;
}

/** SDK ApiException (`code`, `body`, `headers`) or a network error → the error tree. */
export function mapHubspotError(e: unknown, what: string): unknown {
  if (e instanceof PartnersyncError) return e;
  const ex = e as { code?: unknown; body?: unknown; headers?: Record<string, string> };
  if (typeof ex?.code === 'number' && ex.code >= 400) {
    const body = typeof ex.body === 'string' ? safeJson(ex.body) : ex.body;
    let retryAfterMs = retryDelayFromHeaders(ex.headers);
    // Search 429s carry no rate-limit headers; its window is one second.
    if (ex.code === 429 && retryAfterMs === undefined) retryAfterMs = 1000;
    const err = errorForStatus(ex.code, describeFailure(what.split(' ')[0] ?? '', what.split(' ')[1] ?? what, ex.code, body), { retryAfterMs, service: 'HubSpot', cause: e });
    if (ex.code === 429 && (body as { policyName?: string } | undefined)?.policyName === 'DAILY') {
      return new FatalError(err.message, { status: 429, cause: e, hint: 'The portal used up its daily API allowance; it resets at midnight in the portal time zone.' });
    }
    return err;
  }
  if (isNetworkError(e)) return new RetriableError(`HubSpot: ${what}: network error`, { cause: e });
  return e;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

export function createHubspotClient(config: HubspotConfig, tuning: Partial<RetryPolicy> = {}): HubspotClient {
  const sdk = new Client({ accessToken: config.accessToken, ...(config.baseUrl ? { basePath: config.baseUrl } : {}), numberOfApiCallRetries: 0 });
  const limiter = new RateLimiter({ requests: config.requestsPerTenSeconds, perMs: 10_000 }, { search: { requests: config.searchRequestsPerSecond, perMs: 1000 } });
  const policy: RetryPolicy = { maxRetries: config.maxRetries, ...tuning };
  const call = <T>(what: string, bucket: 'default' | 'search', fn: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    withRetry(async () => {
      await limiter.take(bucket, 1, signal);
      try {
        return await fn();
      } catch (e) {
        const mapped = mapHubspotError(e, what);
        // A 429 says the whole allowance is spent: every caller of this bucket waits, not just this one.
        if (mapped instanceof RetriableError && mapped.status === 429) limiter.pause(bucket, mapped.retryAfterMs ?? 1000);
        throw mapped;
      }
    }, policy, signal);

  const api = (type: HubspotObjectType) => sdk.crm[type];
  const toObject = (r: { id: string; properties: Record<string, string | null>; createdAt?: Date; updatedAt?: Date; archived?: boolean; archivedAt?: Date }): HubspotObject => ({
    id: r.id,
    properties: r.properties,
    createdAt: r.createdAt?.toISOString(),
    updatedAt: r.updatedAt?.toISOString(),
    archived: r.archived,
    archivedAt: r.archivedAt?.toISOString(),
  });

  return {
    sdk,
    limiter,
    async propertyNames(type, signal) {
      const res = await call(`GET /crm/v3/properties/${type}`, 'default', () => sdk.crm.properties.coreApi.getAll(type), signal);
      return res.results.map((p) => p.name);
    },
    async listPage(type, opts, signal) {
      const res = await call(`GET /crm/v3/objects/${type}`, 'default', () => api(type).basicApi.getPage(opts.limit, opts.after, opts.properties, undefined, undefined, opts.archived), signal);
      return { results: res.results.map(toObject), after: res.paging?.next?.after };
    },
    async search(type, req, signal) {
      const res = await call(`POST /crm/v3/objects/${type}/search`, 'search', () => api(type).searchApi.doSearch(req as never), signal);
      return { total: res.total, results: res.results.map(toObject), after: res.paging?.next?.after };
    },
    async associations(from, to, ids, signal) {
      if (!ids.length) return [];
      const res = await call(`POST /crm/v4/associations/${from}/${to}/batch/read`, 'default', () => sdk.crm.associations.v4.batchApi.getPage(from, to, { inputs: ids.map((id) => ({ id })) }), signal);
      return res.results.map((r) => ({
        fromId: String(r._from.id),
        toIds: r.to.map((t) => ({ id: String(t.toObjectId), typeIds: t.associationTypes.map((a) => a.typeId) })),
      }));
    },
  };
}
