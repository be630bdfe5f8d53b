import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { start as startSnowflake, type SnowflakeEmulator } from '../../src/emulators/snowflake/index.js';
import { PG_URL } from '../helpers/staging.js';
import { accounts, expectCountsAddUp, harness, type Harness } from './harness.js';

/** The real file, Postgres and Snowflake (emulator, real snowflake-sdk) destinations through pushTargets. */

const fields = { name: 'name', seats: { source: 'seats', type: 'number' } };
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('file destination', () => {
  it('keeps JSONL and CSV equal to the model in mirror mode, rewriting only when something changed', async () => {
    h = await harness({
      connection: { type: 'file', dir: 'out', formats: ['jsonl', 'csv'] },
      target: { object: 'accounts_export', key: 'domain', mode: 'mirror', mirror: { maxRemoveShare: 0.5 }, fields },
    });
    const rows = accounts(12, (i) => (i === 2 ? { name: 'Comma, "Quoted"\nCo' } : {}));
    await h.setModel(rows);
    const first = await h.push(undefined);
    expectCountsAddUp(first);
    expect(first.targets[0]!.counts).toMatchObject({ sent: 12, created: 12 });
    const jsonl = path.join(h.dir, 'out', 'accounts_export.jsonl');
    const csv = path.join(h.dir, 'out', 'accounts_export.csv');
    const readJsonl = () => fs.readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(readJsonl()).toEqual(rows.map((r) => ({ domain: r.domain, name: r.name, seats: r.seats })));
    expect(parse(fs.readFileSync(csv, 'utf8'), { columns: true })).toEqual(rows.map((r) => ({ domain: r.domain, name: r.name, seats: String(r.seats) })));
    expect(fs.readdirSync(path.join(h.dir, 'out')).sort()).toEqual(['accounts_export.csv', 'accounts_export.jsonl']);

    const before = fs.statSync(jsonl).mtimeMs;
    const second = await h.push(undefined);
    expect(second.targets[0]!.writeCalls).toBe(0);
    expect(fs.statSync(jsonl).mtimeMs).toBe(before);

    const kept = rows.slice(0, 8);
    kept[0]!.seats = 99;
    await h.setModel(kept);
    const third = await h.push(undefined);
    expectCountsAddUp(third);
    expect(third.targets[0]!.counts).toMatchObject({ updated: 1, deleted: 4, unchanged: 7 });
    expect(readJsonl()).toEqual(kept.map((r) => ({ domain: r.domain, name: r.name, seats: r.seats })));
  });
});

