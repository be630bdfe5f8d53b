import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateGovernor } from '../../src/push/rate-governor.js';
import { dialects, newStagingUrl, type TestStaging } from '../helpers/staging.js';
import { FakeDestination } from './fake-destination.js';
import { accounts, expectCountsAddUp, harness, type Harness } from './harness.js';

/** The shared rate governor, and the engine on both staging dialects. */

describe('RateGovernor', () => {
  // On a fake clock (Date.now and setTimeout): each check says which calls have passed at an exact
  // moment, so the pacing is asserted without reading a wall clock that a busy machine can stretch.
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Starts the calls and returns a live count of those that have passed. */
  function track(calls: Promise<void>[]): { readonly passed: number } {
    const state = { passed: 0 };
    for (const c of calls) void c.then(() => state.passed++);
    return state;
  }

  it("paces write calls to the destination's allowance and shares it between targets of one connection", async () => {
    const gov = new RateGovernor();
    const caps = { rateLimit: { requests: 4, perMs: 200 } };
    const a = gov.gate('hubspot', caps);
    const b = gov.gate('hubspot', caps);
    const other = gov.gate('intercom', caps);
    // 12 calls through one allowance of 4 per 200 ms (one token per 50 ms): the burst of 4 passes at
    // once, then one call per 50 ms, so the last of the 8 others passes at 400 ms.
    const shared = track([...Array.from({ length: 6 }, () => a.take()), ...Array.from({ length: 6 }, () => b.take())]);
    await vi.advanceTimersByTimeAsync(0);
    expect(shared.passed).toBe(4);
    await vi.advanceTimersByTimeAsync(50);
    expect(shared.passed).toBe(5);
    await vi.advanceTimersByTimeAsync(300);
    expect(shared.passed).toBe(11);
    // Another connection has its own allowance: its burst passes while this one is still waiting.
    const separate = track(Array.from({ length: 4 }, () => other.take()));
    await vi.advanceTimersByTimeAsync(0);
    expect(separate.passed).toBe(4);
    expect(shared.passed).toBe(11);
    await vi.advanceTimersByTimeAsync(50);
    expect(shared.passed).toBe(12);
  });

  it('a pause (Retry-After) holds every caller of the connection, with jitter on top', async () => {
    const gov = new RateGovernor({ random: () => 0.5 });
    const gate = gov.gate('intercom', {});
    const other = gov.gate('intercom', {});
    await gate.take();
    gate.pause(150);
    // 150 ms asked + max(50, 10% × 0.5 × 150) ms of jitter = 200 ms, for both gates of the connection;
    // then the bucket refills from empty (its first token a moment later).
    const held = track([gate.take(), other.take()]);
    await vi.advanceTimersByTimeAsync(199);
    expect(held.passed).toBe(0);
    await vi.advanceTimersByTimeAsync(10);
    expect(held.passed).toBe(2);
  });

  it('endpoint buckets limit their endpoint only', async () => {
    const gov = new RateGovernor();
    const gate = gov.gate('hubspot', { endpointRateLimits: { search: { requests: 1, perMs: 150 } } });
    const plain = track([gate.take(), gate.take(), gate.take()]);
    await vi.advanceTimersByTimeAsync(0);
    expect(plain.passed).toBe(3);
    const search = track([gate.take('search'), gate.take('search'), gate.take('search')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(search.passed).toBe(1);
    await vi.advanceTimersByTimeAsync(149);
    expect(search.passed).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(search.passed).toBe(2);
    await vi.advanceTimersByTimeAsync(150);
    expect(search.passed).toBe(3);
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
