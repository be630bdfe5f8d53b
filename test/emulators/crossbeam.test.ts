import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { start, type CrossbeamEmulator } from '../../src/emulators/crossbeam/index.js';

/** Contract tests for the Crossbeam emulator, driven with plain fetch as partnersync's client does. */

async function token(xb: CrossbeamEmulator): Promise<string> {
  const res = await fetch(`${xb.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: xb.clientId, client_secret: xb.clientSecret }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
  expect(body.token_type).toBe('Bearer');
  expect(body.expires_in).toBeGreaterThan(0);
  return body.access_token;
}

function api(xb: CrossbeamEmulator, tok: string) {
  return async (pathOrUrl: string, headers: Record<string, string> = {}) => {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : xb.url + pathOrUrl;
    const res = await fetch(url, { headers: { authorization: `Bearer ${tok}`, 'xbeam-organization': xb.orgUuid, ...headers } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
}

/** Follow next_href until has_more is false; returns the items and the bookmark. */
async function drain(get: ReturnType<typeof api>, first: string) {
  const items: any[] = [];
  let url = first;
  let pages = 0;
  for (;;) {
    const r = await get(url);
    expect(r.status).toBe(200);
    items.push(...r.body.data);
    pages += 1;
    if (!r.body.pagination.has_more) return { items, bookmark: r.body.pagination.next_href as string, pages };
    url = r.body.pagination.next_href;
  }
}

const key = (o: any) => `${o.crossbeam_record_id}|${o.partner_crossbeam_record_id}`;

describe('crossbeam emulator', () => {
  let xb: CrossbeamEmulator;
  let get: ReturnType<typeof api>;

  beforeAll(async () => {
    xb = await start();
    get = api(xb, await token(xb));
  });
  afterAll(async () => {
    await xb.stop();
  });

  it('serves /v1/users/me without the organization header and lists the org uuid (v1 and v0.1 shapes)', async () => {
    const res = await fetch(`${xb.url}/v1/users/me`, { headers: { authorization: `Bearer ${await token(xb)}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.data[0].organizations[0].uuid).toBe(xb.orgUuid);
    const legacy = await get('/v0.1/users/me');
    expect(legacy.body.authorizations[0].organization.uuid).toBe(xb.orgUuid);
  });

  it('rejects a missing or foreign Xbeam-Organization header', async () => {
    const tok = await token(xb);
    const missing = await fetch(`${xb.url}/v1/partners`, { headers: { authorization: `Bearer ${tok}` } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).message).toMatch(/Xbeam-Organization/);
    const wrong = await get('/v1/partners', { 'xbeam-organization': '00000000-0000-0000-0000-000000000000' });
    expect(wrong.status).toBe(403);
    const noToken = await fetch(`${xb.url}/v1/partners`, { headers: { 'xbeam-organization': xb.orgUuid } });
    expect(noToken.status).toBe(401);
  });

  it('lists partners, populations and partner populations in the v1 data envelope and v0.1 shapes', async () => {
    const partners = await get('/v1/partners?limit=1');
    expect(partners.body.data).toHaveLength(1);
    expect(partners.body.pagination).toMatchObject({ limit: 1, page: 1 });
    const second = await get(partners.body.pagination.next_href);
    expect(second.body.data[0].uuid).not.toBe(partners.body.data[0].uuid);
    expect(second.body.pagination.next_href).toBeNull();

    const legacy = await get('/v0.1/partners');
    expect(legacy.body.partner_orgs.map((p: any) => p.uuid).sort()).toEqual(xb.state.partners.map((p) => p.uuid).sort());

    const pops = await get('/v1/populations');
    expect(pops.body.data.map((p: any) => p.standard_type)).toContain('customers');
    const one = await get(`/v1/populations/${pops.body.data[0].id}`);
    expect(one.body.name).toBe(pops.body.data[0].name);
    const ppops = await get('/v1/partner-populations');
    expect(ppops.body.data.length).toBe(xb.state.partnerPopulations.length);
    const legacyPops = await get('/v0.1/populations');
    expect(legacyPops.body.items.length).toBe(xb.state.populations.length);
  });

  it('pages our records with next_href until it is null, in both envelopes', async () => {
    const { items, bookmark } = await drain(get, '/v1/records/accounts?limit=3');
    expect(items).toHaveLength(xb.state.records.filter((r) => r.record_type === 'account').length);
    expect(new Set(items.map((r) => r.crossbeam_record_id)).size).toBe(items.length);
    expect(bookmark).toBeNull();
    expect(items[0]).toHaveProperty('crm_data');
    expect(items[0].populations[0]).toHaveProperty('name');

    const legacy: any[] = [];
    let url: string | null = '/v0.1/records?limit=4';
    while (url) {
      const r = await get(url);
      legacy.push(...r.body.items);
      url = r.body.pagination.next_href;
    }
    expect(legacy).toHaveLength(xb.state.records.length);
  });

  it('rejects a limit above 1000', async () => {
    const r = await get('/v1/overlaps/accounts?limit=1001');
    expect(r.status).toBe(400);
  });

  it('pages overlaps and returns only changes (including deletions) after a saved cursor', async () => {
    const full = await drain(get, '/v1/overlaps/accounts?limit=2');
    const live = xb.state.overlaps.filter((o) => !o.is_deleted && o.partner_record_type === 'account');
    expect(full.items.map(key).sort()).toEqual(live.map(key).sort());
    expect(full.pages).toBeGreaterThan(2);
    expect(full.items.every((o) => o.is_deleted === undefined)).toBe(true);
    expect(full.bookmark).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/overlaps\/accounts\?limit=2&cursor=/);

    // Nothing changed: the bookmark returns nothing.
    const idle = await drain(get, full.bookmark);
    expect(idle.items).toEqual([]);

    const [first, second] = live;
    const rec = xb.state.records.find((r) => r.record_name === 'Soylent Foods')!;
    const added = xb.state.addOverlap({ crossbeam_record_id: rec.crossbeam_record_id, partner_id: xb.state.partners[1]!.uuid, partner_record_name: 'Soylent' });
    xb.state.modifyOverlap(first!, { partner_record_name: 'Renamed by partner' });
    xb.state.deleteOverlap(second!);

    const changes = await drain(get, idle.bookmark);
    expect(changes.items.map(key).sort()).toEqual([key(added), key(first), key(second)].sort());
    const byKey = new Map(changes.items.map((o) => [key(o), o]));
    expect(byKey.get(key(first))!.partner_record_name).toBe('Renamed by partner');
    expect(byKey.get(key(second))!.is_deleted).toBe(true);
    expect(byKey.get(key(added))!.record_name).toBe('Soylent Foods');

    // A record change counts as a change of each of its overlaps.
    xb.state.modifyRecord({ crossbeam_record_id: rec.crossbeam_record_id }, { record_name: 'Soylent Foods Inc.' });
    const afterRecordChange = await drain(get, changes.bookmark);
    expect(afterRecordChange.items.map(key)).toEqual([key(added)]);
    expect(afterRecordChange.items[0].record_name).toBe('Soylent Foods Inc.');

    // A fresh full pass no longer contains the deleted overlap.
    const again = await drain(get, '/v1/overlaps/accounts?limit=50');
    expect(again.items.map(key)).not.toContain(key(second));
    expect(again.items.map(key)).toContain(key(added));
  });

  it('answers 400 invalid_cursor when a cursor is reused with different query parameters', async () => {
    const partner = xb.state.partners[0]!.uuid;
    const full = await drain(get, `/v1/overlaps/accounts?partner-id=${partner}`);
    expect(full.items.every((o) => o.partner_id === partner)).toBe(true);
    const cursor = new URL(full.bookmark).searchParams.get('cursor')!;
    const other = await get(`/v1/overlaps/accounts?partner-id=${xb.state.partners[1]!.uuid}&cursor=${encodeURIComponent(cursor)}`);
    expect(other.status).toBe(400);
    expect(other.body.error).toBe('invalid_cursor');
    const popFilter = await get(`/v1/overlaps/accounts?population-ids[]=17059&cursor=${encodeURIComponent(cursor)}`);
    expect(popFilter.status).toBe(400);
    const same = await get(`/v1/overlaps/accounts?partner-id=${partner}&cursor=${encodeURIComponent(cursor)}`);
    expect(same.status).toBe(200);
    const garbage = await get('/v1/overlaps/accounts?cursor=bm90LWpzb24=');
    expect(garbage.status).toBe(400);
  });

  it('serves lead overlaps separately from account overlaps', async () => {
    const { items } = await drain(get, '/v1/overlaps/leads');
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((o) => o.partner_record_type === 'lead')).toBe(true);
  });

  it('filters signals by triggered_at and bookmarks new signals only', async () => {
    const all = await drain(get, '/v1/signals/accounts');
    expect(all.items.length).toBe(xb.state.signals.filter((s) => s.record_type === 'account' && !s.event_type.startsWith('own_')).length);
    const since = await get(`/v1/signals/accounts?${new URLSearchParams({ 'triggered_at[gte]': '2025-01-12T00:00:00.000Z' })}`);
    expect(since.body.data.length).toBe(all.items.filter((s) => Date.parse(s.triggered_at) >= Date.parse('2025-01-12T00:00:00Z')).length);
    expect(since.body.data.length).toBeLessThan(all.items.length);

    const s = xb.state.addSignal({ record_id: '001ACME00000004', partner_id: xb.state.partners[1]!.uuid, event_type: 'partner_deal_closed_won' });
    const fresh = await drain(get, all.bookmark);
    expect(fresh.items.map((x) => x.event_id)).toEqual([s.event_id]);
    expect(fresh.items[0]).not.toHaveProperty('seq');
  });

  it('expires tokens and issues new ones from a refresh token', async () => {
    const tok = await token(xb);
    const g = api(xb, tok);
    expect((await g('/v1/partners')).status).toBe(200);
    xb.state.expireTokens();
    const expired = await g('/v1/partners');
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/invalid_token/);

    const bad = await fetch(`${xb.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: xb.clientId, client_secret: xb.clientSecret, refresh_token: 'nope' }),
    });
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as any).error).toBe('invalid_grant');
    const wrongClient = await fetch(`${xb.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: xb.clientId, client_secret: 'wrong' }),
    });
    expect(wrongClient.status).toBe(401);

    const refreshed = await fetch(`${xb.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: xb.clientId, client_secret: xb.clientSecret, refresh_token: xb.refreshToken }),
    });
    const body = (await refreshed.json()) as any;
    expect(refreshed.status).toBe(200);
    expect((await api(xb, body.access_token)('/v1/partners')).status).toBe(200);
    get = api(xb, body.access_token);
  });

  it('expires short-lived tokens on their own', async () => {
    const short = await start({ tokenTtlSeconds: 0.05 });
    try {
      const g = api(short, await token(short));
      expect((await g('/v1/populations')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 80));
      expect((await g('/v1/populations')).status).toBe(401);
    } finally {
      await short.stop();
    }
  });

  it('answers 429 with Retry-After when the rate limit is exceeded or a 429 is injected', async () => {
    const limited = await start({ rateLimit: { limit: 2, windowMs: 60_000 }, retryAfterSeconds: 7 });
    try {
      const g = api(limited, await token(limited));
      expect((await g('/v1/partners')).status).toBe(200);
      expect((await g('/v1/partners')).status).toBe(200);
      const r = await g('/v1/partners');
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('7');
    } finally {
      await limited.stop();
    }
    xb.faults.set('429:x1@overlaps-accounts');
    const injected = await get('/v1/overlaps/accounts');
    expect(injected.status).toBe(429);
    expect(Number(injected.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await get('/v1/overlaps/accounts')).status).toBe(200);
    expect(xb.requests.some((r) => r.route === 'overlaps-accounts' && r.fault === '429')).toBe(true);
  });

  it('loads a seed file and dumps its state', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'xb-seed-'));
    try {
      const file = path.join(dir, 'seed.json');
      await writeFile(
        file,
        JSON.stringify({
          organization: { uuid: '11111111-2222-3333-4444-555555555555', name: 'Seeded Org' },
          partners: [{ uuid: 'p-1', name: 'Only Partner' }],
          records: [{ record_id: 'A1', crossbeam_record_id: 'cb-1', record_name: 'One', record_website: 'one.example' }],
          overlaps: [{ record_id: 'A1', partner_id: 'p-1', partner_crossbeam_record_id: 'pcb-1' }],
        }),
      );
      const seeded = await start({ seed: file });
      try {
        expect(seeded.orgUuid).toBe('11111111-2222-3333-4444-555555555555');
        const g = api(seeded, await token(seeded));
        const r = await g('/v1/overlaps/accounts');
        expect(r.body.data).toHaveLength(1);
        expect(r.body.data[0]).toMatchObject({ record_id: 'A1', partner_name: 'Only Partner', partner_crossbeam_record_id: 'pcb-1' });
        const dump = seeded.dump() as any;
        expect(dump.overlaps).toHaveLength(1);
        expect(JSON.parse(JSON.stringify(dump)).organization.name).toBe('Seeded Org');
      } finally {
        await seeded.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('crossbeam webhook sender', () => {
  let receiver: http.Server;
  let receiverUrl = '';
  const received: { headers: http.IncomingHttpHeaders; raw: string }[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          res.writeHead(503).end();
        } else res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/crossbeam`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  /** Independent check, written from Crossbeam's docs: base64 HMAC-SHA256 of raw body + timestamp. */
  function verify(raw: string, headers: http.IncomingHttpHeaders, secret: string): boolean {
    const ts = String(headers['x-crossbeam-timestamp']);
    if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
    const expected = Buffer.from(createHmac('sha256', secret).update(`${raw}${ts}`).digest('base64'));
    const got = Buffer.from(String(headers['x-crossbeam-signature-256']));
    return expected.length === got.length && timingSafeEqual(expected, got);
  }

  it('signs deliveries the way Crossbeam does and retries on 503', async () => {
    const xb = await start({ webhookRetry: { baseDelayMs: 5 } });
    try {
      received.length = 0;
      failuresLeft = 1;
      const signal = xb.state.signals[0]!;
      const delivery = await xb.sendWebhook(receiverUrl, signal, 'topsecret');
      expect(delivery.delivered).toBe(true);
      expect(delivery.attempts.map((a) => a.status)).toEqual([503, 200]);
      expect(received).toHaveLength(2);
      for (const r of received) {
        expect(verify(r.raw, r.headers, 'topsecret')).toBe(true);
        expect(verify(r.raw, r.headers, 'other-secret')).toBe(false);
        expect(JSON.parse(r.raw).event_id).toBe(signal.event_id);
      }
      expect(received[0]!.raw).toBe(received[1]!.raw);
      expect(xb.deliveries).toHaveLength(1);
    } finally {
      await xb.stop();
    }
  });

  it('gives up after the configured attempts and does not retry a 400', async () => {
    const xb = await start({ webhookRetry: { baseDelayMs: 1, maxAttempts: 3 } });
    try {
      received.length = 0;
      failuresLeft = 10;
      const gaveUp = await xb.sendWebhook(receiverUrl, { event_id: 'e-1', event_type: 'partner_deal_opened' }, 's');
      expect(gaveUp.delivered).toBe(false);
      expect(gaveUp.attempts).toHaveLength(3);
      failuresLeft = 0;

      const bad = http.createServer((_req, res) => res.writeHead(400).end());
      await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
      const d = await xb.sendWebhook(`http://127.0.0.1:${(bad.address() as AddressInfo).port}/`, { event_id: 'e-2' }, 's');
      await new Promise<void>((r) => bad.close(() => r()));
      expect(d.attempts.map((a) => a.status)).toEqual([400]);
    } finally {
      await xb.stop();
    }
  });

  it('delivers to a configured subscription when a signal is added', async () => {
    const xb = await start({ webhooks: [{ url: receiverUrl, secret: 'sub-secret', events: ['partner_deal_closed_won'] }], webhookRetry: { baseDelayMs: 1 } });
    try {
      received.length = 0;
      xb.state.addSignal({ record_id: '001ACME00000001', event_type: 'partner_deal_opened' });
      const s = xb.state.addSignal({ record_id: '001ACME00000001', event_type: 'partner_deal_closed_won' });
      await xb.webhooksSettled();
      expect(received).toHaveLength(1);
      expect(verify(received[0]!.raw, received[0]!.headers, 'sub-secret')).toBe(true);
      expect(JSON.parse(received[0]!.raw)).toMatchObject({ event_id: s.event_id, record_id: '001ACME00000001', record_type: 'account' });
    } finally {
      await xb.stop();
    }
  });
});
