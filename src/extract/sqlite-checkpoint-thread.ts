import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * The checkpointer of SQLite staging during a long extract (see ThreadedSqliteWriter in
 * raw-writer.ts): copies the WAL's committed pages into the database file while the writer thread
 * goes on writing, so the writer's own checkpoints (SQLite's autocheckpoint, the one at close) find
 * nearly everything already copied and synced.
 *
 * Why a thread of its own: a checkpoint is page copies plus two fsyncs (WAL, database file), ~220 ms
 * per 64 MiB of WAL here, ~40% of it waiting on the disk. In the writer it stalls every commit
 * behind it (~0.8 s of a 1M-row extract); here it overlaps with the writer's inserts. It changes
 * nothing SQLite guarantees: PASSIVE checkpoints never wait for and never block the writer or any
 * reader, and what they copy is committed already. An error only ends this thread: the writer's own
 * checkpoints then do the work, as they would without it.
 */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file);
db.pragma('busy_timeout = 10000');
// As the other connections: sync the WAL before copying from it and the database file after.
db.pragma('synchronous = NORMAL');

let timer: NodeJS.Timeout | undefined;
let stopped = false;

const stop = () => {
  if (stopped) return;
  stopped = true;
  clearTimeout(timer);
  db.close();
  parentPort!.close();
};

const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    return stop();
  }
  timer = setTimeout(tick, intervalMs);
};

parentPort!.on('message', stop);
timer = setTimeout(tick, intervalMs);
