import { ConfigError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';
import { getConnector } from '../connectors/registry.js';
import type { Destination } from '../connectors/types.js';
import { createServeApp } from '../server/app.js';
import { mountDealApi } from '../deals/index.js';
import { openStaging, type Staging } from '../staging/db.js';
import { loadCommandConfig, type CommandContext } from './context.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** false with --no-worker: receive only (another process runs the worker). */
  worker?: boolean;
}

/** Problems of `serve:` that need the rest of the config (connections), all at once. */
export function serveConfigProblems(config: LoadedConfig): string[] {
  const problems: string[] = [];
  config.serve.actions.forEach((a, i) => {
    if (a.kind === 'destination' && a.connection && !config.connections[a.connection]) {
      problems.push(`serve.actions[${i}].connection: no connection named "${a.connection}"`);
    }
  });
  for (const [name, s] of Object.entries(config.serve.sources)) {
    if (s.connection && config.connections[s.connection]?.type !== 'crossbeam') {
      problems.push(`serve.sources.${name}.connection: "${s.connection}" is not a crossbeam connection`);
    }
  }
  return problems;
}

/**
 * Destinations by connection name, created on first use and kept for the life of the server (a
 * CRM client holds its token and rate governor).
 */
export function destinationResolver(config: LoadedConfig, baseDir: string, staging: Staging, log: (level: 'info' | 'warn', m: string) => void) {
  const cache = new Map<string, Promise<Destination>>();
  const resolve = (connection: string): Promise<Destination> => {
    let d = cache.get(connection);
    if (!d) {
      d = (async () => {
        const conn = config.connections[connection];
        if (!conn) throw new ConfigError([`serve.actions: no connection named "${connection}"`]);
        const def = await getConnector(conn.type);
        if (!def.createDestination) throw new ConfigError([`connections.${connection}: ${conn.type} cannot be written to`]);
        return def.createDestination(conn as never, { connection, baseDir, staging, log });
      })();
      // A failed creation (bad credentials) is retried on the next event, not cached forever.
      d.catch(() => cache.delete(connection));
      cache.set(connection, d);
    }
    return d;
  };
  return {
    resolve,
    async closeAll() {
      for (const d of cache.values()) await (await d.catch(() => undefined))?.close?.().catch(() => undefined);
    },
  };
}

/**
 * `partnersync serve`: the webhook receiver (and, later, the partner deal API) until SIGINT/SIGTERM.
 * On a signal it stops accepting connections, answers the requests in flight, lets the worker finish
 * the events it holds, and leaves every other event in the inbox for the next start.
 */
export async function serve(ctx: CommandContext, opts: ServeOptions): Promise<void> {
  const { config, baseDir } = loadCommandConfig(ctx);
  const problems = serveConfigProblems(config);
  if (problems.length) throw new ConfigError(problems);
  const sources = Object.keys(config.serve.sources);
  if (sources.length === 0) ctx.out.warn('serve.sources is empty: only /healthz and /metrics are served');
  const staging = await openStaging(config.staging.url, { baseDir });
  const log = (level: 'info' | 'warn', m: string) => (level === 'warn' ? ctx.out.warn(m) : ctx.out.info(m));
  const destinations = destinationResolver(config, baseDir, staging, log);
  // commander defaults --no-worker's flag to true; only an explicit --no-worker overrides the config.
  const worker = opts.worker === false ? false : config.serve.worker.enabled;
  const app = createServeApp({ config: config.serve, staging, destination: destinations.resolve, log, host: opts.host, port: opts.port, worker });
  let depth: Record<string, number> = {};
  try {
    const deals = config.deals.enabled ? await mountDealApi(app, { deals: config.deals, match: config.match, staging, log }) : undefined;
    const server = await app.start();
    const base = config.serve.basePath.replace(/\/+$/, '');
    ctx.out.info(`listening on ${server.url} (staging ${staging.displayUrl}; worker ${worker ? 'on' : 'off'})`);
    for (const s of sources) ctx.out.info(`  POST ${server.url}${base}/${s}  (${config.serve.sources[s]!.scheme})`);
    ctx.out.info(`  GET  ${server.url}/healthz, ${server.url}/metrics`);
    if (deals) ctx.out.info(`  deal API ${server.url}${deals.basePath.replace(/\/+$/, '')}/deals  (OpenAPI: ${server.url}${deals.basePath.replace(/\/+$/, '')}/openapi.json)`);
    if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    ctx.out.info('stopping: draining requests in flight; unprocessed events stay in the inbox');
  } finally {
    await app.stop();
    await destinations.closeAll();
    depth = await app.inbox.depth().catch(() => ({}));
    await staging.close();
  }
  ctx.out.result({ stopped: true, inbox: depth }, `stopped; inbox: ${Object.entries(depth).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}
