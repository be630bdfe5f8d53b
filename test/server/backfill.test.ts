import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, stableUuid, type CrossbeamEmulator } from '../../src/emulators/crossbeam/index.js';
import { CrossbeamConfig } from '../../src/connectors/crossbeam/config.js';
import { createCrossbeamClient } from '../../src/connectors/crossbeam/client.js';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { Inbox } from '../../src/server/inbox.js';
import { backfillCrossbeam } from '../../src/server/backfill.js';
import { parseSince } from '../../src/commands/webhooks.js';
import { newStagingUrl, type TestStaging } from '../helpers/staging.js';

describe('webhooks backfill from Crossbeam signals', () => {
  let xb: CrossbeamEmulator;
  let ts: TestStaging;
  let staging: Staging;

  beforeAll(async () => {
    xb = await start();
    ts = newStagingUrl('sqlite');
    staging = await openStaging(ts.url);
  });

  afterAll(async () => {
    await xb.stop();
    await staging.close();
    await ts.cleanup();
  });

  it('files signals triggered since --since under the webhook source, skipping events that did arrive by webhook', async () => {
    const inbox = new Inbox(staging);
    // Event 2 arrived by webhook before the outage.
    expect(await inbox.add({ source: 'crossbeam', eventId: stableUuid('event:2'), eventType: 'partner_deal_closed_won', body: '{}' })).toBe('inserted');
    const config = CrossbeamConfig.parse({ type: 'crossbeam', baseUrl: xb.url, organization: xb.orgUuid, clientId: xb.clientId, clientSecret: xb.clientSecret });
    const client = createCrossbeamClient(config);
    const since = new Date('2025-01-11T00:00:00Z');
    const expected = xb.state.signals.filter((s) => !s.event_type.startsWith('own_') && Date.parse(s.triggered_at) >= since.getTime());
    expect(expected.length).toBeGreaterThan(1);

    const r = await backfillCrossbeam({ inbox, source: 'crossbeam', since, page: (p, q) => client.page(p, q) });
    expect(r).toEqual({ fetched: expected.length, inserted: expected.length - 1, duplicates: 1 });
    const rows = await staging.db('webhook_inbox').select('event_id', 'event_type', 'body', 'headers').orderBy('id');
    expect(rows.map((x) => x.event_id).sort()).toEqual(expected.map((s) => s.event_id).sort());
    const pulled = rows.find((x) => x.event_id === expected.find((s) => s.event_id !== stableUuid('event:2'))!.event_id)!;
    expect(JSON.parse(pulled.body)).toMatchObject({ event_type: pulled.event_type, record_id: expect.any(String) });
    expect(JSON.parse(pulled.headers)).toEqual({ 'x-partnersync-backfill': expect.stringMatching(/^signals\//) });

    // Running it again finds nothing new.
    expect(await backfillCrossbeam({ inbox, source: 'crossbeam', since, page: (p, q) => client.page(p, q) })).toEqual({ fetched: expected.length, inserted: 0, duplicates: expected.length });
  });

  it('parses --since as an ISO time or a duration', () => {
    expect(parseSince('2025-01-11T00:00:00Z').toISOString()).toBe('2025-01-11T00:00:00.000Z');
    const sixHours = Date.now() - parseSince('6h').getTime();
    expect(Math.abs(sixHours - 6 * 3_600_000)).toBeLessThan(5_000);
    expect(() => parseSince('yesterday-ish')).toThrow(/--since/);
  });
});
