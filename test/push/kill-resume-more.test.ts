import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startSnowflake, type SnowflakeEmulator } from '../../src/emulators/snowflake/index.js';
import { binPath, repoRoot, runCli } from '../helpers/cli.js';
import { confirmedInLedger as confirmedIn, model as sharedModel, setModel as setModelIn, type Row } from './kill-harness.js';

/**
 * kill -9 in the middle of `partnersync push` to Snowflake (the emulator, the real snowflake-sdk, MERGE)
 * and to files (JSONL + CSV), then run it again: the destination ends equal to the model — every row
 * once — and the re-run sends only what the ledger had not confirmed. Same shape as
 * kill-resume-saas.test.ts.
 */

const BATCH = 10;
/** Slow each Snowflake query so the kill lands while a push is well under way. */
const LATENCY_MS = 40;

// Some names need CSV quoting, so the file destination's CSV is exercised too.
const model = (n: number): Row[] => sharedModel(n, (r, i) => (i % 9 === 4 ? { ...r, name: `Company, "${i}"` } : r));

let sf: SnowflakeEmulator;
let dir: string;

const stagingFile = () => path.join(dir, 'staging.db');

const setModel = (table: string, rows: Row[]) => setModelIn(stagingFile(), table, rows);
const confirmedInLedger = (target: string) => confirmedIn(stagingFile(), target);

type Held = { key: string; name: unknown; domain: unknown; partner_count: unknown };

interface Case {
  target: string;
  /** Rows in the model: enough that a push lasts well past the kill. */
  n: number;
  /** Slow the destination down for the first push, and back to normal after the kill. */
  slow: () => void;
  fast: () => void;
  /** How far the killed push has got; it is killed once this reaches `killAt`. */
  progress: () => number;
  killAt: number;
  /** Write calls the destination itself has answered (undefined: it cannot tell, the report's count is used). */
  writes?: () => number;
  /** What the destination holds for this target, one entry per record (duplicates stay visible). */
  records: () => Held[];
  expected: (r: Row) => Held;
  /** Further checks that the destination equals the model (the second format of the file destination). */
  alsoEqual?: (rows: Row[]) => void;
}

