import { describe, expect, it } from 'vitest';
import { resolveTarget, TargetConfig, type TargetConfigInput } from '../../src/push/config.js';
import { fieldsHash, planPush, type LedgerEntry } from '../../src/push/plan.js';
import type { DestinationCapabilities } from '../../src/connectors/types.js';

/** The pure planner: rows + ledger + target → plan, table-driven. */

const caps: DestinationCapabilities = { maxBatch: 2, operations: ['upsert', 'update', 'create', 'delete', 'archive'] };

function target(over: Partial<TargetConfigInput> = {}) {
  const parsed = TargetConfig.parse({
    connection: 'crm',
    model: 'accounts',
    object: 'companies',
    key: { source: 'domain', destination: 'company_id' },
    fields: { name: 'name', seats: { source: 'seats', type: 'number' } },
    ...over,
  });
  return resolveTarget('t', parsed);
}

function delivered(key: string, fields: Record<string, unknown>, over: Partial<LedgerEntry> = {}): [string, LedgerEntry] {
  return [key, { key, sentHash: fieldsHash(fields), sentFields: fields, status: 'ok', owned: false, attempts: 0, ...over }];
}

function plan(rows: Array<Record<string, unknown>>, ledger: Array<[string, LedgerEntry]> = [], over: Partial<TargetConfigInput> = {}, fullResync = false) {
  return planPush({ rows, ledger: new Map(ledger), target: target(over), capabilities: caps, connectionType: 'fake', configHash: 'h', now: '2025-01-01T00:00:00.000Z', fullResync });
}

const acme = { domain: 'acme.com', name: 'Acme', seats: 10 };
const acmeSent = { name: 'Acme', seats: 10 };

