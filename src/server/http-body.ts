/**
 * Bodies without web streams. Undici's `Request`/`Response` wrap every body in a ReadableStream,
 * which costs ~0.4 ms per request and response on this class of machine — more than verifying,
 * deduplicating and committing the event. The node adapter therefore hands handlers a `Request`
 * without a stream body and keeps the bytes it already buffered next to it; `readBody(req)` returns
 * them. Handlers answer with `reply()`, whose bytes the adapter writes directly. Both fall back to
 * the standard stream API, so plain `new Request(…)` / `new Response(…)` keep working everywhere
 * (tests, other route groups), just slower.
 *
 * @example
 *   router.post('/deals', async (req) => {
 *     const deal = JSON.parse((await readBody(req)).toString('utf8'));
 *     return reply(201, JSON.stringify({ id: deal.id }), { 'content-type': 'application/json' });
 *   });
 */
const requestBodies = new WeakMap<Request, Buffer>();
const responseBodies = new WeakMap<Response, Buffer>();

/** Adapter side: remember the bytes of a request built without a body stream. */
export function attachBody(req: Request, body: Buffer): Request {
  requestBodies.set(req, body);
  return req;
}

/** The raw request body, exactly as received. */
export async function readBody(req: Request): Promise<Buffer> {
  return requestBodies.get(req) ?? Buffer.from(await req.arrayBuffer());
}

/** A response whose body the adapter writes without a stream. */
export function reply(status: number, body: string | Buffer | null, headers: Record<string, string> = {}): Response {
  const res = new Response(null, { status, headers });
  if (body !== null) responseBodies.set(res, typeof body === 'string' ? Buffer.from(body) : body);
  return res;
}

/** Adapter side: the bytes of a response, from `reply()` or read from its stream. */
export async function responseBytes(res: Response): Promise<Buffer | undefined> {
  const fast = responseBodies.get(res);
  if (fast) return fast;
  return res.body ? Buffer.from(await res.arrayBuffer()) : undefined;
}

/** A standard Response with the body in its stream (for callers outside the adapter, e.g. tests). */
export async function materialize(res: Response): Promise<Response> {
  const fast = responseBodies.get(res);
  if (!fast) return res;
  return new Response(fast, { status: res.status, statusText: res.statusText, headers: res.headers });
}
