import { AuthError, FatalError, PartnersyncError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';

/**
 * The one HTTP layer of the API connectors: plain `fetch` plus what every API needs and none of
 * them should re-invent — retries with capped exponential backoff and full jitter on 429, 5xx,
 * network errors, timeouts and truncated JSON; `Retry-After` and rate-limit reset headers honoured;
 * and one mapping from status to the error tree (401/403 → AuthError, 408/429/5xx → RetriableError,
 * other 4xx → FatalError). Errors carry a compact `GET /path → 500 code: message` summary; query
 * strings, headers and bodies we sent are never included (they hold tokens and cursors).
 *
 * SDK-based connectors (jsforce, @hubspot/api-client) reuse `withRetry` and `retryDelayFromHeaders`.
 *
 * @example
 *   const http = new HttpClient({ service: 'Crossbeam', baseUrl: 'https://api.crossbeam.com',
 *     headers: async () => ({ authorization: `Bearer ${await tokens.get()}` }) });
 *   const { body } = await http.request<{ data: unknown[] }>({ path: '/v1/partners', query: { limit: 100 } });
 */

export interface RetryPolicy {
  /** Retries after the first attempt (0 = no retry). */
  maxRetries: number;
  /** First backoff; doubles on every retry (default 500 ms). */
  baseDelayMs?: number;
  /** Cap of one backoff and of a server-requested wait (default 60 s). */
  maxDelayMs?: number;
  /** [0,1) source for jitter; tests pin it. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each retry (for logs and progress). */
  onRetry?: (info: { attempt: number; delayMs: number; error: RetriableError }) => void;
}

/** Full-jitter backoff: a random wait in [0, min(cap, base·2^attempt)], at least `floor`. */
export function backoffDelay(attempt: number, policy: RetryPolicy, floorMs = 0): number {
  const base = policy.baseDelayMs ?? 500;
  const cap = policy.maxDelayMs ?? 60_000;
  const ceiling = Math.min(cap, base * 2 ** attempt);
  const jittered = Math.floor((policy.random ?? Math.random)() * ceiling);
  return Math.min(cap, Math.max(floorMs, jittered));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type HeaderSource = Headers | Record<string, unknown> | undefined;

function header(h: HeaderSource, name: string): string | undefined {
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const rec = h as Record<string, unknown>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : rec[key];
  return v === undefined || v === null ? undefined : Array.isArray(v) ? String(v[0]) : String(v);
}

/**
 * How long the server asked us to wait, from `Retry-After` (seconds or an HTTP date),
 * `X-RateLimit-Reset` / `RateLimit-Reset` (seconds from now, or an epoch in seconds), or HubSpot's
 * interval header when its remaining count is 0. Undefined when the server said nothing.
 */
export function retryDelayFromHeaders(h: HeaderSource, now = Date.now()): number | undefined {
  const ra = header(h, 'retry-after');
  if (ra !== undefined && ra.trim() !== '') {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  for (const name of ['x-ratelimit-reset', 'ratelimit-reset']) {
    const v = header(h, name);
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n)) continue;
    // Large values are epoch seconds (GitHub style); small ones are seconds from now (IETF draft).
    return Math.max(0, n > 1e9 ? n * 1000 - now : n * 1000);
  }
  if (header(h, 'x-hubspot-ratelimit-remaining') === '0') {
    const ms = Number(header(h, 'x-hubspot-ratelimit-interval-milliseconds'));
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/**
 * Map an HTTP status to the error tree. `summary` is what the user sees (`GET /v1/x → 500 …`);
 * it is redacted again here because server messages sometimes echo what we sent.
 */
export function errorForStatus(status: number, summary: string, opts: { retryAfterMs?: number; service?: string; cause?: unknown } = {}): PartnersyncError {
  const message = redact(opts.service ? `${opts.service}: ${summary}` : summary);
  if (status === 401 || status === 403) {
    return new AuthError(message, {
      cause: opts.cause,
      hint: status === 401 ? 'Check the credentials of this connection (expired or revoked token?).' : 'The credentials work but lack a permission or scope for this call.',
    });
  }
  if (status === 408 || status === 429 || status >= 500) return new RetriableError(message, { status, retryAfterMs: opts.retryAfterMs, cause: opts.cause });
  return new FatalError(message, { status, cause: opts.cause });
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** True for connection resets, refused connections, DNS hiccups and socket timeouts (also when wrapped in `cause`). */
export function isNetworkError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    const name = (cur as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'FetchError') return true;
    if (cur instanceof TypeError && /fetch failed|terminated|socket/i.test(cur.message)) return true;
  }
  return false;
}

/**
 * Run `fn` until it succeeds, retrying RetriableErrors (and network errors) with backoff; the wait
 * is at least what the server asked for. Other errors and an aborted `signal` end at once.
 *
 * @example
 *   const page = await withRetry(() => client.getPage(after), { maxRetries: 6 }, signal);
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, signal?: AbortSignal): Promise<T> {
  const wait = policy.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (signal?.aborted) throw e;
      const retriable = e instanceof RetriableError ? e : isNetworkError(e) ? new RetriableError(`network error: ${redact(String((e as Error).message ?? e))}`, { cause: e }) : undefined;
      if (!retriable || attempt >= policy.maxRetries) {
        if (retriable && retriable !== e) throw retriable;
        if (retriable) {
          throw new RetriableError(`${retriable.message} (gave up after ${attempt + 1} attempts)`, {
            status: retriable.status,
            retryAfterMs: retriable.retryAfterMs,
            cause: retriable.cause,
            hint: 'The service kept failing or throttling; re-run later (progress up to the last checkpoint is kept).',
          });
        }
        throw e;
      }
      const delayMs = backoffDelay(attempt, policy, Math.min(retriable.retryAfterMs ?? 0, policy.maxDelayMs ?? 60_000));
      policy.onRetry?.({ attempt: attempt + 1, delayMs, error: retriable });
      await wait(delayMs, signal);
    }
  }
}

export interface HttpRequest {
  method?: string;
  /** A path relative to baseUrl, or an absolute URL (a `next_href`). */
  path: string;
  query?: Record<string, string | number | boolean | Array<string | number> | undefined>;
  /** JSON-serialised unless it is a string or URLSearchParams. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Do not add the client's default headers (token endpoints). */
  bare?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface HttpClientOptions extends Partial<RetryPolicy> {
  /** Name used in error messages ("Crossbeam"). */
  service: string;
  baseUrl: string;
  timeoutMs?: number;
  /** Headers added to every request (e.g. the bearer token); called per attempt so refreshed tokens apply. */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /**
   * Called once when a request answers 401; return true after renewing credentials to retry the
   * request once more (an expired token), false to fail with AuthError.
   */
  onUnauthorized?: (res: { status: number; body: unknown }) => Promise<boolean>;
  /** Awaited before every attempt (a shared rate limiter). */
  beforeRequest?: (signal?: AbortSignal) => Promise<void>;
  /** Told about server-requested waits (429 Retry-After), e.g. to pause a shared limiter. */
  onThrottle?: (delayMs: number) => void;
  fetch?: typeof fetch;
}

/** Build `method /path → status code: message` without the query string (cursors, tokens). */
export function describeFailure(method: string, url: string, status: number | string, body: unknown): string {
  let where = url;
  try {
    where = new URL(url).pathname;
  } catch {
    where = url.split('?')[0] ?? url;
  }
  let detail = '';
  if (body && typeof body === 'object') {
    const b = (Array.isArray(body) ? body[0] : body) as Record<string, unknown> | undefined;
    const code = b?.error ?? b?.errorCode ?? b?.category ?? b?.code;
    const msg = b?.message ?? b?.error_description ?? b?.detail;
    detail = [code, msg].filter((x) => typeof x === 'string' && x).join(': ');
  } else if (typeof body === 'string') {
    detail = body.replace(/\s+/g, ' ').trim();
  }
  if (detail.length > 300) detail = detail.slice(0, 300) + '…';
  return `${method} ${where} → ${status}${detail ? ` ${detail}` : ''}`;
}

export class HttpClient {
  readonly baseUrl: string;
  private readonly policy: RetryPolicy;

  constructor(private readonly opts: HttpClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.policy = {
      maxRetries: opts.maxRetries ?? 6,
      baseDelayMs: opts.baseDelayMs,
      maxDelayMs: opts.maxDelayMs,
      random: opts.random,
      sleep: opts.sleep,
      onRetry: opts.onRetry,
    };
  }

  /** Resolve a path or absolute URL against baseUrl and append the query. */
  url(path: string, query?: HttpRequest['query']): URL {
    const u = /^https?:\/\//i.test(path) ? new URL(path) : new URL(this.baseUrl + (path.startsWith('/') ? path : `/${path}`));
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) u.searchParams.append(k, String(x));
      else u.searchParams.set(k, String(v));
    }
    return u;
  }

  /** One request with retries; resolves with the parsed body of a 2xx response, throws the mapped error otherwise. */
  async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    let reauthorized = false;
    return withRetry(async () => {
      for (;;) {
        const res = await this.once<T>(req);
        if (res.status === 401 && !reauthorized && this.opts.onUnauthorized && !req.bare) {
          reauthorized = true;
          if (await this.opts.onUnauthorized({ status: res.status, body: res.body })) continue;
        }
        if (res.status >= 200 && res.status < 300) return res;
        const method = req.method ?? 'GET';
        const retryAfterMs = retryDelayFromHeaders(res.headers);
        if (res.status === 429 && retryAfterMs !== undefined) this.opts.onThrottle?.(retryAfterMs);
        throw errorForStatus(res.status, describeFailure(method, this.url(req.path).toString(), res.status, res.body), { retryAfterMs, service: this.opts.service });
      }
    }, this.policy, req.signal);
  }

  private async once<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    await this.opts.beforeRequest?.(req.signal);
    const method = req.method ?? 'GET';
    const url = this.url(req.path, req.query);
    const headers: Record<string, string> = { accept: 'application/json', ...(req.bare ? {} : await this.opts.headers?.()), ...req.headers };
    let body: string | URLSearchParams | undefined;
    if (req.body instanceof URLSearchParams || typeof req.body === 'string') body = req.body;
    else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 60_000);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await (this.opts.fetch ?? fetch)(url, { method, headers, body, signal });
      text = await res.text();
    } catch (e) {
      if (req.signal?.aborted) throw e;
      const why = timeout.aborted ? `timed out after ${this.opts.timeoutMs ?? 60_000} ms` : `network error (${networkCode(e)})`;
      throw new RetriableError(`${this.opts.service}: ${method} ${url.pathname} ${why}`, { cause: e });
    }
    let parsed: unknown = text;
    if (text && /json/i.test(res.headers.get('content-type') ?? 'application/json')) {
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        // A 2xx with a truncated body is a dropped connection in disguise: worth a retry.
        if (res.status < 300) throw new RetriableError(`${this.opts.service}: ${method} ${url.pathname} → ${res.status} with a malformed JSON body`, { status: res.status, cause: e });
      }
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
}

function networkCode(e: unknown): string {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return redact(String((e as Error)?.message ?? e));
}
