import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, query } from './cli-harness.js';
import { PG_URL, tmpDir } from './helpers.js';

/**
 * Crash safety end to end: the real CLI (bin/partnersync.js over dist/) is killed with SIGKILL in
 * the middle of an extract, then run again; the raw table must then hold exactly the source's rows.
 */
const dirs: string[] = [];

afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function rowCount(dbFile: string, table: string): number {
  if (!fs.existsSync(dbFile)) return 0;
  try {
    const t = query(dbFile, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = '${table}'`);
    return t.length ? query<{ n: number }>(dbFile, `SELECT count(*) AS n FROM ${table}`)[0]!.n : 0;
  } catch {
    return 0;
  }
}

/** Start an extract, SIGKILL it once some batches (but not all) are committed, then run it again. */
async function killThenRerun(cwd: string, args: string[], dbFile: string, table: string, total: number): Promise<number> {
  const { child, done } = cli(cwd, args);
  let seen = 0;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    seen = rowCount(dbFile, table);
    if (seen > 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  const first = await done;
  expect(first.signal).toBe('SIGKILL');
  const atKill = rowCount(dbFile, table);
  expect(atKill).toBeGreaterThan(0);
  expect(atKill).toBeLessThan(total);
  const second = await cli(cwd, args).done;
  expect(second.stderr).not.toMatch(/Unexpected error/);
  expect(second.code).toBe(0);
  return atKill;
}

describe('kill -9 mid-extract, then re-run', () => {
  it('CSV: the raw table ends with exactly the file\'s rows', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const total = 60_000;
    const lines = ['id,name,website,owner_email'];
    for (let i = 1; i <= total; i++) lines.push(`${i},"Company ${i}, Inc",company${i}.example,owner${i % 97}@example.com`);
    fs.writeFileSync(path.join(dir, 'accounts.csv'), `${lines.join('\n')}\n`);
    const dbFile = path.join(dir, '.partnersync', 'staging.db');
    const atKill = await killThenRerun(dir, ['extract', 'csv', '--file', 'accounts.csv', '--stream', 'crm_accounts'], dbFile, 'raw_csv__crm_accounts', total);

    {
      const rows = query(dbFile, 'SELECT _key, id, name, website, _deleted FROM raw_csv__crm_accounts ORDER BY CAST(id AS INTEGER)');
      expect(rows.length).toBe(total);
      rows.forEach((r, i) => {
        const n = i + 1;
        if (r.id !== String(n) || r.name !== `Company ${n}, Inc` || r.website !== `company${n}.example` || r._deleted !== 0) {
          throw new Error(`row ${n} differs from the source: ${JSON.stringify(r)}`);
        }
      });
      const runs = query<{ status: string }>(dbFile, "SELECT status FROM runs WHERE command = 'extract' ORDER BY started_at");
      expect(runs.map((r) => r.status)).toEqual(['running', 'succeeded']); // the killed run never finished
      const counts = JSON.parse(query<{ counts: string }>(dbFile, "SELECT counts FROM runs WHERE status = 'succeeded'")[0]!.counts);
      // The re-run resumed from the checkpoint: it did not re-read what was committed before the kill.
      expect(counts.extract["csv/crm_accounts"].records).toBeLessThanOrEqual(total - atKill + 2000);
    }
  }, 240_000);

  it('Postgres table: the raw table ends with exactly the table\'s rows', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const schema = `t_extract_kill_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const total = 40_000;
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
      await admin.query(`CREATE TABLE ${schema}.deals (id bigint PRIMARY KEY, amount_cents bigint, stage text, updated_at timestamptz NOT NULL)`);
      await admin.query(`INSERT INTO ${schema}.deals SELECT i, i * 100, 'stage ' || (i % 7), timestamptz '2024-01-01' + (i / 3) * interval '1 second' FROM generate_series(1, ${total}) i`);
      // The index a keyset-paged table should have: each page is then an index range scan.
      await admin.query(`CREATE INDEX ON ${schema}.deals (updated_at, id)`);
      fs.writeFileSync(path.join(dir, 'partnersync.yaml'), [
        'version: 1',
        'staging:',
        '  url: sqlite:staging.db',
        'connections:',
        '  warehouse:',
        '    type: postgres',
        `    url: ${PG_URL}`,
        `    schema: ${schema}`,
        '    batchSize: 1000',
        '    streams:',
        '      deals: { table: deals, primaryKey: [id], cursorField: updated_at }',
        '',
      ].join('\n'));
      const dbFile = path.join(dir, 'staging.db');
      await killThenRerun(dir, ['extract', 'warehouse'], dbFile, 'raw_warehouse__deals', total);
      const staged = query<Record<string, string>>(dbFile, 'SELECT id, amount_cents, stage FROM raw_warehouse__deals ORDER BY CAST(id AS INTEGER)');
      const source = (await admin.query(`SELECT id::text, amount_cents::text, stage FROM ${schema}.deals d ORDER BY d.id`)).rows;
      expect(staged.length).toBe(total);
      expect(staged).toEqual(source);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }, 240_000);
});
