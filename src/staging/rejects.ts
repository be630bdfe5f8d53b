import type { Knex } from 'knex';
import { redact } from '../config/secrets.js';
import { nowIso, type Staging } from './db.js';

/**
 * Rejected records are kept, never dropped: `invalid` when we refused them before sending (missing
 * key, wrong type, an unreadable CSV row), `rejected` when the destination refused them.
 */
export interface Reject {
  runId: string;
  step: 'extract' | 'model' | 'match' | 'push' | 'serve';
  source: string;
  recordKey?: string;
  location?: string;
  kind: 'invalid' | 'rejected';
  code?: string;
  reason: string;
  httpStatus?: number;
  record?: unknown;
}

export function rejectRow(r: Reject): Record<string, unknown> {
  return {
    run_id: r.runId,
    step: r.step,
    source: r.source,
    record_key: r.recordKey ?? null,
    location: r.location ?? null,
    kind: r.kind,
    code: r.code ?? null,
    reason: redact(r.reason),
    http_status: r.httpStatus ?? null,
    record: r.record === undefined ? null : typeof r.record === 'string' ? r.record : JSON.stringify(r.record),
    created_at: nowIso(),
  };
}

export async function recordRejects(db: Staging | Knex, rejects: Reject[]): Promise<void> {
  if (rejects.length === 0) return;
  const k = 'db' in db ? db.db : db;
  // Chunked: SQLite caps bound parameters per statement.
  for (let i = 0; i < rejects.length; i += 50) await k('rejects').insert(rejects.slice(i, i + 50).map(rejectRow));
}
