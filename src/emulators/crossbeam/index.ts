import { createHash } from 'node:crypto';
import { startServer, json, WindowLimiter, type EmulatorRequest, type EmulatorResponse, type Route } from '../shared/server.js';
import type { Emulator, EmulatorStartOptions } from '../shared/types.js';
import { readSeed } from '../shared/seed.js';
import { CrossbeamState, type CrossbeamSeed, type XbSignal } from './crossbeam-state.js';
import { defaultCrossbeamSeed } from './crossbeam-default-seed.js';
import {
  deliverCrossbeamWebhook,
  type WebhookDelivery,
  type WebhookRetryPolicy,
  type WebhookSubscription,
} from './crossbeam-webhooks.js';

export { CrossbeamState, stableUuid } from './crossbeam-state.js';
export type { CrossbeamSeed, XbOverlap, XbRecord, XbSignal, XbPartner, XbPopulation, OverlapInput, SignalInput } from './crossbeam-state.js';
export { signCrossbeamWebhook, CROSSBEAM_RETRY_STATUSES } from './crossbeam-webhooks.js';
export type { WebhookDelivery, WebhookAttempt, WebhookRetryPolicy, WebhookSubscription } from './crossbeam-webhooks.js';
export { defaultCrossbeamSeed } from './crossbeam-default-seed.js';

/**
 * Crossbeam REST emulator (auth server and API on one port). See README.md in this folder for the
 * route list, the error bodies (Crossbeam publishes none, so these are the emulator's own) and the
 * incremental-cursor rules.
 *
 * @example
 *   const xb = await start({ webhookRetry: { baseDelayMs: 5 } });
 *   const tok = await (await fetch(`${xb.url}/oauth/token`, { method: 'POST',
 *     body: new URLSearchParams({ grant_type: 'client_credentials', client_id: xb.clientId, client_secret: xb.clientSecret }) })).json();
 *   const page = await (await fetch(`${xb.url}/v1/overlaps/accounts?limit=2`, {
 *     headers: { authorization: `Bearer ${tok.access_token}`, 'xbeam-organization': xb.orgUuid } })).json();
 *   await xb.stop();
 */
export interface CrossbeamStartOptions extends EmulatorStartOptions {
  /** Access-token lifetime in seconds (Crossbeam: 24 h). */
  tokenTtlSeconds?: number;
  /** A bearer token accepted without the OAuth dance and never expiring (handy for `emulate`). */
  staticToken?: string;
  /** Requests allowed per window before 429 (default 600 per 60 s; Crossbeam publishes no number). */
  rateLimit?: { limit: number; windowMs: number };
  /** Seconds sent in Retry-After with 429s (default 1). */
  retryAfterSeconds?: number;
  /**
   * When true (default), an old cursor used with different query parameters answers 400 invalid_cursor.
   * The real API documents that it "will still return results" but no longer tracks changes correctly;
   * `false` reproduces that (the cursor's position is used, its parameters ignored).
   */
  strictCursors?: boolean;
  /** Subscriptions that receive a signed delivery for every signal added through `state.addSignal`. */
  webhooks?: WebhookSubscription[];
  webhookRetry?: Partial<WebhookRetryPolicy>;
}

export interface CrossbeamEmulator extends Emulator<CrossbeamState> {
  orgUuid: string;
  clientId: string;
  clientSecret: string;
  /** A refresh token the emulator accepts (from the seed, or the built-in one). */
  refreshToken: string;
  /** Every webhook delivery (subscription or `sendWebhook`), with its attempts. */
  deliveries: WebhookDelivery[];
  /** Sign and POST one event the way Crossbeam does, retrying on 408/429/5xx. */
  sendWebhook(url: string, event: XbSignal | Record<string, unknown>, secret: string, retry?: Partial<WebhookRetryPolicy>): Promise<WebhookDelivery>;
  /** Resolves when every delivery started for a subscription has finished (delivered or given up). */
  webhooksSettled(): Promise<void>;
}

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 25;

