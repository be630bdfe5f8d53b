import { AuthError, InterruptedError, PartnersyncError, RetriableError } from '../errors.js';
import { redact } from '../config/secrets.js';
import { backoffDelay, isNetworkError, sleep } from '../connectors/shared/http.js';
import type { Destination, RateGate, WriteBatch, WriteOperation, WriteResult } from '../connectors/types.js';
import type { Staging } from '../staging/db.js';
import { commitBatch, loadLedger, markCheckpoint, type LedgerUpdate } from './ledger.js';
import { batchSizeFor, type Plan, type PlannedOp } from './plan.js';

/**
 * The effectful half of push: execute a Plan against a Destination. Batches of at most what the
 * destination accepts; one shared rate gate; 429s wait (never failures); 5xx and network errors
 * back off with a cap; a batch the destination refuses as a whole is bisected until the bad
 * records are isolated; every batch's per-record results are committed to the ledger together
 * with the checkpoint, so an interrupted push resumes without resending what was confirmed.
 */

export interface RetrySettings {
  /** Retries of one batch after 5xx/network errors before the push stops (default 6). */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** 429 waits in a row before giving up on the destination (default 50). */
  maxRateLimitWaits?: number;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface ApplyOptions {
  destination: Destination;
  staging: Staging;
  runId: string;
  gate: RateGate;
  signal?: AbortSignal;
  retry?: RetrySettings;
  /** Target's batch size (capped by the destination's maxBatch). */
  batchSize?: number;
  /** Write calls in flight (default: the destination's `capabilities.concurrency`, else 1). */
  concurrency?: number;
  onProgress?: (p: { done: number; total: number; rejected: number }) => void;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface PushReject {
  kind: 'invalid' | 'rejected';
  key?: string;
  op?: string;
  code: string;
  message: string;
  httpStatus?: number;
  field?: string;
  record?: unknown;
}

export interface PushCounts {
  considered: number;
  unchanged: number;
  sent: number;
  invalid: number;
  rejected: number;
  skipped: number;
  created: number;
  updated: number;
  deleted: number;
  archived: number;
  cleared: number;
}

export interface ApplyResult {
  counts: PushCounts;
  rejects: PushReject[];
  writeCalls: number;
  /** 429 answers waited out (not failures). */
  rateLimited: number;
  /** Batches resent after 5xx/network errors. */
  retries: number;
  /** Ops of a saved plan that the ledger shows were already delivered (counted as unchanged). */
  alreadyApplied: number;
}

type Outcome =
  | { op: PlannedOp; kind: 'ok'; result: Extract<WriteResult, { ok: true }> }
  | { op: PlannedOp; kind: 'skipped'; reason: string }
  | { op: PlannedOp; kind: 'rejected'; code: string; message: string; httpStatus?: number };

/** Thrown when the destination stays unavailable; nothing unconfirmed is marked delivered. */
export class DestinationUnavailableError extends PartnersyncError {
  constructor(message: string, cause: unknown, readonly partial: ApplyResult) {
    super(message, { code: 'DESTINATION_UNAVAILABLE', cause, hint: 'Nothing is lost: re-run the push later; records already confirmed are not resent.' });
  }
}

const OP_ORDER: WriteOperation[] = ['create', 'upsert', 'update', 'archive', 'delete'];

export async function applyPlan(plan: Plan, opts: ApplyOptions): Promise<ApplyResult> {
  const { destination, staging, runId, gate, signal } = opts;
  const caps = destination.capabilities;
  const retry = { maxRetries: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxRateLimitWaits: 50, ...opts.retry };
  const wait = retry.sleep ?? sleep;
  const log = opts.log ?? (() => undefined);

  const res: ApplyResult = {
    counts: {
      considered: plan.counts.considered,
      unchanged: plan.counts.unchanged,
      sent: 0,
      invalid: plan.counts.invalid,
      rejected: 0,
      skipped: plan.counts.skipped,
      created: 0,
      updated: 0,
      deleted: 0,
      archived: 0,
      cleared: 0,
    },
    rejects: plan.invalid.map((i) => ({ kind: 'invalid' as const, key: i.key, code: i.code, message: i.reason, field: i.field, record: i.record })),
    writeCalls: 0,
    rateLimited: 0,
    retries: 0,
    alreadyApplied: 0,
  };

  // Resuming a saved plan (or re-applying it): skip what the ledger shows is already delivered.
  const ledger = plan.ops.length ? await loadLedger(staging, plan.target, plan.ops.map((o) => o.key)) : new Map();
  // A full resync resends rows the ledger already holds with the same hash, so only what runs of
  // this very plan delivered counts as done; otherwise `--full-resync` after a clean push sent nothing.
  let deliveredByPlan: Set<string> | undefined;
  if (plan.fullResync && plan.ops.length) {
    const runs = staging.db('push_checkpoints').where({ target: plan.target, plan_id: plan.id }).select('run_id');
    deliveredByPlan = new Set((await staging.db('sync_ledger').where({ target: plan.target }).whereIn('run_id', runs).select('key')).map((r: { key: unknown }) => String(r.key)));
  }
  const todo = plan.ops.filter((op) => {
    const e = ledger.get(op.key);
    const done = op.hash === null ? e === undefined : e?.status === 'ok' && e.sentHash === op.hash && (deliveredByPlan?.has(op.key) ?? true);
    if (done) res.alreadyApplied += 1;
    return !done;
  });
  res.counts.unchanged += res.alreadyApplied;
  await markCheckpoint(staging, { target: plan.target, runId, planId: plan.id, planned: todo.length, confirmed: 0, rejected: 0 });

  // Group by operation, then cut into batches.
  const batches: PlannedOp[][] = [];
  for (const operation of OP_ORDER) {
    const group = todo.filter((o) => o.operation === operation);
    if (group.length === 0) continue;
    const size = batchSizeFor(caps, { batchSize: opts.batchSize }, group.length);
    for (let i = 0; i < group.length; i += size) batches.push(group.slice(i, i + size));
  }

  let done = 0;
  const total = todo.length;
  const concurrency = Math.max(1, opts.concurrency ?? caps.concurrency ?? 1);

  /**
   * One write call, with rate limiting and retries; returns results or throws a non-retriable error.
   * `resent` is true when an earlier attempt failed in a way that may have reached the destination
   * (5xx, reset): a create answered DUPLICATE then is our own first attempt that landed.
   */
  const writeOnce = async (ops: PlannedOp[]): Promise<{ results: WriteResult[]; resent: boolean }> => {
    const batch: WriteBatch = {
      object: plan.object,
      operation: ops[0]!.operation,
      keyField: plan.keyField,
      records: ops.map((o) => ({ key: o.key, ...(o.destinationId ? { destinationId: o.destinationId } : {}), fields: o.fields })),
      ...(Object.keys(plan.fieldModes).length ? { fieldModes: plan.fieldModes } : {}),
    };
    let failures = 0;
    let throttled = 0;
    for (;;) {
      await gate.take(undefined, signal);
      try {
        res.writeCalls += 1;
        // The signal is not passed on: a batch in flight finishes, so its outcome is known.
        return { results: await destination.write(batch), resent: failures > 0 };
      } catch (err) {
        const retriable = err instanceof RetriableError ? err : isNetworkError(err) ? new RetriableError(String((err as Error).message), { cause: err }) : undefined;
        if (!retriable) throw err;
        if (retriable.status === 429) {
          throttled += 1;
          res.rateLimited += 1;
          if (throttled > retry.maxRateLimitWaits) throw new DestinationUnavailableError(`${plan.target}: still rate limited after ${throttled} waits: ${redact(retriable.message)}`, err, res);
          gate.pause(retriable.retryAfterMs ?? backoffDelay(throttled, { ...retry, maxRetries: 0 }, 1000));
          continue;
        }
        failures += 1;
        if (failures > retry.maxRetries) {
          throw new DestinationUnavailableError(`${plan.target}: the destination kept failing (${failures} attempts): ${redact(retriable.message)}`, err, res);
        }
        res.retries += 1;
        const delay = backoffDelay(failures - 1, { ...retry, maxRetries: retry.maxRetries }, Math.min(retriable.retryAfterMs ?? 0, retry.maxDelayMs));
        log('warn', `${plan.target}: ${redact(retriable.message)}; retrying in ${delay} ms (attempt ${failures + 1})`);
        await wait(delay, signal);
      }
    }
  };

  /**
   * Send `ops`, isolating bad records: a batch refused as a whole is split in halves until each
   * failure is a single record, which is then rejected with the destination's reason.
   */
  const send = async (ops: PlannedOp[], recordAttempt = 0): Promise<Outcome[]> => {
    let results: WriteResult[];
    let resent = false;
    try {
      ({ results, resent } = await writeOnce(ops));
    } catch (err) {
      if (err instanceof AuthError || err instanceof DestinationUnavailableError || err instanceof InterruptedError || signal?.aborted) throw err;
      if (ops.length > 1) {
        const mid = Math.ceil(ops.length / 2);
        return [...(await send(ops.slice(0, mid), recordAttempt)), ...(await send(ops.slice(mid), recordAttempt))];
      }
      const e = err as { code?: unknown; status?: unknown; message?: unknown };
      return [{ op: ops[0]!, kind: 'rejected', code: typeof e.code === 'string' ? e.code : 'WRITE_FAILED', message: redact(String(e.message ?? err)), ...(typeof e.status === 'number' ? { httpStatus: e.status } : {}) }];
    }
    const byKey = new Map(results.map((r) => [r.key, r]));
    const outcomes: Outcome[] = [];
    const again: PlannedOp[] = [];
    for (const op of ops) {
      const r = byKey.get(op.key);
      if (!r) {
        outcomes.push({ op, kind: 'rejected', code: 'NO_RESULT', message: 'the destination returned no result for this record' });
      } else if (r.ok) {
        outcomes.push({ op, kind: 'ok', result: r });
      } else if (r.retriable && recordAttempt < retry.maxRetries) {
        again.push(op);
      } else {
        outcomes.push(classifyFailure(op, r, resent));
      }
    }
    if (again.length > 0) {
      res.retries += 1;
      await wait(backoffDelay(recordAttempt, { ...retry, maxRetries: retry.maxRetries }), signal);
      outcomes.push(...(await send(again, recordAttempt + 1)));
    }
    return outcomes;
  };

  const runBatch = async (ops: PlannedOp[]): Promise<void> => {
    // Record the intent of a create before sending it: if the confirmation is lost, the next run
    // knows this create is in doubt and resends it idempotently instead of creating a duplicate.
    const creates = ops.filter((o) => o.operation === 'create');
    if (creates.length > 0) {
      await commitBatch(staging, creates.map((o) => ({ kind: 'pending', key: o.key, op: 'create' })), plan.object, runId, { target: plan.target, runId, planId: plan.id, planned: total, confirmed: 0, rejected: 0 });
    }
    const outcomes = await send(ops);
    const updates: LedgerUpdate[] = [];
    let confirmed = 0;
    let rejected = 0;
    for (const o of outcomes) {
      if (o.kind === 'ok') {
        confirmed += 1;
        res.counts.sent += 1;
        const a = o.op.action;
        if (a === 'delete' || a === 'archive' || a === 'clear') {
          res.counts[a === 'delete' ? 'deleted' : a === 'archive' ? 'archived' : 'cleared'] += 1;
          updates.push({ kind: 'removed', key: o.op.key });
        } else {
          res.counts[o.result.created === true || (o.result.created === undefined && a === 'create') ? 'created' : 'updated'] += 1;
          updates.push({
            kind: 'ok',
            key: o.op.key,
            op: o.op.operation,
            hash: o.op.hash!,
            fields: o.op.ledgerFields ?? o.op.fields,
            ...(o.result.destinationId ? { destinationId: o.result.destinationId } : {}),
            owned: o.result.created === true || o.op.operation === 'create' || o.op.owned === true,
          });
        }
      } else if (o.kind === 'skipped') {
        res.counts.skipped += 1;
        // A create-only create that found the record there: drop our in-doubt marker, keep nothing.
        if (o.op.operation === 'create') updates.push({ kind: 'removed', key: o.op.key });
      } else {
        rejected += 1;
        res.counts.rejected += 1;
        res.rejects.push({ kind: 'rejected', key: o.op.key, op: o.op.operation, code: o.code, message: o.message, ...(o.httpStatus !== undefined ? { httpStatus: o.httpStatus } : {}), record: o.op.fields });
        updates.push({ kind: 'rejected', key: o.op.key, op: o.op.operation, code: o.code, message: o.message, ...(o.httpStatus !== undefined ? { httpStatus: o.httpStatus } : {}) });
      }
    }
    await commitBatch(staging, updates, plan.object, runId, { target: plan.target, runId, planId: plan.id, planned: total, confirmed, rejected });
    done += ops.length;
    opts.onProgress?.({ done, total, rejected: res.counts.rejected });
  };

  // A small worker pool: `concurrency` batches in flight; on a signal, workers finish their batch and stop.
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < batches.length && failure === undefined && !signal?.aborted) {
      const b = batches[next++]!;
      try {
        await runBatch(b);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  if (failure !== undefined) {
    await markCheckpoint(staging, { target: plan.target, runId, planId: plan.id, planned: total, confirmed: 0, rejected: 0, status: 'failed' }).catch(() => undefined);
    if (signal?.aborted && !(failure instanceof PartnersyncError)) throw new InterruptedError(signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
    throw failure;
  }
  if (signal?.aborted && done < total) throw new InterruptedError(signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  await markCheckpoint(staging, { target: plan.target, runId, planId: plan.id, planned: total, confirmed: 0, rejected: 0, status: 'done' });
  return res;
}

function classifyFailure(op: PlannedOp, r: Extract<WriteResult, { ok: false }>, resent: boolean): Outcome {
  if (r.code === 'NOT_FOUND') {
    // Removing something already gone is done; an update-only record that does not exist is skipped.
    if (op.action === 'delete' || op.action === 'archive' || op.action === 'clear') return { op, kind: 'ok', result: { key: op.key, ok: true } };
    if (op.operation === 'update') return { op, kind: 'skipped', reason: 'not found (update-only)' };
  }
  if (r.code === 'DUPLICATE' && op.operation === 'create') {
    // Our own create whose confirmation was lost landed after all; otherwise someone else's record.
    if (op.reason === 'in-doubt' || resent) return { op, kind: 'ok', result: { key: op.key, ok: true, created: true } };
    return { op, kind: 'skipped', reason: 'exists (create-only)' };
  }
  return { op, kind: 'rejected', code: r.code, message: redact(r.message), ...(r.httpStatus !== undefined ? { httpStatus: r.httpStatus } : {}) };
}
