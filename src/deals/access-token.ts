import crypto from 'node:crypto';

/**
 * Short-lived OAuth access tokens: compact JWS (RFC 7515) with HS256 over the claims, signed with
 * the server's `deals.tokenSecret`. Verification pins the algorithm (a token saying `alg: none` or
 * RS256 is refused, never "interpreted") and compares signatures in constant time.
 *
 * @example
 *   const t = signAccessToken({ sub: 'northwind', cid: 'pc_1a2b', scope: 'deals:read', iat, exp }, secret);
 *   verifyAccessToken(t, secret, Date.now()) // → { ok: true, claims }
 */
export interface AccessClaims {
  iss: 'partnersync';
  /** Partner id. */
  sub: string;
  /** The OAuth client (credential id) the token was issued to: revoking it ends its tokens. */
  cid: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }));

export function signAccessToken(claims: AccessClaims, secret: string): string {
  const body = `${HEADER}.${b64url(JSON.stringify(claims))}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export type VerifyResult = { ok: true; claims: AccessClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export function verifyAccessToken(token: string, secret: string, nowMs: number): VerifyResult {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: unknown };
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (header?.alg !== 'HS256') return { ok: false, reason: 'malformed' };
  const want = crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, 'base64url');
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return { ok: false, reason: 'bad_signature' };
  let claims: AccessClaims;
  try {
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || typeof claims.cid !== 'string' || typeof claims.scope !== 'string') return { ok: false, reason: 'malformed' };
  if (claims.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