const batches = (records: number) => Math.ceil(records / BATCH);
const byKey = <T extends { key: string }>(xs: T[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

const merges = () => sf.state.queries.filter((q) => /^\s*merge\s+into\s+ACCOUNTS\b/i.test(q.sqlText) && !q.error).length;
const outFile = (ext: string) => path.join(dir, 'out', `accounts_export.${ext}`);

const cases: Case[] = [
  {
    target: 'snowflake_accounts',
    n: 200,
    slow: () => sf.faults.set(`latency:${LATENCY_MS}@query-request`),
    fast: () => sf.faults.clear(),
    // One MERGE per batch: three answered means at least two batches confirmed in the ledger.
    progress: merges,
    killAt: 3,
    writes: merges,
    records: () => {
      const exists = sf.state.rows(`select count(*) as n from information_schema.tables where table_name = 'ACCOUNTS'`)[0]!.N;
      if (!exists) return [];
      return sf.state.rows('select account_id, name, domain, partner_count from ACCOUNTS').map((r) => ({ key: String(r.ACCOUNT_ID), name: r.NAME, domain: r.DOMAIN, partner_count: r.PARTNER_COUNT }));
    },
    expected: (r) => ({ key: r.account_id, name: r.name, domain: r.domain, partner_count: r.partner_count }),
  },
  {
    target: 'file_accounts',
    // Files have no latency to inject: small batches over many rows (each batch rewrites and fsyncs
    // both files, and confirms in the ledger) make the push last long enough.
    n: 800,
    slow: () => {},
    fast: () => {},
    progress: () => confirmedInLedger('file_accounts'),
    killAt: 2 * BATCH,
    records: () => {
      if (!fs.existsSync(outFile('jsonl'))) return [];
      return fs
        .readFileSync(outFile('jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .map((r) => ({ key: String(r.account_id), name: r.name, domain: r.domain, partner_count: r.partner_count }));
    },
    expected: (r) => ({ key: r.account_id, name: r.name, domain: r.domain, partner_count: r.partner_count }),
    alsoEqual: (rows) => {
      const csv = parse(fs.readFileSync(outFile('csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
      const held = csv.map((r) => ({ key: r.account_id!, name: r.name, domain: r.domain, partner_count: r.partner_count }));
      expect(new Set(held.map((r) => r.key)).size).toBe(held.length);
      expect(byKey(held)).toEqual(byKey(rows.map((r) => ({ key: r.account_id, name: r.name, domain: r.domain, partner_count: String(r.partner_count) }))));
    },
  },
];

beforeAll(async () => {
  // dist/ is built by test/global-setup.ts before any test file runs.
  expect(fs.existsSync(path.join(repoRoot, 'dist/commands/push.js'))).toBe(true);
  sf = await startSnowflake();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-push-kill-more-'));
  const fields = { name: 'name', domain: 'domain', partner_count: { source: 'partner_count', type: 'number' } };
  const config = {
    staging: { url: 'sqlite:staging.db' },
    connections: {
      snowflake: { type: 'snowflake', account: 'emulator', username: 'partnersync', password: '${SNOWFLAKE_PASSWORD}', database: 'PARTNERSYNC', schema: 'PUBLIC', warehouse: 'LOAD_WH', accessUrl: sf.url },
      out: { type: 'file', dir: 'out', formats: ['jsonl', 'csv'] },
    },
    targets: {
      snowflake_accounts: { connection: 'snowflake', model: 'accounts', object: 'accounts', key: 'account_id', batchSize: BATCH, fields },
      file_accounts: { connection: 'out', model: 'file_model', object: 'accounts_export', key: 'account_id', batchSize: BATCH, fields },
    },
  };
  fs.writeFileSync(path.join(dir, 'partnersync.yaml'), stringify(config));
  setModel('accounts', model(cases[0]!.n));
  setModel('file_model', model(cases[1]!.n));
}, 60_000);

afterAll(async () => {
  await sf?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const env = { SNOWFLAKE_PASSWORD: 'partnersync' };
const push = (args: string[]) => runCli(['push', ...args], { cwd: dir, env, timeoutMs: 60_000 });

describe('push to Snowflake and to files after kill -9', () => {
  it.each(cases)('$target: the re-run sends only what was not confirmed and ends equal to the model', async (c) => {
    const N = c.n;
    const rows = model(N);
    c.slow();
    const progressBefore = c.progress();
    const child = spawn(process.execPath, [binPath, 'push', '--target', c.target], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30_000;
    while (c.progress() - progressBefore < c.killAt) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`push ended or stalled before the kill (progress ${c.progress() - progressBefore}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    c.fast();
    // A query already in the emulator when the process died still completes there; let it.
    await new Promise((r) => setTimeout(r, LATENCY_MS * 3));

    const confirmed = confirmedInLedger(c.target);
    const held = c.records();
    const landed = new Set(held.map((r) => r.key)).size;
    expect(landed).toBe(held.length);
    expect(confirmed).toBeGreaterThanOrEqual(2 * BATCH);
    expect(confirmed).toBeLessThan(N);
    // The ledger never claims more than landed; at most the batch in flight landed unconfirmed.
    expect(landed).toBeGreaterThanOrEqual(confirmed);
    expect(landed - confirmed).toBeLessThanOrEqual(BATCH);

    const writesAtRerun = c.writes?.();
    const second = await push(['--target', c.target, '--json']);
    expect(second.stderr).toMatch(/took over a stale staging lock/);
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout).targets[0];
    expect(report.counts).toMatchObject({ considered: N, unchanged: confirmed, sent: N - confirmed, invalid: 0, rejected: 0, skipped: 0 });
    // Nothing confirmed was resent: the re-run's write calls are those of the unconfirmed records.
    expect(report.writeCalls).toBe(batches(N - confirmed));
    if (c.writes) expect(c.writes() - writesAtRerun!).toBe(batches(N - confirmed));

    // Equal to the model: every row exactly once with its values, and nothing else.
    expect(byKey(c.records())).toEqual(byKey(rows.map(c.expected)));
    c.alsoEqual?.(rows);

    // And now settled: a third run writes nothing.
    const writesAtThird = c.writes?.();
    const third = await push(['--target', c.target, '--json']);
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout).targets[0]).toMatchObject({ counts: { unchanged: N, sent: 0 }, writeCalls: 0 });
    if (c.writes) expect(c.writes()).toBe(writesAtThird);

    // --full-resync ignores the ledger: every record is sent again (once), and still nothing is duplicated.
    const full = await push(['--target', c.target, '--json', '--full-resync']);
    expect(full.code, full.stderr).toBe(0);
    expect(JSON.parse(full.stdout).targets[0]).toMatchObject({ counts: { considered: N, unchanged: 0, sent: N }, writeCalls: batches(N) });
    if (c.writes) expect(c.writes() - writesAtThird!).toBe(batches(N));
    expect(byKey(c.records())).toEqual(byKey(rows.map(c.expected)));
    c.alsoEqual?.(rows);
  }, 60_000);
});
