import { FatalError, RetriableError } from '../errors.js';
import type { Destination, WriteBatch } from '../connectors/types.js';
import type { ActionConfig, FieldSource } from './config.js';
import { pathGet } from './webhook-routes.js';

/**
 * What an inbox event does. An action is pure data from config (`serve.actions`); running it needs
 * a Destination (resolved by connection name, so tests and the CLI plug in different ones) or, for
 * `kind: http`, a URL to forward the event to.
 *
 * A Crossbeam `partner_deal_opened` / `partner_deal_closed_won` carries `record_id`, our CRM id of
 * the account, so the default action is an `update` of that record by Id.
 *
 * Errors: a thrown RetriableError or a `retriable` write result means "try again later"; anything
 * else (a 404 record, an unknown field) is permanent and the event goes to the dead-letter state,
 * from where `partnersync webhooks retry` brings it back once the cause is fixed.
 *
 * @example
 *   const plan = planAction(action, event); // { batch: { object: 'Account', operation: 'update', records: [...] } }
 *   await runAction(action, event, { destination: (conn) => destinations[conn] });
 */
export interface ActionEvent {
  source: string;
  eventId: string;
  eventType: string | null;
  body: string;
}

export interface ActionDeps {
  /** The Destination of a connection (created once and cached by the caller). */
  destination(connection: string): Promise<Destination>;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface ActionResult {
  ok: true;
  destinationId?: string;
  status?: number;
}

export function actionName(a: ActionConfig, index: number): string {
  return a.name ?? `${a.source}#${index + 1}`;
}

export function actionMatches(a: ActionConfig, e: Pick<ActionEvent, 'source' | 'eventType'>): boolean {
  return a.source === e.source && (!a.eventTypes || (e.eventType !== null && a.eventTypes.includes(e.eventType)));
}

function fieldValue(src: FieldSource, event: unknown): unknown {
  if (typeof src === 'string') return pathGet(event, src) ?? null;
  if ('value' in src) return src.value;
  return pathGet(event, src.path) ?? src.default ?? null;
}

/** The destination write an event turns into (pure). */
export function planAction(a: ActionConfig, e: ActionEvent): WriteBatch {
  const parsed = JSON.parse(e.body) as unknown;
  const key = pathGet(parsed, a.key);
  if (typeof key !== 'string' && typeof key !== 'number') {
    throw new FatalError(`event ${e.eventId} has no ${a.key} to find the ${a.object} by`, { code: 'WEBHOOK_NO_KEY' });
  }
  const fields = Object.fromEntries(Object.entries(a.fields).map(([f, s]) => [f, fieldValue(s, parsed)]));
  const k = String(key);
  return {
    object: a.object!,
    operation: a.operation,
    keyField: a.keyField,
    records: [{ key: k, ...(a.keyField === 'Id' || a.keyField === 'id' ? { destinationId: k } : {}), fields }],
  };
}

export async function runAction(a: ActionConfig, e: ActionEvent, deps: ActionDeps): Promise<ActionResult> {
  if (a.kind === 'http') {
    const res = await (deps.fetch ?? fetch)(a.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${e.source}:${e.eventId}`, 'x-partnersync-event-type': e.eventType ?? '' },
      body: e.body,
      signal: deps.signal,
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { ok: true, status: res.status };
    const msg = `forwarding to ${new URL(a.url!).host} answered ${res.status}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new RetriableError(msg, { status: res.status });
    throw new FatalError(msg, { status: res.status });
  }
  const batch = planAction(a, e);
  const dest = await deps.destination(a.connection!);
  const [r] = await dest.write(batch, deps.signal);
  if (!r) throw new RetriableError(`${a.connection}: the write returned no result`);
  if (r.ok) return { ok: true, destinationId: r.destinationId };
  const msg = `${a.connection} ${batch.object} ${batch.records[0]!.key}: ${r.code} ${r.message}`;
  if (r.retriable) throw new RetriableError(msg, { status: r.httpStatus });
  throw new FatalError(msg, { status: r.httpStatus, code: r.code });
}
