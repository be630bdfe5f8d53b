import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqliteBatchStore, type SqliteConnection, type WireBatch } from './sqlite-batch-store.js';

/**
 * The writer thread of SQLite staging (see ThreadedSqliteWriter in raw-writer.ts): its own
 * connection to the staging file, batches committed strictly in the order they arrive, one reply per
 * batch. Parsing and writing then use both cores: while this thread writes batch N, the main thread
 * reads batch N+1.
 */
const { file } = workerData as { file: string };
const db = new Database(file);
// The same settings as the knex pool's connection (src/staging/db.ts).
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.pragma('foreign_keys = ON');
// An 8 MiB page cache, half the in-process writer's: the memory budget now holds two threads, and
// the writer thread is not the bottleneck (reading and parsing on the main thread take longer).
const store = new SqliteBatchStore(db as unknown as SqliteConnection, 8192);
// Checkpoint every 64 MiB of WAL rather than SQLite's 4 MiB: each checkpoint syncs the WAL and the
// database file and copies pages that later batches touch again (the _key index), which was ~1 s of
// a 1M-row extract. Durability is unchanged: commits never sync the WAL under synchronous=NORMAL;
// a checkpoint is when a WAL's pages reach the database file. What is left is checkpointed at close.
db.pragma('wal_autocheckpoint = 16384');

let broken: Error | undefined;

parentPort!.on('message', (msg: { id: number; batch?: WireBatch; close?: true }) => {
  if (msg.close) {
    // PASSIVE: copies what no reader still needs, never waits for one.
    if (!broken) db.pragma('wal_checkpoint(PASSIVE)');
    db.close();
    parentPort!.postMessage({ id: msg.id, closed: true });
    parentPort!.close();
    return;
  }
  // Batches may be queued behind one that fails: none of them is committed, or a later batch's
  // state would be durable without the failed batch's rows.
  if (broken) {
    parentPort!.postMessage({ id: msg.id, error: { name: 'Error', message: `batch not committed: an earlier batch failed (${broken.message})` } });
    return;
  }
  try {
    parentPort!.postMessage({ id: msg.id, counts: store.commit(msg.batch!) });
  } catch (err) {
    const e = err as Error & { code?: string };
    broken = e;
    parentPort!.postMessage({ id: msg.id, error: { name: e.name, message: e.message, code: e.code, stack: e.stack } });
  }
});
