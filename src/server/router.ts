import { reply } from './http-body.js';

/**
 * A small fetch-style router: handlers are `(req: Request, ctx) => Promise<Response>`, as in hono or
 * itty-router, so route groups are testable without a socket and the one file that touches node:http
 * (`node-adapter.ts`) stays tiny. Route groups (webhooks, the partner deal API, health) are built
 * separately and mounted under a prefix.
 *
 * @example
 *   const api = new Router().post('/deals', async (req) => Response.json(await req.json(), { status: 201 }));
 *   const app = new Router().get('/healthz', async () => new Response('ok')).mount('/api/v1', api);
 *   const res = await app.handle(new Request('http://local/api/v1/deals', { method: 'POST', body: '{}' }));
 */
export interface RouteContext {
  /** `:name` path segments. */
  params: Record<string, string>;
  /** The parsed URL of the request (parsed once, shared by every handler). */
  url: URL;
}

export type Handler = (req: Request, ctx: RouteContext) => Promise<Response>;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

const split = (path: string) => path.split('/').filter(Boolean);

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), segments: split(path), handler });
    return this;
  }

  get(path: string, handler: Handler): this {
    return this.on('GET', path, handler);
  }

  post(path: string, handler: Handler): this {
    return this.on('POST', path, handler);
  }

  put(path: string, handler: Handler): this {
    return this.on('PUT', path, handler);
  }

  patch(path: string, handler: Handler): this {
    return this.on('PATCH', path, handler);
  }

  delete(path: string, handler: Handler): this {
    return this.on('DELETE', path, handler);
  }

  /** Add every route of `group` under `prefix`. */
  mount(prefix: string, group: Router): this {
    const pre = split(prefix);
    for (const r of group.routes) this.routes.push({ ...r, segments: [...pre, ...r.segments] });
    return this;
  }

  /** Dispatch; 404 for an unknown path, 405 (with Allow) for a known path and another method. */
  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const parts = split(url.pathname);
    const allowed = new Set<string>();
    for (const r of this.routes) {
      const params = match(r.segments, parts);
      if (!params) continue;
      if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) {
        allowed.add(r.method);
        continue;
      }
      return r.handler(req, { params, url });
    }
    if (allowed.size > 0) return problem(405, 'method_not_allowed', `use ${[...allowed].join(', ')}`, { allow: [...allowed].join(', ') });
    return problem(404, 'not_found', `no route for ${url.pathname}`);
  }
}

function match(route: string[], parts: string[]): Record<string, string> | undefined {
  if (route.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.length; i++) {
    const seg = route[i]!;
    if (seg.startsWith(':')) {
      try {
        params[seg.slice(1)] = decodeURIComponent(parts[i]!);
      } catch {
        return undefined;
      }
    } else if (seg !== parts[i]) return undefined;
  }
  return params;
}

/** An RFC 9457-style JSON error body; every error response of the server has this shape. */
export function problem(status: number, code: string, detail: string, headers: Record<string, string> = {}): Response {
  return reply(status, JSON.stringify({ error: code, detail }), { 'content-type': 'application/problem+json', ...headers });
}
