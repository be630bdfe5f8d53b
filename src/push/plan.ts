import crypto from 'node:crypto';
import type { DestinationCapabilities, WriteOperation } from '../connectors/types.js';
import { stableStringify } from '../staging/state.js';
import type { PushMode, ResolvedTarget } from './config.js';
import { InvalidValue, keyOf, mapFields, type Row } from './values.js';

/**
 * The pure half of push: rows of the model + the sync ledger + the target → a Plan saying exactly
 * what to send. No I/O, no clock (the caller passes `now`), so a plan can be printed, saved,
 * reviewed and later executed by `applyPlan` as it is.
 */

/** What partnersync remembers of one record it pushed (a `sync_ledger` row). */
export interface LedgerEntry {
  key: string;
  destinationId?: string;
  /** Hash of the mapped fields last delivered successfully; undefined when nothing was delivered yet. */
  sentHash?: string;
  sentFields?: Record<string, unknown>;
  status: 'ok' | 'rejected' | 'pending';
  /** partnersync created the record: mirror may delete it. */
  owned: boolean;
  /** A create whose outcome is unknown (sent, confirmation lost). */
  pendingOp?: string;
  attempts: number;
  lastErrorCode?: string;
  lastError?: string;
}

export type PlanAction = 'create' | 'update' | 'delete' | 'archive' | 'clear';
export type PlanReason = 'new' | 'changed' | 'retry-rejected' | 'in-doubt' | 'full-resync' | 'removed';

export interface PlannedOp {
  key: string;
  /** What happens, for people. */
  action: PlanAction;
  /** What the destination is asked to do. */
  operation: WriteOperation;
  fields: Record<string, unknown>;
  /** Hash of the full mapped fields, recorded in the ledger once confirmed; null for removals. */
  hash: string | null;
  /** Full mapped fields (before leaving out protected ones), kept in the ledger for before/after. */
  ledgerFields?: Record<string, unknown>;
  destinationId?: string;
  reason: PlanReason;
  /** Ownership known before sending (removals, and records the ledger says partnersync created). */
  owned?: boolean;
}

export interface PlanInvalid {
  key?: string;
  /** 0-based position of the row in the model. */
  row: number;
  code: string;
  reason: string;
  field?: string;
  record: Row;
}

export interface PlanSkipped {
  key: string;
  reason: string;
}

export interface PlanCounts {
  /** Model rows plus records that left the model (removal candidates in mirror/archive modes). */
  considered: number;
  create: number;
  update: number;
  delete: number;
  archive: number;
  clear: number;
  unchanged: number;
  invalid: number;
  skipped: number;
}

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

export interface Plan {
  version: 1;
  id: string;
  target: string;
  connection: string;
  connectionType: string;
  object: string;
  keyField: string;
  mode: PushMode;
  configHash: string;
  createdAt: string;
  fullResync: boolean;
  fieldModes: Record<string, 'ifEmpty' | 'onCreate'>;
  counts: PlanCounts;
  ops: PlannedOp[];
  invalid: PlanInvalid[];
  skipped: PlanSkipped[];
  /** Field-level before/after (before = what partnersync last sent) for the first ops. */
  samples: Array<{ key: string; action: PlanAction; changes: FieldChange[] }>;
  predictedCalls: { total: number; byOperation: Partial<Record<WriteOperation, number>>; batchSize: number };
  /** Mirror/archive safety: share of the records partnersync wrote that this plan would remove. */
  removal: { count: number; base: number; share: number; limit: number; exceeded: boolean };
  /** Destination fields that do not exist (dry run without --create-missing-fields). */
  missingFields?: string[];
}

export interface PlanInput {
  rows: Row[];
  ledger: ReadonlyMap<string, LedgerEntry>;
  target: ResolvedTarget;
  capabilities: DestinationCapabilities;
  connectionType: string;
  configHash: string;
  /** ISO time of planning (the planner never reads the clock). */
  now: string;
  fullResync?: boolean;
  /** How many ops get field-level before/after (default 10). */
  sampleSize?: number;
}

export function fieldsHash(fields: Record<string, unknown>): string {
  return crypto.createHash('sha256').update(stableStringify(fields)).digest('hex').slice(0, 32);
}

