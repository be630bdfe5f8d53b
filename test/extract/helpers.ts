import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { CommandContext } from '../../src/commands/context.js';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { RunLog } from '../../src/staging/runs.js';
import type { Output, Progress } from '../../src/ui/output.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function tmpDir(prefix = 'ps-extract-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface StagingCase {
  name: 'sqlite' | 'postgres';
  open(): Promise<Staging>;
  /** URL for a partnersync.yaml / the CLI. */
  url: string;
  cleanup(): Promise<void>;
}

let seq = 0;
/** A fresh staging database: a SQLite temp file, or a Postgres schema unique to this test file. */
export function stagingCase(kind: 'sqlite' | 'postgres', tag: string): StagingCase {
  if (kind === 'sqlite') {
    const dir = tmpDir();
    const url = `sqlite:${path.join(dir, `staging-${seq++}.db`)}`;
    return { name: kind, url, open: () => openStaging(url), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `t_extract_${tag}_${process.pid}_${seq++}`;
  const url = `${PG_URL}?schema=${schema}`;
  return {
    name: kind,
    url,
    open: () => openStaging(url),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export async function startRun(staging: Staging): Promise<RunLog> {
  return RunLog.start(staging, 'extract', {});
}

/** An Output that records what the command printed. */
export function recordingOutput(): Output & { results: unknown[]; lines: string[] } {
  const results: unknown[] = [];
  const lines: string[] = [];
  const progress = (): Progress => ({ update: () => undefined, succeed: (t) => lines.push(`ok ${t ?? ''}`), fail: (t) => lines.push(`fail ${t ?? ''}`) });
  return {
    json: true, tty: false, color: false, results, lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
    progress,
    result: (d) => results.push(d),
  };
}

export function commandContext(cwd: string, signal = new AbortController().signal, globals: CommandContext['globals'] = {}): CommandContext & { out: ReturnType<typeof recordingOutput> } {
  return { out: recordingOutput(), cwd, env: {}, globals, signal };
}

export async function rawRows(staging: Staging, table: string): Promise<Array<Record<string, unknown>>> {
  return staging.db(table).select('*').orderBy('_key');
}
