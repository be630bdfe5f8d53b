import type { Knex } from 'knex';
import { redact } from '../config/secrets.js';
import { nowIso, type Staging } from '../staging/db.js';
import type { LedgerEntry } from './plan.js';

/**
 * The sync ledger in staging (`sync_ledger`, migration 030): read whole per target for planning,
 * written per batch in one transaction together with the push checkpoint, so what the ledger says
 * was delivered is exactly what the destination confirmed.
 */

// SQLite caps bound parameters per statement; 14 columns × 200 rows stays far below it.
const CHUNK = 200;

export async function loadLedger(staging: Staging | Knex, target: string, keys?: string[]): Promise<Map<string, LedgerEntry>> {
  const k = 'db' in staging ? staging.db : staging;
  const cols = ['key', 'destination_id', 'sent_hash', 'sent_fields', 'status', 'owned', 'pending_op', 'attempts', 'last_error_code', 'last_error'];
  let rows: Array<Record<string, unknown>>;
  if (keys) {
    rows = [];
    for (let i = 0; i < keys.length; i += 500) rows.push(...(await k('sync_ledger').where({ target }).whereIn('key', keys.slice(i, i + 500)).select(cols)));
  } else {
    rows = await k('sync_ledger').where({ target }).select(cols);
  }
  const out = new Map<string, LedgerEntry>();
  for (const r of rows) {
    const entry: LedgerEntry = {
      key: String(r.key),
      ...(r.destination_id ? { destinationId: String(r.destination_id) } : {}),
      ...(r.sent_hash ? { sentHash: String(r.sent_hash) } : {}),
      status: r.status as LedgerEntry['status'],
      owned: Boolean(r.owned),
      ...(r.pending_op ? { pendingOp: String(r.pending_op) } : {}),
      attempts: Number(r.attempts ?? 0),
      ...(r.last_error_code ? { lastErrorCode: String(r.last_error_code) } : {}),
      ...(r.last_error ? { lastError: String(r.last_error) } : {}),
    };
    // Parsed on first use: a no-change run over 100k records reads only the hashes.
    if (r.sent_fields) {
      const raw = String(r.sent_fields);
      let parsed: Record<string, unknown> | undefined;
      Object.defineProperty(entry, 'sentFields', { enumerable: true, get: () => (parsed ??= JSON.parse(raw) as Record<string, unknown>) });
    }
    out.set(entry.key, entry);
  }
  return out;
}

/** One change to the ledger, derived from a destination's per-record result. */
export type LedgerUpdate =
  | { kind: 'ok'; key: string; op: string; hash: string; fields: Record<string, unknown>; destinationId?: string; owned: boolean }
  | { kind: 'removed'; key: string }
  | { kind: 'rejected'; key: string; op: string; code: string; message: string; httpStatus?: number }
  | { kind: 'pending'; key: string; op: string };

export interface CheckpointDelta {
  target: string;
  runId: string;
  planId: string;
  planned: number;
  confirmed: number;
  rejected: number;
  status?: 'running' | 'done' | 'failed';
}

/**
 * Apply ledger changes and advance the checkpoint in ONE transaction: after a crash the ledger and
 * the checkpoint agree, and both say no more than the destination confirmed.
 */
