import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import snowflake from 'snowflake-sdk';
import { start, type SnowflakeEmulator } from '../../src/emulators/snowflake/index.js';

/** Contract tests: the real snowflake-sdk 3.x against the Snowflake emulator. */

snowflake.configure({ logLevel: 'OFF' } as never);

type Conn = ReturnType<typeof snowflake.createConnection>;

function connect(sf: SnowflakeEmulator, over: Record<string, unknown> = {}): Promise<Conn> {
  const conn = snowflake.createConnection({
    account: 'emulator',
    username: 'partnersync',
    password: 'partnersync',
    accessUrl: sf.url,
    database: 'PARTNERSYNC',
    schema: 'PUBLIC',
    warehouse: 'LOAD_WH',
    ...over,
  } as never);
  return new Promise((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve(conn))));
}

function run(conn: Conn, sqlText: string, binds?: unknown[]): Promise<{ stmt: any; rows: any[] }> {
  return new Promise((resolve, reject) =>
    conn.execute({ sqlText, binds: binds as never, complete: (err, stmt, rows) => (err ? reject(err) : resolve({ stmt, rows: rows ?? [] })) }),
  );
}

function destroy(conn: Conn): Promise<void> {
  return new Promise((resolve, reject) => conn.destroy((err) => (err ? reject(err) : resolve())));
}

