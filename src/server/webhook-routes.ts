import { createHash } from 'node:crypto';
import type { ServeConfig, SourceConfig } from './config.js';
import { sourceSecrets } from './config.js';
import type { Inbox, InboxEventInput } from './inbox.js';
import type { Metrics } from './metrics.js';
import { readBody, reply } from './http-body.js';
import { problem, Router } from './router.js';
import { verifySignature } from './signatures.js';

/**
 * The webhook route group: `POST /:source` for every configured source. The order of checks is the
 * point of this file — nothing is parsed before it is verified, and nothing is stored unless every
 * check passed:
 *   unknown source 404 → body over the source's limit 413 → not JSON 415 → signature, timestamp
 *   window 401 → malformed JSON or no event id 400 → committed to the inbox → 200 (new or duplicate).
 * A staging failure answers 503, so the sender retries (Crossbeam retries 5xx; 4xx it does not).
 *
 * @example
 *   app.mount('/webhooks', webhookRoutes({ config: serve, inbox, metrics }));
 */
export interface WebhookRoutesOptions {
  config: Pick<ServeConfig, 'sources' | 'bodyLimitBytes'>;
  inbox: Inbox;
  metrics: Metrics;
  /** Clock in ms, for tests. */
  now?: () => number;
  onError?: (err: unknown) => void;
}

/** Headers kept with each event: enough to re-verify and trace it, never credentials. */
const COMMON_HEADERS = ['content-type', 'user-agent', 'x-request-id'];
const KEPT_HEADERS: Record<SourceConfig['scheme'], string[]> = {
  crossbeam: [...COMMON_HEADERS, 'x-crossbeam-signature-256', 'x-crossbeam-timestamp'],
  'standard-webhooks': [...COMMON_HEADERS, 'webhook-id', 'webhook-timestamp', 'webhook-signature'],
  'hubspot-v3': [...COMMON_HEADERS, 'x-hubspot-signature-v3', 'x-hubspot-request-timestamp'],
  hmac: COMMON_HEADERS,
};

export function webhookRoutes(opts: WebhookRoutesOptions): Router {
  const { config, inbox, metrics } = opts;
  const router = new Router();
  const secretsOf = new Map(Object.entries(config.sources).map(([n, s]) => [n, sourceSecrets(s)]));
  router.post('/:source', async (req, ctx) => {
    const name = ctx.params.source!;
    const source = Object.hasOwn(config.sources, name) ? config.sources[name] : undefined;
    if (!source) {
      metrics.inc('partnersync_webhooks_rejected_total', { source: 'unknown', reason: 'unknown_source' });
      return problem(404, 'unknown_source', `no webhook source named "${name}"`);
    }
    metrics.inc('partnersync_webhooks_received_total', { source: name });
    const reject = (status: number, reason: string, detail: string) => {
      metrics.inc('partnersync_webhooks_rejected_total', { source: name, reason });
      return problem(status, reason, detail);
    };

    const raw = await readBody(req);
    const limit = source.bodyLimitBytes ?? config.bodyLimitBytes;
    if (raw.length > limit) return reject(413, 'payload_too_large', `the body limit is ${limit} bytes`);
    const ct = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(ct)) {
      return reject(415, 'unsupported_media_type', 'send Content-Type: application/json');
    }

    const verdict = verifySignature(source.scheme, { method: req.method, url: req.url, headers: req.headers, rawBody: raw }, secretsOf.get(name)!, {
      toleranceSeconds: source.toleranceSeconds,
      now: opts.now?.(),
      hmac: source.hmac,
      publicUrl: source.publicUrl,
    });
    // One generic message for every signature failure: the reason is in metrics, not for the caller.
    if (!verdict.ok) return reject(401, verdict.reason, 'signature verification failed');

    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      return reject(400, 'malformed_json', 'the body is not valid JSON');
    }
    const events = extractEvents(name, source, parsed, raw, req.headers, verdict.webhookId);
    if (typeof events === 'string') return reject(400, 'missing_event_id', events);

    let outcomes;
    try {
      outcomes = await inbox.addMany(events);
    } catch (err) {
      opts.onError?.(err);
      return reject(503, 'inbox_unavailable', 'could not store the event; retry later');
    }
    const inserted = outcomes.filter((o) => o === 'inserted').length;
    const duplicates = outcomes.length - inserted;
    if (inserted) metrics.inc('partnersync_webhooks_accepted_total', { source: name }, inserted);
    if (duplicates) metrics.inc('partnersync_webhooks_duplicates_total', { source: name }, duplicates);
    return reply(200, JSON.stringify({ status: inserted ? 'accepted' : 'duplicate', accepted: inserted, duplicates }), { 'content-type': 'application/json' });
  });
  return router;
}

/** Read a dot path (`partner_data.deal.stage`) out of a parsed JSON value. */
export function pathGet(value: unknown, path: string): unknown {
  let v: unknown = value;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * The inbox rows of one verified request, or a message saying why it has no usable event id.
 * HubSpot batches events in an array (one row each, keyed by subscription + event id); every other
 * scheme sends one event per request.
 */
export function extractEvents(
  sourceName: string,
  source: SourceConfig,
  parsed: unknown,
  raw: Buffer,
  headers: Headers,
  webhookId: string | undefined,
): InboxEventInput[] | string {
  const kept: Record<string, string> = {};
  for (const k of KEPT_HEADERS[source.scheme]) {
    const v = headers.get(k);
    if (v !== null) kept[k] = v;
  }
  if (source.hmac) {
    for (const k of [source.hmac.header, source.hmac.timestampHeader, source.hmac.eventId?.header]) {
      const v = k ? headers.get(k) : null;
      if (k && v !== null) kept[k.toLowerCase()] = v;
    }
  }
  const body = raw.toString('utf8');
  switch (source.scheme) {
    case 'crossbeam': {
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'expected a JSON object';
      const id = str(pathGet(parsed, 'event_id')) ?? str(pathGet(parsed, 'signal_id'));
      if (!id) return 'the event has no event_id';
      return [{ source: sourceName, eventId: id, eventType: str(pathGet(parsed, 'event_type')) ?? null, body, headers: kept }];
    }
    case 'standard-webhooks':
      return [{ source: sourceName, eventId: webhookId!, eventType: str(pathGet(parsed, 'type')) ?? null, body, headers: kept }];
    case 'hubspot-v3': {
      const list = Array.isArray(parsed) ? parsed : [parsed];
      const out: InboxEventInput[] = [];
      for (const e of list) {
        const id = str(pathGet(e, 'eventId'));
        if (!id) return 'every HubSpot event needs an eventId';
        const sub = str(pathGet(e, 'subscriptionId'));
        out.push({ source: sourceName, eventId: sub ? `${sub}:${id}` : id, eventType: str(pathGet(e, 'subscriptionType')) ?? null, body: JSON.stringify(e), headers: kept });
      }
      if (out.length === 0) return 'an empty batch';
      return out;
    }
    case 'hmac': {
      const h = source.hmac!;
      let id: string | undefined;
      if (h.eventId?.header) id = webhookId ?? headers.get(h.eventId.header.toLowerCase()) ?? undefined;
      else if (h.eventId?.path) id = str(pathGet(parsed, h.eventId.path));
      // Without a configured id, identical bodies are the same event.
      else id = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
      if (!id) return `the event has no id (${h.eventId?.header ? `header ${h.eventId.header}` : `body ${h.eventId?.path}`})`;
      return [{ source: sourceName, eventId: id, eventType: h.eventType ? str(pathGet(parsed, h.eventType)) ?? null : null, body, headers: kept }];
    }
  }
}
