import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStaging } from '../../src/staging/db.js';
import { binPath, repoRoot, runCli } from '../helpers/cli.js';
import { PG_URL, tempDir } from '../helpers/staging.js';
import { accounts } from './harness.js';

/**
 * kill -9 in the middle of `partnersync push` to Postgres, then run it again: the destination ends
 * equal to the model, and the second run sends exactly what the ledger had not confirmed.
 */

const N = 3000;
const schema = `push_kill_${crypto.randomBytes(4).toString('hex')}`;
let admin: Knex;
let dir: string;

beforeAll(() => {
  // dist/ is built by test/global-setup.ts before any test file runs.
  expect(fs.existsSync(path.join(repoRoot, 'dist/commands/push.js'))).toBe(true);
  admin = knexFactory({ client: 'pg', connection: PG_URL });
  dir = tempDir('partnersync-push-kill-');
}, 240_000);

afterAll(async () => {
  await admin?.raw('drop schema if exists ?? cascade', [schema]);
  await admin?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('push after kill -9', () => {
  it('resumes without resending what was confirmed and ends equal to the model', async () => {
    fs.writeFileSync(
      path.join(dir, 'partnersync.yaml'),
      [
        'staging:',
        '  url: sqlite:staging.db',
        'connections:',
        '  wh:',
        '    type: postgres',
        '    url: ${PUSH_TEST_PG}',
        `    schema: ${schema}`,
        'targets:',
        '  accounts_wh:',
        '    connection: wh',
        '    model: accounts',
        '    object: partner_accounts',
        '    key: domain',
        '    batchSize: 10',
        '    fields:',
        '      name: name',
        '      seats: { source: seats, type: number }',
        '',
      ].join('\n'),
    );
    const rows = accounts(N);
    const staging = await openStaging(`sqlite:${path.join(dir, 'staging.db')}`);
    await staging.db.raw('create table accounts (domain text, name text, seats integer)');
    for (let i = 0; i < rows.length; i += 100) await staging.db('accounts').insert(rows.slice(i, i + 100));
    await staging.close();
    const env = { ...process.env, NO_COLOR: '1', PUSH_TEST_PG: PG_URL };

    const child = spawn(process.execPath, [binPath, 'push', '--target', 'accounts_wh'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // Kill once a few hundred rows have landed (well before the end).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const landed = await admin.raw(`select count(*)::int as n from ${schema}.partner_accounts`).then((r) => r.rows[0].n as number).catch(() => 0);
      if (landed >= 300) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`push ended or stalled before the kill (landed ${landed}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 15));
    }
    child.kill('SIGKILL');
    const first = await exited;
    expect(first.signal).toBe('SIGKILL');

    const s2 = await openStaging(`sqlite:${path.join(dir, 'staging.db')}`);
    const confirmed = Number((await s2.db('sync_ledger').where({ target: 'accounts_wh', status: 'ok' }).count({ n: '*' }))[0]!.n);
    await s2.close();
    const landed = (await admin.raw(`select count(*)::int as n from ${schema}.partner_accounts`)).rows[0].n as number;
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThan(N);
    // The ledger never claims more than landed; at most the batch in flight landed unconfirmed.
    expect(landed).toBeGreaterThanOrEqual(confirmed);
    expect(landed - confirmed).toBeLessThanOrEqual(10);

    const second = await runCli(['push', '--target', 'accounts_wh', '--json'], { cwd: dir, env: { PUSH_TEST_PG: PG_URL }, timeoutMs: 120_000 });
    expect(second.stderr).toMatch(/took over a stale staging lock/);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    const c = report.targets[0].counts;
    expect(c).toMatchObject({ considered: N, unchanged: confirmed, sent: N - confirmed, invalid: 0, rejected: 0, skipped: 0 });

    const table = await admin.withSchema(schema).table('partner_accounts').orderBy('domain').select('domain', 'name', 'seats');
    expect(table).toEqual(rows);
  }, 180_000);

  it('the CLI prints a dry-run plan, then exits 3 when rejects exceed --max-reject-rate (and 0 within it)', async () => {
    const cwd = tempDir('partnersync-push-cli-');
    try {
      fs.writeFileSync(
        path.join(cwd, 'partnersync.yaml'),
        ['connections:', '  out: { type: file, dir: out, formats: [jsonl] }', 'targets:', '  accounts_file:', '    connection: out', '    model: accounts', '    key: domain', '    fields: { name: name, seats: { source: seats, type: number } }', ''].join('\n'),
      );
      const staging = await openStaging(`sqlite:${path.join(cwd, '.partnersync/staging.db')}`);
      await staging.db.raw('create table accounts (domain text, name text, seats text)');
      await staging.db('accounts').insert(accounts(10, (i) => ({ seats: i === 3 ? 'lots' : String(i) })));
      await staging.close();

      const dry = await runCli(['push', '--dry-run'], { cwd });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/considered 10: create 9, update 0, delete 0, archive 0, clear 0, unchanged 0, invalid 1, skipped 0/);
      expect(dry.stdout).toMatch(/invalid row 4 \(d0003\.com\): WRONG_TYPE/);
      expect(fs.existsSync(path.join(cwd, 'out'))).toBe(false);

      const strict = await runCli(['push', '--json'], { cwd });
      expect(strict.code).toBe(3);
      const doc = JSON.parse(strict.stdout);
      expect(doc.error).toMatchObject({ code: 'REJECTS_OVER_LIMIT', exitCode: 3 });
      const report = doc.result;
      expect(report.targets[0].counts).toMatchObject({ considered: 10, sent: 9, invalid: 1 });
      expect(fs.readFileSync(path.join(cwd, report.targets[0].rejectsFile), 'utf8')).toMatch(/"code":"WRONG_TYPE"/);
      expect(fs.readFileSync(path.join(cwd, 'out/accounts.jsonl'), 'utf8').trim().split('\n')).toHaveLength(9);

      const lenient = await runCli(['push', '--max-reject-rate', '0.2'], { cwd });
      expect(lenient.code).toBe(0);
      expect(lenient.stdout).toMatch(/considered 10 = unchanged 9 \+ sent 0 .* \+ invalid 1 \+ rejected 0 \+ skipped 0/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
