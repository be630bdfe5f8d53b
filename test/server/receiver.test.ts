import crypto from 'node:crypto';
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { ServeConfig, type ServeConfigInput } from '../../src/server/config.js';
import { createServeApp, type ServeApp } from '../../src/server/app.js';
import { start as startCrossbeam } from '../../src/emulators/crossbeam/index.js';
import { newStagingUrl, type TestStaging } from '../helpers/staging.js';
import { crossbeamHeaders, dealEvent, RecordingDestination } from './helpers.js';

const SECRET = 'xb-webhook-secret-1';

function serveConfig(extra: Partial<ServeConfigInput> = {}): ServeConfig {
  return ServeConfig.parse({
    port: 0,
    sources: {
      crossbeam: { scheme: 'crossbeam', secrets: [SECRET, 'xb-webhook-secret-0'] },
      sw: { scheme: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', bodyLimitBytes: 64 },
    },
    worker: { pollIntervalMs: 20, maxAttempts: 3, backoff: { initialSeconds: 0, jitter: false } },
    actions: [
      {
        name: 'deal-stage',
        source: 'crossbeam',
        eventTypes: ['partner_deal_opened', 'partner_deal_closed_won'],
        connection: 'salesforce',
        object: 'Account',
        key: 'record_id',
        fields: { Partner_Deal_Stage__c: 'partner_data.deal.stage', Partner_Name__c: 'partner_name', Partner_Deal_Source__c: { value: 'Crossbeam' } },
      },
    ],
    ...extra,
  });
}

describe('webhook receiver (SQLite staging)', () => {
  let ts: TestStaging;
  let staging: Staging;
  let app: ServeApp;
  let crm: RecordingDestination;
  let url: string;

  beforeEach(async () => {
    ts = newStagingUrl('sqlite');
    staging = await openStaging(ts.url);
    crm = new RecordingDestination();
    app = createServeApp({ config: serveConfig(), staging, destination: async () => crm, worker: false });
    url = (await app.start()).url;
  });

  afterEach(async () => {
    await app.stop();
    await staging.close();
    await ts.cleanup();
  });

  const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${url}${path}`, { method: 'POST', headers, body });
  const rows = () => staging.db('webhook_inbox').select('*').orderBy('id');

  it('accepts an event delivered by the Crossbeam emulator, stores it before the 200, and the worker updates the CRM account once', async () => {
    const xb = await startCrossbeam({ webhookRetry: { baseDelayMs: 5, maxAttempts: 3 } });
    try {
      const delivery = await xb.sendWebhook(`${url}/webhooks/crossbeam`, dealEvent('evt-emu-1', { event_type: 'partner_deal_closed_won', partner_data: { deal: { stage: 'Closed Won' } } }), SECRET);
      expect(delivery.delivered).toBe(true);
      expect(delivery.attempts.map((a) => a.status)).toEqual([200]);
    } finally {
      await xb.stop();
    }
    const stored = await rows();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ source: 'crossbeam', event_id: 'evt-emu-1', event_type: 'partner_deal_closed_won', status: 'received' });
    expect(JSON.parse(stored[0].body).event_id).toBe('evt-emu-1');

    expect(await app.worker.drain()).toBe(1);
    expect(crm.writes).toEqual([
      {
        object: 'Account',
        operation: 'update',
        keyField: 'Id',
        records: [{ key: '001000000000001AAA', destinationId: '001000000000001AAA', fields: { Partner_Deal_Stage__c: 'Closed Won', Partner_Name__c: 'Globex', Partner_Deal_Source__c: 'Crossbeam' } }],
      },
    ]);
    expect(await rows()).toMatchObject([{ status: 'processed', attempts: 1 }]);
    expect(await app.worker.drain()).toBe(0);
    expect(crm.writes).toHaveLength(1);
  });

  it('rejects tampered, wrongly signed, stale and future requests with 401 and stores nothing', async () => {
    const body = JSON.stringify(dealEvent('evt-bad'));
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, Record<string, string>]> = [
      ['tampered', body.replace('Acme', 'Acne'), crossbeamHeaders(body, SECRET)],
      ['wrong secret', body, crossbeamHeaders(body, 'not-the-secret')],
      ['stale', body, crossbeamHeaders(body, SECRET, now - 301)],
      ['future', body, crossbeamHeaders(body, SECRET, now + 301)],
      ['unsigned', body, { 'content-type': 'application/json' }],
    ];
    for (const [label, b, h] of cases) {
      const res = await post('/webhooks/crossbeam', b, h);
      expect(res.status, label).toBe(401);
      expect(await res.json()).toEqual({ error: expect.any(String), detail: 'signature verification failed' });
    }
    expect(await rows()).toHaveLength(0);
    expect(app.metrics.get('partnersync_webhooks_rejected_total', { source: 'crossbeam', reason: 'bad_signature' })).toBe(2);
    expect(app.metrics.get('partnersync_webhooks_rejected_total', { source: 'crossbeam', reason: 'stale' })).toBe(1);
    expect(app.metrics.get('partnersync_webhooks_rejected_total', { source: 'crossbeam', reason: 'future' })).toBe(1);
  });

  it('accepts the old and the new secret during a rotation', async () => {
    for (const [id, secret] of [['evt-new', SECRET], ['evt-old', 'xb-webhook-secret-0']] as const) {
      const body = JSON.stringify(dealEvent(id));
      expect((await post('/webhooks/crossbeam', body, crossbeamHeaders(body, secret))).status).toBe(200);
    }
    expect((await rows()).map((r) => r.event_id)).toEqual(['evt-new', 'evt-old']);
  });

  it('answers 415 for a non-JSON content type, 400 for malformed JSON or a missing event id, 413 over the limit, 404 for an unknown source', async () => {
    const body = JSON.stringify(dealEvent('evt-x'));
    expect((await post('/webhooks/crossbeam', body, { ...crossbeamHeaders(body, SECRET), 'content-type': 'text/plain' })).status).toBe(415);
    const broken = '{"event_id": "evt-broken",';
    expect((await post('/webhooks/crossbeam', broken, crossbeamHeaders(broken, SECRET))).status).toBe(400);
    const noId = JSON.stringify({ event_type: 'partner_deal_opened' });
    expect((await post('/webhooks/crossbeam', noId, crossbeamHeaders(noId, SECRET))).status).toBe(400);
    // sw has a 64-byte limit of its own; the server-wide limit applies to the others.
    const big = JSON.stringify({ pad: 'x'.repeat(100) });
    expect((await post('/webhooks/sw', big, { 'content-type': 'application/json' })).status).toBe(413);
    const huge = JSON.stringify({ pad: 'x'.repeat(1_100_000) });
    expect((await post('/webhooks/crossbeam', huge, crossbeamHeaders(huge, SECRET))).status).toBe(413);
    expect((await post('/webhooks/nope', body, crossbeamHeaders(body, SECRET))).status).toBe(404);
    expect((await fetch(`${url}/webhooks/crossbeam`)).status).toBe(405);
    expect(await rows()).toHaveLength(0);
    expect(app.metrics.get('partnersync_webhooks_rejected_total', { source: 'crossbeam', reason: 'payload_too_large' })).toBe(1);
    expect(app.metrics.get('partnersync_webhooks_rejected_total', { source: 'crossbeam', reason: 'malformed_json' })).toBe(1);
  });

  it('stores one row and makes one CRM update when the same event arrives three times at once', async () => {
    const body = JSON.stringify(dealEvent('evt-dup'));
    const results = await Promise.all([0, 1, 2].map(() => post('/webhooks/crossbeam', body, crossbeamHeaders(body, SECRET)).then(async (r) => [r.status, ((await r.json()) as { status: string }).status])));
    expect(results.map((r) => r[0])).toEqual([200, 200, 200]);
    expect(results.map((r) => r[1]).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(await rows()).toHaveLength(1);
    // Two workers racing for the same inbox: the claim is atomic.
    const other = createServeApp({ config: serveConfig(), staging, destination: async () => crm, worker: false });
    await Promise.all([app.worker.drain(), other.worker.drain(), app.worker.drain()]);
    expect(crm.writes).toHaveLength(1);
    expect(app.metrics.get('partnersync_webhooks_duplicates_total', { source: 'crossbeam' })).toBe(2);
  });

  it('accepts the Standard Webhooks published vector through the HTTP route (clock set to its timestamp)', async () => {
    const cfg = serveConfig();
    cfg.sources.sw!.bodyLimitBytes = 1024;
    const at = createServeApp({ config: cfg, staging, worker: false, now: () => 1614265330 * 1000 });
    const send = (body: string) =>
      at.handle(
        new Request('http://local/webhooks/sw', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
          body,
        }),
      );
    expect((await send('{"test": 2432232315}')).status).toBe(401);
    expect((await send('{"test": 2432232314}')).status).toBe(200);
    expect(await rows()).toMatchObject([{ source: 'sw', event_id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', body: '{"test": 2432232314}' }]);
    // The real clock: a timestamp from 2021 is stale.
    const res = await post('/webhooks/sw', '{"test": 2432232314}', { 'content-type': 'application/json', 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' });
    expect(res.status).toBe(401);
  });

  it('retries with back-off, dead-letters after maxAttempts, and `retry` brings a dead event back', async () => {
    const send = async (id: string) => {
      const body = JSON.stringify(dealEvent(id));
      expect((await post('/webhooks/crossbeam', body, crossbeamHeaders(body, SECRET))).status).toBe(200);
    };
    await send('evt-flaky');
    crm.failures = [{ retriable: true }, { retriable: true }];
    await app.worker.drain();
    await app.worker.drain();
    await app.worker.drain();
    expect(await rows()).toMatchObject([{ event_id: 'evt-flaky', status: 'processed', attempts: 3 }]);
    expect(crm.writes).toHaveLength(1);

    await send('evt-gone');
    crm.failures = [{ retriable: false }];
    await app.worker.drain();
    const gone = (await rows()).find((r) => r.event_id === 'evt-gone');
    expect(gone).toMatchObject({ status: 'dead', attempts: 1 });
    expect(gone.last_error).toContain('ENTITY_IS_DELETED');

    await send('evt-down');
    crm.failures = [{ retriable: true }, { retriable: true }, { retriable: true }];
    for (let i = 0; i < 4; i++) await app.worker.drain();
    expect((await rows()).find((r) => r.event_id === 'evt-down')).toMatchObject({ status: 'dead', attempts: 3 });

    expect(await app.inbox.retry({})).toBe(2);
    await app.worker.drain();
    expect((await rows()).map((r) => r.status)).toEqual(['processed', 'processed', 'processed']);
    expect(crm.writes).toHaveLength(3);
    expect(app.metrics.get('partnersync_webhook_events_dead_total', { source: 'crossbeam' })).toBe(2);
  });

  it('serves /healthz and Prometheus /metrics with received, rejected, duplicates, processed, failed and inbox depth', async () => {
    const body = JSON.stringify(dealEvent('evt-m'));
    await post('/webhooks/crossbeam', body, crossbeamHeaders(body, SECRET));
    await post('/webhooks/crossbeam', body, crossbeamHeaders(body, SECRET));
    await post('/webhooks/crossbeam', body, crossbeamHeaders(body, 'wrong'));
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('partnersync_webhooks_received_total{source="crossbeam"} 3');
    expect(text).toContain('partnersync_webhooks_accepted_total{source="crossbeam"} 1');
    expect(text).toContain('partnersync_webhooks_duplicates_total{source="crossbeam"} 1');
    expect(text).toContain('partnersync_webhooks_rejected_total{reason="bad_signature",source="crossbeam"} 1');
    expect(text).toContain('partnersync_webhook_inbox_depth{status="received"} 1');
    expect(text).toContain('# TYPE partnersync_webhook_events_processed_total counter');
    await app.worker.drain();
    const after = await (await fetch(`${url}/metrics`)).text();
    expect(after).toContain('partnersync_webhook_events_processed_total{source="crossbeam"} 1');
    expect(after).toContain('partnersync_webhook_inbox_depth{status="processed"} 1');
  });

  it('graceful stop answers a request already in flight (its event is committed) and refuses new connections', async () => {
    const body = JSON.stringify(dealEvent('evt-inflight'));
    const headers = crossbeamHeaders(body, SECRET);
    const { hostname, port } = new URL(url);
    const answered = new Promise<number>((resolve, reject) => {
      const r = http.request({ host: hostname, port, method: 'POST', path: '/webhooks/crossbeam', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      // Half the body now, the rest after stop() began.
      r.write(body.slice(0, 20));
      setTimeout(() => r.end(body.slice(20)), 150);
    });
    await new Promise((r) => setTimeout(r, 50));
    const stopping = app.stop();
    await new Promise((r) => setTimeout(r, 20));
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(await answered).toBe(200);
    await stopping;
    expect((await rows()).map((r) => r.event_id)).toEqual(['evt-inflight']);
  });
});

describe('webhook inbox on Postgres', () => {
  it('deduplicates concurrent deliveries and claims each event once', async () => {
    const ts = newStagingUrl('postgres', 'serve');
    const staging = await openStaging(ts.url);
    try {
      const crm = new RecordingDestination();
      const app = createServeApp({ config: serveConfig(), staging, destination: async () => crm, worker: false });
      const ids = Array.from({ length: 20 }, () => `evt-${crypto.randomUUID()}`);
      const reqs = ids.flatMap((id) => {
        const body = JSON.stringify(dealEvent(id));
        return [0, 1, 2].map(() => app.handle(new Request('http://local/webhooks/crossbeam', { method: 'POST', headers: crossbeamHeaders(body, SECRET), body })));
      });
      const statuses = (await Promise.all(reqs)).map((r) => r.status);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(Number((await staging.db('webhook_inbox').count({ n: '*' }))[0]!.n)).toBe(20);
      const a = createServeApp({ config: serveConfig(), staging, destination: async () => crm, worker: false });
      await Promise.all([app.worker.drain(), a.worker.drain()]);
      expect(crm.writes.map((w) => w.records[0]!.key)).toHaveLength(20);
      expect(await app.inbox.depth()).toMatchObject({ processed: 20, received: 0, processing: 0 });
    } finally {
      await staging.close();
      await ts.cleanup();
    }
  });
});
