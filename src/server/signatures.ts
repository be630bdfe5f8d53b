import { createHmac, timingSafeEqual } from 'node:crypto';
import type { GenericHmacConfig, SignatureScheme } from './config.js';

/**
 * Webhook signature verification, one function per scheme, all pure: (what arrived, secrets, now)
 * → accepted or a rejection reason. They see the raw body bytes, never parsed JSON (re-serialising
 * would change the bytes that were signed). Every scheme checks the timestamp window first (cheap,
 * and a replayed old request is rejected before any HMAC work), in both directions.
 *
 * Schemes (`../shared/reference/api-protocols.md` §6):
 * - crossbeam:          X-Crossbeam-Signature-256 = base64(HMAC-SHA256(secret, body + timestamp)), X-Crossbeam-Timestamp in s
 * - standard-webhooks:  webhook-signature = "v1,<base64>" (space-separated list), HMAC-SHA256(base64-decoded whsec_ key, id.timestamp.body)
 * - hubspot-v3:         X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + uri + body + timestamp)), timestamp in ms
 * - hmac:               configurable header, algorithm, encoding, prefix and signed template
 *
 * @example
 *   const r = verifySignature('crossbeam', { headers, rawBody, method: 'POST', url }, ['s3cret'], { toleranceSeconds: 300 });
 *   if (!r.ok) return new Response(null, { status: 401 }); // r.reason: 'missing_signature' | 'bad_signature' | 'stale' | …
 */
export type RejectReason = 'missing_signature' | 'missing_timestamp' | 'bad_timestamp' | 'stale' | 'future' | 'bad_signature' | 'missing_id';

export type VerifyResult = { ok: true; webhookId?: string; timestamp?: number } | { ok: false; reason: RejectReason };

export interface SignedRequest {
  method: string;
  /** The full URL the sender called (HubSpot v3 signs it). */
  url: string;
  /** Lower-case header names. */
  headers: Headers;
  rawBody: Buffer;
}

export interface VerifyOptions {
  toleranceSeconds: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: number;
  hmac?: GenericHmacConfig;
  /** hubspot-v3: the URL HubSpot called, when it differs from the one we see (proxy). */
  publicUrl?: string;
}

/** Constant-time equality of two byte strings; different lengths are unequal without comparing. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Decode a received signature; undefined when it is not valid in that encoding. Buffer.from is
 * lenient (it skips characters it cannot decode), so decoding and re-encoding must round-trip:
 * otherwise "abc!" and "abc" would be the same signature.
 */
function decodeSig(text: string, encoding: 'hex' | 'base64' | 'base64url'): Buffer | undefined {
  const buf = Buffer.from(text, encoding);
  const norm = (s: string) => (encoding === 'hex' ? s.toLowerCase() : s.replace(/=+$/, ''));
  return norm(buf.toString(encoding)) === norm(text) ? buf : undefined;
}