export async function commitBatch(staging: Staging, updates: LedgerUpdate[], object: string, runId: string, checkpoint?: CheckpointDelta): Promise<void> {
  await staging.db.transaction(async (trx) => {
    const now = nowIso();
    const keys = updates.map((u) => u.key);
    const existing = new Map<string, { attempts: number; owned: boolean; destination_id: string | null; sent_hash: string | null; sent_fields: string | null }>();
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await trx('sync_ledger')
        .where({ target: checkpoint?.target ?? '' })
        .whereIn('key', keys.slice(i, i + 500))
        .select('key', 'attempts', 'owned', 'destination_id', 'sent_hash', 'sent_fields');
      for (const r of rows) existing.set(String(r.key), { attempts: Number(r.attempts ?? 0), owned: Boolean(r.owned), destination_id: r.destination_id, sent_hash: r.sent_hash, sent_fields: r.sent_fields });
    }
    const target = checkpoint?.target ?? '';
    const removed = updates.filter((u) => u.kind === 'removed').map((u) => u.key);
    for (let i = 0; i < removed.length; i += 500) await trx('sync_ledger').where({ target }).whereIn('key', removed.slice(i, i + 500)).delete();
    const upserts = updates
      .filter((u) => u.kind !== 'removed')
      .map((u) => {
        const prev = existing.get(u.key);
        const base = { target, key: u.key, object, run_id: runId, updated_at: now };
        if (u.kind === 'ok') {
          return {
            ...base,
            destination_id: u.destinationId ?? prev?.destination_id ?? null,
            sent_hash: u.hash,
            sent_fields: JSON.stringify(u.fields),
            status: 'ok',
            last_op: u.op,
            attempts: 0,
            last_error_code: null,
            last_error: null,
            http_status: null,
            owned: u.owned || Boolean(prev?.owned),
            pending_op: null,
          };
        }
        if (u.kind === 'pending') {
          return {
            ...base,
            destination_id: prev?.destination_id ?? null,
            sent_hash: prev?.sent_hash ?? null,
            sent_fields: prev?.sent_fields ?? null,
            status: 'pending',
            last_op: u.op,
            attempts: prev?.attempts ?? 0,
            last_error_code: null,
            last_error: null,
            http_status: null,
            owned: Boolean(prev?.owned),
            pending_op: u.op,
          };
        }
        // Rejected: keep what was last delivered (sent_hash) so the next plan still shows before/after;
        // the status alone makes the next run retry it even if the row did not change.
        return {
          ...base,
          destination_id: prev?.destination_id ?? null,
          sent_hash: prev?.sent_hash ?? null,
          sent_fields: prev?.sent_fields ?? null,
          status: 'rejected',
          last_op: u.op,
          attempts: (prev?.attempts ?? 0) + 1,
          last_error_code: u.code.slice(0, 80),
          last_error: redact(u.message).slice(0, 2000),
          http_status: u.httpStatus ?? null,
          owned: Boolean(prev?.owned),
          pending_op: null,
        };
      });
    for (let i = 0; i < upserts.length; i += CHUNK) {
      const chunk = upserts.slice(i, i + CHUNK);
      await trx('sync_ledger')
        .insert(chunk)
        .onConflict(['target', 'key'])
        .merge(Object.keys(chunk[0]!).filter((c) => c !== 'target' && c !== 'key'));
    }
    if (checkpoint) await advanceCheckpoint(trx, checkpoint);
  });
}

async function advanceCheckpoint(trx: Knex.Transaction, c: CheckpointDelta): Promise<void> {
  const now = nowIso();
  const row = await trx('push_checkpoints').where({ target: c.target, run_id: c.runId }).first();
  if (!row) {
    await trx('push_checkpoints').insert({
      target: c.target,
      run_id: c.runId,
      plan_id: c.planId,
      planned: c.planned,
      confirmed: c.confirmed,
      rejected: c.rejected,
      batches: c.confirmed + c.rejected > 0 ? 1 : 0,
      status: c.status ?? 'running',
      updated_at: now,
    });
    return;
  }
  await trx('push_checkpoints')
    .where({ target: c.target, run_id: c.runId })
    .update({
      confirmed: Number(row.confirmed) + c.confirmed,
      rejected: Number(row.rejected) + c.rejected,
      batches: Number(row.batches) + (c.confirmed + c.rejected > 0 ? 1 : 0),
      status: c.status ?? row.status,
      updated_at: now,
    });
}

/** Start (or finish) the checkpoint row of a target in this run without ledger changes. */
export async function markCheckpoint(staging: Staging, c: CheckpointDelta): Promise<void> {
  await staging.db.transaction((trx) => advanceCheckpoint(trx, c));
}
