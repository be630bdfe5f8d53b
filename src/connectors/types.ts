import type { Staging } from '../staging/db.js';

/**
 * The contracts every connector implements. Kept small on purpose: a source reads streams, a
 * destination writes batches. Diffing, planning, batching, retries and rejects live once in
 * `src/push`; staging writes, state and checkpoints live once in `src/commands/extract.ts`.
 */

/** A JSON-able record as read from a source. */
export type SourceRecord = Record<string, unknown>;

export interface StreamDescriptor {
  /** lower_snake_case; lands in `raw_<connection>__<name>`. */
  name: string;
  /** Columns that identify a record; re-extracting the same key replaces the row (never a duplicate). */
  primaryKey: string[];
  /** Column that only grows, used for incremental reads (e.g. SystemModstamp, updated_at). */
  cursorField?: string;
  /** The query parameters the stream's cursor is valid for; state is keyed by their hash. */
  params?: Record<string, unknown>;
  /**
   * Each complete read ("pass") of the stream is the whole table, so a row missing from a completed
   * pass was deleted at the source (Airbyte's full refresh, a Census snapshot). The source marks
   * its passes with two messages (see ReadMessage):
   * - `{ type: 'snapshot-start' }` before the first record of a pass that reads from the beginning
   *   (not when it resumes one from a checkpoint);
   * - `snapshotEnd: true` on the checkpoint that completes the pass, only when nothing was skipped
   *   (no filter such as `since`, no page left out).
   * The extract loop marks every row of the pass as seen (written or unchanged, durably with each
   * batch) and, with the completing checkpoint and in its transaction, tombstones the rows of the
   * raw table the pass did not see. A pass resumed by a later run keeps its earlier rows' marks; a
   * pass whose start the loop did not record (state from before the stream was a snapshot)
   * tombstones nothing. Without this flag the two messages are ignored: deleting needs the opt-in.
   */
  snapshot?: boolean;
}

/**
 * What `read()` yields, in order:
 * - `{ type: 'record', record }`: a record to upsert;
 * - `{ type: 'delete', key }`: a tombstone (e.g. Crossbeam `is_deleted`, Salesforce IsDeleted);
 * - `{ type: 'reject', ... }`: a record we could not read (a broken CSV row), kept with its reason;
 * - `{ type: 'checkpoint', state }`: everything yielded before it may be committed with this state;
 * - snapshot streams only (StreamDescriptor.snapshot): `{ type: 'snapshot-start' }` where a pass
 *   begins, and `snapshotEnd: true` on the checkpoint that completes it.
 * The extract loop commits records and the checkpoint in one transaction, so a crash after a
 * checkpoint resumes there and a crash before it re-reads (and upserts, not duplicates) the batch.
 */
export type ReadMessage =
  | { type: 'record'; record: SourceRecord }
  | { type: 'delete'; key: SourceRecord }
  | { type: 'reject'; location: string; reason: string; raw?: string; code?: string }
  | { type: 'checkpoint'; state: unknown; snapshotEnd?: boolean }
  | { type: 'snapshot-start' };

export interface ReadOptions {
  /** State saved at the last checkpoint of a previous run, or undefined for a first/full read. */
  state: unknown;
  /** `--since`: only records changed since then (where the source can filter). */
  since?: Date;
  signal?: AbortSignal;
}

/**
 * @example
 *   const source: Source = {
 *     async check() {},
 *     async discover() { return [{ name: 'accounts', primaryKey: ['id'], cursorField: 'updated_at' }]; },
 *     async *read(stream, { state }) {
 *       for (const page of pagesAfter(state)) {
 *         for (const r of page.rows) yield { type: 'record', record: r };
 *         yield { type: 'checkpoint', state: { cursor: page.next } };
 *       }
 *     },
 *   };
 */
export interface Source {
  /** Verify credentials and permissions; throw AuthError/FatalError with a hint. */
  check(): Promise<void>;
  discover(): Promise<StreamDescriptor[]>;
  read(stream: StreamDescriptor, opts: ReadOptions): AsyncIterable<ReadMessage>;
  close?(): Promise<void>;
}