function hmac(algorithm: string, key: Buffer | string, parts: Array<string | Buffer>): Buffer {
  const h = createHmac(algorithm, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function checkWindow(tsSeconds: number, opts: VerifyOptions): RejectReason | undefined {
  const now = (opts.now ?? Date.now()) / 1000;
  if (tsSeconds < now - opts.toleranceSeconds) return 'stale';
  if (tsSeconds > now + opts.toleranceSeconds) return 'future';
  return undefined;
}

function parseTimestamp(text: string | null, unit: 's' | 'ms'): number | RejectReason {
  if (text === null || text === '') return 'missing_timestamp';
  if (!/^\d{1,16}$/.test(text.trim())) return 'bad_timestamp';
  const n = Number(text.trim());
  return unit === 'ms' ? n / 1000 : n;
}

export function verifyCrossbeam(req: SignedRequest, secrets: string[], opts: VerifyOptions): VerifyResult {
  const sigText = req.headers.get('x-crossbeam-signature-256');
  const tsText = req.headers.get('x-crossbeam-timestamp');
  if (!sigText) return { ok: false, reason: 'missing_signature' };
  const ts = parseTimestamp(tsText, 's');
  if (typeof ts === 'string') return { ok: false, reason: ts };
  const window = checkWindow(ts, opts);
  if (window) return { ok: false, reason: window };
  const received = decodeSig(sigText.trim(), 'base64');
  if (!received) return { ok: false, reason: 'bad_signature' };
  // The timestamp is signed as the exact decimal text that was sent.
  for (const s of secrets) if (safeEqual(hmac('sha256', s, [req.rawBody, tsText!.trim()]), received)) return { ok: true, timestamp: ts };
  return { ok: false, reason: 'bad_signature' };
}

/** `whsec_<base64>` → key bytes (the part after the prefix, base64-decoded). */
export function standardWebhooksKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

export function verifyStandardWebhooks(req: SignedRequest, secrets: string[], opts: VerifyOptions): VerifyResult {
  const id = req.headers.get('webhook-id');
  const tsText = req.headers.get('webhook-timestamp');
  const sigHeader = req.headers.get('webhook-signature');
  if (!sigHeader) return { ok: false, reason: 'missing_signature' };
  if (!id) return { ok: false, reason: 'missing_id' };
  const ts = parseTimestamp(tsText, 's');
  if (typeof ts === 'string') return { ok: false, reason: ts };
  const window = checkWindow(ts, opts);
  if (window) return { ok: false, reason: window };
  // Space-separated "v1,<sig>" entries; other versions (v1a = ed25519) are not ours to check.
  const candidates = sigHeader
    .split(' ')
    .map((e) => e.split(','))
    .filter(([v, s]) => v === 'v1' && s)
    .map(([, s]) => decodeSig(s!, 'base64'))
    .filter((b): b is Buffer => b !== undefined);
  if (candidates.length === 0) return { ok: false, reason: 'bad_signature' };
  for (const secret of secrets) {
    const expected = hmac('sha256', standardWebhooksKey(secret), [`${id}.${tsText!.trim()}.`, req.rawBody]);
    if (candidates.some((c) => safeEqual(expected, c))) return { ok: true, webhookId: id, timestamp: ts };
  }
  return { ok: false, reason: 'bad_signature' };
}

export function verifyHubspotV3(req: SignedRequest, secrets: string[], opts: VerifyOptions): VerifyResult {
  const sigText = req.headers.get('x-hubspot-signature-v3');
  const tsText = req.headers.get('x-hubspot-request-timestamp');
  if (!sigText) return { ok: false, reason: 'missing_signature' };
  const ts = parseTimestamp(tsText, 'ms');
  if (typeof ts === 'string') return { ok: false, reason: ts };
  const window = checkWindow(ts, opts);
  if (window) return { ok: false, reason: window };
  const received = decodeSig(sigText.trim(), 'base64');
  if (!received) return { ok: false, reason: 'bad_signature' };
  const uri = opts.publicUrl ?? req.url;
  // HubSpot's docs ask receivers to decode a few escapes in the URI; its Node helper does not. Accept both.
  const uris = [...new Set([uri, decodeHubspotUri(uri)])];
  for (const s of secrets) {
    for (const u of uris) {
      if (safeEqual(hmac('sha256', s, [req.method.toUpperCase(), u, req.rawBody, tsText!.trim()]), received)) return { ok: true, timestamp: ts };
    }
  }
  return { ok: false, reason: 'bad_signature' };
}

/** The escapes HubSpot's validation docs list as decoded before hashing. */
function decodeHubspotUri(uri: string): string {
  const map: Record<string, string> = { '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';' };
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => map[m.toUpperCase()] ?? m);
}

export function verifyGenericHmac(req: SignedRequest, secrets: string[], opts: VerifyOptions): VerifyResult {
  const h = opts.hmac!;
  const raw = req.headers.get(h.header.toLowerCase());
  if (!raw) return { ok: false, reason: 'missing_signature' };
  let tsText: string | undefined;
  let ts: number | undefined;
  if (h.timestampHeader) {
    const got = req.headers.get(h.timestampHeader.toLowerCase());
    const parsed = parseTimestamp(got, h.timestampUnit);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    const window = checkWindow(parsed, opts);
    if (window) return { ok: false, reason: window };
    tsText = got!.trim();
    ts = parsed;
  }
  const id = h.eventId?.header ? req.headers.get(h.eventId.header.toLowerCase()) ?? undefined : undefined;
  if (h.signed.includes('{id}') && !id) return { ok: false, reason: 'missing_id' };
  // A header may carry several signatures (rotation), comma- or space-separated, each with the prefix.
  const candidates = raw
    .split(/[\s,]+/)
    .filter((p) => p.startsWith(h.prefix))
    .map((p) => decodeSig(p.slice(h.prefix.length), h.encoding))
    .filter((b): b is Buffer => b !== undefined && b.length > 0);
  if (candidates.length === 0) return { ok: false, reason: 'bad_signature' };
  const parts = signedParts(h.signed, { body: req.rawBody, timestamp: tsText ?? '', id: id ?? '', method: req.method.toUpperCase(), url: opts.publicUrl ?? req.url });
  for (const s of secrets) {
    const key = h.secretEncoding === 'utf8' ? s : Buffer.from(s, h.secretEncoding);
    const expected = hmac(h.algorithm, key, parts);
    if (candidates.some((c) => safeEqual(expected, c))) return { ok: true, timestamp: ts, webhookId: id };
  }
  return { ok: false, reason: 'bad_signature' };
}

/** Expand a `signed` template into the byte parts to hash (the body stays a Buffer, never re-decoded). */
export function signedParts(template: string, values: { body: Buffer; timestamp: string; id: string; method: string; url: string }): Array<string | Buffer> {
  const out: Array<string | Buffer> = [];
  let rest = template;
  for (;;) {
    const m = /\{(body|timestamp|id|method|url)\}/.exec(rest);
    if (!m) break;
    if (m.index > 0) out.push(rest.slice(0, m.index));
    const v = values[m[1] as keyof typeof values];
    out.push(v);
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) out.push(rest);
  return out;
}

export function verifySignature(scheme: SignatureScheme, req: SignedRequest, secrets: string[], opts: VerifyOptions): VerifyResult {
  switch (scheme) {
    case 'crossbeam':
      return verifyCrossbeam(req, secrets, opts);
    case 'standard-webhooks':
      return verifyStandardWebhooks(req, secrets, opts);
    case 'hubspot-v3':
      return verifyHubspotV3(req, secrets, opts);
    case 'hmac':
      return verifyGenericHmac(req, secrets, opts);
  }
}
