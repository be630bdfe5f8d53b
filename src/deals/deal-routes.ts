import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { readBody } from '../server/http-body.js';
import { Router, type RouteContext } from '../server/router.js';
import { stableStringify } from '../staging/state.js';
import { looksLikeJwt, signAccessToken, verifyAccessToken } from './access-token.js';
import { resolveMapping, SCOPES, type DealsConfig, type Scope } from './config.js';
import { parseScopes, type CredentialStore, type Principal, type VerifyOutcome } from './credentials.js';
import { toDeal, type DealService } from './deal-service.js';
import { mapPartnerFields } from './field-mapping.js';
import { openApiDocument } from './openapi.js';
import { invalidParams, json, problem, validationProblem, type InvalidParam } from './problem.js';
import { RateLimiter } from './rate-limit.js';
import { DealInput, DealPatch, ListQuery } from './schemas.js';

/**
 * The deal API route group (mounted under `deals.basePath`, e.g. /api/v1). Every request goes
 * through the same gate, in this order, and every call is written to the audit log with who
 * (partner, credential id), what (method, path, deal, idempotency key) and the result:
 *
 *   authenticate (API key or OAuth access token) 401 → scope 403 → per-partner rate limit 429 →
 *   media type 415 → body limit 413 → JSON 400 → partner field mapping → zod validation 422 (every
 *   invalid field, in the partner's own field names) → Idempotency-Key → store → 201.
 *
 * Another partner's deal is answered exactly like a deal that does not exist (404, no data).
 *
 * @example
 *   app.router.mount('/api/v1', dealRoutes({ config: cfg.deals, service, credentials, tokenSecret, audit: new AuditLog(db) }));
 */
export interface DealRoutesOptions {
  config: DealsConfig;
  service: DealService;
  credentials: CredentialStore;
  /** HMAC key of access tokens. */
  tokenSecret: string;
  audit: AuditLog;
  rateLimiter?: RateLimiter;
  now?: () => Date;
  onError?: (err: unknown) => void;
  /** How long a request waits for a concurrent one holding the same Idempotency-Key (default 10 s). */
  idempotencyWaitMs?: number;
}

/** The audit row of one call; secrets and bodies never go in. */
interface AuditEntry {
  partnerId: string | null;
  credentialId: string | null;
  outcome: string | undefined;
  dealId: string | null;
  idempotencyKey: string | null;
}

export class AuditLog {
  constructor(private readonly db: Knex) {}
  async record(e: AuditEntry & { at: string; method: string; path: string; status: number; durationMs: number }): Promise<void> {
    await this.db('deal_api_audit').insert({
      at: e.at,
      partner_id: e.partnerId,
      credential_id: e.credentialId,
      method: e.method.slice(0, 8),
      path: e.path.slice(0, 255),
      status: e.status,
      outcome: (e.outcome ?? (e.status < 400 ? 'ok' : `http_${e.status}`)).slice(0, 64),
      deal_id: e.dealId,
      idempotency_key: e.idempotencyKey?.slice(0, 255) ?? null,
      duration_ms: e.durationMs,
    });
  }
}

