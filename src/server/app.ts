import type { Staging } from '../staging/db.js';
import type { Destination } from '../connectors/types.js';
import type { ServeConfig } from './config.js';
import { materialize } from './http-body.js';
import { Inbox } from './inbox.js';
import { Metrics } from './metrics.js';
import { listen, type RunningServer } from './node-adapter.js';
import { problem, Router } from './router.js';
import { webhookRoutes } from './webhook-routes.js';
import { InboxWorker } from './worker.js';

/**
 * The `partnersync serve` application: one Router with the operational routes (`/healthz`,
 * `/metrics`), the webhook group under `serve.basePath`, and any further groups a caller mounts
 * (the partner deal API mounts itself the same way), plus the inbox worker.
 *
 * @example
 *   const app = createServeApp({ config: cfg.serve, staging, destination: (conn) => resolve(conn) });
 *   app.router.mount('/api/v1', dealRoutes(...));   // more route groups, before start()
 *   const { url } = await app.start();
 *   await app.stop();   // stop accepting, drain requests, stop the worker; unprocessed events stay queued
 */
export interface ServeAppOptions {
  config: ServeConfig;
  staging: Staging;
  /** Resolves a connection name to its Destination for `destination` actions. */
  destination?: (connection: string) => Promise<Destination>;
  fetch?: typeof fetch;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Override the configured host/port (CLI flags, tests). */
  host?: string;
  port?: number;
  /** Run the worker in this process (default: `config.worker.enabled`). */
  worker?: boolean;
  /** Clock in ms for signature windows (tests replaying published vectors). */
  now?: () => number;
}

export interface ServeApp {
  router: Router;
  inbox: Inbox;
  metrics: Metrics;
  worker: InboxWorker;
  /** Dispatch a request without a socket (tests). */
  handle(req: Request): Promise<Response>;
  start(): Promise<RunningServer>;
  stop(): Promise<void>;
}

export function createServeApp(opts: ServeAppOptions): ServeApp {
  const { config, staging } = opts;
  const metrics = new Metrics();
  const inbox = new Inbox(staging, { groupCommitMs: config.groupCommitMs, maxBatch: config.groupCommitMaxEvents });
  const noDestination = async (connection: string): Promise<Destination> => {
    throw new Error(`no destination available for connection "${connection}"`);
  };
  const worker = new InboxWorker(inbox, config.worker, config.actions, { destination: opts.destination ?? noDestination, fetch: opts.fetch, log: opts.log }, metrics);
  const runWorker = opts.worker ?? config.worker.enabled;
  inbox.onCommitted = () => worker.wake();
  let server: RunningServer | undefined;

  const router = new Router()
    .get('/healthz', async () => {
      try {
        await staging.db.raw('SELECT 1');
        return Response.json({ status: 'ok', inFlight: server?.inFlight() ?? 0 });
      } catch {
        return problem(503, 'staging_unavailable', 'the staging database does not answer');
      }
    })
    .get('/metrics', async () => {
      const depth = await inbox.depth().catch(() => undefined);
      const text = metrics.render({
        ...(depth ? { partnersync_webhook_inbox_depth: Object.entries(depth).map(([status, n]) => [{ status }, n] as [Record<string, string>, number]) } : {}),
        partnersync_http_requests_in_flight: [[{}, Math.max(0, (server?.inFlight() ?? 1) - 1)]],
      });
      return new Response(text, { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
    })
    .mount(config.basePath, webhookRoutes({ config, inbox, metrics, now: opts.now, onError: (e) => opts.log?.('warn', `inbox: ${String((e as Error)?.message ?? e)}`) }));

  return {
    router,
    inbox,
    metrics,
    worker,
    handle: async (req) => materialize(await router.handle(req)),
    async start() {
      server = await listen((req) => router.handle(req), {
        host: opts.host ?? config.host,
        port: opts.port ?? config.port,
        bodyLimitBytes: Math.max(config.bodyLimitBytes, ...Object.values(config.sources).map((s) => s.bodyLimitBytes ?? 0)),
        graceMs: config.shutdownGraceMs,
        onError: (e) => opts.log?.('warn', `request failed: ${String((e as Error)?.message ?? e)}`),
        onTooLarge: (path) => {
          const prefix = `${config.basePath.replace(/\/+$/, '')}/`;
          const source = path.startsWith(prefix) ? path.slice(prefix.length) : '';
          metrics.inc('partnersync_webhooks_rejected_total', { source: Object.hasOwn(config.sources, source) ? source : 'unknown', reason: 'payload_too_large' });
        },
      });
      if (runWorker) worker.start();
      return server;
    },
    async stop() {
      // Requests first: every request that got in is answered (and its event committed) before the
      // worker and the database go away.
      await server?.close();
      await inbox.flush();
      await worker.stop();
    },
  };
}
