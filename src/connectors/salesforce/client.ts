import jsforce from 'jsforce';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2.js';
import { HttpApi } from 'jsforce/lib/http-api.js';
import { AuthError, FatalError, PartnersyncError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import { isNetworkError, withRetry } from '../shared/http.js';
import type { SalesforceConfig } from './config.js';

/**
 * The narrow Salesforce API partnersync uses, over jsforce 3. Sources read with `queryPages` (SOQL
 * + queryMore, `all` = queryAll with deleted rows) or `bulkQuery` (Bulk API 2.0); destinations may
 * extend this interface. Every call maps jsforce's errors to the error tree and retries what is
 * transient on top of jsforce's own retries (which cover GETs only).
 *
 * @example
 *   const sf = await connectSalesforce(config);
 *   for await (const page of sf.queryPages('SELECT Id, Name FROM Account')) console.log(page.length);
 */
export type SfRecord = Record<string, unknown>;

export interface SfField {
  name: string;
  type: string;
}

export interface SalesforceClient {
  describe(object: string): Promise<SfField[]>;
  count(soql: string, opts?: { all?: boolean }): Promise<number>;
  queryPages(soql: string, opts?: { all?: boolean; batchSize?: number; signal?: AbortSignal }): AsyncIterable<SfRecord[]>;
  /** Bulk API 2.0 query; rows come as CSV strings (convert with the describe types), in chunks. */
  bulkQuery(soql: string, opts?: { all?: boolean; chunkSize?: number; signal?: AbortSignal }): AsyncIterable<SfRecord[]>;
  identity(): Promise<{ organizationId: string; username: string }>;
  /** The jsforce connection, for destinations that need more than this interface. */
  readonly connection: jsforce.Connection;
}

const AUTH_CODES = new Set(['INVALID_SESSION_ID', 'INVALID_AUTH_HEADER', 'INVALID_LOGIN', 'invalid_grant', 'invalid_client', 'invalid_client_id', 'INVALID_OPERATION_WITH_EXPIRED_PASSWORD', 'API_DISABLED_FOR_ORG', 'INSUFFICIENT_ACCESS', 'LOGIN_MUST_USE_SECURITY_TOKEN']);
const RETRY_CODES = new Set(['SERVER_UNAVAILABLE', 'UNKNOWN_EXCEPTION', 'REQUEST_RUNNING_TOO_LONG', 'QUERY_TIMEOUT', 'UNABLE_TO_LOCK_ROW', 'ERROR_HTTP_408', 'ERROR_HTTP_420', 'ERROR_HTTP_429']);

/** jsforce error → error tree. jsforce errors carry `errorCode` (from the body) but no status. */
export function mapSalesforceError(e: unknown, what: string): PartnersyncError {
  if (e instanceof PartnersyncError) return e;
  const code = String((e as { errorCode?: unknown; name?: unknown })?.errorCode ?? (e as { name?: unknown })?.name ?? '');
  const msg = redact(`Salesforce: ${what} failed: ${code ? `${code}: ` : ''}${String((e as Error)?.message ?? e).split('\n')[0]}`);
  if (AUTH_CODES.has(code)) return new AuthError(msg, { cause: e, hint: 'Check the connection credentials (username, password + security token, client id/secret, refresh token).' });
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    if (/TotalRequests/i.test(String((e as Error).message))) return new FatalError(msg, { cause: e, hint: 'The org used up its daily API allowance; wait for it to reset or raise it.' });
    return new RetriableError(msg, { cause: e, status: 429 });
  }
  const http = /^ERROR_HTTP_(\d{3})$/.exec(code);
  if (RETRY_CODES.has(code) || (http && Number(http[1]) >= 500) || isNetworkError(e)) return new RetriableError(msg, { cause: e, status: http ? Number(http[1]) : undefined });
  return new FatalError(msg, { cause: e });
}

/** Timing knobs (tests shorten them). */
export interface SalesforceTuning {
  baseDelayMs?: number;
  maxDelayMs?: number;
  bulkPollIntervalMs?: number;
}

