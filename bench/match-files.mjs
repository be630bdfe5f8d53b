#!/usr/bin/env node
// File-mode matching end to end: `partnersync match --accounts A --signals S --out M` as a user runs it
// (a new process: start-up, CSV reading, index, matching, CSV writing), against the sqlite3 shell doing
// an exact-domain join of the same files (`.import` both, index, join written to a CSV) in the same run.
// Prints figures; asserts nothing.
//
//   npx tsc -p tsconfig.build.json && node bench/match-files.mjs [--accounts N] [--signals M]
//
// The data is bench/match.mjs's (bench/match-data.mjs), written as CSV in the dev set's layout. Each
// file has one extra column for the shell's benefit, which partnersync ignores: the accounts' clean
// `domain` and the signals' `sql_domain`; the shell joins those (no URL parsing, names or hierarchy),
// partnersync gets the messy columns and does all of its work.
// Peak RSS is each child's VmHWM from /proc (Linux), sampled while it runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importDist, numberArg, timed } from './child.mjs';
import { matchData } from './match-data.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const N = numberArg(args, 'accounts', 300_000);
const M = numberArg(args, 'signals', 300_000);
await importDist('commands/match.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-match-files-'));
const accountsCsv = path.join(dir, 'accounts.csv');
const signalsCsv = path.join(dir, 'signals.csv');

// Fields written as partnersync writes them (no value: an empty field).
const { csvCell } = await importDist('connectors/csv/csv-cell.js');
const cell = (v) => (v == null ? '' : csvCell(v));
function writeCsv(file, header, rows, count) {
  const fd = fs.openSync(file, 'w');
  let buf = header.join(',') + '\n';
  for (let i = 0; i < count; i++) {
    buf += rows(i).map(cell).join(',') + '\n';
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
}

const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const lines = (file) => fs.readFileSync(file, 'latin1').split('\n').filter((l) => l !== '').length;

try {
  const { account, signal, domainOf } = matchData(N);
  process.stdout.write(`generating ${N.toLocaleString('en-US')} accounts × ${M.toLocaleString('en-US')} signals… `);
  writeCsv(accountsCsv, ['account_id', 'name', 'website', 'domains', 'parent_account_id', 'country', 'domain'], (i) => {
    const a = account(i);
    return [a.accountId, a.name, a.website, a.domains.join(';'), a.parentAccountId, a.country, domainOf(i)];
  }, N);
  writeCsv(signalsCsv, ['signal_id', 'partner', 'population', 'company_name', 'website', 'email', 'country', 'sql_domain'], (j) => {
    const s = signal(j);
    return [s.rec.signalId, 'bench', 'Customers', s.rec.companyName, s.rec.website, s.rec.email, null, s.sqlDomain];
  }, M);
  console.log(`${mb(fs.statSync(accountsCsv).size)} + ${mb(fs.statSync(signalsCsv).size)} in ${dir}`);
  spawnSync('sync');

  const out = path.join(dir, 'matches.csv');
  const ours = await timed(process.execPath, [path.join(repo, 'bin', 'partnersync.js'), 'match', '--accounts', accountsCsv, '--signals', signalsCsv, '--out', out], { cwd: dir });
  const results = lines(out) - 1;
  console.log(`partnersync match  ${ours.seconds.toFixed(2)} s wall, ${ours.cpu.toFixed(2)} s CPU, peak RSS ${mb(ours.peak)}  → ${Math.round(M / ours.seconds).toLocaleString('en-US')} signals/s end to end (${results.toLocaleString('en-US')} result rows)`);
  console.log(`                   ${ours.stdout.trim().split('\n').pop()}`);

  spawnSync('sync');
  const sqlite3 = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' });
  if (sqlite3.error) console.log('sqlite3 shell: not installed, so no comparison (Debian/Ubuntu: apt-get install -y sqlite3)');
  else {
    const joined = path.join(dir, 'joined.csv');
    const script = [
      '.mode csv',
      `.import '${accountsCsv}' accounts`,
      `.import '${signalsCsv}' signals`,
      'CREATE INDEX accounts_domain ON accounts(domain);',
      `.output '${joined}'`,
      "SELECT s.signal_id, a.account_id FROM signals s JOIN accounts a ON a.domain = s.sql_domain WHERE s.sql_domain <> '';",
      '.output stdout',
    ].join('\n');
    const theirs = await timed('sqlite3', [path.join(dir, 'join.db')], { input: script + '\n' });
    console.log(`sqlite3 shell      ${theirs.seconds.toFixed(2)} s wall, ${theirs.cpu.toFixed(2)} s CPU, peak RSS ${mb(theirs.peak)}  (.import both files, index, exact-domain join to CSV: ${lines(joined).toLocaleString('en-US')} rows)`);
    console.log(`ratio              partnersync is ${(ours.seconds / theirs.seconds).toFixed(2)}× the shell's wall time, ${(ours.cpu / theirs.cpu).toFixed(2)}× its CPU time`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
