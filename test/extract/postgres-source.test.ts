import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresConfig } from '../../src/connectors/postgres/config.js';
import postgresConnector from '../../src/connectors/postgres/index.js';
import type { Source } from '../../src/connectors/types.js';
import { extractStreams } from '../../src/extract/extract-streams.js';
import { sourceContract } from '../contract/source-contract.js';
import { PG_URL, rawRows, stagingCase, startRun } from './helpers.js';

const schema = `t_extract_pgsrc_${process.pid}`;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.accounts (id integer PRIMARY KEY, name text NOT NULL, website text, updated_at timestamptz NOT NULL)`);
  // Several rows share an updated_at (down to the microsecond): paging must break ties on the key.
  await admin.query(`INSERT INTO ${schema}.accounts SELECT i, 'Account ' || i, 'acct' || i || '.example', timestamptz '2024-05-01 10:00:00.123456+00' + ((i / 4) * interval '1 microsecond') FROM generate_series(1, 25) i`);
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

function config(extra: Record<string, unknown> = {}) {
  return PostgresConfig.parse({
    type: 'postgres',
    url: PG_URL,
    schema,
    batchSize: 7,
    streams: {
      accounts: { table: 'accounts', primaryKey: ['id'], cursorField: 'updated_at' },
      named: { query: `SELECT id, upper(name) AS name FROM ${schema}.accounts WHERE id <= 20`, primaryKey: ['id'] },
    },
    ...extra,
  });
}
const makeSource = async () => ({ source: (await postgresConnector.createSource!(config(), { connection: 'pg', baseDir: '.', log: () => undefined })) as Source });

sourceContract('postgres', { configSchema: PostgresConfig, makeSource });

describe('postgres source into staging', () => {
  const sc = stagingCase('sqlite', 'pgsrc');
  afterAll(sc.cleanup);

  it('pages by (cursor, key), then a second run reads only rows changed or added since', async () => {
    const staging = await sc.open();
    try {
      const go = async (streams: string[]) => (await extractStreams({ staging, run: await startRun(staging), connection: 'warehouse', config: config(), baseDir: '.', streams })).streams[0]!;
      expect(await go(['accounts'])).toMatchObject({ records: 25, inserted: 25, batches: expect.any(Number) });
      expect(await go(['accounts'])).toMatchObject({ records: 0 });
      await admin.query(`UPDATE ${schema}.accounts SET name = name || ' (renamed)', updated_at = now() WHERE id IN (3, 17)`);
      await admin.query(`INSERT INTO ${schema}.accounts VALUES (26, 'Account 26', null, now())`);
      expect(await go(['accounts'])).toMatchObject({ records: 3, inserted: 1, updated: 2 });
      const rows = await rawRows(staging, 'raw_warehouse__accounts');
      expect(rows).toHaveLength(26);
      expect(rows.find((r) => r.id === '17')).toMatchObject({ name: 'Account 17 (renamed)' });
      // Timestamps keep their microseconds (they are the cursor).
      expect(rows.find((r) => r.id === '1')!.updated_at).toMatch(/10:00:00\.123456/);

      // A query stream without a cursor is read whole each run; unchanged rows are not rewritten.
      expect(await go(['named'])).toMatchObject({ records: 20, inserted: 20 });
      expect(await go(['named'])).toMatchObject({ records: 20, inserted: 0, unchanged: 20 });
    } finally {
      await staging.close();
    }
  });

  it('snapshot: true on a stream without a cursor tombstones rows deleted from the table; without it they stay', async () => {
    await admin.query(`CREATE TABLE ${schema}.partners (id integer PRIMARY KEY, name text NOT NULL)`);
    await admin.query(`INSERT INTO ${schema}.partners SELECT i, 'Partner ' || i FROM generate_series(1, 20) i`);
    const cfg = PostgresConfig.parse({
      type: 'postgres', url: PG_URL, schema, batchSize: 7,
      streams: {
        snap: { table: 'partners', primaryKey: ['id'], snapshot: true },
        plain: { table: 'partners', primaryKey: ['id'] },
      },
    });
    const staging = await sc.open();
    try {
      const go = async (stream: string) => (await extractStreams({ staging, run: await startRun(staging), connection: 'wh', config: cfg, baseDir: '.', streams: [stream] })).streams[0]!;
      const live = async (stream: string) => (await rawRows(staging, `raw_wh__${stream}`)).filter((r) => Number(r._deleted) === 0).map((r) => Number(r.id)).sort((a, b) => a - b);
      const ids = (from: number, to: number, except: number[] = []) => Array.from({ length: to - from + 1 }, (_, i) => from + i).filter((i) => !except.includes(i));
      expect(await go('snap')).toMatchObject({ records: 20, inserted: 20, deleted: 0 });
      expect(await go('plain')).toMatchObject({ records: 20, inserted: 20, deleted: 0 });

      await admin.query(`DELETE FROM ${schema}.partners WHERE id IN (4, 15)`);
      await admin.query(`UPDATE ${schema}.partners SET name = 'Partner 7 (renamed)' WHERE id = 7`);
      expect(await go('snap')).toMatchObject({ records: 18, updated: 1, unchanged: 17, deleted: 2 });
      expect(await live('snap')).toEqual(ids(1, 20, [4, 15]));
      expect(await go('plain')).toMatchObject({ records: 18, deleted: 0 });
      expect(await live('plain')).toEqual(ids(1, 20));

      // A row that comes back is live again; nothing else changes.
      await admin.query(`INSERT INTO ${schema}.partners VALUES (4, 'Partner 4')`);
      expect(await go('snap')).toMatchObject({ records: 19, deleted: 0 });
      expect(await live('snap')).toEqual(ids(1, 20, [15]));
    } finally {
      await staging.close();
    }
    // An incremental read does not return unchanged rows, so it cannot say which ones were deleted.
    const bad = PostgresConfig.safeParse({ type: 'postgres', url: PG_URL, streams: { s: { table: 't', primaryKey: ['id'], cursorField: 'updated_at', snapshot: true } } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('cannot be combined with cursorField');
  });

  it('pageSql spells keyset paging out without row-value comparisons', async () => {
    const { source } = await makeSource();
    const sql = (source as unknown as { pageSql: (s: unknown, a: unknown[] | null, since?: Date) => { sql: string; params: unknown[] } }).pageSql(
      { table: 'accounts', primaryKey: ['id'], cursorField: 'updated_at' }, ['2024-05-01', 5],
    );
    expect(sql.sql).toBe(`SELECT * FROM ${schema}.accounts WHERE ((updated_at > $1) OR (updated_at = $2 AND id > $3)) ORDER BY updated_at, id LIMIT 7`);
    expect(sql.params).toEqual(['2024-05-01', '2024-05-01', 5]);
  });
});
