import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { safeEqual, verifySignature, type SignedRequest } from '../../src/server/signatures.js';
import { GenericHmacConfig } from '../../src/server/config.js';

// Every expected signature here is computed with node:crypto from the vendors' documented
// algorithms (or taken from a published vector), never with the receiver's own signing code.

const req = (headers: Record<string, string>, body: string, url = 'http://127.0.0.1/webhooks/x', method = 'POST'): SignedRequest => ({
  method,
  url,
  headers: new Headers(headers),
  rawBody: Buffer.from(body),
});

describe('Standard Webhooks', () => {
  // The spec's published test vector (standard-webhooks/standard-webhooks, libraries' test suites).
  const vector = {
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };
  const headers = { 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp), 'webhook-signature': vector.signature };
  const now = vector.timestamp * 1000;

  it('accepts the published known-answer vector', () => {
    expect(verifySignature('standard-webhooks', req(headers, vector.body), [vector.secret], { toleranceSeconds: 300, now })).toEqual({ ok: true, webhookId: vector.id, timestamp: vector.timestamp });
  });

  it('accepts when any of several signatures matches (sender rotating) and with any of several secrets', () => {
    const multi = { ...headers, 'webhook-signature': `v1,bm90LXRoZS1zaWduYXR1cmU= v1a,ZWQyNTUxOQ== ${vector.signature}` };
    expect(verifySignature('standard-webhooks', req(multi, vector.body), [vector.secret], { toleranceSeconds: 300, now }).ok).toBe(true);
    expect(verifySignature('standard-webhooks', req(headers, vector.body), ['whsec_' + Buffer.from('other-key-bytes-000000').toString('base64'), vector.secret], { toleranceSeconds: 300, now }).ok).toBe(true);
  });

  it('rejects a tampered body, a wrong secret, a changed id, stale and future timestamps', () => {
    const opts = { toleranceSeconds: 300, now };
    expect(verifySignature('standard-webhooks', req(headers, '{"test": 2432232315}'), [vector.secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('standard-webhooks', req(headers, vector.body), ['whsec_' + Buffer.from('wrong').toString('base64')], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('standard-webhooks', req({ ...headers, 'webhook-id': 'msg_other' }, vector.body), [vector.secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('standard-webhooks', req(headers, vector.body), [vector.secret], { toleranceSeconds: 300, now: now + 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifySignature('standard-webhooks', req(headers, vector.body), [vector.secret], { toleranceSeconds: 300, now: now - 301_000 })).toEqual({ ok: false, reason: 'future' });
    expect(verifySignature('standard-webhooks', req({ ...headers, 'webhook-signature': 'v1,' }, vector.body), [vector.secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('standard-webhooks', req({ 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp) }, vector.body), [vector.secret], opts)).toEqual({ ok: false, reason: 'missing_signature' });
  });
});

describe('Crossbeam', () => {
  const secret = 'xb-signing-secret';
  const body = '{"event_id":"evt_1","event_type":"partner_deal_opened","record_id":"001A"}';
  const ts = 1736935200;
  // Documented algorithm: base64(HMAC-SHA256(secret, rawBody + timestamp)), no separator.
  const sign = (b: string, t: number, s = secret) => crypto.createHmac('sha256', s).update(b + String(t)).digest('base64');
  const h = (sig: string, t = ts) => ({ 'x-crossbeam-signature-256': sig, 'x-crossbeam-timestamp': String(t) });
  const opts = { toleranceSeconds: 300, now: ts * 1000 };

  it('accepts a correctly signed request and rejects tampering, wrong secret, stale and future', () => {
    expect(verifySignature('crossbeam', req(h(sign(body, ts)), body), [secret], opts).ok).toBe(true);
    expect(verifySignature('crossbeam', req(h(sign(body, ts)), body.replace('001A', '001B')), [secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('crossbeam', req(h(sign(body, ts, 'wrong')), body), [secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    // A signature from another timestamp does not verify with this one (the timestamp is signed).
    expect(verifySignature('crossbeam', req(h(sign(body, ts - 1)), body), [secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('crossbeam', req(h(sign(body, ts - 301), ts - 301), body), [secret], opts)).toEqual({ ok: false, reason: 'stale' });
    expect(verifySignature('crossbeam', req(h(sign(body, ts + 301), ts + 301), body), [secret], opts)).toEqual({ ok: false, reason: 'future' });
    expect(verifySignature('crossbeam', req(h(sign(body, ts + 300), ts + 300), body), [secret], opts).ok).toBe(true);
    expect(verifySignature('crossbeam', req(h(sign(body, ts), Number.NaN), body), [secret], opts)).toEqual({ ok: false, reason: 'bad_timestamp' });
  });

  it('accepts both the old and the new secret during a rotation', () => {
    expect(verifySignature('crossbeam', req(h(sign(body, ts, 'old-secret')), body), ['new-secret', 'old-secret'], opts).ok).toBe(true);
    expect(verifySignature('crossbeam', req(h(sign(body, ts, 'new-secret')), body), ['new-secret', 'old-secret'], opts).ok).toBe(true);
    expect(verifySignature('crossbeam', req(h(sign(body, ts, 'older-secret')), body), ['new-secret', 'old-secret'], opts).ok).toBe(false);
  });

  it('does not accept a signature that only decodes leniently to the right bytes', () => {
    const good = sign(body, ts);
    expect(verifySignature('crossbeam', req(h(`${good.slice(0, 10)}!${good.slice(10)}`), body), [secret], opts)).toEqual({ ok: false, reason: 'bad_signature' });
  });
});

describe('HubSpot v3', () => {
  const secret = 'hubspot-client-secret';
  const body = '[{"eventId":1,"subscriptionId":12345,"subscriptionType":"contact.creation","objectId":123}]';
  const url = 'https://example.com/webhooks/hubspot';
  const tsMs = 1_700_000_000_000;
  const sign = (u: string) => crypto.createHmac('sha256', secret).update(`POST${u}${body}${tsMs}`).digest('base64');

  it('verifies method + uri + body + timestamp(ms) and the 5-minute window', () => {
    const headers = { 'x-hubspot-signature-v3': sign(url), 'x-hubspot-request-timestamp': String(tsMs) };
    expect(verifySignature('hubspot-v3', req(headers, body, url), [secret], { toleranceSeconds: 300, now: tsMs }).ok).toBe(true);
    expect(verifySignature('hubspot-v3', req(headers, body, 'http://127.0.0.1:8787/webhooks/hubspot'), [secret], { toleranceSeconds: 300, now: tsMs }).ok).toBe(false);
    // Behind a proxy the configured public URL is what HubSpot signed.
    expect(verifySignature('hubspot-v3', req(headers, body, 'http://127.0.0.1:8787/webhooks/hubspot'), [secret], { toleranceSeconds: 300, now: tsMs, publicUrl: url }).ok).toBe(true);
    expect(verifySignature('hubspot-v3', req(headers, body, url), [secret], { toleranceSeconds: 300, now: tsMs + 301_000 })).toEqual({ ok: false, reason: 'stale' });
  });
});

describe('generic HMAC', () => {
  it('verifies a Stripe-like "{timestamp}.{body}" hex signature with a prefix', () => {
    const hmac = GenericHmacConfig.parse({ header: 'X-Signature', prefix: 'sha256=', encoding: 'hex', signed: '{timestamp}.{body}', timestampHeader: 'X-Timestamp' });
    const body = '{"id":"ev_1"}';
    const sig = crypto.createHmac('sha256', 'k3y').update(`1700000000.${body}`).digest('hex');
    const ok = req({ 'x-signature': `sha256=${sig}`, 'x-timestamp': '1700000000' }, body);
    expect(verifySignature('hmac', ok, ['k3y'], { toleranceSeconds: 300, now: 1_700_000_000_000, hmac }).ok).toBe(true);
    expect(verifySignature('hmac', req({ 'x-signature': sig, 'x-timestamp': '1700000000' }, body), ['k3y'], { toleranceSeconds: 300, now: 1_700_000_000_000, hmac }).ok).toBe(false);
    expect(verifySignature('hmac', ok, ['k3y'], { toleranceSeconds: 300, now: 1_700_000_400_000, hmac })).toEqual({ ok: false, reason: 'stale' });
  });

  it('verifies an Intercom-like sha1 hex signature of the body alone', () => {
    const hmac = GenericHmacConfig.parse({ header: 'X-Hub-Signature', prefix: 'sha1=', algorithm: 'sha1', encoding: 'hex' });
    const body = '{"type":"notification_event","id":"notif_1"}';
    const sig = crypto.createHmac('sha1', 'client-secret').update(body).digest('hex');
    expect(verifySignature('hmac', req({ 'x-hub-signature': `sha1=${sig}` }, body), ['client-secret'], { toleranceSeconds: 300, hmac }).ok).toBe(true);
    expect(verifySignature('hmac', req({ 'x-hub-signature': `sha1=${sig}` }, `${body} `), ['client-secret'], { toleranceSeconds: 300, hmac }).ok).toBe(false);
  });

  it('refuses a template that does not sign the body', () => {
    expect(GenericHmacConfig.safeParse({ header: 'X-Sig', signed: '{timestamp}', timestampHeader: 'X-T' }).success).toBe(false);
  });
});

describe('safeEqual', () => {
  it('compares equal-length buffers and treats different lengths as unequal', () => {
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});
