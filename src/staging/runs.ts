import crypto from 'node:crypto';
import os from 'node:os';
import { redact, redactDeep } from '../config/secrets.js';
import { nowIso, type Staging } from './db.js';

/**
 * The run log: one `runs` row per command, `run_events` for what happened inside it. Everything
 * stored here passes through redaction first: the run log is read by people who may not see secrets.
 */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'rejected';

export interface RunRecord {
  id: string;
  command: string;
  args: unknown;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  exitCode: number | null;
  counts: Record<string, unknown>;
  error: string | null;
  pid: number | null;
  host: string | null;
}

export function newRunId(): string {
  // Sortable by time, unique across hosts.
  return `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${crypto.randomBytes(4).toString('hex')}`;
}

export class RunLog {
  readonly counts: Record<string, unknown> = {};
  private constructor(
    private staging: Staging,
    readonly id: string,
    readonly command: string,
  ) {}

  static async start(staging: Staging, command: string, args: unknown, id = newRunId()): Promise<RunLog> {
    await staging.db('runs').insert({
      id,
      command,
      args: JSON.stringify(redactDeep(args ?? {})),
      started_at: nowIso(),
      status: 'running',
      pid: process.pid,
      host: os.hostname(),
    });
    return new RunLog(staging, id, command);
  }

  async event(level: 'info' | 'warn' | 'error', message: string, data?: unknown, step?: string): Promise<void> {
    await this.staging.db('run_events').insert({
      run_id: this.id,
      at: nowIso(),
      level,
      step: step ?? null,
      message: redact(message),
      data: data === undefined ? null : JSON.stringify(redactDeep(data)),
    });
  }

  /** Merge counts (per step) into the run's totals; saved at finish and on every call so a crash keeps them. */
  async count(step: string, counts: Record<string, unknown>): Promise<void> {
    this.counts[step] = { ...((this.counts[step] as object) ?? {}), ...counts };
    await this.staging.db('runs').where({ id: this.id }).update({ counts: JSON.stringify(redactDeep(this.counts)) });
  }

  async finish(status: RunStatus, exitCode: number, error?: string): Promise<void> {
    await this.staging.db('runs').where({ id: this.id }).update({
      ended_at: nowIso(),
      status,
      exit_code: exitCode,
      counts: JSON.stringify(redactDeep(this.counts)),
      error: error ? redact(error) : null,
    });
  }
}

export async function listRuns(staging: Staging, limit = 20): Promise<RunRecord[]> {
  const rows = await staging.db('runs').select('*').orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit);
  return rows.map(toRecord);
}

export async function getRun(staging: Staging, id: string): Promise<{ run: RunRecord; events: Array<{ at: string; level: string; step: string | null; message: string; data: unknown }> } | undefined> {
  const row = await staging.db('runs').where({ id }).first();
  if (!row) return undefined;
  const events = await staging.db('run_events').where({ run_id: id }).orderBy('id');
  return {
    run: toRecord(row),
    events: events.map((e) => ({ at: e.at, level: e.level, step: e.step, message: e.message, data: e.data ? JSON.parse(e.data) : undefined })),
  };
}

function toRecord(r: Record<string, unknown>): RunRecord {
  return {
    id: String(r.id),
    command: String(r.command),
    args: JSON.parse(String(r.args ?? '{}')),
    startedAt: String(r.started_at),
    endedAt: (r.ended_at as string) ?? null,
    status: r.status as RunStatus,
    exitCode: r.exit_code === null || r.exit_code === undefined ? null : Number(r.exit_code),
    counts: r.counts ? JSON.parse(String(r.counts)) : {},
    error: (r.error as string) ?? null,
    pid: r.pid === null || r.pid === undefined ? null : Number(r.pid),
    host: (r.host as string) ?? null,
  };
}
