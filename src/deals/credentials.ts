import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { InputError, UsageError } from '../errors.js';
import { SCOPES, type Scope } from './config.js';

/**
 * Partners and their credentials (staging tables `api_partners`, `api_credentials`).
 *
 * Two kinds, both "shown once, stored hashed": an API key `psk_<id>_<secret>` and an OAuth client
 * (`client_id` = the id, plus a client secret). The id is public and is the lookup key; only the
 * SHA-256 of the whole secret is stored (256 random bits need no slow hash) and compared in constant
 * time. Every credential has an expiry and can be revoked; a revoked or expired credential stays in
 * the table so `partners list` and the audit log can still name it.
 *
 * @example
 *   const store = new CredentialStore(staging.db);
 *   const { apiKey, oauthClient } = await store.addPartner({ partnerId: 'northwind', name: 'Northwind', ttlDays: 365 });
 *   await store.verifyApiKey(apiKey.secret)   // → { ok: true, principal: { partnerId: 'northwind', scopes: [...] } }
 */
export type CredentialKind = 'api_key' | 'oauth_client';

export interface Principal {
  partnerId: string;
  credentialId: string;
  kind: CredentialKind | 'access_token';
  scopes: Scope[];
}

export type VerifyOutcome = { ok: true; principal: Principal } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'disabled' };

export interface IssuedCredential {
  credentialId: string;
  kind: CredentialKind;
  /** Shown once; never stored. For an OAuth client, the client secret (its id is `credentialId`). */
  secret: string;
  expiresAt: string;
  scopes: Scope[];
}

/** `credentials[].id`, not `credentialId`: output redacts values under keys that look like secrets. */
export interface PartnerListing {
  partnerId: string;
  name: string;
  status: string;
  createdAt: string;
  credentials: Array<{ id: string; kind: CredentialKind; scopes: string; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null; state: 'active' | 'revoked' | 'expired' }>;
}

const PARTNER_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const API_KEY = /^psk_(k_[0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

export const sha256hex = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const randomSecret = () => crypto.randomBytes(32).toString('base64url');

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && crypto.timingSafeEqual(x, y);
}

export function parseScopes(value: string | readonly string[] | undefined): Scope[] {
  if (value === undefined) return [...SCOPES];
  const list = (typeof value === 'string' ? value.split(/[\s,]+/) : [...value]).filter(Boolean);
  const bad = list.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length) throw new UsageError(`unknown scope ${bad.join(', ')} (one of ${SCOPES.join(', ')})`);
  return [...new Set(list)] as Scope[];
}

export class CredentialStore {
  /** Throttles last_used_at writes: one per credential per minute is enough to answer "is it in use?". */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: Knex,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async addPartner(opts: { partnerId: string; name?: string; ttlDays: number; scopes?: Scope[] }): Promise<{ apiKey: IssuedCredential; oauthClient: IssuedCredential }> {
    if (!PARTNER_ID.test(opts.partnerId)) throw new UsageError(`partner id "${opts.partnerId}": use lower-case letters, digits, _ and - (at most 64)`);
    const exists = await this.db('api_partners').where({ partner_id: opts.partnerId }).first();
    if (exists) throw new InputError(`partner "${opts.partnerId}" already exists`, { hint: 'issue a new key with `partnersync partners rotate-key ' + opts.partnerId + '`' });
    return this.db.transaction(async (trx) => {
      await trx('api_partners').insert({ partner_id: opts.partnerId, name: opts.name ?? opts.partnerId, status: 'active', created_at: this.now().toISOString() });
      const apiKey = await this.issue(trx, opts.partnerId, 'api_key', opts.ttlDays, opts.scopes);
      const oauthClient = await this.issue(trx, opts.partnerId, 'oauth_client', opts.ttlDays, opts.scopes);
      return { apiKey, oauthClient };
    });
  }

  async issue(db: Knex, partnerId: string, kind: CredentialKind, ttlDays: number, scopes: Scope[] = [...SCOPES], expiresAt?: Date): Promise<IssuedCredential> {
    const id = `${kind === 'api_key' ? 'k' : 'pc'}_${crypto.randomBytes(8).toString('hex')}`;
    const raw = randomSecret();
    const secret = kind === 'api_key' ? `psk_${id}_${raw}` : `pcs_${raw}`;
    const created = this.now();
    const expires = expiresAt ?? new Date(created.getTime() + ttlDays * 86_400_000);
    await db('api_credentials').insert({
      credential_id: id,
      partner_id: partnerId,
      kind,
      secret_hash: sha256hex(secret),
      scopes: scopes.join(' '),
      created_at: created.toISOString(),
      expires_at: expires.toISOString(),
      revoked_at: null,
      last_used_at: null,
    });
    return { credentialId: id, kind, secret, expiresAt: expires.toISOString(), scopes };
  }

  private async requirePartner(partnerId: string): Promise<void> {
    if (!(await this.db('api_partners').where({ partner_id: partnerId }).first())) throw new InputError(`no partner "${partnerId}"`, { hint: 'partnersync partners list' });
  }

