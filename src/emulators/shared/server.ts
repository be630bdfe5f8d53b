import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultInjector } from './faults.js';

/**
 * The common HTTP shell of every emulator: routing, body reading, a request log, per-route call
 * counts and fault injection. Each service supplies its routes and how it answers a 429 (headers
 * and body differ per service), so the protocol details stay in `src/emulators/<service>/`.
 */

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  /** Parsed JSON body when the request carried one; `undefined` otherwise. */
  body: unknown;
  /** True when the body claimed to be JSON but did not parse. */
  bodyInvalid: boolean;
  params: Record<string, string>;
  routeName: string;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** Objects and arrays are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
}

export type RouteHandler = (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

export interface Route {
  method: string;
  /** `/services/data/:version/sobjects/:object` style; `*rest` captures the remainder. */
  path: string;
  name: string;
  handler: RouteHandler;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  route: string;
  status: number;
  fault?: string;
}

export interface EmulatorOptions {
  name: string;
  routes: Route[];
  host?: string;
  port?: number;
  faults?: string;
  faultSeed?: number;
  /** The service's own 429 answer (headers such as Retry-After and the service's error body). */
  tooManyRequests: (req: EmulatorRequest) => EmulatorResponse;
  /** The service's own 5xx body for injected server errors. */
  serverError?: (status: number, req: EmulatorRequest) => EmulatorResponse;
  /** Runs before the route handler (auth, rate limits). Returning a response short-circuits the route. */
  before?: (req: EmulatorRequest) => EmulatorResponse | undefined | Promise<EmulatorResponse | undefined>;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  requests: RequestLogEntry[];
  faults: FaultInjector;
  /** Number of requests that reached a route (optionally one route, by name), faults included. */
  calls(routeName?: string): number;
  stop(): Promise<void>;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const pattern = route.path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        keys.push(seg.slice(1));
        return '([^/]+)';
      }
      if (seg.startsWith('*')) {
        keys.push(seg.slice(1));
        return '(.*)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, regex: new RegExp(`^${pattern}/?$`), keys };
}

export function json(status: number, body: unknown, headers: Record<string, string | number> = {}): EmulatorResponse {
  return { status, body, headers };
}

export async function startServer(opts: EmulatorOptions): Promise<RunningServer> {
  const routes = opts.routes.map(compile);
  const faults = new FaultInjector(opts.faults, opts.faultSeed ?? 1);
  const requests: RequestLogEntry[] = [];
  const counts = new Map<string, number>();
  const maxBody = opts.maxBodyBytes ?? 50 * 1024 * 1024;
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > maxBody) {
          send(res, { status: 413, body: { error: 'request body too large' } });
          return;
        }
        chunks.push(chunk as Buffer);
      }
    } catch {
      return;
    }
    const rawBody = Buffer.concat(chunks);
    const method = (req.method ?? 'GET').toUpperCase();
    let matched: CompiledRoute | undefined;
    let params: Record<string, string> = {};
    for (const r of routes) {
      if (r.method !== method && r.method !== '*') continue;
      const m = r.regex.exec(url.pathname);
      if (!m) continue;
      matched = r;
      params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1] ?? '')]));
      break;
    }
    let body: unknown;
    let bodyInvalid = false;
    if (rawBody.length > 0 && /json/i.test(String(req.headers['content-type'] ?? 'application/json'))) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        bodyInvalid = true;
      }
    }
    const ereq: EmulatorRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body,
      bodyInvalid,
      params,
      routeName: matched?.name ?? 'not-found',
    };
    const entry: RequestLogEntry = { at: Date.now(), method, path: url.pathname, route: ereq.routeName, status: 0 };
    requests.push(entry);
    counts.set(ereq.routeName, (counts.get(ereq.routeName) ?? 0) + 1);

    const decision = faults.decide(ereq.routeName, url.pathname);
    if (decision.latencyMs > 0) await new Promise((r) => setTimeout(r, decision.latencyMs));
    if (decision.fault) {
      entry.fault = decision.fault;
      switch (decision.fault) {
        case 'reset':
          entry.status = -1;
          req.socket.destroy();
          return;
        case '429':
          entry.status = 429;
          send(res, opts.tooManyRequests(ereq));
          return;
        case 'malformed':
          entry.status = 200;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"truncated": [1, 2,');
          return;
        default: {
          const status = Number(decision.fault);
          entry.status = status;
          send(res, opts.serverError?.(status, ereq) ?? { status, body: { error: 'injected server error', status } });
          return;
        }
      }
    }
    try {
      let out: EmulatorResponse | undefined = opts.before ? await opts.before(ereq) : undefined;
      if (!out) {
        out = matched
          ? await matched.handler(ereq)
          : { status: 404, body: { error: 'NOT_FOUND', message: `${opts.name} emulator has no route ${method} ${url.pathname}` } };
      }
      entry.status = out.status;
      send(res, out);
    } catch (err) {
      entry.status = 500;
      send(res, { status: 500, body: { error: 'emulator_internal_error', message: String((err as Error)?.message ?? err) } });
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    faults,
    calls: (name) => (name === undefined ? requests.length : (counts.get(name) ?? 0)),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, out: EmulatorResponse): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...(out.headers ?? {}) };
  let payload: string | Buffer | undefined;
  if (out.body === undefined || out.body === null) payload = undefined;
  else if (Buffer.isBuffer(out.body)) payload = out.body;
  else if (typeof out.body === 'string') payload = out.body;
  else {
    payload = JSON.stringify(out.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json;charset=UTF-8';
  }
  res.writeHead(out.status, headers);
  res.end(payload);
}

/**
 * Fixed-window request allowance (HubSpot's "100 per 10 s", Intercom's "83 per 10 s").
 * Returns what the rate-limit headers need.
 */
export class WindowLimiter {
  private windowStart = 0;
  private used = 0;
  constructor(
    public limit: number,
    public windowMs: number,
    private now: () => number = Date.now,
  ) {}

  take(): { allowed: boolean; remaining: number; resetMs: number; limit: number } {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.used = 0;
    }
    const resetMs = this.windowStart + this.windowMs - t;
    if (this.used >= this.limit) return { allowed: false, remaining: 0, resetMs, limit: this.limit };
    this.used += 1;
    return { allowed: true, remaining: this.limit - this.used, resetMs, limit: this.limit };
  }
}