export async function connectSalesforce(config: SalesforceConfig, retry: SalesforceTuning = {}): Promise<SalesforceClient> {
  const loginUrl = config.baseUrl ?? config.loginUrl;
  const oauth2 = config.clientId ? { clientId: config.clientId, clientSecret: config.clientSecret, loginUrl } : undefined;
  const policy = { maxRetries: config.maxRetries, baseDelayMs: retry.baseDelayMs ?? 1000, maxDelayMs: retry.maxDelayMs ?? 60_000 };
  const call = <T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    withRetry(async () => {
      try {
        return await fn();
      } catch (e) {
        throw mapSalesforceError(e, what);
      }
    }, policy, signal);

  let accessToken = config.accessToken;
  let instanceUrl = config.instanceUrl ?? config.baseUrl;
  // A refresh token without an access token is exchanged now; later expiries are refreshed by jsforce.
  if (config.refreshToken && !accessToken && !(config.username && config.password)) {
    if (!oauth2) throw new AuthError('Salesforce: a refresh token needs clientId (and clientSecret) of the connected app');
    const res = await call('token refresh', () => new jsforce.OAuth2(oauth2).refreshToken(config.refreshToken!));
    accessToken = res.access_token;
    instanceUrl = res.instance_url;
  }
  const conn = new jsforce.Connection({
    loginUrl,
    version: config.apiVersion,
    ...(oauth2 ? { oauth2 } : {}),
    ...(instanceUrl ? { instanceUrl } : {}),
    ...(accessToken ? { accessToken } : {}),
    ...(config.refreshToken ? { refreshToken: config.refreshToken } : {}),
  });
  // The password flow logs in now; jsforce logs in again by itself when the session expires.
  if (config.username && config.password) {
    await call('login', () => conn.login(config.username!, config.password!));
  } else if (!accessToken) {
    throw new AuthError('Salesforce: no credentials', { hint: 'Set username + password (with clientId/clientSecret), or refreshToken, or accessToken + instanceUrl.' });
  }

  const describeCache = new Map<string, SfField[]>();

  return {
    connection: conn,
    async describe(object) {
      let fields = describeCache.get(object);
      if (!fields) {
        const d = await call(`describe ${object}`, () => conn.sobject(object).describe());
        fields = d.fields.map((f) => ({ name: f.name, type: f.type }));
        describeCache.set(object, fields);
      }
      return fields;
    },
    async count(soql, opts = {}) {
      const res = await call('COUNT() query', async () => await conn.query(soql, { scanAll: Boolean(opts.all), autoFetch: false }));
      return res.totalSize;
    },
    async *queryPages(soql, opts = {}) {
      const headers = { 'Sforce-Query-Options': `batchSize=${opts.batchSize ?? 2000}` };
      let res = await call('query', async () => await conn.query<SfRecord>(soql, { scanAll: Boolean(opts.all), autoFetch: false, headers } as never), opts.signal);
      for (;;) {
        yield res.records;
        if (res.done || !res.nextRecordsUrl) return;
        const locator = res.nextRecordsUrl;
        res = await call('queryMore', async () => await conn.queryMore<SfRecord>(locator), opts.signal);
      }
    },
    async *bulkQuery(soql, opts = {}) {
      const chunk = opts.chunkSize ?? 2000;
      // Not conn.bulk2.query(): it pipes every result page into one CSV parser, so each further page's
      // header line comes out as a record and, once pages outgrow the stream buffers, their bytes
      // interleave mid-line. jsforce creates and polls the job (a failure there retries it whole);
      // the pages are read here one at a time, following Sforce-Locator.
      const job = await call('Bulk API 2.0 query', async () => {
        const j = new QueryJobV2(conn, {
          bodyParams: { query: soql, operation: opts.all ? 'queryAll' : 'query' },
          pollingOptions: { pollInterval: retry.bulkPollIntervalMs ?? 2000, pollTimeout: config.bulkPollTimeoutMs },
        });
        await j.open();
        try {
          await j.poll();
        } catch (e) {
          j.delete().catch(() => undefined);
          throw e;
        }
        return j;
      }, opts.signal);
      let locator: string | undefined;
      do {
        const page = await call('Bulk API 2.0 query results', () => bulkResultsPage(conn, job.id, locator), opts.signal);
        locator = page.locator;
        for (let i = 0; i < page.records.length; i += chunk) yield page.records.slice(i, i + chunk);
      } while (locator);
    },
    async identity() {
      const id = await call('identity', () => conn.identity());
      return { organizationId: id.organization_id, username: id.username };
    },
  };
}

/** One page of a Bulk API 2.0 query job's results, and the locator of the next page (none after the last). */
async function bulkResultsPage(conn: jsforce.Connection, jobId: string, locator: string | undefined): Promise<{ records: SfRecord[]; locator?: string }> {
  const api = new HttpApi(conn, {});
  let next: string | undefined;
  api.on('response', (res: { headers: Record<string, string | undefined> }) => (next = res.headers['sforce-locator']));
  const url = `${conn.instanceUrl}/services/data/v${conn.version}/jobs/query/${jobId}/results${locator ? `?locator=${encodeURIComponent(locator)}` : ''}`;
  const body = await api.request<unknown>({ method: 'GET', url, headers: { Accept: 'text/csv' } });
  // jsforce returns the raw text when a CSV body does not parse.
  if (!Array.isArray(body)) throw new FatalError('Salesforce: Bulk API 2.0 query results are not CSV');
  return { records: body as SfRecord[], locator: next && next !== 'null' ? next : undefined };
}