  /**
   * A new credential of `kind` for the partner; the partner's other active credentials of that kind
   * stop working now, or after `graceHours` (both keys work while the partner switches over).
   */
  async rotate(partnerId: string, opts: { kind: CredentialKind; ttlDays: number; graceHours?: number; scopes?: Scope[] }): Promise<{ issued: IssuedCredential; retired: string[] }> {
    await this.requirePartner(partnerId);
    const now = this.now();
    return this.db.transaction(async (trx) => {
      const active = (await trx('api_credentials').where({ partner_id: partnerId, kind: opts.kind }).whereNull('revoked_at').select('credential_id', 'expires_at', 'scopes')) as Array<{ credential_id: string; expires_at: string | null; scopes: string }>;
      const live = active.filter((c) => !c.expires_at || c.expires_at > now.toISOString());
      const scopes = opts.scopes ?? (live[0] ? parseScopes(live[0].scopes) : undefined);
      const issued = await this.issue(trx, partnerId, opts.kind, opts.ttlDays, scopes);
      const grace = Math.max(0, opts.graceHours ?? 0);
      for (const c of live) {
        if (grace === 0) await trx('api_credentials').where({ credential_id: c.credential_id }).update({ revoked_at: now.toISOString() });
        else {
          const until = new Date(now.getTime() + grace * 3_600_000).toISOString();
          if (!c.expires_at || c.expires_at > until) await trx('api_credentials').where({ credential_id: c.credential_id }).update({ expires_at: until });
        }
      }
      return { issued, retired: live.map((c) => c.credential_id) };
    });
  }

  /** Revoke one credential by id (a key's `k_…`, a client's `pc_…`), or every credential of a partner. */
  async revoke(idOrPartner: string): Promise<string[]> {
    const now = this.now().toISOString();
    const byId = await this.db('api_credentials').where({ credential_id: idOrPartner }).first();
    const ids = byId
      ? [idOrPartner]
      : ((await this.db('api_credentials').where({ partner_id: idOrPartner }).whereNull('revoked_at').pluck('credential_id')) as string[]);
    if (!byId && ids.length === 0 && !(await this.db('api_partners').where({ partner_id: idOrPartner }).first()))
      throw new InputError(`no credential or partner "${idOrPartner}"`, { hint: 'partnersync partners list shows credential ids' });
    if (ids.length) await this.db('api_credentials').whereIn('credential_id', ids).whereNull('revoked_at').update({ revoked_at: now });
    return ids;
  }

  async list(): Promise<PartnerListing[]> {
    const now = this.now().toISOString();
    const partners = (await this.db('api_partners').select('*').orderBy('partner_id')) as Array<Record<string, string>>;
    const creds = (await this.db('api_credentials').select('credential_id', 'partner_id', 'kind', 'scopes', 'created_at', 'expires_at', 'revoked_at', 'last_used_at').orderBy('created_at')) as Array<Record<string, string | null>>;
    return partners.map((p) => ({
      partnerId: p.partner_id!,
      name: p.name!,
      status: p.status!,
      createdAt: p.created_at!,
      credentials: creds
        .filter((c) => c.partner_id === p.partner_id)
        .map((c) => ({
          id: c.credential_id!,
          kind: c.kind as CredentialKind,
          scopes: c.scopes ?? '',
          createdAt: c.created_at!,
          expiresAt: c.expires_at ?? null,
          revokedAt: c.revoked_at ?? null,
          lastUsedAt: c.last_used_at ?? null,
          state: c.revoked_at ? 'revoked' : c.expires_at && c.expires_at <= now ? 'expired' : 'active',
        })),
    }));
  }

  /** Look a credential up and check it is usable now; `secret` is checked when given. */
  async check(credentialId: string, kind: CredentialKind, secret?: string): Promise<VerifyOutcome> {
    const row = (await this.db('api_credentials as c')
      .join('api_partners as p', 'p.partner_id', 'c.partner_id')
      .where('c.credential_id', credentialId)
      .first('c.partner_id', 'c.kind', 'c.secret_hash', 'c.scopes', 'c.expires_at', 'c.revoked_at', 'p.status')) as Record<string, string | null> | undefined;
    if (!row || row.kind !== kind) return { ok: false, reason: 'unknown' };
    if (secret !== undefined && !sameHash(sha256hex(secret), row.secret_hash ?? '')) return { ok: false, reason: 'unknown' };
    if (row.revoked_at) return { ok: false, reason: 'revoked' };
    const now = this.now();
    if (row.expires_at && row.expires_at <= now.toISOString()) return { ok: false, reason: 'expired' };
    if (row.status !== 'active') return { ok: false, reason: 'disabled' };
    if (secret !== undefined) await this.touch(credentialId, now);
    return { ok: true, principal: { partnerId: row.partner_id!, credentialId, kind, scopes: parseScopes(row.scopes ?? '') } };
  }

  async verifyApiKey(key: string): Promise<VerifyOutcome> {
    const m = API_KEY.exec(key);
    if (!m) return { ok: false, reason: 'unknown' };
    return this.check(m[1]!, 'api_key', key);
  }

  async verifyClient(clientId: string, clientSecret: string): Promise<VerifyOutcome> {
    if (!/^pc_[0-9a-f]{16}$/.test(clientId)) return { ok: false, reason: 'unknown' };
    return this.check(clientId, 'oauth_client', clientSecret);
  }

  private async touch(id: string, now: Date): Promise<void> {
    const last = this.touched.get(id) ?? 0;
    if (now.getTime() - last < 60_000) return;
    this.touched.set(id, now.getTime());
    await this.db('api_credentials').where({ credential_id: id }).update({ last_used_at: now.toISOString() });
  }
}
