#!/usr/bin/env node
// Pipeline-mode matching end to end: `partnersync match` reading the staged `accounts` and
// `partner_signals` tables and replacing `matches` (and the review queue), on SQLite or Postgres
// staging, against the same database joining the same tables on a clean domain into a new table, in
// the same run. Prints figures; asserts nothing.
//
//   npx tsc -p tsconfig.build.json && node bench/match-staged.mjs [--accounts N] [--signals M] [--staging sqlite|postgres]
//
// Postgres: a scratch database `partnersync_bench_match` is created and dropped on the server of
// PARTNERSYNC_BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres).
// The data is bench/match.mjs's (bench/match-data.mjs). Each table has one extra column for the SQL
// side, which partnersync does not read: the accounts' clean `domain` and the signals' `sql_domain`.
// The SQL side writes (signal_id, account_id) for the 68% of signals its exact join finds; partnersync
// writes every signal's full result (11 columns, three indexes) and the review items.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { importDist, numberArg, timed } from './child.mjs';
import { matchData } from './match-data.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const N = numberArg(args, 'accounts', 300_000);
const M = numberArg(args, 'signals', 300_000);
const kind = args.includes('--staging') ? args[args.indexOf('--staging') + 1] : 'sqlite';
if (kind !== 'sqlite' && kind !== 'postgres') {
  console.error('usage: node bench/match-staged.mjs [--accounts N] [--signals M] [--staging sqlite|postgres]');
  process.exit(2);
}
await importDist('commands/match.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-match-staged-'));
const admin = process.env.PARTNERSYNC_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pgDb = 'partnersync_bench_match';
const pgUrl = (() => {
  const u = new URL(admin);
  u.pathname = `/${pgDb}`;
  return u.toString();
})();

const ACCOUNT_COLS = ['account_id', 'name', 'website', 'domains', 'parent_account_id', 'country', 'domain'];
const SIGNAL_COLS = ['signal_id', 'partner', 'population', 'company_name', 'website', 'email', 'country', 'sql_domain'];

/** The generated rows, by table, as arrays in the column order above. */
function* rowsOf(table) {
  const { account, signal, domainOf } = matchData(N);
  if (table === 'accounts')
    for (let i = 0; i < N; i++) {
      const a = account(i);
      yield [a.accountId, a.name, a.website, a.domains.join(';'), a.parentAccountId, a.country, domainOf(i)];
    }
  else
    for (let j = 0; j < M; j++) {
      const s = signal(j);
      yield [s.rec.signalId, 'bench', 'Customers', s.rec.companyName ?? null, s.rec.website ?? null, s.rec.email ?? null, null, s.sqlDomain];
    }
}

/** A SQL client for the staging database: `exec(sql)`, `load(table, cols)`, `close()`. */
async function connect() {
  if (kind === 'sqlite') {
    const db = new Database(path.join(dir, 'staging.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return {
      exec: async (sql) => db.exec(sql),
      load: async (table, cols) => {
        const ins = db.prepare(`INSERT INTO ${table} (${cols}) VALUES (${cols.map(() => '?')})`);
        db.transaction(() => {
          for (const r of rowsOf(table)) ins.run(r);
        })();
      },
      close: async () => db.close(),
    };
  }
  const a = new pg.Client({ connectionString: admin });
  await a.connect();
  await a.query(`DROP DATABASE IF EXISTS ${pgDb}`);
  await a.query(`CREATE DATABASE ${pgDb}`);
  await a.end();
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  return {
    exec: (sql) => c.query(sql),
    load: async (table, cols) => {
      let pending = cols.map(() => []);
      const flush = async () => {
        await c.query(`INSERT INTO ${table} (${cols}) SELECT * FROM unnest(${cols.map((_, i) => `$${i + 1}::text[]`)})`, pending);
        pending = cols.map(() => []);
      };
      for (const r of rowsOf(table)) {
        r.forEach((v, i) => pending[i].push(v));
        if (pending[0].length === 10_000) await flush();
      }
      if (pending[0].length) await flush();
    },
    close: () => c.end(),
  };
}

const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;
let db;
try {
  process.stdout.write(`staging ${kind}: loading ${N.toLocaleString('en-US')} accounts × ${M.toLocaleString('en-US')} signals… `);
  db = await connect();
  await db.exec(`CREATE TABLE accounts (${ACCOUNT_COLS.map((c) => `${c} TEXT`)}); CREATE TABLE partner_signals (${SIGNAL_COLS.map((c) => `${c} TEXT`)});`);
  await db.load('accounts', ACCOUNT_COLS);
  await db.load('partner_signals', SIGNAL_COLS);
  console.log('done');
  fs.writeFileSync(path.join(dir, 'partnersync.yaml'), `version: 1\nstaging:\n  url: ${kind === 'sqlite' ? 'sqlite:staging.db' : pgUrl}\n`);
  spawnSync('sync');

  const ours = await timed(process.execPath, [path.join(repo, 'bin', 'partnersync.js'), 'match'], { cwd: dir });
  console.log(`partnersync match  ${ours.seconds.toFixed(2)} s wall, ${ours.cpu.toFixed(2)} s CPU (its process only), peak RSS ${mb(ours.peak)}`);
  console.log(`                   ${ours.stdout.trim().split('\n').pop()}`);

  spawnSync('sync');
  const t0 = performance.now();
  await db.exec('CREATE INDEX bench_accounts_domain ON accounts(domain)');
  await db.exec(
    "CREATE TABLE sql_matches AS SELECT s.signal_id, a.account_id FROM partner_signals s JOIN accounts a ON a.domain = s.sql_domain WHERE s.sql_domain <> ''",
  );
  const sqlSeconds = (performance.now() - t0) / 1000;
  console.log(`SQL in staging     ${sqlSeconds.toFixed(2)} s wall  (index accounts(domain), exact-domain join into a new table)`);
  console.log(`ratio              partnersync is ${(ours.seconds / sqlSeconds).toFixed(2)}× the SQL's wall time`);
} finally {
  await db?.close();
  if (kind === 'postgres') {
    const a = new pg.Client({ connectionString: admin });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${pgDb}`);
    await a.end();
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
