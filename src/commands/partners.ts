import { UsageError } from '../errors.js';
import { CredentialStore, parseScopes, type CredentialKind, type IssuedCredential } from '../deals/credentials.js';
import { openStaging, type Staging } from '../staging/db.js';
import { table } from '../ui/output.js';
import { loadCommandConfig, type CommandContext } from './context.js';
import type { ConfigResult } from '../config/load.js';

/**
 * `partnersync partners add|list|revoke-key|rotate-key`: who may call the deal API. A new secret is
 * printed exactly once, here; staging keeps only its hash.
 */
async function withStore<T>(ctx: CommandContext, fn: (store: CredentialStore, staging: Staging, loaded: ConfigResult) => Promise<T>): Promise<T> {
  const loaded = loadCommandConfig(ctx, true);
  const staging = await openStaging(loaded.config.staging.url, { baseDir: loaded.baseDir });
  try {
    return await fn(new CredentialStore(staging.db), staging, loaded);
  } finally {
    await staging.close();
  }
}

const firstArg = (opts: { args?: unknown[] }, what: string): string => {
  const v = (opts.args ?? []).flat().map(String).filter(Boolean)[0];
  if (!v) throw new UsageError(`say which ${what}`);
  return v;
};

/**
 * The one place a secret is printed. Its JSON key is `value`, not `api_key`/`client_secret`: output
 * redacts values under secret-looking keys, which is right everywhere except here.
 */
function showIssued(c: IssuedCredential): Record<string, string> {
  return c.kind === 'api_key'
    ? { kind: 'api_key', key_id: c.credentialId, value: c.secret, scopes: c.scopes.join(' '), expires_at: c.expiresAt }
    : { kind: 'oauth_client', client_id: c.credentialId, value: c.secret, scopes: c.scopes.join(' '), expires_at: c.expiresAt };
}

const SHOWN_ONCE = 'Store these now: they are shown once and cannot be recovered (staging keeps only a hash).';

export async function partnersAdd(ctx: CommandContext, opts: { args?: unknown[]; name?: string; scopes?: string; expiresDays?: number }): Promise<void> {
  const partnerId = firstArg(opts, 'partner id (e.g. partnersync partners add northwind --name "Northwind Traders")');
  await withStore(ctx, async (store, _s, loaded) => {
    const r = await store.addPartner({ partnerId, name: opts.name, ttlDays: opts.expiresDays ?? loaded.config.deals.apiKeyTtlDays, scopes: opts.scopes ? parseScopes(opts.scopes) : undefined });
    const data = { partner: partnerId, credentials: [showIssued(r.apiKey), showIssued(r.oauthClient)] };
    ctx.out.result(data, () =>
      [
        `partner ${partnerId} added`,
        `  API key        ${r.apiKey.secret}`,
        `  OAuth client   client_id=${r.oauthClient.credentialId}`,
        `                 client_secret=${r.oauthClient.secret}`,
        `  expire         ${r.apiKey.expiresAt}`,
        '',
        SHOWN_ONCE,
      ].join('\n'),
    );
  });
}

export async function partnersList(ctx: CommandContext): Promise<void> {
  await withStore(ctx, async (store) => {
    const partners = await store.list();
    const rows = partners.flatMap((p) =>
      p.credentials.length
        ? p.credentials.map((c) => ({ partner: p.partnerId, name: p.name, credential: c.id, kind: c.kind, scopes: c.scopes, state: c.state, expires_at: c.expiresAt ?? '', last_used_at: c.lastUsedAt ?? '' }))
        : [{ partner: p.partnerId, name: p.name, credential: '', kind: '', scopes: '', state: 'no credentials', expires_at: '', last_used_at: '' }],
    );
    ctx.out.result({ partners }, () => (rows.length ? table(rows) : 'no partners yet: partnersync partners add <id> --name "<name>"'));
  });
}

export async function partnersRevokeKey(ctx: CommandContext, opts: { args?: unknown[] }): Promise<void> {
  const id = firstArg(opts, 'credential id (k_… or pc_…, see partnersync partners list) or partner id');
  await withStore(ctx, async (store) => {
    const revoked = await store.revoke(id);
    ctx.out.result({ revoked }, revoked.length ? `revoked ${revoked.join(', ')}; calls with ${revoked.length > 1 ? 'them' : 'it'} (and tokens issued to a revoked client) now get 401` : 'nothing to revoke');
  });
}

export async function partnersRotateKey(ctx: CommandContext, opts: { args?: unknown[]; kind?: string; graceHours?: number; expiresDays?: number; scopes?: string }): Promise<void> {
  const partnerId = firstArg(opts, 'partner id');
  const kind = (opts.kind ?? 'api-key') === 'oauth-client' ? 'oauth_client' : 'api_key';
  if (opts.kind && !['api-key', 'oauth-client'].includes(opts.kind)) throw new UsageError(`--kind: api-key or oauth-client, got "${opts.kind}"`);
  await withStore(ctx, async (store, _s, loaded) => {
    const r = await store.rotate(partnerId, { kind: kind as CredentialKind, ttlDays: opts.expiresDays ?? loaded.config.deals.apiKeyTtlDays, graceHours: opts.graceHours, scopes: opts.scopes ? parseScopes(opts.scopes) : undefined });
    const old = r.retired.length ? `${r.retired.join(', ')} ${opts.graceHours ? `stop working in ${opts.graceHours} h` : 'revoked now'}` : 'no earlier credential was active';
    ctx.out.result({ partner: partnerId, issued: showIssued(r.issued), retired: r.retired, graceHours: opts.graceHours ?? 0 }, () =>
      [
        `new ${kind === 'api_key' ? 'API key' : 'OAuth client'} for ${partnerId}:`,
        ...(kind === 'api_key' ? [`  ${r.issued.secret}`] : [`  client_id=${r.issued.credentialId}`, `  client_secret=${r.issued.secret}`]),
        `  expires ${r.issued.expiresAt}; ${old}`,
        '',
        SHOWN_ONCE,
      ].join('\n'),
    );
  });
}
