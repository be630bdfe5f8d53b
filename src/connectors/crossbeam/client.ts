import { AuthError, FatalError } from '../../errors.js';
import { HttpClient, type HttpClientOptions } from '../shared/http.js';
import type { CrossbeamConfig } from './config.js';

/**
 * The narrow Crossbeam API the source needs: fetch one page (of any list endpoint, by path or by a
 * `next_href`) and who-am-I. Everything about tokens, the organization header, retries and the two
 * response envelopes (`{data, pagination}` of v1, `{items, pagination}` of the legacy v0.1) lives here.
 *
 * @example
 *   const xb = createCrossbeamClient(config);
 *   let page = await xb.page('/v1/overlaps/accounts', { limit: 100 });
 *   while (page.hasMore) page = await xb.page(page.nextHref!);
 */
export interface CrossbeamPage {
  items: Array<Record<string, unknown>>;
  /** Next page, or (on a bookmarkable feed whose `has_more` is false) the bookmark for the next run. */
  nextHref: string | null;
  hasMore: boolean;
}

export interface CrossbeamClient {
  page(pathOrHref: string, query?: Record<string, string | number | Array<string | number> | undefined>, signal?: AbortSignal): Promise<CrossbeamPage>;
  /** `GET /v1/users/me`: the organizations the credentials may act for. */
  organizations(signal?: AbortSignal): Promise<Array<{ uuid: string; name?: string }>>;
  /** A path+query that resolves against this client's base URL (bookmarks survive a base URL change). */
  rebase(href: string): string;
}

const REAL_API_HOST = 'api.crossbeam.com';
/** Refresh this long before `expires_in` runs out, so a page request never races the expiry. */
const EXPIRY_MARGIN_MS = 60_000;

export function tokenUrlFor(config: Pick<CrossbeamConfig, 'baseUrl' | 'tokenUrl'>): string {
  if (config.tokenUrl) return config.tokenUrl;
  const base = new URL(config.baseUrl);
  return base.host === REAL_API_HOST ? 'https://auth.crossbeam.com/oauth/token' : `${config.baseUrl.replace(/\/+$/, '')}/oauth/token`;
}

/** Parse either envelope; a page-number endpoint has no `has_more`, so a `next_href` means more. */
export function parseCrossbeamPage(body: unknown): CrossbeamPage {
  if (!body || typeof body !== 'object') throw new FatalError('Crossbeam: expected a JSON object page');
  const b = body as Record<string, unknown>;
  let items: unknown = b.data ?? b.items;
  if (!Array.isArray(items)) items = Object.values(b).find(Array.isArray);
  if (!Array.isArray(items)) throw new FatalError(`Crossbeam: a page without data or items (keys: ${Object.keys(b).join(', ')})`);
  const pagination = (b.pagination ?? {}) as { next_href?: string | null; has_more?: boolean };
  const nextHref = pagination.next_href ?? null;
  return { items: items as Array<Record<string, unknown>>, nextHref, hasMore: pagination.has_more ?? nextHref !== null };
}

type TokenResponse = { access_token?: string; expires_in?: number; refresh_token?: string };

export function createCrossbeamClient(config: CrossbeamConfig, overrides: Partial<HttpClientOptions> = {}): CrossbeamClient {
  let accessToken = config.accessToken;
  let refreshToken = config.refreshToken;
  let expiresAt = Number.POSITIVE_INFINITY;
  let inflight: Promise<string> | undefined;
  const canRenew = Boolean(config.clientId && (config.clientSecret || refreshToken));

  const http = new HttpClient({
    service: 'Crossbeam',
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    headers: async () => ({ authorization: `Bearer ${await token()}`, 'xbeam-organization': config.organization }),
    onUnauthorized: async () => {
      if (!canRenew) return false;
      accessToken = undefined;
      await token();
      return true;
    },
    ...overrides,
  });

  async function renew(): Promise<string> {
    if (!config.clientId) throw new AuthError('Crossbeam: no access token and no clientId to obtain one', { hint: 'Set accessToken, or clientId with clientSecret (and refreshToken for a user grant).' });
    const form = new URLSearchParams({ client_id: config.clientId, audience: `https://${REAL_API_HOST}` });
    if (config.clientSecret) form.set('client_secret', config.clientSecret);
    if (refreshToken) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', refreshToken);
    } else form.set('grant_type', 'client_credentials');
    const res = await http.request<TokenResponse>({ method: 'POST', path: tokenUrlFor(config), body: form, bare: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (!res.body?.access_token) throw new AuthError('Crossbeam: the token endpoint answered without an access_token');
    accessToken = res.body.access_token;
    // Auth servers may rotate refresh tokens; keep the newest for this process.
    if (res.body.refresh_token) refreshToken = res.body.refresh_token;
    expiresAt = typeof res.body.expires_in === 'number' ? Date.now() + res.body.expires_in * 1000 - EXPIRY_MARGIN_MS : Number.POSITIVE_INFINITY;
    return accessToken;
  }

  function token(): Promise<string> {
    if (accessToken && (Date.now() < expiresAt || !canRenew)) return Promise.resolve(accessToken);
    inflight ??= renew().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  const rebase = (href: string): string => {
    if (!/^https?:\/\//i.test(href)) return href;
    const u = new URL(href);
    return u.pathname + u.search;
  };

  return {
    async page(pathOrHref, query, signal) {
      const res = await http.request({ path: rebase(pathOrHref), query, signal });
      return parseCrossbeamPage(res.body);
    },
    async organizations(signal) {
      const res = await http.request<Record<string, unknown>>({ path: '/v1/users/me', signal });
      const b = res.body;
      const v1 = Array.isArray(b.data) ? (b.data[0] as { organizations?: Array<{ uuid: string; name?: string }> } | undefined)?.organizations : undefined;
      const legacy = Array.isArray(b.authorizations) ? (b.authorizations as Array<{ organization: { uuid: string; name?: string } }>).map((a) => a.organization) : undefined;
      return v1 ?? legacy ?? [];
    },
    rebase,
  };
}