/** Records per write call for an operation with `count` records to send. */
export function batchSizeFor(caps: DestinationCapabilities, target: Pick<ResolvedTarget, 'batchSize'>, count: number): number {
  if (caps.bulk && count > caps.bulk.threshold) return Math.max(1, caps.bulk.maxBatch);
  return Math.max(1, Math.min(target.batchSize ?? caps.maxBatch, caps.maxBatch));
}

/**
 * Plan a push. Every considered item lands in exactly one bucket:
 * considered = create + update + delete + archive + clear + unchanged + invalid + skipped.
 *
 * @example
 *   const plan = planPush({ rows, ledger, target, capabilities: dest.capabilities, connectionType: 'hubspot',
 *     configHash: targetConfigHash(target, 'hubspot'), now: new Date().toISOString() });
 *   plan.counts; // { considered: 3, create: 1, update: 1, unchanged: 1, … }
 */
export function planPush(input: PlanInput): Plan {
  const { rows, ledger, target, capabilities: caps } = input;
  const fullResync = Boolean(input.fullResync);
  const ops: PlannedOp[] = [];
  const invalid: PlanInvalid[] = [];
  const skipped: PlanSkipped[] = [];
  let unchanged = 0;
  const seen = new Set<string>();
  const fieldModes: Record<string, 'ifEmpty' | 'onCreate'> = {};
  for (const f of target.fields) {
    if (f.protected) fieldModes[f.destination] = 'onCreate';
    else if (f.onlyIfEmpty) fieldModes[f.destination] = 'ifEmpty';
  }
  const supports = (op: WriteOperation) => caps.operations.includes(op);

  rows.forEach((row, i) => {
    let key: string | undefined;
    try {
      key = keyOf(row, target.key.source);
      if (seen.has(key)) throw new InvalidValue('DUPLICATE_KEY', `key "${key}" appears more than once in the model; only its first row is pushed`, target.key.source);
      seen.add(key);
      const fields = mapFields(row, target.fields);
      const hash = fieldsHash(fields);
      const entry = fullResync ? undefined : ledger.get(key);
      const delivered = entry?.sentHash !== undefined;
      if (entry && entry.status === 'ok' && entry.sentHash === hash) {
        unchanged += 1;
        return;
      }
      const reason: PlanReason = fullResync ? 'full-resync' : entry?.status === 'pending' ? 'in-doubt' : entry?.status === 'rejected' ? 'retry-rejected' : delivered ? 'changed' : 'new';
      if (target.mode === 'create-only') {
        if (delivered && entry?.status !== 'pending') {
          skipped.push({ key, reason: 'exists; create-only never updates' });
          return;
        }
        // A create in doubt is resent as an upsert where the destination can (same key, same record).
        const operation: WriteOperation = reason === 'in-doubt' && supports('upsert') ? 'upsert' : 'create';
        ops.push({ key, action: 'create', operation, fields, hash, reason, ...(entry?.owned || reason === 'in-doubt' ? { owned: true } : {}) });
        return;
      }
      const sendFields = delivered ? fieldsForExisting(fields, entry!.sentFields, fieldModes) : fields;
      ops.push({
        key,
        action: delivered ? 'update' : 'create',
        operation: target.mode === 'update-only' ? 'update' : 'upsert',
        fields: sendFields,
        hash,
        ...(sendFields !== fields ? { ledgerFields: fields } : {}),
        ...(entry?.destinationId ? { destinationId: entry.destinationId } : {}),
        ...(entry?.owned ? { owned: true } : {}),
        reason,
      });
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      if (key !== undefined) seen.add(key);
      invalid.push({ ...(key !== undefined ? { key } : {}), row: i, code: err.code, reason: err.message, ...(err.field ? { field: err.field } : {}), record: row });
    }
  });

  // Records that left the model: mirror removes what partnersync created and clears the fields it
  // wrote on records it did not create; archive does the same with archive instead of delete.
  let base = 0;
  const removals: PlannedOp[] = [];
  if (target.mode === 'mirror' || target.mode === 'archive') {
    for (const entry of ledger.values()) {
      if (entry.sentHash === undefined) continue;
      base += 1;
      if (seen.has(entry.key)) continue;
      const common = { key: entry.key, hash: null, reason: 'removed' as const, ...(entry.destinationId ? { destinationId: entry.destinationId } : {}) };
      if (entry.owned) {
        const action = target.mode === 'mirror' ? 'delete' : 'archive';
        removals.push({ ...common, action, operation: action, fields: {}, owned: true });
      } else {
        const cleared = Object.fromEntries(Object.keys(entry.sentFields ?? {}).filter((f) => fieldModes[f] !== 'onCreate').map((f) => [f, null]));
        removals.push({ ...common, action: 'clear', operation: supports('update') ? 'update' : 'upsert', fields: cleared, owned: false });
      }
    }
  }
  const share = base === 0 ? 0 : removals.length / base;
  const removal = { count: removals.length, base, share, limit: target.maxRemoveShare, exceeded: removals.length > 0 && share > target.maxRemoveShare };
  ops.push(...removals);

  const counts: PlanCounts = {
    considered: rows.length + removals.length,
    create: ops.filter((o) => o.action === 'create').length,
    update: ops.filter((o) => o.action === 'update').length,
    delete: ops.filter((o) => o.action === 'delete').length,
    archive: ops.filter((o) => o.action === 'archive').length,
    clear: ops.filter((o) => o.action === 'clear').length,
    unchanged,
    invalid: invalid.length,
    skipped: skipped.length,
  };

  const byOp = new Map<WriteOperation, number>();
  for (const o of ops) byOp.set(o.operation, (byOp.get(o.operation) ?? 0) + 1);
  const byOperation: Partial<Record<WriteOperation, number>> = {};
  let total = 0;
  for (const [op, n] of byOp) {
    byOperation[op] = Math.ceil(n / batchSizeFor(caps, target, n));
    total += byOperation[op]!;
  }

  const samples = ops.slice(0, input.sampleSize ?? 10).map((o) => ({
    key: o.key,
    action: o.action,
    changes: diffFields(fullResync ? undefined : ledger.get(o.key)?.sentFields, o.action === 'delete' || o.action === 'archive' ? {} : o.fields, o.action),
  }));

  const id = crypto
    .createHash('sha256')
    .update(stableStringify({ h: input.configHash, at: input.now, ops: ops.map((o) => [o.key, o.operation, o.hash]) }))
    .digest('hex')
    .slice(0, 16);

  return {
    version: 1,
    id,
    target: target.name,
    connection: target.connection,
    connectionType: input.connectionType,
    object: target.object,
    keyField: target.key.destination,
    mode: target.mode,
    configHash: input.configHash,
    createdAt: input.now,
    fullResync,
    fieldModes,
    counts,
    ops,
    invalid,
    skipped,
    samples,
    predictedCalls: { total, byOperation, batchSize: Math.max(1, Math.min(target.batchSize ?? caps.maxBatch, caps.maxBatch)) },
    removal,
  };
}

