import crypto from 'node:crypto';
import type { ReadMessage, Source, StreamDescriptor } from '../connectors/types.js';
import { InterruptedError } from '../errors.js';
import { nowIso, type Staging } from '../staging/db.js';
import { rawColumnName, rawTableName, rawValue, recordKey } from '../staging/raw-tables.js';
import type { Reject } from '../staging/rejects.js';
import type { RunLog } from '../staging/runs.js';
import { getState, resetState, type StateKey } from '../staging/state.js';
import type { Progress } from '../ui/output.js';
import { createRawWriter, type BatchCounts, type BatchToCommit, type PreparedRow, type RawWriter } from './raw-writer.js';

/** Counts of one stream's extract; they go into the run log under `extract.<connection>.<stream>`. */
export interface StreamCounts {
  /** Records read from the source (valid ones, before dedupe within a batch). */
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  batches: number;
  /**
   * Rows rejected during a snapshot pass that completed in this run: when not 0, that pass
   * tombstoned nothing (a row that could not be read is not a row the source removed).
   */
  deletionsSkipped: number;
}

export interface StreamResult extends StreamCounts {
  connection: string;
  stream: string;
  table: string;
  /** rejected / (records + rejected); 0 when nothing was read. */
  rejectRate: number;
  fullRefresh: boolean;
  seconds: number;
}

export interface ExtractStreamOptions {
  staging: Staging;
  run: RunLog;
  /** Connection name: the raw table is `raw_<connection>__<stream>`, state is keyed by it. */
  connection: string;
  source: Source;
  stream: StreamDescriptor;
  /** Forget the stream's state and replace its rows (removal happens with the first committed batch). */
  fullRefresh?: boolean;
  since?: Date;
  signal?: AbortSignal;
  progress?: Progress;
  /**
   * Commit at the first checkpoint after this many buffered messages (default 2000). Sources choose
   * where checkpoints fall; this only groups small pages into fewer transactions.
   */
  batchSize?: number;
  /**
   * Without a checkpoint for this many messages, buffered records are written without state (safe:
   * re-reading upserts the same keys) so memory stays bounded whatever the source does.
   */
  maxBuffered?: number;
  /** Reuse one writer across streams (keeps prepared statements). */
  writer?: RawWriter;
}

/**
 * How a snapshot stream's state is saved: the source's own state and the pass it belongs to (null
 * once the pass completed, or for a pass begun before the stream was a snapshot). Saved with every
 * checkpoint, so the pass a resumed read continues is the one its rows were marked with.
 */
interface SnapshotState {
  snapshotPass: string | null;
  sourceState: unknown;
  /** Rows rejected so far in the open pass (may over-count after a resume: that only skips deletions). */
  passRejected?: number;
}

/** Batches handed to the writer and not yet committed, at most. */
const MAX_IN_FLIGHT = 2;

function isSnapshotState(v: unknown): v is SnapshotState {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'snapshotPass' in v;
}

/**
 * Read one stream from a source into `raw_<connection>__<stream>`. Messages are buffered until a
 * checkpoint; then records, tombstones, rejects and the checkpoint's state commit in one
 * transaction. On abort the loop stops at the next checkpoint boundary (after committing it) and
 * throws InterruptedError: everything before it is saved, the next run resumes there.
 *
 * A snapshot stream (StreamDescriptor.snapshot) also gets a pass id at each `snapshot-start`; its
 * batches mark their rows with it, and the batch of the `snapshotEnd` checkpoint tombstones the rows
 * the pass did not see.
 *
 * @example
 *   const r = await extractStream({ staging, run, connection: 'crm', source, stream: { name: 'accounts', primaryKey: ['id'] } });
 *   r.inserted; // rows new to staging
 */
