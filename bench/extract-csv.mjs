#!/usr/bin/env node
// Benchmark: `partnersync extract` of a generated CSV into a fresh SQLite staging, against the
// sqlite3 shell's `.import` of the same file. Prints figures; asserts nothing.
//
//   npx tsc -p tsconfig.build.json && node bench/extract-csv.mjs [rows=1000000]
//
// Target (issue 5): at most 2× sqlite3's time, peak RSS under 200 MB whatever the file size.
// Peak RSS is the child's VmHWM from /proc (Linux), sampled while it runs and read at exit.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const rows = Number(process.argv[2] ?? 1_000_000);
if (!Number.isInteger(rows) || rows <= 0) {
  console.error('usage: node bench/extract-csv.mjs [rows]');
  process.exit(2);
}
if (!fs.existsSync(path.join(repo, 'dist', 'commands', 'extract.js'))) {
  console.error('dist/ is missing: build first with `npx tsc -p tsconfig.build.json`');
  process.exit(2);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-extract-'));
const file = path.join(dir, 'accounts.csv');

function generate() {
  // Realistic width: ids, names with commas (quoted), domains, e-mails, an ISO date, a number.
  const fd = fs.openSync(file, 'w');
  let buf = 'id,name,website,owner_email,industry,employees,updated_at\n';
  const industries = ['Software', 'Retail', 'Finance', 'Health, Care', 'Manufacturing'];
  for (let i = 1; i <= rows; i++) {
    buf += `${i},"Company ${i}, Inc",https://www.company${i}.example,owner${i % 997}@example.com,"${industries[i % 5]}",${(i * 37) % 50_000},2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
}

function peakOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// CPU seconds (user + system) of a running process from /proc/<pid>/stat, in clock ticks of 1/100 s
// (Linux's USER_HZ). Wall time on a shared machine mostly measures the load; CPU time is what the
// two programs actually cost, so both are printed.
function cpuOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function timed(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    let cpu = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    // Sampled, so the last ≤ 50 ms of CPU before exit are not counted.
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakOf(child.pid));
      cpu = Math.max(cpu, cpuOf(child.pid));
    }, 50);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, peak, cpu });
    });
  });
}

const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;

try {
  process.stdout.write(`generating ${rows.toLocaleString('en-US')} rows… `);
  generate();
  const size = fs.statSync(file).size;
  console.log(`${mb(size)} at ${file}`);

  // Peak RSS: a tiny wrapper runs the CLI in-process so /proc/<pid> is the extract itself.
  const stagingDir = path.join(dir, 'ps');
  fs.mkdirSync(stagingDir);
  fs.copyFileSync(file, path.join(stagingDir, 'accounts.csv'));
  const ours = await timed(process.execPath, [path.join(repo, 'bin', 'partnersync.js'), 'extract', 'csv', '--file', 'accounts.csv', '--stream', 'accounts', '--json'], {
    cwd: stagingDir,
    env: { ...process.env, CI: '1' },
  });
  const rate = rows / ours.seconds;
  console.log(`partnersync extract: ${ours.seconds.toFixed(2)} s (CPU ${ours.cpu.toFixed(2)} s), ${Math.round(rate).toLocaleString('en-US')} rows/s, peak RSS ${mb(ours.peak)}`);

  const sqlite3 = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' });
  if (sqlite3.error) {
    console.log('sqlite3 shell: not installed, so no comparison (Debian/Ubuntu: apt-get install -y sqlite3)');
  } else {
    // Same settings as partnersync's staging (WAL, synchronous=NORMAL) so the comparison is fair.
    const db = path.join(dir, 'sqlite3-import.db');
    const theirs = await timed('sqlite3', [db, 'PRAGMA journal_mode=WAL;', 'PRAGMA synchronous=NORMAL;', '.mode csv', `.import ${file} accounts`], { cwd: dir });
    console.log(`sqlite3 .import (${sqlite3.stdout.trim().split(' ')[0]}): ${theirs.seconds.toFixed(2)} s (CPU ${theirs.cpu.toFixed(2)} s), ${Math.round(rows / theirs.seconds).toLocaleString('en-US')} rows/s, peak RSS ${mb(theirs.peak)}`);
    const cpuRatio = theirs.cpu > 0 ? `, ${(ours.cpu / theirs.cpu).toFixed(2)}× its CPU time` : '';
    console.log(`ratio: ${(ours.seconds / theirs.seconds).toFixed(2)}× sqlite3's time (target ≤ 2×)${cpuRatio}; peak RSS ${mb(ours.peak)} (target < 200 MB)`);

    // What storing the rows costs SQLite alone in staging's layout (the `_key` primary key, hash,
    // run and time columns), with no parsing at all: the same rows copied table to table in the
    // sqlite3 shell. .import's table has no key index and 7 columns instead of 12, so this is the
    // floor under any writer of raw tables, next to which the ratio above should be read.
    const stagingDb = path.join(stagingDir, '.partnersync', 'staging.db');
    const ddl = spawnSync('sqlite3', [stagingDb, "SELECT sql FROM sqlite_master WHERE name = 'raw_csv__accounts'"], { encoding: 'utf8' }).stdout.trim();
    if (ddl) {
      const floorDb = path.join(dir, 'floor.db');
      const create = ddl.replace(/^CREATE TABLE\s+[`"]?raw_csv__accounts[`"]?/i, 'CREATE TABLE floor');
      const floor = await timed('sqlite3', [floorDb, 'PRAGMA journal_mode=WAL;', 'PRAGMA synchronous=NORMAL;', `ATTACH '${stagingDb}' AS s;`, `${create};`, 'INSERT INTO floor SELECT * FROM s.raw_csv__accounts ORDER BY rowid;'], { cwd: dir });
      console.log(`sqlite3 copy into staging's layout (no parsing; the storage floor): ${floor.seconds.toFixed(2)} s (CPU ${floor.cpu.toFixed(2)} s) = ${(floor.seconds / theirs.seconds).toFixed(2)}× .import`);
    }
  }
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (figures are noisy on a shared machine)`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
