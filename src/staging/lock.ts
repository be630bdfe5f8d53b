import os from 'node:os';
import { LockedError } from '../errors.js';
import { nowIso, type Staging } from './db.js';

/**
 * One lock per staging database, held in the `locks` table so it works the same on SQLite and
 * Postgres and across machines sharing a Postgres staging. A lock whose holder is gone is taken
 * over: on the same host we ask the OS whether the pid lives; on another host we go by heartbeat age.
 */
export interface LockHolder {
  runId: string;
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  heartbeatAt: string;
}

export interface HeldLock {
  release(): Promise<void>;
  /** Set when a stale lock was taken over, for the run log. */
  tookOverFrom?: LockHolder;
}

const LOCK = 'staging';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isStale(holder: LockHolder, staleAfterMs: number, now = Date.now(), host = os.hostname()): boolean {
  if (holder.host === host) return !pidAlive(holder.pid);
  return now - Date.parse(holder.heartbeatAt) > staleAfterMs;
}

export async function acquireLock(
  staging: Staging,
  who: { runId: string; command: string },
  opts: { staleAfterMs?: number; heartbeatMs?: number; pid?: number; host?: string } = {},
): Promise<HeldLock> {
  const db = staging.db;
  const pid = opts.pid ?? process.pid;
  const host = opts.host ?? os.hostname();
  const staleAfterMs = opts.staleAfterMs ?? 600_000;
  const row = { name: LOCK, run_id: who.runId, pid, host, command: who.command, started_at: nowIso(), heartbeat_at: nowIso() };
  let tookOverFrom: LockHolder | undefined;

  const inserted = await db('locks').insert(row).onConflict('name').ignore();
  const mine = await db('locks').where({ name: LOCK }).first();
  if (!mine || mine.run_id !== who.runId) {
    const holder = toHolder(mine);
    if (!holder) throw new LockedError('Could not take the staging lock (it vanished while we looked); try again.');
    if (!isStale(holder, staleAfterMs, Date.now(), host)) {
      throw new LockedError(
        `Another partnersync run holds the staging lock: ${holder.command} (run ${holder.runId}), pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}.`,
        { hint: 'wait for it to finish; if that process is gone from another machine, the lock is taken over once its heartbeat is older than staging.lockStaleAfterSeconds' },
      );
    }
    // Conditional takeover: only one contender can replace this exact holder.
    const n = await db('locks').where({ name: LOCK, run_id: holder.runId }).update(row);
    if (n !== 1) throw new LockedError('Another run took over the stale staging lock first.', { hint: 'try again in a moment' });
    tookOverFrom = holder;
  }
  void inserted;

  const beat = setInterval(() => {
    void db('locks').where({ name: LOCK, run_id: who.runId }).update({ heartbeat_at: nowIso() }).catch(() => undefined);
  }, opts.heartbeatMs ?? 30_000);
  beat.unref();

  return {
    tookOverFrom,
    release: async () => {
      clearInterval(beat);
      await db('locks').where({ name: LOCK, run_id: who.runId }).delete();
    },
  };
}

export async function currentLock(staging: Staging): Promise<LockHolder | undefined> {
  return toHolder(await staging.db('locks').where({ name: LOCK }).first());
}

function toHolder(r: Record<string, unknown> | undefined): LockHolder | undefined {
  if (!r) return undefined;
  return {
    runId: String(r.run_id),
    pid: Number(r.pid),
    host: String(r.host),
    command: String(r.command),
    startedAt: String(r.started_at),
    heartbeatAt: String(r.heartbeat_at),
  };
}
