import { FatalError, RetriableError } from '../../src/errors.js';
import type { Destination, DestinationCapabilities, WriteBatch, WriteResult } from '../../src/connectors/types.js';

/**
 * A test double of an external service implementing the Destination contract: an in-memory store
 * keyed by the sync key, with seeded fault injection. Faults mimic the real failure shapes:
 * `429` (throttled, nothing written), `500` (nothing written), `reset` (WRITTEN, then the connection
 * drops before the answer: the engine must resend safely), per-record refusals, and batches refused
 * as a whole when they contain a poisoned record (so the engine has to bisect).
 */
export interface FakeOptions {
  capabilities?: Partial<DestinationCapabilities>;
  /** Share of write calls that fail with a fault, chosen by a seeded PRNG. */
  faultRate?: number;
  faultKinds?: Array<'429' | '500' | 'reset'>;
  seed?: number;
  /** Records whose field `name` equals this are refused per record (400 INVALID_FIELD). */
  rejectName?: string;
  /** A batch containing a record whose `name` equals this is refused as a whole (400). */
  poisonName?: string;
  /** Fields that exist in the destination (preflight); undefined = every field exists. */
  knownFields?: Set<string>;
}

export interface StoredRecord {
  fields: Record<string, unknown>;
  id: string;
  archived?: boolean;
}

export class FakeDestination implements Destination {
  readonly capabilities: DestinationCapabilities;
  readonly store = new Map<string, StoredRecord>();
  /** Every write() call as it arrived (faulted ones too). */
  readonly calls: WriteBatch[] = [];
  /** How many times each key was applied to the store. */
  readonly applied = new Map<string, number>();
  private rand: () => number;
  private nextId = 1;
  closed = false;

  constructor(private readonly opts: FakeOptions = {}) {
    this.capabilities = { maxBatch: 10, operations: ['upsert', 'update', 'create', 'delete', 'archive'], ...opts.capabilities };
    let a = opts.seed ?? 7;
    this.rand = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  async check(): Promise<void> {}

  async preflight(_object: string, fields: Array<{ name: string }>, create: boolean) {
    const known = this.opts.knownFields;
    if (!known) return { missing: [], created: [] };
    const absent = fields.map((f) => f.name).filter((f) => !known.has(f));
    if (create) {
      for (const f of absent) known.add(f);
      return { missing: [], created: absent };
    }
    return { missing: absent, created: [] };
  }

  /** Write calls that carried records (faulted ones included). */
  get writeCalls(): number {
    return this.calls.length;
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    this.calls.push(structuredClone(batch));
    if (batch.records.length > this.capabilities.maxBatch) throw new FatalError(`batch of ${batch.records.length} > ${this.capabilities.maxBatch}`, { status: 400 });
    let fault: string | undefined;
    if (this.opts.faultRate && this.rand() < this.opts.faultRate) {
      const kinds = this.opts.faultKinds ?? ['429', '500', 'reset'];
      fault = kinds[Math.floor(this.rand() * kinds.length)];
    }
    if (fault === '429') throw new RetriableError('429 Too Many Requests', { status: 429, retryAfterMs: 5 });
    if (fault === '500') throw new RetriableError('500 Internal Server Error', { status: 500 });
    if (this.opts.poisonName && batch.records.some((r) => r.fields.name === this.opts.poisonName)) {
      throw new FatalError('400 Bad Request: INVALID_JSON in batch', { status: 400, code: 'BATCH_REFUSED' });
    }
    const results = batch.records.map((r) => this.apply(batch, r));
    if (fault === 'reset') {
      const e = new Error('socket hang up') as Error & { code: string };
      e.code = 'ECONNRESET';
      throw e;
    }
    return results;
  }

  private apply(batch: WriteBatch, r: WriteBatch['records'][number]): WriteResult {
    if (this.opts.rejectName !== undefined && r.fields.name === this.opts.rejectName) {
      return { key: r.key, ok: false, code: 'INVALID_FIELD', message: `name "${String(r.fields.name)}" is not allowed`, httpStatus: 400 };
    }
    const existing = this.store.get(r.key);
    const bump = () => this.applied.set(r.key, (this.applied.get(r.key) ?? 0) + 1);
    switch (batch.operation) {
      case 'upsert': {
        bump();
        if (existing) {
          existing.fields = { ...existing.fields, ...this.respectModes(batch, existing.fields, r.fields) };
          existing.archived = false;
          return { key: r.key, ok: true, destinationId: existing.id, created: false };
        }
        const id = `id-${this.nextId++}`;
        this.store.set(r.key, { fields: { ...r.fields }, id });
        return { key: r.key, ok: true, destinationId: id, created: true };
      }
      case 'create': {
        if (existing) return { key: r.key, ok: false, code: 'DUPLICATE', message: 'exists', httpStatus: 409 };
        bump();
        const id = `id-${this.nextId++}`;
        this.store.set(r.key, { fields: { ...r.fields }, id });
        return { key: r.key, ok: true, destinationId: id, created: true };
      }
      case 'update':
        if (!existing) return { key: r.key, ok: false, code: 'NOT_FOUND', message: 'no such record', httpStatus: 404 };
        bump();
        existing.fields = { ...existing.fields, ...this.respectModes(batch, existing.fields, r.fields) };
        return { key: r.key, ok: true, destinationId: existing.id };
      case 'delete':
        if (!existing) return { key: r.key, ok: false, code: 'NOT_FOUND', message: 'no such record', httpStatus: 404 };
        this.store.delete(r.key);
        return { key: r.key, ok: true };
      case 'archive':
        if (!existing) return { key: r.key, ok: false, code: 'NOT_FOUND', message: 'no such record', httpStatus: 404 };
        existing.archived = true;
        return { key: r.key, ok: true };
    }
  }

  private respectModes(batch: WriteBatch, current: Record<string, unknown>, incoming: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [f, v] of Object.entries(incoming)) {
      const mode = batch.fieldModes?.[f];
      if (mode === 'onCreate') continue;
      if (mode === 'ifEmpty' && current[f] !== null && current[f] !== undefined) continue;
      out[f] = v;
    }
    return out;
  }

  /** The live (not archived) records as key → fields. */
  snapshot(): Record<string, Record<string, unknown>> {
    return Object.fromEntries([...this.store].filter(([, r]) => !r.archived).map(([k, r]) => [k, r.fields]));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
