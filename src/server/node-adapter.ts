import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachBody, responseBytes } from './http-body.js';

/**
 * The only file that touches sockets: node:http in, a fetch-style handler in the middle, node:http
 * out. It reads the whole body first (up to `bodyLimitBytes`: a larger declared or streamed body is
 * answered 413 without buffering it), so handlers get a `Request` whose body is the exact bytes
 * received, and it implements graceful shutdown: stop accepting, let requests in flight finish,
 * close idle keep-alive connections, and cut whatever is left after the grace period.
 *
 * @example
 *   const server = await listen((req) => router.handle(req), { host: '127.0.0.1', port: 0, bodyLimitBytes: 1 << 20 });
 *   console.log(server.url);
 *   await server.close(); // drains in-flight requests first
 */
export interface ListenOptions {
  host: string;
  port: number;
  bodyLimitBytes: number;
  /** Milliseconds in-flight requests get after close() before their connections are destroyed. */
  graceMs?: number;
  /** Called with errors a handler threw (the client gets a 500). */
  onError?: (err: unknown) => void;
  /** Called for a request answered 413 here (before any handler saw it), with its path. */
  onTooLarge?: (path: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Stop accepting, wait for in-flight requests (up to graceMs), then close every connection. */
  close(): Promise<void>;
}

export async function listen(handler: (req: Request) => Promise<Response>, opts: ListenOptions): Promise<RunningServer> {
  let inFlight = 0;
  let closing = false;
  const drained: Array<() => void> = [];

  const server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }, (req, res) => {
    inFlight += 1;
    void serve(req, res).finally(() => {
      inFlight -= 1;
      if (inFlight === 0) drained.splice(0).forEach((f) => f());
    });
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > opts.bodyLimitBytes) return tooLarge(req, res);
      const body = await readAll(req, opts.bodyLimitBytes);
      if (body === undefined) return tooLarge(req, res);
      const raw = req.rawHeaders;
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
      const method = req.method ?? 'GET';
      // No body stream on the Request: handlers get the buffered bytes through readBody() (http-body.ts).
      const request = attachBody(new Request(`http://${req.headers.host ?? `${opts.host}:${port}`}${req.url ?? '/'}`, { method, headers }), body);
      const response = await handler(request);
      const out: Record<string, string> = {};
      response.headers.forEach((v, k) => (out[k] = v));
      // While shutting down, tell keep-alive clients not to send another request on this connection.
      if (closing) out.connection = 'close';
      const payload = await responseBytes(response);
      if (payload) out['content-length'] = String(payload.length);
      res.writeHead(response.status, out);
      res.end(method === 'HEAD' ? undefined : payload);
    } catch (err) {
      opts.onError?.(err);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ error: 'internal', detail: 'internal error' }));
      } else res.destroy();
    }
  }

  /** The whole body, or undefined once it exceeds `limit` (events, not an async iterator: it is hot). */
  function readAll(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.off('data', onData);
          req.pause();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      req.once('error', reject);
    });
  }

  function tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
    opts.onTooLarge?.((req.url ?? '/').split('?')[0]!);
    // Do not read the rest of an oversized body: answer and close the connection.
    const body = JSON.stringify({ error: 'payload_too_large', detail: `the body limit is ${opts.bodyLimitBytes} bytes` });
    res.writeHead(413, { 'content-type': 'application/problem+json', connection: 'close', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body, () => req.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    inFlight: () => inFlight,
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const grace = new Promise<void>((resolve) => setTimeout(resolve, opts.graceMs ?? 10_000).unref());
        await Promise.race([new Promise<void>((resolve) => drained.push(resolve)), grace]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