/**
 * Per-record outcome of a destination write; `key` is the record's sync key. Codes the push engine
 * understands: `NOT_FOUND` (an update/delete found no record: skipped, or done for a delete),
 * `DUPLICATE` (a create found the key taken). `retriable: true` asks for the record to be sent again.
 */
export type WriteResult =
  | { key: string; ok: true; destinationId?: string; created?: boolean }
  | { key: string; ok: false; code: string; message: string; httpStatus?: number; retriable?: boolean };

export type WriteOperation = 'upsert' | 'update' | 'create' | 'delete' | 'archive';

export interface WriteBatch {
  object: string;
  operation: WriteOperation;
  keyField: string;
  records: Array<{ key: string; destinationId?: string; fields: Record<string, unknown> }>;
  /**
   * Fields not to overwrite: `ifEmpty` only while the destination value is empty, `onCreate` only
   * when the record is created. SQL destinations do this in the statement; others may write them on
   * create only (the engine already leaves them out for records it knows exist).
   */
  fieldModes?: Record<string, 'ifEmpty' | 'onCreate'>;
}

export interface DestinationCapabilities {
  /** Largest batch one write call accepts (HubSpot 100, Salesforce collections 200). */
  maxBatch: number;
  operations: WriteOperation[];
  /** Write calls per window: the push engine takes one token of this bucket per `write()`. */
  rateLimit?: { requests: number; perMs: number };
  /** Narrower allowances inside `write()` (e.g. HubSpot search 4/s), taken with `ctx.rate.take(endpoint)`. */
  endpointRateLimits?: Record<string, { requests: number; perMs: number }>;
  /** Write calls the engine may have in flight at once (default 1). */
  concurrency?: number;
  /**
   * A bulk path for large diffs (Salesforce Bulk API 2.0): when one run has more than `threshold`
   * records of one operation to send, the engine may pass up to `maxBatch` records per write() and
   * the destination sends them as one bulk job. Smaller diffs keep using `maxBatch` above.
   */
  bulk?: { threshold: number; maxBatch: number };
}

/**
 * The shared rate governor as a destination sees it (`ConnectorContext.rate`): one per connection,
 * shared by every target that writes through it.
 * @example
 *   await ctx.rate?.take('search');            // before a call that has its own allowance
 *   ctx.rate?.pause(retryAfterMs, 'search');   // a 429 said wait: every caller waits
 */
export interface RateGate {
  take(endpoint?: string, signal?: AbortSignal): Promise<void>;
  pause(ms: number, endpoint?: string): void;
}

export interface FieldCheck {
  missing: string[];
  created: string[];
  /** What the user should do about `missing` fields the API cannot create (one line each). */
  hints?: string[];
}

export interface Destination {
  capabilities: DestinationCapabilities;
  check(): Promise<void>;
  /**
   * Check that fields exist in the destination; create them when `create` is true and the API allows.
   * `key` (optional) lets the destination also verify the sync key, e.g. that HubSpot can upsert by it.
   */
  preflight(
    object: string,
    fields: Array<{ name: string; type: 'string' | 'number' | 'boolean' | 'datetime' }>,
    create: boolean,
    key?: { field: string; operation: WriteOperation },
  ): Promise<FieldCheck>;
  write(batch: WriteBatch, signal?: AbortSignal): Promise<WriteResult[]>;
  close?(): Promise<void>;
}

/** What a connector gets when it is created. */
export interface ConnectorContext {
  /** Name of the connection in partnersync.yaml. */
  connection: string;
  /** Folder relative paths resolve against. */
  baseDir: string;
  staging?: Staging;
  log: (level: 'info' | 'warn', message: string) => void;
  /** The shared rate governor of this connection (set by push). */
  rate?: RateGate;
}

/**
 * One connector: a definition object, registered in `registry.ts`.
 * @example
 *   export default defineConnector({ id: 'csv', createSource: (config, ctx) => new CsvSource(config, ctx) });
 */
export interface ConnectorDefinition<Config = unknown> {
  id: string;
  createSource?(config: Config, ctx: ConnectorContext): Source | Promise<Source>;
  createDestination?(config: Config, ctx: ConnectorContext): Destination | Promise<Destination>;
}

export function defineConnector<Config>(def: ConnectorDefinition<Config>): ConnectorDefinition<Config> {
  return def;
}
