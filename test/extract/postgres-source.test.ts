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

  it('pageSql spells keyset paging out without row-value comparisons', async () => {
    const { source } = await makeSource();
    const sql = (source as unknown as { pageSql: (s: unknown, a: unknown[] | null, since?: Date) => { sql: string; params: unknown[] } }).pageSql(
      { table: 'accounts', primaryKey: ['id'], cursorField: 'updated_at' }, ['2024-05-01', 5],
    );
    expect(sql.sql).toBe(`SELECT * FROM ${schema}.accounts WHERE ((updated_at > $1) OR (updated_at = $2 AND id > $3)) ORDER BY updated_at, id LIMIT 7`);
    expect(sql.params).toEqual(['2024-05-01', '2024-05-01', 5]);
  });
});