interface CursorPayload {
  feed: string;
  /** Hash of the query parameters (except cursor and limit) the cursor was issued for. */
  q: string;
  /** Bookmark mode: only changes after this sequence. `null` = the full pass. */
  since: number | null;
  /** State sequence when the pass began; becomes `since` of the final bookmark. */
  mark: number;
  /** Sort key of the last item already returned. */
  after: string | null;
}

function err(status: number, error: string, message: string, headers: Record<string, string | number> = {}): EmulatorResponse {
  return json(status, { error, message }, headers);
}

function queryHash(query: URLSearchParams): string {
  const entries = [...query.entries()].filter(([k]) => k !== 'cursor' && k !== 'limit').sort(([a, x], [b, y]) => (a === b ? x.localeCompare(y) : a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
}

function encodeCursor(c: CursorPayload): string {
  return Buffer.from(JSON.stringify(c)).toString('base64');
}

function decodeCursor(s: string): CursorPayload | undefined {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64').toString('utf8')) as CursorPayload;
    if (typeof c !== 'object' || c === null || typeof c.feed !== 'string' || typeof c.q !== 'string' || typeof c.mark !== 'number') return undefined;
    return c;
  } catch {
    return undefined;
  }
}

/** Repeatable params appear as `name[]=1&name[]=2` or `name=1&name=2`. */
function multi(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(name), ...query.getAll(`${name}[]`)].flatMap((v) => v.split(',')).map((v) => v.replace(/^"|"$/g, '')).filter(Boolean);
}

function parseLimit(query: URLSearchParams): number | EmulatorResponse {
  const raw = query.get('limit');
  if (raw === null) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) return err(400, 'invalid_parameter', `limit must be an integer between 1 and ${MAX_LIMIT}, got "${raw}"`);
  return n;
}

