import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/**
 * The real CLI (bin/partnersync.js over dist/, built once by test/global-setup.ts) for the extract
 * tests that kill it mid-run, and read access to the SQLite staging it leaves behind.
 */
export const bin = path.join(fileURLToPath(new URL('../../', import.meta.url)), 'bin', 'partnersync.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** Spawn `partnersync <args>` in `cwd` (CI=1: no spinners); `done` settles when it exits, however it exits. */
export function cli(cwd: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Exit> } {
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1', ...env } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, ms: Date.now() - started })));
  return { child, done };
}

/** Rows of a query on a staging file, opened read-only (the CLI may be writing it). */
export function query<T = Record<string, unknown>>(dbFile: string, sql: string): T[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
