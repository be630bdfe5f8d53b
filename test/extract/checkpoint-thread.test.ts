import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tmpDir } from './helpers.js';

// Compiled code, as the writer thread (dist/ is built by test/global-setup.ts).
const checkpointerUrl = new URL('../../dist/extract/sqlite-checkpoint-thread.js', import.meta.url);
const dir = tmpDir('ps-checkpoint-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Rows of `t` in the database file alone: a copy without its WAL sees only checkpointed pages. */
function rowsInDatabaseFile(file: string): number {
  const copy = path.join(dir, `copy-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
  fs.copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 't'").get();
    return hasTable ? (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n : 0;
  } finally {
    db.close();
  }
}

describe('SQLite staging checkpointer thread', () => {
  it('copies what a writer committed into the database file while the writer keeps going, and stops when asked', async () => {
    const file = path.join(dir, 'staging.db');
    const writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    // The writer never checkpoints by itself: whatever reaches the file is the checkpointer's doing.
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (k text PRIMARY KEY, v text)');
    const insert = writer.prepare('INSERT INTO t VALUES (?, ?)');
    writer.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(`k${i}`, 'x'.repeat(100));
    })();
    expect(rowsInDatabaseFile(file)).toBe(0);

    const w = new Worker(checkpointerUrl, { workerData: { file, intervalMs: 20 } });
    const exited = new Promise<number>((resolve) => w.once('exit', resolve));
    try {
      let seen = 0;
      for (let waited = 0; seen < 5000 && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
        seen = rowsInDatabaseFile(file);
      }
      expect(seen).toBe(5000);
      // The writer is not blocked by it: later commits go on and are copied too.
      writer.transaction(() => {
        for (let i = 5000; i < 6000; i++) insert.run(`k${i}`, 'y');
      })();
      for (let waited = 0; seen < 6000 && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
        seen = rowsInDatabaseFile(file);
      }
      expect(seen).toBe(6000);
    } finally {
      w.postMessage('stop');
    }
    expect(await exited).toBe(0);
    // Nothing was lost on the way: the writer's view is whole, and nothing is left to copy.
    expect((writer.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(6000);
    const [ck] = writer.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    expect(ck!.checkpointed).toBe(ck!.log);
    writer.close();
  });
});
