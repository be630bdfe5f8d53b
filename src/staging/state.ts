import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { nowIso, type Staging } from './db.js';

/**
 * Stream cursors ("state"), keyed by connection + stream + a hash of the query parameters. A source
 * reads with the state it is given and yields checkpoints; the extract loop saves a checkpoint in
 * the same transaction as the records before it, so state never runs ahead of staged data.
 */
export function paramsHash(params: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(params ?? {})).digest('hex').slice(0, 32);
}

export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

export interface StateKey {
  connection: string;
  stream: string;
  params?: unknown;
}

export async function getState<T = unknown>(db: Staging | Knex, key: StateKey): Promise<T | undefined> {
  const k = 'db' in db ? db.db : db;
  const row = await k('sync_state').where({ connection: key.connection, stream: key.stream, params_hash: paramsHash(key.params) }).first();
  return row ? (JSON.parse(row.state) as T) : undefined;
}

/** Save state; pass a transaction so it commits together with the records it covers. */
export async function putState(db: Staging | Knex, key: StateKey, state: unknown, runId?: string): Promise<void> {
  const k = 'db' in db ? db.db : db;
  await k('sync_state')
    .insert({ connection: key.connection, stream: key.stream, params_hash: paramsHash(key.params), state: JSON.stringify(state), updated_at: nowIso(), run_id: runId ?? null })
    .onConflict(['connection', 'stream', 'params_hash'])
    .merge(['state', 'updated_at', 'run_id']);
}

/** Forget a stream's state for every parameter set (`--full-refresh`, `state reset`). Returns rows removed. */
export async function resetState(db: Staging | Knex, connection: string, stream?: string): Promise<number> {
  const k = 'db' in db ? db.db : db;
  const q = k('sync_state').where({ connection });
  if (stream) q.andWhere({ stream });
  return q.delete();
}

export async function listState(db: Staging | Knex): Promise<Array<{ connection: string; stream: string; params_hash: string; state: unknown; updated_at: string }>> {
  const k = 'db' in db ? db.db : db;
  const rows = await k('sync_state').select('*').orderBy(['connection', 'stream']);
  return rows.map((r) => ({ ...r, state: JSON.parse(r.state) }));
}