describe('snowflake emulator with snowflake-sdk', () => {
  let sf: SnowflakeEmulator;
  let conn: Conn;

  beforeAll(async () => {
    sf = await start();
    conn = await connect(sf);
  });
  afterAll(async () => {
    await sf.stop();
  });

  it('logs in and runs CREATE TABLE [IF NOT EXISTS]', async () => {
    expect(sf.calls('login-request')).toBe(1);
    const created = await run(conn, `create table if not exists partner_accounts (
      id number(38,0) not null, name varchar(255), website varchar, score float, is_customer boolean,
      updated_at timestamp_ntz, extra variant, primary key (id))`);
    expect(created.rows[0].status).toBe('Table PARTNER_ACCOUNTS successfully created.');
    const again = await run(conn, 'create table if not exists PARTNER_ACCOUNTS (id number)');
    expect(again.rows[0].status).toMatch(/already exists, statement succeeded/);
    await expect(run(conn, 'create table partner_accounts (id number)')).rejects.toMatchObject({ code: '002002' });
  });

  it('inserts with positional binds, array binds and multi-row VALUES, and reports rows inserted', async () => {
    const one = await run(conn, 'insert into partner_accounts (id, name, website, score, is_customer, updated_at) values (?, ?, ?, ?, ?, ?)', [
      1,
      'Globex',
      'globex.com',
      0.75,
      true,
      new Date('2025-01-15T10:30:00.250Z'),
    ]);
    expect(one.stmt.getNumUpdatedRows()).toBe(1);
    const batch = await run(conn, 'insert into partner_accounts (id, name, website, is_customer) values (?, ?, ?, ?)', [
      [2, 'Initech', 'initech.com', false],
      [3, 'Hooli', 'hooli.xyz', true],
      [4, 'Umbrella', null, false],
    ]);
    expect(batch.stmt.getNumUpdatedRows()).toBe(3);
    const multi = await run(conn, `insert into partner_accounts (id, name, extra) values (5, 'Stark', parse_json('{"tier":"gold","seats":[1,2]}')), (6, 'Wayne', null)`);
    expect(multi.stmt.getNumUpdatedRows()).toBe(2);
    expect(sf.state.rows('select count(*) as n from partner_accounts')[0]!.N).toBe(6);
  });

  it('selects with ? and :1 binds, upper-case column names and typed values', async () => {
    const { rows, stmt } = await run(conn, 'select id, name, score, is_customer, updated_at from partner_accounts where id = ?', [1]);
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0])).toEqual(['ID', 'NAME', 'SCORE', 'IS_CUSTOMER', 'UPDATED_AT']);
    expect(rows[0]).toMatchObject({ ID: 1, NAME: 'Globex', SCORE: 0.75, IS_CUSTOMER: true });
    expect(new Date(rows[0].UPDATED_AT).toISOString()).toBe('2025-01-15T10:30:00.250Z');
    expect(stmt.getColumns().map((c: any) => c.getType())).toEqual(['fixed', 'text', 'real', 'boolean', 'timestamp_ntz']);

    const numbered = await run(conn, 'select name from partnersync.public.partner_accounts where id in (:1, :2) and is_customer = :3 order by id', [1, 3, true]);
    expect(numbered.rows.map((r) => r.NAME)).toEqual(['Globex', 'Hooli']);

    const variant = await run(conn, 'select extra from partner_accounts where id = 5');
    expect(variant.rows[0].EXTRA).toEqual({ tier: 'gold', seats: [1, 2] });

    const quoted = await run(conn, 'select count(*) as "total", max(id) as top from partner_accounts');
    expect(quoted.rows[0]).toEqual({ total: 6, TOP: 6 });
  });

  it('merges a batch (update matched, insert not matched) and reports both counts', async () => {
    const merged = await run(
      conn,
      `merge into partner_accounts t
       using (select column1 as id, column2 as name, column3 as website from values (?, ?, ?), (?, ?, ?)) s
       on t.id = s.id
       when matched then update set t.name = s.name, t.website = s.website
       when not matched then insert (id, name, website) values (s.id, s.name, s.website)`,
      [2, 'Initech LLC', 'initech.io', 7, 'Soylent', 'soylent.example'],
    );
    expect(merged.stmt.getNumUpdatedRows()).toBe(2);
    expect(merged.rows[0]).toEqual({ 'number of rows inserted': 1, 'number of rows updated': 1 });
    expect(sf.state.rows('select id, name, website from partner_accounts where id in (2, 7) order by id')).toEqual([
      { ID: 2, NAME: 'Initech LLC', WEBSITE: 'initech.io' },
      { ID: 7, NAME: 'Soylent', WEBSITE: 'soylent.example' },
    ]);
    await run(conn, 'create temporary table staged (id number, name varchar)');
    await run(conn, `insert into staged values (1, 'x'), (1, 'y')`);
    await expect(
      run(conn, 'merge into partner_accounts t using staged s on t.id = s.id when matched then update set name = s.name'),
    ).rejects.toMatchObject({ code: '100090' });
  });

  it('updates and deletes with binds', async () => {
    const upd = await run(conn, 'update partner_accounts set is_customer = ?, updated_at = current_timestamp() where website like ? or website ilike ?', [true, '%.com', '%.IO']);
    expect(upd.stmt.getNumUpdatedRows()).toBe(2);
    expect(sf.state.rows(`select id from partner_accounts where is_customer and updated_at is not null order by id`)).toEqual([{ ID: 1 }, { ID: 2 }]);
    const del = await run(conn, 'delete from partner_accounts where id >= :1', [6]);
    expect(del.stmt.getNumUpdatedRows()).toBe(2);
    expect(sf.state.rows('select max(id) as m from partner_accounts')[0]!.M).toBe(5);
  });

  it('surfaces SQL errors as SnowflakeError with code and sqlState', async () => {
    const missing = await run(conn, 'select * from no_such_table').catch((e) => e);
    expect(missing).toBeInstanceOf(Error);
    expect(missing.code).toBe('002003');
    expect(missing.sqlState).toBe('42S02');
    expect(missing.message).toMatch(/NO_SUCH_TABLE' does not exist/);
    await expect(run(conn, 'selec id from partner_accounts')).rejects.toMatchObject({ code: '001003', sqlState: '42000' });
    await expect(run(conn, 'select nope from partner_accounts')).rejects.toMatchObject({ code: '000904' });
    await expect(run(conn, 'insert into partner_accounts (id) values (null)')).rejects.toMatchObject({ code: '100072' });
  });

  it('answers information_schema lookups a connector preflight would issue', async () => {
    const { rows } = await run(conn, `select column_name, data_type from information_schema.columns where table_name = 'PARTNER_ACCOUNTS' order by ordinal_position`);
    expect(rows.map((r) => r.COLUMN_NAME)).toEqual(['ID', 'NAME', 'WEBSITE', 'SCORE', 'IS_CUSTOMER', 'UPDATED_AT', 'EXTRA']);
    expect(rows.find((r) => r.COLUMN_NAME === 'UPDATED_AT').DATA_TYPE).toBe('TIMESTAMP_NTZ');
  });

  it('runs the housekeeping DDL a connector issues (schemas, ALTER, DELETE USING, INSERT OVERWRITE, TRUNCATE, DROP)', async () => {
    await run(conn, 'create schema if not exists staging');
    await run(conn, 'use schema public');
    await run(conn, 'create or replace table staging.keys (id number)');
    await run(conn, 'insert into partnersync.staging.keys values (?)', [[4], [5]]);
    const del = await run(conn, 'delete from partner_accounts using staging.keys k where partner_accounts.id = k.id');
    expect(del.stmt.getNumUpdatedRows()).toBe(2);
    await run(conn, 'alter table partner_accounts add column if not exists synced_at timestamp_ntz');
    const cols = await run(conn, 'describe table partner_accounts');
    expect(cols.rows.map((r) => r.name)).toContain('SYNCED_AT');
    await run(conn, 'insert overwrite into staging.keys values (9)');
    expect(sf.state.rows('select id from staging.keys')).toEqual([{ ID: 9 }]);
    await run(conn, 'truncate table staging.keys');
    expect(sf.state.rows('select count(*) as n from staging.keys')[0]!.N).toBe(0);
    await run(conn, 'drop table staging.keys');
    await expect(run(conn, 'select * from staging.keys')).rejects.toMatchObject({ code: '002003' });
    // Put the two deleted rows back for the tests that follow.
    await run(conn, `insert into partner_accounts (id, name, extra) values (4, 'Umbrella', null), (5, 'Stark', parse_json('{"tier":"gold"}'))`);
  });

  it('renews an expired session token and replays the query; heartbeat validates the session', async () => {
    sf.state.expireSessionTokens();
    const { rows } = await run(conn, 'select count(*) as n from partner_accounts');
    expect(rows[0].N).toBe(5);
    expect(sf.calls('token-request')).toBe(1);
    expect(await conn.isValidAsync()).toBe(true);
    expect(sf.calls('heartbeat')).toBeGreaterThanOrEqual(1);
  });

  it('rejects a bad password with 390100', async () => {
    const err = await connect(sf, { password: 'wrong', sfRetryMaxLoginRetries: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('390100');
    expect(err.message).toMatch(/Incorrect username or password/);
  });

  it('lets the driver retry an injected 503 on query-request', async () => {
    sf.faults.set('503:x1@query-request');
    const before = sf.requests.length;
    const { rows } = await run(conn, 'select 1 as one');
    expect(rows).toEqual([{ ONE: 1 }]);
    const attempts = sf.requests.slice(before).filter((r) => r.route === 'query-request');
    expect(attempts.map((r) => r.status)).toEqual([503, 200]);
  });

  it('closes the session on destroy', async () => {
    const other = await connect(sf);
    const open = sf.state.sessions.size;
    await destroy(other);
    expect(sf.calls('session-delete')).toBe(1);
    expect(sf.state.sessions.size).toBe(open - 1);
    const dump = sf.dump() as any;
    expect(dump.tables['PARTNERSYNC.PUBLIC.PARTNER_ACCOUNTS']).toHaveLength(5);
    expect(dump.queries.length).toBeGreaterThan(5);
  });
});