export async function start(opts: CrossbeamStartOptions = {}): Promise<CrossbeamEmulator> {
  let seed: CrossbeamSeed;
  if (opts.seedData !== undefined) seed = opts.seedData as CrossbeamSeed;
  else if (opts.seed) seed = await readSeed<CrossbeamSeed>(opts.seed);
  else seed = structuredClone(defaultCrossbeamSeed);
  const state = new CrossbeamState(seed);
  if (opts.tokenTtlSeconds !== undefined) state.tokenTtlSeconds = opts.tokenTtlSeconds;
  if (opts.staticToken) state.accessTokens.set(opts.staticToken, { clientId: state.clientId, expiresAt: Number.MAX_SAFE_INTEGER });
  const limiter = new WindowLimiter(opts.rateLimit?.limit ?? 600, opts.rateLimit?.windowMs ?? 60_000);
  const retryAfter = opts.retryAfterSeconds ?? 1;
  const strict = opts.strictCursors ?? true;
  const policy: WebhookRetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, timeoutMs: 10_000, ...opts.webhookRetry };
  const deliveries: WebhookDelivery[] = [];
  const pending = new Set<Promise<unknown>>();
  let baseUrl = '';

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };
  state.onSignal = (s) => {
    for (const sub of opts.webhooks ?? []) {
      if (sub.events && !sub.events.includes(s.event_type)) continue;
      void track(deliverCrossbeamWebhook(sub.url, state.signalView(s), sub.secret, policy, deliveries));
    }
  };

  /**
   * Cursor paging over a sorted list. `bookmarkable` feeds end with a non-null next_href (the bookmark)
   * and, in bookmark mode, return items changed since the bookmark including deletions.
   */
  function page<T>(
    req: EmulatorRequest,
    feed: string,
    all: T[],
    opts2: { key: (t: T) => string; seq?: (t: T) => number; deleted?: (t: T) => boolean; view: (t: T) => unknown; bookmarkable: boolean },
  ): EmulatorResponse {
    const limit = parseLimit(req.query);
    if (typeof limit !== 'number') return limit;
    const q = queryHash(req.query);
    let cursor: CursorPayload = { feed, q, since: null, mark: state.seq, after: null };
    const raw = req.query.get('cursor');
    if (raw) {
      const c = decodeCursor(raw);
      if (!c || c.feed !== feed) return err(400, 'invalid_cursor', 'The cursor is malformed or was issued by another endpoint.');
      if (c.q !== q && strict)
        return err(400, 'invalid_cursor', 'The cursor was issued for different query parameters; restart without a cursor to track changes for these parameters.');
      cursor = { ...c, q };
      // A bookmark (has_more was false) starts a new incremental pass.
      if (cursor.after === null && cursor.since !== null) cursor.mark = state.seq;
    }
    const since = cursor.since;
    const eligible = all
      .filter((t) => (since === null ? !opts2.deleted?.(t) : (opts2.seq?.(t) ?? 0) > since))
      .sort((a, b) => (opts2.key(a) < opts2.key(b) ? -1 : opts2.key(a) > opts2.key(b) ? 1 : 0));
    const rest = cursor.after === null ? eligible : eligible.filter((t) => opts2.key(t) > cursor.after!);
    const items = rest.slice(0, limit);
    const hasMore = rest.length > limit;
    let next: CursorPayload | null = null;
    if (hasMore) next = { ...cursor, after: opts2.key(items[items.length - 1]!) };
    else if (opts2.bookmarkable) next = { feed, q, since: cursor.mark, mark: cursor.mark, after: null };
    let nextHref: string | null = null;
    let nextCursor: string | null = null;
    if (next) {
      nextCursor = encodeCursor(next);
      const u = new URL(req.path, baseUrl);
      for (const [k, v] of req.query) if (k !== 'cursor') u.searchParams.append(k, v);
      u.searchParams.set('cursor', nextCursor);
      nextHref = u.toString();
    }
    const data = items.map(opts2.view);
    if (req.path.startsWith('/v0.1/')) return json(200, { items: data, pagination: { next_href: nextHref, has_more: hasMore } });
    return json(200, { data, pagination: { has_more: hasMore, next_href: nextHref, next_cursor: nextCursor }, warnings: [] });
  }

  /** Page-number paging (`/v1/partners`, `/v1/partner-tags`): `{limit, page, next_href}`. */
  function pageByNumber<T>(req: EmulatorRequest, all: T[], view: (t: T) => unknown, itemsKey: string): EmulatorResponse {
    const limit = parseLimit(req.query);
    if (typeof limit !== 'number') return limit;
    const pageNo = Math.max(1, Number(req.query.get('page') ?? '1') || 1);
    const items = all.slice((pageNo - 1) * limit, pageNo * limit);
    let nextHref: string | null = null;
    if (pageNo * limit < all.length) {
      const u = new URL(req.path, baseUrl);
      u.searchParams.set('limit', String(limit));
      u.searchParams.set('page', String(pageNo + 1));
      nextHref = u.toString();
    }
    if (req.path.startsWith('/v0.1/')) return json(200, { [itemsKey]: items.map(view), pagination: { next_href: nextHref } });
    return json(200, { data: items.map(view), pagination: { limit, page: pageNo, next_href: nextHref }, warnings: [] });
  }

  const populationView = (p: { id: number; name: string; population_type: string; standard_type: string | null; description: string | null }) => ({
    id: p.id,
    name: p.name,
    population_type: p.population_type,
    standard_type: p.standard_type,
    description: p.description,
  });
  const partnerView = (p: { uuid: string; id: number; name: string; domain: string; tags: unknown[] }) => ({ uuid: p.uuid, name: p.name, domain: p.domain, tags: p.tags });

  function overlaps(kind: 'account' | 'lead') {
    return (req: EmulatorRequest): EmulatorResponse => {
      const pops = multi(req.query, 'population-ids').map(Number);
      const partnerPops = multi(req.query, 'partner-population-ids').map(Number);
      const partnerId = req.query.get('partner-id');
      if (partnerId && !state.partner(partnerId)) return err(404, 'not_found', `No partner ${partnerId}`);
      const list = state.overlaps.filter((o) => {
        if (o.partner_record_type !== kind) return false;
        if (partnerId && state.partner(partnerId)?.uuid !== o.partner_id) return false;
        if (partnerPops.length && !o.partner_populations.some((p) => partnerPops.includes(p))) return false;
        if (pops.length) {
          const own = state.records.find((r) => r.crossbeam_record_id === o.crossbeam_record_id);
          // A deleted record's overlaps stay visible as deletions in every population filter.
          if (own && !own.populations.some((p) => pops.includes(p))) return false;
        }
        return true;
      });
      return page(req, `overlaps/${kind}s`, list, {
        key: (o) => `${o.crossbeam_record_id}|${o.partner_crossbeam_record_id}`,
        seq: (o) => o.seq,
        deleted: (o) => o.is_deleted,
        view: (o) => state.overlapView(o),
        bookmarkable: true,
      });
    };
  }

  function records(kind: 'account' | 'lead' | 'all') {
    return (req: EmulatorRequest): EmulatorResponse =>
      page(req, `records/${kind}`, state.records.filter((r) => kind === 'all' || r.record_type === kind), {
        key: (r) => r.crossbeam_record_id,
        view: (r) => {
          const { populations, ...rest } = r;
          const out: Record<string, unknown> = {
            ...rest,
            populations: populations.map((id) => ({ id, name: state.populations.find((p) => p.id === id)?.name ?? String(id) })),
          };
          if (r.record_type === 'account') delete out.record_email;
          return out;
        },
        bookmarkable: false,
      });
  }

  function signals(feed: 'accounts' | 'leads' | 'own-deals') {
    return (req: EmulatorRequest): EmulatorResponse => {
      const q = req.query;
      const recordIds = multi(q, 'record_id');
      const popIds = multi(q, 'population_id').map(Number);
      const partnerIds = multi(q, 'partner_id');
      const partnerPopIds = multi(q, 'partner_population_id').map(Number);
      const eventTypes = multi(q, 'event_type');
      const timeFilters: [string, number][] = [];
      for (const op of ['gt', 'gte', 'lt', 'lte', 'eq']) {
        const v = q.get(`triggered_at[${op}]`);
        if (v === null) continue;
        const t = Date.parse(v.replace(/^"|"$/g, ''));
        if (Number.isNaN(t)) return err(400, 'invalid_parameter', `triggered_at[${op}] must be an ISO-8601 datetime, got "${v}"`);
        timeFilters.push([op, t]);
      }
      const list = state.signals.filter((s) => {
        const own = s.event_type.startsWith('own_');
        if (feed === 'own-deals' ? !own : own || s.record_type !== (feed === 'accounts' ? 'account' : 'lead')) return false;
        if (recordIds.length && !recordIds.includes(s.record_id)) return false;
        if (popIds.length && !s.populations.some((p) => popIds.includes(p.id))) return false;
        if (partnerIds.length && !partnerIds.includes(s.partner_id)) return false;
        if (partnerPopIds.length && !s.partner_populations.some((p) => partnerPopIds.includes(p.id))) return false;
        if (eventTypes.length && !eventTypes.includes(s.event_type)) return false;
        const t = Date.parse(s.triggered_at);
        for (const [op, v] of timeFilters) {
          if (op === 'gt' && !(t > v)) return false;
          if (op === 'gte' && !(t >= v)) return false;
          if (op === 'lt' && !(t < v)) return false;
          if (op === 'lte' && !(t <= v)) return false;
          if (op === 'eq' && t !== v) return false;
        }
        return true;
      });
      return page(req, `signals/${feed}`, list, {
        key: (s) => String(s.seq).padStart(12, '0'),
        seq: (s) => s.seq,
        view: (s) => state.signalView(s),
        bookmarkable: true,
      });
    };
  }

  function usersMe(req: EmulatorRequest): EmulatorResponse {
    const org = state.organization;
    if (req.path.startsWith('/v0.1/')) {
      return json(200, { user: { ...state.user }, authorizations: [{ organization: { uuid: org.uuid, id: org.id, name: org.name, domain: org.domain }, role: { name: 'Admin' } }] });
    }
    return json(200, {
      data: [{ ...state.user, active: true, organizations: [{ uuid: org.uuid, name: org.name, domain: org.domain, role: { name: 'Admin', uuid: '' }, sales_edge_role: 'reply-only' }] }],
      warnings: [],
    });
  }

  function oauthToken(req: EmulatorRequest): EmulatorResponse {
    const ct = String(req.headers['content-type'] ?? '');
    const form: Record<string, string> = /json/i.test(ct) && req.body && typeof req.body === 'object'
      ? Object.fromEntries(Object.entries(req.body as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
      : Object.fromEntries(new URLSearchParams(req.rawBody.toString('utf8')));
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      form.client_id ??= id ?? '';
      form.client_secret ??= secret ?? '';
    }
    if (form.client_id !== state.clientId || form.client_secret !== state.clientSecret) {
      return json(401, { error: 'access_denied', error_description: 'Unauthorized' });
    }
    const scope = form.scope ?? 'openid read:partnerships read:reports read:populations offline_access';
    switch (form.grant_type) {
      case 'client_credentials':
        return json(200, { ...state.issueToken(form.client_id), token_type: 'Bearer', scope });
      case 'refresh_token':
        if (!form.refresh_token || !state.refreshTokens.has(form.refresh_token)) {
          return json(403, { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
        }
        return json(200, { ...state.issueToken(form.client_id), token_type: 'Bearer', scope });
      case 'authorization_code':
        if (!form.code) return json(403, { error: 'invalid_grant', error_description: 'Invalid authorization code' });
        return json(200, { ...state.issueToken(form.client_id), refresh_token: state.issueRefreshToken(), token_type: 'Bearer', scope });
      default:
        return json(403, { error: 'unsupported_grant_type', error_description: 'Grant type not allowed for the client.' });
    }
  }

  const get = (path: string, name: string, handler: Route['handler']): Route => ({ method: 'GET', path, name, handler });
  const byId = <T extends { id: number }>(list: () => T[], what: string) => (req: EmulatorRequest) => {
    const item = list().find((x) => String(x.id) === req.params.id);
    return item ? json(200, populationView(item as never)) : err(404, 'not_found', `No ${what} ${req.params.id}`);
  };
  const routes: Route[] = [
    { method: 'POST', path: '/oauth/token', name: 'oauth-token', handler: oauthToken },
    get('/v1/users/me', 'users-me', usersMe),
    get('/v0.1/users/me', 'users-me', usersMe),
    get('/v1/partners', 'partners', (req) => pageByNumber(req, state.partners, partnerView, 'data')),
    get('/v1/partners/:id', 'partner', (req) => {
      const p = state.partner(req.params.id!);
      return p ? json(200, partnerView(p)) : err(404, 'not_found', `No partner ${req.params.id}`);
    }),
    get('/v0.1/partners', 'partners', (req) =>
      pageByNumber(req, state.partners, (p) => ({ id: p.id, uuid: p.uuid, name: p.name, domain: p.domain }), 'partner_orgs'),
    ),
    get('/v1/partner-tags', 'partner-tags', (req) => {
      const tags = new Map<string, unknown>();
      for (const p of state.partners) for (const t of p.tags) tags.set(t.id, t);
      return pageByNumber(req, [...tags.values()], (t) => t, 'data');
    }),
    get('/v1/populations', 'populations', () => json(200, { data: state.populations.map(populationView), warnings: [] })),
    get('/v1/populations/:id', 'population', byId(() => state.populations, 'population')),
    get('/v0.1/populations', 'populations', () => json(200, { items: state.populations.map(populationView), pagination: { next_href: null } })),
    get('/v1/partner-populations', 'partner-populations', () => json(200, { data: state.partnerPopulations.map(populationView), warnings: [] })),
    get('/v1/partner-populations/:id', 'partner-population', byId(() => state.partnerPopulations, 'partner population')),
    get('/v0.1/partner-populations', 'partner-populations', () =>
      json(200, { items: state.partnerPopulations.map((p) => ({ ...populationView(p), partner_organization_id: state.partner(p.partner_id ?? '')?.id ?? null })), pagination: { next_href: null } }),
    ),
    get('/v1/records/accounts', 'records-accounts', records('account')),
    get('/v1/records/leads', 'records-leads', records('lead')),
    get('/v0.1/records', 'records-v0', records('all')),
    get('/v0.1/partner-records', 'partner-records-v0', (req) =>
      page(req, 'partner-records', state.overlaps.filter((o) => !o.is_deleted), {
        key: (o) => o.partner_crossbeam_record_id + '|' + o.crossbeam_record_id,
        view: (o) => ({
          partner_organization_id: state.partner(o.partner_id)?.id ?? null,
          partner_populations: o.partner_populations,
          partner_master: { top_level: { name: o.partner_record_name, website: o.partner_record_website, record_id: o.partner_record_id } },
        }),
        bookmarkable: false,
      }),
    ),
    get('/v1/overlaps/accounts', 'overlaps-accounts', overlaps('account')),
    get('/v1/overlaps/leads', 'overlaps-leads', overlaps('lead')),
    get('/v1/signals/accounts', 'signals-accounts', signals('accounts')),
    get('/v1/signals/leads', 'signals-leads', signals('leads')),
    get('/v1/signals/own-deals', 'signals-own-deals', signals('own-deals')),
  ];

  const tooMany = (): EmulatorResponse => err(429, 'too_many_requests', 'Rate limit exceeded; retry later.', { 'retry-after': retryAfter });

  const server = await startServer({
    name: 'crossbeam',
    routes,
    host: opts.host,
    port: opts.port,
    faults: opts.faults,
    faultSeed: opts.faultSeed,
    tooManyRequests: tooMany,
    serverError: (status) => err(status, 'server_error', 'Internal Server Error'),
    before: (req) => {
      if (req.routeName === 'oauth-token') return undefined;
      const m = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
      if (!m) return err(401, 'unauthorized', 'Missing bearer token', { 'www-authenticate': 'Bearer' });
      const status = state.tokenStatus(m[1]!);
      if (status === 'unknown') return err(401, 'unauthorized', 'Invalid token', { 'www-authenticate': 'Bearer error="invalid_token"' });
      if (status === 'expired')
        return err(401, 'unauthorized', 'Token expired', { 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' });
      if (req.routeName !== 'users-me') {
        const org = req.headers['xbeam-organization'];
        if (org === undefined || org === '') return err(400, 'missing_organization', 'The Xbeam-Organization header is required; get the organization uuid from GET /v1/users/me.');
        if (org !== state.organization.uuid) return err(403, 'forbidden', `Not authorized for organization ${String(org)}`);
      }
      if (!limiter.take().allowed) return tooMany();
      return undefined;
    },
  });
  baseUrl = server.url;

  return {
    url: server.url,
    state,
    requests: server.requests,
    calls: server.calls,
    faults: server.faults,
    orgUuid: state.organization.uuid,
    clientId: state.clientId,
    clientSecret: state.clientSecret,
    refreshToken: [...state.refreshTokens][0] ?? '',
    deliveries,
    sendWebhook: (url, event, secret, retry) => {
      const body = 'seq' in event ? state.signalView(event as XbSignal) : (event as Record<string, unknown>);
      return track(deliverCrossbeamWebhook(url, body, secret, { ...policy, ...retry }, deliveries));
    },
    webhooksSettled: async () => {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    dump: () => ({ ...state.dump(), deliveries: structuredClone(deliveries) }),
    stop: server.stop,
  };
}
