import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError } from '../../src/errors.js';
import { throwIfRejectsOverLimit } from '../../src/push/push-targets.js';
import type { WriteBatch, WriteResult } from '../../src/connectors/types.js';
import { FakeDestination } from './fake-destination.js';
import { accounts, expectCountsAddUp, harness, type Harness } from './harness.js';

/** The push engine through `pushTargets`, against an in-test fake of an external destination. */

const target = { object: 'companies', key: { source: 'domain', destination: 'company_id' }, fields: { name: 'name', seats: { source: 'seats', type: 'number' } } };
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const modelAsStore = (rows: Array<Record<string, unknown>>) => Object.fromEntries(rows.map((r) => [r.domain, { name: r.name, seats: r.seats }]));
const recordsSent = (d: FakeDestination) => d.calls.flatMap((c) => c.records.map((r) => r.key));

describe('push engine with a fake destination', () => {
  it('writes on the first push, sends nothing when nothing changed, and only the changed record after an edit', async () => {
    h = await harness({ target });
    const rows = accounts(25);
    await h.setModel(rows);
    const dest = new FakeDestination();
    const first = await h.push(dest);
    expectCountsAddUp(first);
    expect(first.targets[0]!.counts).toMatchObject({ considered: 25, sent: 25, created: 25 });
    expect(dest.writeCalls).toBe(3); // ⌈25/10⌉
    expect(dest.snapshot()).toEqual(modelAsStore(rows));

    const again = new FakeDestination();
    const second = await h.push(again);
    expect(again.writeCalls).toBe(0);
    expect(second.targets[0]!.counts).toMatchObject({ considered: 25, unchanged: 25, sent: 0 });

    rows[7]!.seats = 700;
    await h.setModel(rows);
    const third = await h.push(dest);
    expect(recordsSent(dest).slice(25)).toEqual(['d0007.com']);
    expect(third.targets[0]!.counts).toMatchObject({ unchanged: 24, sent: 1, updated: 1 });
    expect(dest.snapshot()['d0007.com']).toEqual({ name: 'Company 7', seats: 700 });
  });

  it('keeps rejects apart from invalid rows, writes them to staging and a file, retries rejected rows next run', async () => {
    h = await harness({ target });
    const rows = accounts(12, (i) => (i === 3 ? { name: 'FORBIDDEN' } : i === 5 ? { domain: null } : {}));
    await h.setModel(rows);
    const dest = new FakeDestination({ rejectName: 'FORBIDDEN' });
    const report = await h.push(dest, { maxRejectRate: 0.5 });
    expectCountsAddUp(report);
    const t = report.targets[0]!;
    expect(t.counts).toMatchObject({ considered: 12, sent: 10, invalid: 1, rejected: 1 });
    expect(dest.snapshot()['d0003.com']).toBeUndefined();
    expect(Object.keys(dest.snapshot())).toHaveLength(10);

    const file = path.join(h.dir, t.rejectsFile!);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'invalid', code: 'MISSING_KEY', key: null }),
      expect.objectContaining({ kind: 'rejected', key: 'd0003.com', code: 'INVALID_FIELD', http_status: 400, message: 'name "FORBIDDEN" is not allowed' }),
    ]));
    const staged = await h.staging.db('rejects').where({ step: 'push', source: 't' }).orderBy('kind');
    expect(staged.map((r) => [r.kind, r.code])).toEqual([['invalid', 'MISSING_KEY'], ['rejected', 'INVALID_FIELD']]);

    // Nothing changed in the model, yet the rejected record is tried again (and only it).
    const retry = new FakeDestination({ rejectName: 'FORBIDDEN' });
    for (const [k, v] of dest.store) retry.store.set(k, v);
    const second = await h.push(retry, { maxRejectRate: 0.5 });
    expect(recordsSent(retry)).toEqual(['d0003.com']);
    expect(second.targets[0]!.counts).toMatchObject({ unchanged: 10, rejected: 1, invalid: 1 });
    const ledgerRow = (await h.ledger()).find((r) => r.key === 'd0003.com')!;
    expect(ledgerRow).toMatchObject({ status: 'rejected', attempts: 2, last_error_code: 'INVALID_FIELD' });

    // The destination now accepts it: it lands and the ledger says ok.
    const fixed = new FakeDestination();
    const third = await h.push(fixed, { maxRejectRate: 0.5 });
    expect(recordsSent(fixed)).toEqual(['d0003.com']);
    expect(third.targets[0]!.counts).toMatchObject({ sent: 1, rejected: 0 });
    expect((await h.ledger()).find((r) => r.key === 'd0003.com')).toMatchObject({ status: 'ok', attempts: 0 });
  });

  it('bisects a batch refused as a whole down to the bad record', async () => {
    h = await harness({ target, });
    const rows = accounts(16, (i) => (i === 9 ? { name: 'POISON' } : {}));
    await h.setModel(rows);
    const dest = new FakeDestination({ poisonName: 'POISON', capabilities: { maxBatch: 8 } });
    const report = await h.push(dest, { maxRejectRate: 1 });
    expectCountsAddUp(report);
    expect(report.targets[0]!.counts).toMatchObject({ sent: 15, rejected: 1 });
    expect(report.targets[0]!.sampleRejects).toEqual([expect.objectContaining({ key: 'd0009.com', code: 'BATCH_REFUSED', httpStatus: 400 })]);
    expect(Object.keys(dest.snapshot())).toHaveLength(15);
    // 2 batches of 8; the poisoned one splits 8 → 4+4 → 2+2 → 1+1.
    expect(dest.writeCalls).toBe(2 + 2 + 2 + 2);
  });

  it('with 20% injected 429s, 5xx and resets every record lands exactly once and counts add up', async () => {
    h = await harness({ target });
    const rows = accounts(300);
    await h.setModel(rows);
    const dest = new FakeDestination({ faultRate: 0.2, seed: 11 });
    const report = await h.push(dest);
    expectCountsAddUp(report);
    const t = report.targets[0]!;
    expect(t.counts).toMatchObject({ considered: 300, sent: 300, rejected: 0 });
    expect(t.rateLimited).toBeGreaterThan(0);
    expect(t.retries).toBeGreaterThan(0);
    expect(dest.snapshot()).toEqual(modelAsStore(rows));
    expect(dest.store.size).toBe(300);
    const ledger = await h.ledger();
    expect(ledger).toHaveLength(300);
    expect(ledger.every((r) => r.status === 'ok')).toBe(true);
    // A second run finds nothing to do.
    const again = new FakeDestination();
    await h.push(again);
    expect(again.writeCalls).toBe(0);
  });

  it('create-only: a reset after the write landed does not create twice, and creates stay owned', async () => {
    h = await harness({ target: { ...target, mode: 'create-only' } });
    const rows = accounts(60);
    await h.setModel(rows);
    const dest = new FakeDestination({ faultRate: 0.3, faultKinds: ['reset'], seed: 3, capabilities: { operations: ['create', 'update', 'delete'] } });
    const report = await h.push(dest);
    expectCountsAddUp(report);
    expect(report.targets[0]!.counts).toMatchObject({ sent: 60, created: 60, skipped: 0 });
    expect([...dest.applied.values()].every((n) => n === 1)).toBe(true);
    expect((await h.ledger()).every((r) => r.owned && r.status === 'ok')).toBe(true);
  });

  it('create-only: a create whose confirmation was lost in a crash is recognised on the next run', async () => {
    h = await harness({ target: { ...target, mode: 'create-only' } });
    const rows = accounts(5);
    await h.setModel(rows);
    const dest = new FakeDestination({ capabilities: { operations: ['create'] } });
    // The process "dies" after the destination stored the batch, before any answer came back.
    const crashing = Object.assign(Object.create(dest), {
      capabilities: dest.capabilities,
      async write(batch: WriteBatch): Promise<WriteResult[]> {
        await dest.write(batch);
        throw new AuthError('simulated crash after the write landed');
      },
    });
    await expect(h.push(crashing)).rejects.toThrow(/simulated crash/);
    expect((await h.ledger()).map((r) => r.status)).toEqual(Array(5).fill('pending'));
    const report = await h.push(dest);
    expectCountsAddUp(report);
    expect(report.targets[0]!.counts).toMatchObject({ sent: 5, created: 5, skipped: 0 });
    expect([...dest.applied.values()]).toEqual([1, 1, 1, 1, 1]);
    expect((await h.ledger()).every((r) => r.status === 'ok' && r.owned)).toBe(true);
  });

  it('mirror stops at its safety limit before sending anything, and removes only what it owns', async () => {
    h = await harness({ target: { ...target, mode: 'mirror', mirror: { maxRemoveShare: 0.3 } } });
    const rows = accounts(10);
    await h.setModel(rows);
    const dest = new FakeDestination();
    dest.store.set('d0009.com', { fields: { name: 'theirs', seats: 1, other: 'kept' }, id: 'pre-existing' });
    await h.push(dest);
    expect(dest.store.size).toBe(10);

    await h.setModel(rows.slice(0, 5));
    const calls = dest.writeCalls;
    await expect(h.push(dest)).rejects.toMatchObject({ code: 'MIRROR_SAFETY_LIMIT' });
    expect(dest.writeCalls).toBe(calls);
    expect(dest.store.size).toBe(10);

    const report = await h.push(dest, {}, { mirror: { maxRemoveShare: 0.6 } });
    expectCountsAddUp(report);
    expect(report.targets[0]!.counts).toMatchObject({ considered: 10, unchanged: 5, deleted: 4, cleared: 1 });
    // Four records partnersync created are gone; the one it found there keeps existing, with its fields cleared.
    expect(Object.keys(dest.snapshot()).sort()).toEqual(['d0000.com', 'd0001.com', 'd0002.com', 'd0003.com', 'd0004.com', 'd0009.com']);
    expect(dest.store.get('d0009.com')!.fields).toEqual({ name: null, seats: null, other: 'kept' });
    expect(await h.ledger()).toHaveLength(5);
  });

  it('exits 3 (RejectsOverLimitError) when rejects exceed --max-reject-rate, after delivering the rest', async () => {
    h = await harness({ target });
    await h.setModel(accounts(10, (i) => (i < 2 ? { seats: 'not a number' } : {})));
    const dest = new FakeDestination();
    const report = await h.push(dest, { maxRejectRate: 0.1 });
    expect(report.targets[0]!.overLimit).toBe(true);
    expect(Object.keys(dest.snapshot())).toHaveLength(8);
    expect(() => throwIfRejectsOverLimit(report)).toThrow(expect.objectContaining({ exitCode: 3, code: 'REJECTS_OVER_LIMIT' }));
    const relaxed = await h.push(new FakeDestination(), { maxRejectRate: 0.2 });
    expect(() => throwIfRejectsOverLimit(relaxed)).not.toThrow();
  });

  it('dry run sends nothing; --plan-out saves a plan that --apply executes exactly, once', async () => {
    h = await harness({ target });
    await h.setModel(accounts(4));
    const dest = new FakeDestination();
    const planned = await h.push(dest, { dryRun: true, planOut: 'plan.json' });
    expect(dest.writeCalls).toBe(0);
    expect(planned.targets[0]!.preview).toMatchObject({ counts: { create: 4 }, predictedCalls: { total: 1 } });
    // The model changes after planning: apply still sends exactly what was planned.
    await h.setModel(accounts(6));
    const applied = await h.push(dest, { applyFile: 'plan.json' });
    expect(recordsSent(dest)).toEqual(['d0000.com', 'd0001.com', 'd0002.com', 'd0003.com']);
    expect(applied.targets[0]!.counts).toMatchObject({ sent: 4 });
    const again = await h.push(dest, { applyFile: 'plan.json' });
    expect(dest.writeCalls).toBe(1);
    expect(again.targets[0]!.counts).toMatchObject({ sent: 0, unchanged: 4 });
    // A plan made under another mapping is refused.
    await expect(h.push(dest, { applyFile: 'plan.json' }, { mode: 'update-only' })).rejects.toThrow(/different configuration/);
  });

  it('fails preflight on missing fields unless --create-missing-fields', async () => {
    h = await harness({ target });
    await h.setModel(accounts(2));
    const dest = new FakeDestination({ knownFields: new Set(['name']) });
    await expect(h.push(dest)).rejects.toMatchObject({ code: 'FIELDS_MISSING', exitCode: 2 });
    expect(dest.writeCalls).toBe(0);
    const report = await h.push(dest, { createMissingFields: true });
    expect(report.targets[0]!.createdFields).toEqual(['seats']);
    expect(dest.store.size).toBe(2);
  });

  it('stops after the batch in flight on a signal, and the next run sends only the rest', async () => {
    h = await harness({ target });
    const rows = accounts(50);
    await h.setModel(rows);
    const ac = new AbortController();
    const dest = new FakeDestination();
    const original = dest.write.bind(dest);
    dest.write = async (b) => {
      const r = await original(b);
      if (dest.writeCalls === 2) ac.abort('SIGINT');
      return r;
    };
    await expect(h.push(dest, { signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(dest.store.size).toBe(20);
    expect((await h.ledger()).filter((r) => r.status === 'ok')).toHaveLength(20);
    const rest = new FakeDestination();
    const report = await h.push(rest);
    expect(rest.calls.flatMap((c) => c.records)).toHaveLength(30);
    expect(report.targets[0]!.counts).toMatchObject({ unchanged: 20, sent: 30 });
  });
});