export async function extractStream(opts: ExtractStreamOptions): Promise<StreamResult> {
  const { staging, run, connection, source, stream } = opts;
  const started = Date.now();
  const table = rawTableName(connection, stream.name);
  const stateKey: StateKey = { connection, stream: stream.name, params: stream.params };
  const writer = opts.writer ?? createRawWriter(staging);
  const batchSize = opts.batchSize ?? 2000;
  const maxBuffered = Math.max(batchSize, opts.maxBuffered ?? 20_000);
  const fullRefresh = Boolean(opts.fullRefresh);
  const sourceName = `${connection}/${stream.name}`;

  if (fullRefresh) await resetState(staging, connection, stream.name);
  const saved = fullRefresh ? undefined : await getState(staging, stateKey);
  // Unwrapped whatever the descriptor says now: a stream that stopped being a snapshot resumes too.
  const state = isSnapshotState(saved) ? saved.sourceState : saved;
  const snapshot = Boolean(stream.snapshot);
  // The open pass: the saved one until the source says a new pass starts.
  let pass: string | undefined = snapshot && isSnapshotState(saved) ? (saved.snapshotPass ?? undefined) : undefined;
  // A pass with rejected rows tombstones nothing at its end: a row we could not read this time (a
  // broken CSV line, a missing key) would otherwise be deleted from staging, not kept.
  let passRejected = pass !== undefined && isSnapshotState(saved) ? (saved.passRejected ?? 0) : 0;

  // Column names are normalised once per distinct source field, not once per row (the CSV bench
  // spends real time here otherwise).
  const names = new Map<string, string>();
  const columnOf = (k: string): string => {
    let c = names.get(k);
    if (c === undefined) names.set(k, (c = rawColumnName(k)));
    return c;
  };
  // A record's shape: its field names in order and the raw columns they map to. Records of a stream
  // nearly always share one, so a record costs two native calls (Object.keys, Object.values) and a
  // comparison with the last shape, and rows of a shape share one `cols` array.
  let lastKeys: string[] = [];
  let lastCols: readonly string[] | undefined;
  const prepare = (record: Record<string, unknown>): { cols: readonly string[]; values: (string | null)[] } => {
    const keys = Object.keys(record);
    let same = keys.length === lastKeys.length;
    for (let i = 0; same && i < keys.length; i++) same = keys[i] === lastKeys[i];
    if (!same) {
      const cols = keys.map(columnOf);
      lastKeys = keys;
      // Two fields that normalise to one column: the object path below keeps the last, as it always did.
      lastCols = new Set(cols).size === cols.length ? cols : undefined;
    }
    if (lastCols) {
      const values = Object.values(record);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v !== null && typeof v !== 'string') values[i] = rawValue(v);
      }
      return { cols: lastCols, values: values as (string | null)[] };
    }
    const row: Record<string, string | null> = {};
    for (const k of keys) row[columnOf(k)] = rawValue(record[k]);
    return { cols: Object.keys(row), values: Object.values(row) };
  };
  const counts: StreamCounts = { records: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0, batches: 0, deletionsSkipped: 0 };
  let clearPending = fullRefresh;
  let records = new Map<string, PreparedRow>();
  let deletes = new Map<string, PreparedRow>();
  let rejects: Reject[] = [];
  let buffered = 0;

  // Batches may be committing while the next is read (the SQLite writer thread or a Postgres
  // server works in parallel): up to MAX_IN_FLIGHT of them, so a batch that takes the writer longer
  // than usual does not stall the reading, nor a slow read the writer. Batches still commit in order,
  // each with its own checkpoint, so what is durable is always a prefix of the stream: the crash
  // guarantees are those of one batch at a time.
  const inFlight: Array<Promise<BatchCounts>> = [];
  /** Wait for the oldest batch in flight and count it. */
  const settle = async () => {
    const p = inFlight.shift();
    if (!p) return;
    const c = await p;
    counts.inserted += c.inserted;
    counts.updated += c.updated;
    counts.unchanged += c.unchanged;
    counts.deleted += c.deleted;
    counts.batches++;
    opts.progress?.update(`${stream.name}: ${counts.records.toLocaleString('en-US')} records, ${counts.rejected} rejected`);
  };
  const settleAll = async () => {
    while (inFlight.length > 0) await settle();
  };

  const flush = async (checkpoint: { value: unknown; end?: boolean } | undefined) => {
    if (buffered === 0 && !checkpoint && !clearPending) return;
    const end = pass !== undefined && checkpoint?.end === true;
    const complete = end && passRejected === 0;
    if (end && passRejected > 0) counts.deletionsSkipped += passRejected;
    const value = snapshot && checkpoint
      ? ({ snapshotPass: end ? null : (pass ?? null), sourceState: checkpoint.value, passRejected: end ? 0 : passRejected } satisfies SnapshotState)
      : checkpoint?.value;
    // Handed over before waiting for earlier batches (the writer keeps the order), and nothing here
    // keeps the batch afterwards: its rows are not held while earlier batches commit.
    const committing = writer.commit({
      table,
      records,
      deletes,
      rejects,
      state: checkpoint ? { key: stateKey, value } : undefined,
      clearFirst: clearPending,
      runId: run.id,
      extractedAt: nowIso(),
      snapshot: pass !== undefined ? { pass, complete } : undefined,
    } satisfies BatchToCommit);
    // Handled by settle(); without this a failure surfacing before then would count as unhandled.
    committing.catch(() => undefined);
    if (end) pass = undefined;
    clearPending = false;
    records = new Map();
    deletes = new Map();
    rejects = [];
    buffered = 0;
    inFlight.push(committing);
    while (inFlight.length > MAX_IN_FLIGHT) await settle();
  };

  const iterator = source.read(stream, { state, since: opts.since, signal: opts.signal })[Symbol.asyncIterator]();
  // The newest checkpoint whose preceding messages are all buffered: committing it with the buffer is safe.
  let checkpoint: { value: unknown; end?: boolean } | undefined;
  let stopped = false;
  try {
    for (;;) {
      let next: IteratorResult<ReadMessage>;
      try {
        next = await iterator.next();
      } catch (err) {
        if (!opts.signal?.aborted) throw err;
        // The interrupt cut a request of the source short: keep everything up to the last checkpoint.
        await flush(checkpoint);
        checkpoint = undefined;
        stopped = true;
        break;
      }
      if (next.done) break;
      const m = next.value;
      if (m.type === 'record') {
        const key = recordKey(m.record, stream.primaryKey);
        if (key === undefined) {
          rejects.push({ runId: run.id, step: 'extract', source: sourceName, kind: 'invalid', code: 'MISSING_KEY', reason: `primary key (${stream.primaryKey.join(', ')}) is empty`, record: m.record });
          counts.rejected++;
          if (pass !== undefined) passRejected++;
        } else {
          records.set(key, { key, ...prepare(m.record) });
          deletes.delete(key);
          counts.records++;
        }
        buffered++;
      } else if (m.type === 'delete') {
        const key = recordKey(m.key, stream.primaryKey);
        if (key !== undefined) {
          records.delete(key);
          deletes.set(key, { key, ...prepare(m.key) });
        }
        buffered++;
      } else if (m.type === 'reject') {
        rejects.push({ runId: run.id, step: 'extract', source: sourceName, kind: 'invalid', code: m.code, location: m.location, reason: m.reason, record: m.raw });
        counts.rejected++;
        if (pass !== undefined) passRejected++;
        buffered++;
      } else if (m.type === 'snapshot-start') {
        if (!snapshot) continue;
        // A batch never holds rows of two passes.
        if (buffered > 0) {
          await flush(checkpoint);
          checkpoint = undefined;
        }
        pass = crypto.randomBytes(6).toString('hex');
        passRejected = 0;
        continue;
      } else {
        checkpoint = { value: m.state, end: snapshot && m.snapshotEnd === true };
        // A pass's end commits at once: a later checkpoint must not take its place in the buffer.
        if (buffered >= batchSize || opts.signal?.aborted || checkpoint.end) {
          await flush(checkpoint);
          checkpoint = undefined;
          if (opts.signal?.aborted) {
            stopped = true;
            break;
          }
        }
        continue;
      }
      if (buffered >= maxBuffered) {
        // No checkpoint for a long while: write what we have (upserts are idempotent) with the
        // newest checkpoint already passed, if any, so memory stays bounded.
        await flush(checkpoint);
        checkpoint = undefined;
      }
    }
    if (!stopped) await flush(checkpoint);
    await settleAll();
  } finally {
    // On an error, wait for the batches in flight (their failures, if any, are secondary to this one).
    await Promise.all(inFlight.map((p) => p.catch(() => undefined)));
    if (stopped) await iterator.return?.(undefined);
    if (!opts.writer) await writer.close();
  }

  const result: StreamResult = {
    connection,
    stream: stream.name,
    table,
    ...counts,
    rejectRate: counts.records + counts.rejected === 0 ? 0 : counts.rejected / (counts.records + counts.rejected),
    fullRefresh,
    seconds: (Date.now() - started) / 1000,
  };
  await run.count('extract', { [sourceName]: { records: counts.records, inserted: counts.inserted, updated: counts.updated, unchanged: counts.unchanged, deleted: counts.deleted, rejected: counts.rejected } });
  if (stopped) throw new InterruptedError(opts.signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  return result;
}