type Handler = (req: Request, ctx: RouteContext, a: AuditEntry) => Promise<Response>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function dealRoutes(opts: DealRoutesOptions): Router {
  const { config, service, credentials, audit } = opts;
  const now = opts.now ?? (() => new Date());
  const limiter = opts.rateLimiter ?? new RateLimiter(() => now().getTime());
  const base = config.basePath.replace(/\/+$/, '');
  const waitMs = opts.idempotencyWaitMs ?? 10_000;
  let openapi: string | undefined;

  const fail = (a: AuditEntry, status: number, code: string, title: string, detail?: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    a.outcome = code;
    return problem(status, code, title, detail, extra, headers);
  };

  const audited =
    (fn: Handler) =>
    async (req: Request, ctx: RouteContext): Promise<Response> => {
      const started = Date.now();
      const a: AuditEntry = { partnerId: null, credentialId: null, outcome: undefined, dealId: null, idempotencyKey: null };
      let res: Response;
      try {
        res = await fn(req, ctx, a);
      } catch (err) {
        opts.onError?.(err);
        res = fail(a, 500, 'internal', 'Internal Server Error', 'the request failed on our side; retry later');
      }
      await audit
        .record({ ...a, at: new Date(started).toISOString(), method: req.method, path: ctx.url.pathname, status: res.status, durationMs: Date.now() - started })
        .catch((err) => opts.onError?.(err));
      return res;
    };

  /** Who is calling, with which scopes; or the 401/403 to answer. */
  const authenticate = async (req: Request, scope: Scope, a: AuditEntry): Promise<Principal | Response> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '');
    const token = m?.[1] ?? req.headers.get('x-api-key')?.trim();
    const challenge = (error: string) => ({ 'www-authenticate': `Bearer realm="partnersync", error="${error}"` });
    if (!token) return fail(a, 401, 'unauthorized', 'Unauthorized', 'send Authorization: Bearer <API key or access token>', {}, { 'www-authenticate': 'Bearer realm="partnersync"' });
    let v: VerifyOutcome;
    if (token.startsWith('psk_')) v = await credentials.verifyApiKey(token);
    else if (looksLikeJwt(token)) {
      const t = verifyAccessToken(token, opts.tokenSecret, now().getTime());
      if (!t.ok) v = { ok: false, reason: t.reason === 'expired' ? 'expired' : 'unknown' };
      else {
        // Revoking or expiring the client ends its tokens at once, not when they run out.
        const c = await credentials.check(t.claims.cid, 'oauth_client');
        v = c.ok && c.principal.partnerId === t.claims.sub ? { ok: true, principal: { partnerId: t.claims.sub, credentialId: t.claims.cid, kind: 'access_token', scopes: parseScopes(t.claims.scope) } } : c.ok ? { ok: false, reason: 'unknown' } : c;
      }
    } else v = { ok: false, reason: 'unknown' };
    if (!v.ok) {
      const detail = { unknown: 'the credentials are not valid', revoked: 'the credentials were revoked', expired: 'the credentials have expired', disabled: 'the partner is disabled' }[v.reason];
      a.outcome = `auth_${v.reason}`;
      return problem(401, 'unauthorized', 'Unauthorized', detail, {}, challenge('invalid_token'));
    }
    a.partnerId = v.principal.partnerId;
    a.credentialId = v.principal.credentialId;
    if (!v.principal.scopes.includes(scope)) {
      return fail(a, 403, 'insufficient_scope', 'Forbidden', `this operation needs the scope ${scope}`, {}, { 'www-authenticate': `Bearer realm="partnersync", error="insufficient_scope", scope="${scope}"` });
    }
    const rl = limiter.take(v.principal.partnerId, resolveMapping(config, v.principal.partnerId).rateLimit);
    if (!rl.ok) return fail(a, 429, 'rate_limited', 'Too Many Requests', `at most ${rl.limit} requests per window; retry in ${rl.retryAfterSeconds} s`, {}, { 'retry-after': String(rl.retryAfterSeconds) });
    return v.principal;
  };

  /** The JSON object body, or the 413/415/400/422 to answer. */
  const jsonBody = async (req: Request, a: AuditEntry): Promise<Record<string, unknown> | Response> => {
    const ct = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(ct)) return fail(a, 415, 'unsupported_media_type', 'Unsupported Media Type', 'send Content-Type: application/json');
    const raw = await readBody(req);
    if (raw.length > config.bodyLimitBytes) return fail(a, 413, 'payload_too_large', 'Content Too Large', `the body limit is ${config.bodyLimitBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return fail(a, 400, 'malformed_json', 'Bad Request', 'the body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      a.outcome = 'validation_failed';
      return validationProblem([{ field: '(body)', pointer: '', code: 'invalid_type', detail: 'expected a JSON object' }]);
    }
    return body as Record<string, unknown>;
  };

  /** Partner names → ours, validated; every problem at once, named as the partner named it. */
  const mapAndValidate = <S extends typeof DealInput | typeof DealPatch>(partnerId: string, body: Record<string, unknown>, schema: S) => {
    const mapping = resolveMapping(config, partnerId);
    const mapped = mapPartnerFields(body, mapping);
    const rename = (f: string) => mapped.theirName[f] ?? f;
    const parsed = schema.safeParse(mapped.fields);
    const errors: InvalidParam[] = parsed.success ? [] : invalidParams(parsed.error.issues, mapped.fields, rename);
    if (mapping.unknownFields === 'reject') {
      for (const k of Object.keys(mapped.unknown)) errors.push({ field: k, pointer: `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, code: 'unknown_field', detail: 'not a field of this API (or of your mapping)' });
    }
    return { errors, data: parsed.success ? (parsed.data as S['_output']) : undefined, extra: mapping.unknownFields === 'keep' ? mapped.unknown : {} };
  };

  const router = new Router();

  router.get(
    '/openapi.json',
    audited(async (req, ctx) => {
      openapi ??= JSON.stringify(openApiDocument({ basePath: config.basePath, serverUrl: ctx.url.origin }));
      return json(200, JSON.parse(openapi), { 'cache-control': 'public, max-age=300' });
    }),
  );

  router.post(
    '/oauth/token',
    audited(async (req, _ctx, a) => {
      const oauthError = (status: number, error: string, description: string, headers: Record<string, string> = {}) => {
        a.outcome = `oauth_${error}`;
        return json(status, { error, error_description: description }, { pragma: 'no-cache', ...headers });
      };
      const raw = (await readBody(req)).toString('utf8');
      if (raw.length > config.bodyLimitBytes) return oauthError(400, 'invalid_request', 'the body is too large');
      const ct = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      let params: Record<string, string>;
      try {
        params = ct === 'application/json' ? (JSON.parse(raw) as Record<string, string>) : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        return oauthError(400, 'invalid_request', 'the body is neither a form nor JSON');
      }
      if (!params || typeof params !== 'object') return oauthError(400, 'invalid_request', 'expected form parameters');
      let clientId = typeof params.client_id === 'string' ? params.client_id : undefined;
      let clientSecret = typeof params.client_secret === 'string' ? params.client_secret : undefined;
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '');
      if (basic) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        if (i > 0) {
          // RFC 6749 §2.3.1: both parts are form-urlencoded inside Basic.
          clientId = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
          clientSecret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
        }
      }
      if (!params.grant_type) return oauthError(400, 'invalid_request', 'grant_type is required');
      if (params.grant_type !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
      if (!clientId || !clientSecret) return oauthError(401, 'invalid_client', 'client authentication is required', { 'www-authenticate': 'Basic realm="partnersync"' });
      const v = await credentials.verifyClient(clientId, clientSecret);
      if (!v.ok) {
        const r = oauthError(401, 'invalid_client', v.reason === 'expired' ? 'the client has expired' : v.reason === 'revoked' ? 'the client was revoked' : 'unknown client or wrong secret', { 'www-authenticate': 'Basic realm="partnersync"' });
        a.outcome = `auth_${v.reason}`;
        return r;
      }
      a.partnerId = v.principal.partnerId;
      a.credentialId = v.principal.credentialId;
      let scopes: Scope[];
      try {
        scopes = params.scope ? parseScopes(params.scope) : v.principal.scopes;
      } catch {
        return oauthError(400, 'invalid_scope', `scopes are ${SCOPES.join(', ')}`);
      }
      if (scopes.some((s) => !v.principal.scopes.includes(s)) || scopes.length === 0) return oauthError(400, 'invalid_scope', `this client may request ${v.principal.scopes.join(' ')}`);
      const rl = limiter.take(v.principal.partnerId, resolveMapping(config, v.principal.partnerId).rateLimit);
      if (!rl.ok) return fail(a, 429, 'rate_limited', 'Too Many Requests', `retry in ${rl.retryAfterSeconds} s`, {}, { 'retry-after': String(rl.retryAfterSeconds) });
      const iat = Math.floor(now().getTime() / 1000);
      const token = signAccessToken(
        { iss: 'partnersync', sub: v.principal.partnerId, cid: v.principal.credentialId, scope: scopes.join(' '), iat, exp: iat + config.tokenTtlSeconds, jti: crypto.randomBytes(9).toString('base64url') },
        opts.tokenSecret,
      );
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: config.tokenTtlSeconds, scope: scopes.join(' ') }, { pragma: 'no-cache' });
    }),
  );

  router.post(
    '/deals',
    audited(async (req, _ctx, a) => {
      const who = await authenticate(req, 'deals:write', a);
      if (who instanceof Response) return who;
      const body = await jsonBody(req, a);
      if (body instanceof Response) return body;
      const key = req.headers.get('idempotency-key');
      if (key !== null) {
        a.idempotencyKey = key;
        if (key.length === 0 || key.length > 255) return fail(a, 400, 'invalid_idempotency_key', 'Bad Request', 'Idempotency-Key must be 1 to 255 characters');
      }
      const { errors, data, extra } = mapAndValidate(who.partnerId, body, DealInput);
      if (errors.length || !data) {
        a.outcome = 'validation_failed';
        return validationProblem(errors);
      }
      const respond = (row: Parameters<typeof toDeal>[0]) => ({ status: 201, body: JSON.stringify(toDeal(row)) });
      const location = (id: string) => `${base}/deals/${encodeURIComponent(id)}`;
      if (key !== null) {
        const hash = crypto.createHash('sha256').update(stableStringify(body)).digest('hex');
        const deadline = Date.now() + waitMs;
        for (;;) {
          const s = await service.reserveIdempotency(who.partnerId, key, hash);
          if (s.kind === 'new') break;
          if (s.kind === 'mismatch') return fail(a, 422, 'idempotency_key_reused', 'Unprocessable Content', 'this Idempotency-Key was used with a different request body');
          if (s.kind === 'replay') {
            a.outcome = 'idempotent_replay';
            const stored = JSON.parse(s.body) as { id?: string };
            a.dealId = stored.id ?? null;
            return json(s.status, stored, { 'idempotent-replayed': 'true', ...(stored.id ? { location: location(stored.id) } : {}) });
          }
          // The first request with this key is still running: wait for its answer.
          if (Date.now() > deadline) return fail(a, 409, 'idempotency_in_progress', 'Conflict', 'a request with this Idempotency-Key is still being processed; retry shortly', {}, { 'retry-after': '1' });
          await sleep(20);
        }
        try {
          const row = await service.submit(who.partnerId, data, extra, { key, respond });
          a.dealId = row.deal_id;
          return json(201, toDeal(row), { location: location(row.deal_id) });
        } catch (err) {
          await service.releaseIdempotency(who.partnerId, key).catch(() => undefined);
          throw err;
        }
      }
      const row = await service.submit(who.partnerId, data, extra);
      a.dealId = row.deal_id;
      return json(201, toDeal(row), { location: location(row.deal_id) });
    }),
  );

  router.get(
    '/deals',
    audited(async (req, ctx, a) => {
      const who = await authenticate(req, 'deals:read', a);
      if (who instanceof Response) return who;
      const query = Object.fromEntries(ctx.url.searchParams);
      const q = ListQuery.safeParse(query);
      if (!q.success) {
        a.outcome = 'invalid_query';
        return problem(400, 'invalid_query', 'Bad Request', 'invalid query parameters; see errors', { errors: invalidParams(q.error.issues, query) });
      }
      const limit = Math.min(q.data.limit ?? config.pageSize.default, config.pageSize.max);
      const page = await service.list(who.partnerId, { limit, cursor: q.data.cursor, status: q.data.status });
      if (page === 'bad_cursor') return fail(a, 400, 'invalid_query', 'Bad Request', 'cursor is not one this API returned');
      return json(200, { data: page.rows.map(toDeal), next_cursor: page.nextCursor });
    }),
  );

  router.get(
    '/deals/:id',
    audited(async (req, ctx, a) => {
      const who = await authenticate(req, 'deals:read', a);
      if (who instanceof Response) return who;
      const id = ctx.params.id!;
      a.dealId = id.slice(0, 40);
      const row = await service.get(who.partnerId, id);
      if (!row) return fail(a, 404, 'not_found', 'Not Found', `no deal ${id}`);
      return json(200, toDeal(row));
    }),
  );

  router.patch(
    '/deals/:id',
    audited(async (req, ctx, a) => {
      const who = await authenticate(req, 'deals:write', a);
      if (who instanceof Response) return who;
      const id = ctx.params.id!;
      a.dealId = id.slice(0, 40);
      const body = await jsonBody(req, a);
      if (body instanceof Response) return body;
      const { errors, data, extra } = mapAndValidate(who.partnerId, body, DealPatch);
      if (errors.length || !data) {
        a.outcome = 'validation_failed';
        return validationProblem(errors);
      }
      const r = await service.patch(who.partnerId, id, data, extra);
      if (!r.ok) {
        if (r.reason === 'not_found') return fail(a, 404, 'not_found', 'Not Found', `no deal ${id}`);
        if (r.reason === 'locked') return fail(a, 409, 'deal_decided', 'Conflict', `${r.detail}; it can no longer change`);
        a.outcome = 'validation_failed';
        return validationProblem([{ field: 'currency', pointer: '/currency', code: 'required', detail: r.detail ?? 'invalid' }]);
      }
      return json(200, toDeal(r.row));
    }),
  );

  return router;
}
