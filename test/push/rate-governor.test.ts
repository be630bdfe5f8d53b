import { afterEach, describe, expect, it } from 'vitest';
import { RateGovernor } from '../../src/push/rate-governor.js';
import { dialects, newStagingUrl, type TestStaging } from '../helpers/staging.js';
import { FakeDestination } from './fake-destination.js';
import { accounts, expectCountsAddUp, harness, type Harness } from './harness.js';

/** The shared rate governor, and the engine on both staging dialects. */

describe('RateGovernor', () => {
  it('paces write calls to the destination\'s allowance and shares it between targets of one connection', async () => {
    const gov = new RateGovernor();
    const caps = { rateLimit: { requests: 4, perMs: 200 } };
    const a = gov.gate('hubspot', caps);
    const b = gov.gate('hubspot', caps);
    const other = gov.gate('intercom', caps);
    const t0 = Date.now();
    // 12 calls through one allowance of 4 per 200 ms: the burst of 4 passes, 8 more need ≥ 400 ms.
    await Promise.all([...Array.from({ length: 6 }, () => a.take()), ...Array.from({ length: 6 }, () => b.take())]);
    const shared = Date.now() - t0;
    expect(shared).toBeGreaterThanOrEqual(380);
    const t1 = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => other.take()));
    expect(Date.now() - t1).toBeLessThan(100);
  });

  it('a pause (Retry-After) holds every caller of the connection, with jitter on top', async () => {
    const gov = new RateGovernor({ random: () => 0.5 });
    const gate = gov.gate('intercom', {});
    await gate.take();
    gate.pause(150);
    const t0 = Date.now();
    await gate.take();
    // 150 ms asked + max(50, 10% × 0.5 × 150) ms of jitter.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('endpoint buckets limit their endpoint only', async () => {
    const gov = new RateGovernor();
    const gate = gov.gate('hubspot', { endpointRateLimits: { search: { requests: 1, perMs: 150 } } });
    const t0 = Date.now();
    await Promise.all([gate.take(), gate.take(), gate.take()]);
    expect(Date.now() - t0).toBeLessThan(100);
    await Promise.all([gate.take('search'), gate.take('search'), gate.take('search')]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });
});

describe('engine on each staging dialect', () => {
  let h: Harness | undefined;
  let st: TestStaging | undefined;
  afterEach(async () => {
    await h?.close();
    await st?.cleanup();
    h = undefined;
  });
  for (const dialect of dialects) {
    it(`${dialect}: ledger diff, rejects retried, rate-limited destination`, async () => {
      st = newStagingUrl(dialect, 'push');
      h = await harness({ stagingUrl: st.url, target: { object: 'companies', key: 'domain', fields: { name: 'name', seats: { source: 'seats', type: 'number' } } } });
      const rows = accounts(30, (i) => (i === 4 ? { name: 'FORBIDDEN' } : {}));
      await h.setModel(rows);
      const dest = new FakeDestination({ rejectName: 'FORBIDDEN', capabilities: { maxBatch: 5, rateLimit: { requests: 2, perMs: 100 } } });
      const t0 = Date.now();
      const first = await h.push(dest, { maxRejectRate: 0.1 });
      expectCountsAddUp(first);
      expect(first.targets[0]!.counts).toMatchObject({ sent: 29, rejected: 1 });
      // 6 write calls at 2 per 100 ms: the first 2 pass at once, the other 4 wait ≥ 200 ms.
      expect(dest.writeCalls).toBe(6);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      const again = new FakeDestination();
      const second = await h.push(again, { maxRejectRate: 0.1 });
      expect(again.calls.flatMap((c) => c.records.map((r) => r.key))).toEqual(['d0004.com']);
      expect(second.targets[0]!.counts).toMatchObject({ unchanged: 29, sent: 1 });
      const ledger = await h.ledger();
      expect(ledger).toHaveLength(30);
      expect(ledger.every((r) => r.status === 'ok' && Boolean(r.owned))).toBe(true);
    });
  }
});
