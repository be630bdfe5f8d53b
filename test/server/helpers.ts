import crypto from 'node:crypto';
import type { Destination, WriteBatch, WriteResult } from '../../src/connectors/types.js';

/** Crossbeam's documented signing, written out here so tests do not reuse the receiver's code. */
export function crossbeamHeaders(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-crossbeam-timestamp': String(timestamp),
    'x-crossbeam-signature-256': crypto.createHmac('sha256', secret).update(body + String(timestamp)).digest('base64'),
  };
}

export function dealEvent(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: id,
    event_type: 'partner_deal_opened',
    triggered_at: '2025-01-15T10:00:00+00:00',
    record_type: 'account',
    record_id: '001000000000001AAA',
    record_name: 'Acme',
    partner_id: 'p-1',
    partner_name: 'Globex',
    populations: [],
    partner_populations: [],
    partner_data: { deal: { stage: 'Negotiation', is_closed: false, is_won: false } },
    ...overrides,
  };
}

/**
 * A Destination that records every write: a stand-in for the CRM (the Salesforce destination is
 * built by another issue). `failures` makes the next writes fail, retriable or not.
 */
export class RecordingDestination implements Destination {
  readonly capabilities = { maxBatch: 200, operations: ['update' as const, 'upsert' as const] };
  readonly writes: WriteBatch[] = [];
  failures: Array<{ retriable: boolean }> = [];
  delayMs = 0;

  async check(): Promise<void> {}

  async preflight() {
    return { missing: [], created: [] };
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const f = this.failures.shift();
    if (f) return batch.records.map((r) => ({ key: r.key, ok: false as const, code: f.retriable ? 'UNAVAILABLE' : 'ENTITY_IS_DELETED', message: 'injected', retriable: f.retriable, httpStatus: f.retriable ? 503 : 404 }));
    this.writes.push(structuredClone(batch));
    return batch.records.map((r) => ({ key: r.key, ok: true as const, destinationId: r.destinationId ?? r.key }));
  }
}
