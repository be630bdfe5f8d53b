import crypto from 'node:crypto';
import type { ServeApp } from '../server/app.js';
import type { Staging } from '../staging/db.js';
import { MatchPolicy } from '../matching/types.js';
import { ConfigError } from '../errors.js';
import { issuesToProblems } from '../config/load.js';
import type { DealsConfig } from './config.js';
import { CredentialStore } from './credentials.js';
import { AuditLog, dealRoutes } from './deal-routes.js';
import { DealService } from './deal-service.js';
import { RateLimiter } from './rate-limit.js';

/**
 * The partner deal API: mount it on a serve app before `start()`.
 *
 * @example
 *   const app = createServeApp({ config: cfg.serve, staging });
 *   const api = await mountDealApi(app, { deals: cfg.deals, match: cfg.match, staging });
 *   await app.start();   // POST /api/v1/deals, /api/v1/oauth/token, /api/v1/openapi.json …
 */
export interface MountDealApiOptions {
  deals: DealsConfig;
  /** The `match:` section (the matching policy; defaults when empty). */
  match?: unknown;
  staging: Staging;
  log?: (level: 'info' | 'warn', message: string) => void;
  now?: () => Date;
  rateLimiter?: RateLimiter;
  idempotencyWaitMs?: number;
}

export interface DealApi {
  service: DealService;
  credentials: CredentialStore;
  basePath: string;
}

export async function mountDealApi(app: Pick<ServeApp, 'router'>, opts: MountDealApiOptions): Promise<DealApi> {
  const policy = MatchPolicy.safeParse(opts.match ?? {});
  if (!policy.success) throw new ConfigError(issuesToProblems(policy.error.issues, ['match']));
  const service = new DealService({ db: opts.staging.db, config: opts.deals, policy: policy.data, now: opts.now });
  await service.init();
  let secret = opts.deals.tokenSecret;
  if (!secret) {
    secret = crypto.randomBytes(48).toString('base64url');
    // Only worth a warning once someone can call the API.
    if (await opts.staging.db('api_partners').first('partner_id'))
      opts.log?.('warn', 'deals.tokenSecret is not set: OAuth access tokens are signed with a random key and end when this process stops');
  }
  const credentials = new CredentialStore(opts.staging.db, opts.now);
  app.router.mount(
    opts.deals.basePath,
    dealRoutes({
      config: opts.deals,
      service,
      credentials,
      tokenSecret: secret,
      audit: new AuditLog(opts.staging.db),
      rateLimiter: opts.rateLimiter,
      now: opts.now,
      idempotencyWaitMs: opts.idempotencyWaitMs,
      onError: (e) => opts.log?.('warn', `deal api: ${String((e as Error)?.message ?? e)}`),
    }),
  );
  return { service, credentials, basePath: opts.deals.basePath };
}

export { DealsConfig, DEAL_STAGES, DEAL_FIELDS, SCOPES, resolveMapping } from './config.js';
export { CredentialStore, parseScopes } from './credentials.js';
export { DealService, toDeal, type DealRow } from './deal-service.js';
export { acceptDeal, rejectDeal, listDeals, minorToDecimal } from './deal-decisions.js';
export { openApiDocument } from './openapi.js';
export { ensureDealsTable } from './deal-tables.js';
