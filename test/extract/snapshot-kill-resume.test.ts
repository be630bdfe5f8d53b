import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, query } from './cli-harness.js';
import { tmpDir } from './helpers.js';

/**
 * A snapshot pass killed with SIGKILL and resumed by the next run, end to end: the real CLI
 * (bin/partnersync.js over dist/, built by test/global-setup.ts) extracts a CSV stream with
 * `snapshot: true` whose file lost rows, is killed once part of the new file is committed, and is run
 * again. The re-run resumes at the saved byte offset; at the end exactly the removed rows are
 * tombstoned, none of the rows the killed run saw.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const TABLE = 'raw_files__accounts';

describe('kill -9 in the middle of a snapshot pass, then re-run', () => {
  it('CSV with snapshot: true: exactly the rows removed from the file are tombstoned, none seen before the kill', async () => {
    const dir = tmpDir('ps-snap-kill-');
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), [
      'version: 1',
      'staging:',
      '  url: sqlite:staging.db',
      'connections:',
      '  files:',
      '    type: csv',
      '    streams:',
      '      accounts: { file: accounts.csv, snapshot: true }',
      '',
    ].join('\n'));
    const dbFile = path.join(dir, 'staging.db');
    const total = 100_000;
    const write = (ids: number[], name: (id: number) => string) =>
      fs.writeFileSync(path.join(dir, 'accounts.csv'), `id,name,website\n${ids.map((id) => `${id},"${name(id)}",company${id}.example`).join('\n')}\n`);
    const original = (id: number) => `Company ${id}, Inc`;
    write(Array.from({ length: total }, (_, i) => i + 1), original);
    const first = await cli(dir, ['extract', 'files']).done;
    expect(first.code, first.stderr).toBe(0);

    // The new file: 100 rows removed throughout, 20 renamed (the first in the first batch), 50 added.
    const removed = new Set(Array.from({ length: 100 }, (_, i) => i * 1000 + 500));
    const renamed = (id: number) => id % 5000 === 1;
    const ids = [...Array.from({ length: total }, (_, i) => i + 1).filter((id) => !removed.has(id)), ...Array.from({ length: 50 }, (_, i) => total + i + 1)];
    write(ids, (id) => (renamed(id) ? `Renamed ${id}` : original(id)));

    // Kill once the first batch of the new pass is committed (row 1 renamed), long before its end.
    const killed = cli(dir, ['extract', 'files']);
    let exited = false;
    void killed.done.then(() => (exited = true));
    const deadline = Date.now() + 60_000;
    const renamedSoFar = () => query<{ n: number }>(dbFile, `SELECT count(*) AS n FROM ${TABLE} WHERE name LIKE 'Renamed %'`)[0]!.n;
    while (!exited && Date.now() < deadline && renamedSoFar() === 0) await new Promise((r) => setTimeout(r, 5));
    killed.child.kill('SIGKILL');
    const k = await killed.done;
    expect(k.signal, `the run ended before the kill: ${k.stderr}`).toBe('SIGKILL');
    const atKill = renamedSoFar();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(20);
    expect(query<{ n: number }>(dbFile, `SELECT count(*) AS n FROM ${TABLE} WHERE _deleted = 1`)[0]!.n).toBe(0);

    const again = await cli(dir, ['extract', 'files']).done;
    expect(again.stderr).not.toMatch(/Unexpected error/);
    expect(again.code, again.stderr).toBe(0);

    const runs = query<{ id: string; status: string; counts: string }>(dbFile, "SELECT id, status, counts FROM runs WHERE command = 'extract' ORDER BY started_at");
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'running', 'succeeded']);
    const counts = JSON.parse(runs[2]!.counts).extract['files/accounts'];
    // The re-run went on from the killed run's checkpoint instead of reading the file again.
    expect(counts.records).toBeLessThan(ids.length - 1000);
    expect(counts.deleted).toBe(removed.size);

    const rows = query<{ id: string; name: string; _deleted: number; _hash: string; _run_id: string }>(dbFile, `SELECT id, name, _deleted, _hash, _run_id FROM ${TABLE}`);
    const live = rows.filter((r) => r._deleted === 0);
    const dead = rows.filter((r) => r._deleted === 1);
    expect(live.length).toBe(ids.length);
    expect(new Set(live.map((r) => Number(r.id)))).toEqual(new Set(ids));
    expect(dead.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([...removed].sort((a, b) => a - b));
    expect(dead.every((r) => r._hash === 'tombstone' && r._run_id === runs[2]!.id)).toBe(true);
    const wrong = live.find((r) => r.name !== (renamed(Number(r.id)) ? `Renamed ${r.id}` : original(Number(r.id))));
    expect(wrong).toBeUndefined();
    // Unchanged rows were never rewritten: they still carry the first run.
    const unchanged = live.filter((r) => Number(r.id) <= total && !renamed(Number(r.id)));
    expect(unchanged.every((r) => r._run_id === runs[0]!.id)).toBe(true);
  }, 180_000);
});