describe('postgres destination', () => {
  let admin: Knex;
  const schema = `push_${crypto.randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    admin = knexFactory({ client: 'pg', connection: PG_URL });
  });
  afterAll(async () => {
    await admin.raw('drop schema if exists ?? cascade', [schema]);
    await admin.destroy();
  });

  it('creates the table, upserts, sends nothing when nothing changed, one record after an edit, and rejects a row the database refuses', async () => {
    h = await harness({
      connection: { type: 'postgres', url: PG_URL, schema },
      target: { object: 'partner_accounts', key: { source: 'domain', destination: 'domain' }, fields: { ...fields, first_seen: { source: 'first_seen', type: 'datetime' } } },
      columns: 'domain text, name text, seats integer, first_seen text',
    });
    const rows = accounts(30).map((r, i) => ({ ...r, first_seen: `2025-01-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z` }));
    await h.setModel(rows);
    const first = await h.push(undefined, { createMissingFields: true });
    expectCountsAddUp(first);
    expect(first.targets[0]!.counts).toMatchObject({ sent: 30, created: 30 });
    const table = () => admin.withSchema(schema).table('partner_accounts').orderBy('domain').select('domain', 'name', 'seats', admin.raw(`to_char(first_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as first_seen`));
    expect(await table()).toEqual(rows.map((r) => ({ domain: r.domain, name: r.name, seats: r.seats, first_seen: r.first_seen })));

    const second = await h.push(undefined);
    expect(second.targets[0]!.writeCalls).toBe(0);
    expect(second.targets[0]!.counts).toMatchObject({ unchanged: 30, sent: 0 });

    await admin.raw(`alter table ??.partner_accounts add constraint seats_not_negative check (seats >= 0)`, [schema]);
    rows[4]!.name = 'Renamed';
    rows[9]!.seats = -5;
    await h.setModel(rows);
    const third = await h.push(undefined, { maxRejectRate: 0.1 });
    expectCountsAddUp(third);
    expect(third.targets[0]!.counts).toMatchObject({ unchanged: 28, sent: 1, updated: 1, rejected: 1 });
    expect(third.targets[0]!.sampleRejects).toEqual([expect.objectContaining({ key: 'd0009.com', code: 'PG_23514' })]);
    const after = await table();
    expect(after.find((r) => r.domain === 'd0004.com')!.name).toBe('Renamed');
    expect(after.find((r) => r.domain === 'd0009.com')!.seats).toBe(9);
  });
});

describe('snowflake destination (emulator, snowflake-sdk)', () => {
  let sf: SnowflakeEmulator;
  beforeAll(async () => {
    sf = await startSnowflake();
  });
  afterAll(async () => {
    await sf.stop();
  });
  const connection = () => ({ type: 'snowflake', account: 'emulator', username: 'partnersync', password: 'partnersync', database: 'PARTNERSYNC', schema: 'PUBLIC', warehouse: 'LOAD_WH', accessUrl: sf.url });
  const merges = () => sf.state.queries.filter((q) => /^\s*merge/i.test(q.sqlText) && !q.error).length;

  it('creates the table and MERGEs; no change → no MERGE; one change → one record', async () => {
    h = await harness({ connection: connection(), target: { object: 'partner_accounts', key: 'domain', fields } });
    const rows = accounts(40);
    await h.setModel(rows);
    const first = await h.push(undefined);
    expectCountsAddUp(first);
    expect(first.targets[0]!.counts).toMatchObject({ sent: 40, created: 40 });
    expect(sf.state.rows('select domain, name, seats from partner_accounts order by domain')).toEqual(rows.map((r) => ({ DOMAIN: r.domain, NAME: r.name, SEATS: r.seats })));

    const m = merges();
    const second = await h.push(undefined);
    expect(second.targets[0]!.writeCalls).toBe(0);
    expect(merges()).toBe(m);

    rows[3]!.seats = 333;
    await h.setModel(rows);
    const third = await h.push(undefined);
    expect(third.targets[0]!.counts).toMatchObject({ sent: 1, updated: 1, unchanged: 39 });
    expect(merges()).toBe(m + 1);
    expect(sf.state.rows(`select seats from partner_accounts where domain = 'd0003.com'`)).toEqual([{ SEATS: 333 }]);
  });

  it('with 20% injected 503s, 429s and resets every record lands exactly once', async () => {
    h = await harness({ connection: connection(), target: { object: 'faulty_accounts', key: 'domain', fields, batchSize: 10 } });
    const rows = accounts(120);
    await h.setModel(rows);
    sf.faults.set('503:0.1@query-request,429:0.05@query-request,reset:0.05@query-request');
    try {
      const report = await h.push(undefined);
      expectCountsAddUp(report);
      expect(report.targets[0]!.counts).toMatchObject({ sent: 120, rejected: 0 });
    } finally {
      sf.faults.set('');
    }
    expect(sf.requests.filter((r) => r.fault).length).toBeGreaterThan(0);
    expect(sf.state.rows('select count(*) as n, count(distinct domain) as d from faulty_accounts')).toEqual([{ N: 120, D: 120 }]);
    expect(sf.state.rows('select domain, name, seats from faulty_accounts order by domain')).toEqual(rows.map((r) => ({ DOMAIN: r.domain, NAME: r.name, SEATS: r.seats })));
  });
});
