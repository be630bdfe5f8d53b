import { createHmac } from 'node:crypto';

/**
 * Crossbeam's webhook signing and delivery, as the emulator's sender does it.
 *
 * Signing (developers.crossbeam.com, "Crossbeam Webhooks" → Security and its Flask example):
 *   X-Crossbeam-Timestamp:     integer Unix seconds of the delivery attempt, e.g. `1736935200`
 *   X-Crossbeam-Signature-256: base64( HMAC-SHA256( key = secret as UTF-8 bytes,
 *                                                    message = rawBody + timestampString ) )
 * The signed string is the exact raw JSON body with the decimal timestamp appended, no separator:
 *   `{"event_id":"…",…}1736935200`
 * Receivers must verify against the raw bytes and reject timestamps more than 300 s from now.
 *
 * Delivery: Crossbeam retries on 408, 429, 500, 502, 503 and 504 "several times" and then gives up
 * (missed events are recovered through `/v1/signals/*`). The emulator also retries on network errors,
 * re-signs every attempt with a fresh timestamp, and keeps the same body (and so `event_id`).
 *
 * @example
 *   const sig = signCrossbeamWebhook('{"event_id":"e1"}', 'whsecret', 1736935200);
 *   // === createHmac('sha256', 'whsecret').update('{"event_id":"e1"}1736935200').digest('base64')
 */
export function signCrossbeamWebhook(rawBody: string, secret: string, timestampSeconds: number): string {
  return createHmac('sha256', secret).update(rawBody + String(timestampSeconds)).digest('base64');
}

export const CROSSBEAM_RETRY_STATUSES = [408, 429, 500, 502, 503, 504] as const;

export interface WebhookRetryPolicy {
  /** Total attempts including the first (default 5). */
  maxAttempts: number;
  /** First back-off in ms, doubled on every retry (default 1000; tests pass a few ms). */
  baseDelayMs: number;
  /** Per-attempt timeout in ms (default 10 000). */
  timeoutMs: number;
}

export interface WebhookAttempt {
  at: number;
  timestamp: number;
  /** HTTP status, or 0 when the request failed before a response (network error, timeout). */
  status: number;
  error?: string;
  signature: string;
}

export interface WebhookDelivery {
  url: string;
  eventId: string;
  body: string;
  attempts: WebhookAttempt[];
  delivered: boolean;
}

export interface WebhookSubscription {
  url: string;
  secret: string;
  /** Event types to deliver; all when omitted. */
  events?: string[];
}

export async function deliverCrossbeamWebhook(
  url: string,
  event: Record<string, unknown>,
  secret: string,
  policy: WebhookRetryPolicy,
  log: WebhookDelivery[],
  now: () => number = Date.now,
): Promise<WebhookDelivery> {
  const body = JSON.stringify(event);
  const delivery: WebhookDelivery = { url, eventId: String(event.event_id ?? ''), body, attempts: [], delivered: false };
  log.push(delivery);
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    const timestamp = Math.floor(now() / 1000);
    const signature = signCrossbeamWebhook(body, secret, timestamp);
    const record: WebhookAttempt = { at: now(), timestamp, status: 0, signature };
    delivery.attempts.push(record);
    let retry = true;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Crossbeam-Webhooks (partnersync emulator)',
          'x-crossbeam-signature-256': signature,
          'x-crossbeam-timestamp': String(timestamp),
        },
        body,
        signal: AbortSignal.timeout(policy.timeoutMs),
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        delivery.delivered = true;
        return delivery;
      }
      retry = (CROSSBEAM_RETRY_STATUSES as readonly number[]).includes(res.status);
    } catch (err) {
      record.error = String((err as Error)?.message ?? err);
    }
    if (!retry || attempt === policy.maxAttempts) break;
    await new Promise((r) => setTimeout(r, policy.baseDelayMs * 2 ** (attempt - 1)));
  }
  return delivery;
}