describe('planPush', () => {
  const cases: Array<{
    name: string;
    rows: Array<Record<string, unknown>>;
    ledger?: Array<[string, LedgerEntry]>;
    over?: Partial<TargetConfigInput>;
    fullResync?: boolean;
    expect: Partial<Record<'create' | 'update' | 'delete' | 'archive' | 'clear' | 'unchanged' | 'invalid' | 'skipped', number>>;
    ops?: Array<[string, string, string]>;
  }> = [
    { name: 'new row → create by upsert', rows: [acme], expect: { create: 1 }, ops: [['acme.com', 'create', 'upsert']] },
    { name: 'same fields as last sent → unchanged', rows: [acme], ledger: [delivered('acme.com', acmeSent)], expect: { unchanged: 1 }, ops: [] },
    { name: 'a changed field → update', rows: [{ ...acme, seats: 11 }], ledger: [delivered('acme.com', acmeSent)], expect: { update: 1 }, ops: [['acme.com', 'update', 'upsert']] },
    {
      name: 'last attempt rejected → retried although unchanged',
      rows: [acme],
      ledger: [delivered('acme.com', acmeSent, { status: 'rejected' })],
      expect: { update: 1 },
      ops: [['acme.com', 'update', 'upsert']],
    },
    { name: '--full-resync ignores the ledger', rows: [acme], ledger: [delivered('acme.com', acmeSent)], fullResync: true, expect: { create: 1 } },
    { name: 'missing key → invalid', rows: [{ ...acme, domain: ' ' }], expect: { invalid: 1 } },
    { name: 'wrong type → invalid', rows: [{ ...acme, seats: 'many' }], expect: { invalid: 1 } },
    { name: 'numeric text converts', rows: [{ ...acme, seats: '10' }], ledger: [delivered('acme.com', acmeSent)], expect: { unchanged: 1 } },
    { name: 'duplicate key → the second row is invalid', rows: [acme, { ...acme, name: 'Acme 2' }], expect: { create: 1, invalid: 1 } },
    { name: 'update-only sends updates', rows: [acme], over: { mode: 'update-only' }, expect: { create: 1 }, ops: [['acme.com', 'create', 'update']] },
    {
      name: 'create-only skips changed records it already created',
      rows: [{ ...acme, seats: 12 }],
      ledger: [delivered('acme.com', acmeSent, { owned: true })],
      over: { mode: 'create-only' },
      expect: { skipped: 1 },
    },
    {
      name: 'create-only resends a create in doubt as an upsert',
      rows: [acme],
      ledger: [['acme.com', { key: 'acme.com', status: 'pending', pendingOp: 'create', owned: false, attempts: 0 }]],
      over: { mode: 'create-only' },
      expect: { create: 1 },
      ops: [['acme.com', 'create', 'upsert']],
    },
    {
      name: 'mirror deletes owned records that left the model and clears the others',
      rows: [acme, { domain: 'b.com', name: 'B', seats: 1 }, { domain: 'c.com', name: 'C', seats: 1 }, { domain: 'd.com', name: 'D', seats: 1 }],
      ledger: [
        delivered('acme.com', acmeSent),
        delivered('b.com', { name: 'B', seats: 1 }),
        delivered('c.com', { name: 'C', seats: 1 }),
        delivered('d.com', { name: 'D', seats: 1 }),
        delivered('gone-owned.com', { name: 'X', seats: 1 }, { owned: true }),
        delivered('gone-theirs.com', { name: 'Y', seats: 2 }),
      ],
      over: { mode: 'mirror', mirror: { maxRemoveShare: 0.5 } },
      expect: { unchanged: 4, delete: 1, clear: 1 },
      ops: [['gone-owned.com', 'delete', 'delete'], ['gone-theirs.com', 'clear', 'update']],
    },
    {
      name: 'archive mode archives owned records that left the model',
      rows: [acme],
      ledger: [delivered('acme.com', acmeSent), delivered('gone.com', { name: 'G', seats: 1 }, { owned: true })],
      over: { mode: 'archive', mirror: { maxRemoveShare: 1 } },
      expect: { unchanged: 1, archive: 1 },
      ops: [['gone.com', 'archive', 'archive']],
    },
    {
      name: 'an invalid row is not a removal',
      rows: [{ ...acme, seats: 'oops' }],
      ledger: [delivered('acme.com', acmeSent, { owned: true })],
      over: { mode: 'mirror' },
      expect: { invalid: 1, delete: 0 },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const p = plan(c.rows, c.ledger, c.over, c.fullResync);
      const counts = { create: 0, update: 0, delete: 0, archive: 0, clear: 0, unchanged: 0, invalid: 0, skipped: 0, ...c.expect };
      expect(p.counts).toMatchObject(counts);
      const c2 = p.counts;
      expect(c2.create + c2.update + c2.delete + c2.archive + c2.clear + c2.unchanged + c2.invalid + c2.skipped).toBe(c2.considered);
      if (c.ops) expect(p.ops.map((o) => [o.key, o.action, o.operation])).toEqual(c.ops);
    });
  }

  it('gives field-level before/after from what was last sent', () => {
    const p = plan([{ ...acme, seats: 12 }], [delivered('acme.com', acmeSent)]);
    expect(p.samples).toEqual([{ key: 'acme.com', action: 'update', changes: [{ field: 'seats', before: 10, after: 12 }] }]);
  });

  it('predicts write calls from the batch size', () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ domain: `d${i}.com`, name: `N${i}`, seats: i }));
    expect(plan(rows).predictedCalls).toMatchObject({ total: 3, byOperation: { upsert: 3 }, batchSize: 2 });
    expect(plan(rows, [], { batchSize: 1 }).predictedCalls.total).toBe(5);
    expect(plan(rows, [], { batchSize: 50 }).predictedCalls.total).toBe(3);
  });

  it('flags removals over the mirror safety limit', () => {
    const ledger = [delivered('a.com', { name: 'A', seats: 1 }, { owned: true }), delivered('b.com', { name: 'B', seats: 1 }, { owned: true })];
    const p = plan([{ domain: 'a.com', name: 'A', seats: 1 }], ledger, { mode: 'mirror', mirror: { maxRemoveShare: 0.25 } });
    expect(p.removal).toEqual({ count: 1, base: 2, share: 0.5, limit: 0.25, exceeded: true });
  });

  it('skips nulls, and never resends protected or already-filled only-if-empty fields to a known record', () => {
    const over: Partial<TargetConfigInput> = {
      fields: {
        name: { source: 'name', protected: true },
        seats: { source: 'seats', onlyIfEmpty: true },
        tier: { source: 'tier', skipNulls: true },
      },
    };
    const fresh = plan([{ domain: 'a.com', name: 'A', seats: 3, tier: null }], [], over);
    expect(fresh.ops[0]!.fields).toEqual({ name: 'A', seats: 3 });
    expect(fresh.fieldModes).toEqual({ name: 'onCreate', seats: 'ifEmpty' });
    const known = plan([{ domain: 'a.com', name: 'A2', seats: 4, tier: 'gold' }], [delivered('a.com', { name: 'A', seats: 3 })], over);
    expect(known.ops[0]!.fields).toEqual({ tier: 'gold' });
    expect(known.ops[0]!.ledgerFields).toEqual({ name: 'A2', seats: 4, tier: 'gold' });
  });

  it('is pure: the same input gives the same plan', () => {
    const rows = [acme, { domain: 'x.com', name: 'X', seats: 2 }];
    expect(plan(rows)).toEqual(plan(rows));
  });
});