/**
 * For a record partnersync already delivered: protected fields are never sent again, and an
 * only-if-empty field that partnersync already filled is not sent again (it is not empty).
 */
function fieldsForExisting(
  fields: Record<string, unknown>,
  previous: Record<string, unknown> | undefined,
  modes: Record<string, 'ifEmpty' | 'onCreate'>,
): Record<string, unknown> {
  if (Object.keys(modes).length === 0) return fields;
  const out: Record<string, unknown> = {};
  for (const [f, v] of Object.entries(fields)) {
    if (modes[f] === 'onCreate') continue;
    if (modes[f] === 'ifEmpty' && previous?.[f] !== undefined && previous[f] !== null) continue;
    out[f] = v;
  }
  return out;
}

function diffFields(before: Record<string, unknown> | undefined, after: Record<string, unknown>, action: PlanAction): FieldChange[] {
  const b = before ?? {};
  if (action === 'delete' || action === 'archive') return Object.keys(b).map((f) => ({ field: f, before: b[f], after: null }));
  const names = [...new Set([...Object.keys(after), ...(action === 'clear' ? Object.keys(b) : [])])];
  return names
    .filter((f) => stableStringify(b[f] ?? null) !== stableStringify(after[f] ?? null))
    .map((f) => ({ field: f, before: b[f] ?? null, after: after[f] ?? null }));
}
