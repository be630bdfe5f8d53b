import { sleep } from './http.js';

/**
 * A token bucket per key: `requests` per `perMs`, refilled continuously, so bursts up to the
 * bucket size pass at once and a steady stream is smoothed to the allowed rate. Keys separate
 * allowances that a service counts separately (HubSpot: general calls vs. search; per portal).
 * `pause(key, ms)` empties a bucket for a while — what a 429 with Retry-After asks of every caller
 * sharing that allowance, not just the one that got the 429.
 *
 * @example
 *   const limiter = new RateLimiter({ requests: 100, perMs: 10_000 }, { search: { requests: 4, perMs: 1_000 } });
 *   await limiter.take('search');
 *   limiter.pause('default', 10_000);
 */
export interface RateLimit {
  requests: number;
  perMs: number;
}

interface Bucket {
  limit: RateLimit;
  tokens: number;
  updatedAt: number;
  pausedUntil: number;
  /** Serialises waiters so they are served in arrival order. */
  queue: Promise<void>;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly defaultLimit: RateLimit,
    private readonly perKey: Record<string, RateLimit> = {},
    private readonly now: () => number = Date.now,
  ) {}

  private bucket(key: string): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      const limit = this.perKey[key] ?? this.defaultLimit;
      b = { limit, tokens: limit.requests, updatedAt: this.now(), pausedUntil: 0, queue: Promise.resolve() };
      this.buckets.set(key, b);
    }
    return b;
  }

  private refill(b: Bucket, t: number): void {
    const rate = b.limit.requests / b.limit.perMs;
    b.tokens = Math.min(b.limit.requests, b.tokens + (t - b.updatedAt) * rate);
    b.updatedAt = t;
  }

  /** Milliseconds until `cost` tokens are available without waiting (0 = now). */
  delayFor(key = 'default', cost = 1): number {
    const b = this.bucket(key);
    const t = this.now();
    this.refill(b, t);
    const paused = Math.max(0, b.pausedUntil - t);
    const missing = Math.max(0, cost - b.tokens);
    return Math.max(paused, Math.ceil(missing / (b.limit.requests / b.limit.perMs)));
  }

  /** Wait until `cost` tokens are available, then take them. */
  take(key = 'default', cost = 1, signal?: AbortSignal): Promise<void> {
    const b = this.bucket(key);
    const run = async () => {
      for (;;) {
        const wait = this.delayFor(key, cost);
        if (wait <= 0) {
          b.tokens -= cost;
          return;
        }
        await sleep(wait, signal);
      }
    };
    const next = b.queue.then(run, run);
    b.queue = next.catch(() => undefined);
    return next;
  }

  /** Stop handing out tokens for `ms` (a 429's Retry-After) and start again from an empty bucket. */
  pause(key = 'default', ms: number): void {
    const b = this.bucket(key);
    const t = this.now();
    b.pausedUntil = Math.max(b.pausedUntil, t + ms);
    b.tokens = 0;
    b.updatedAt = t + ms;
  }
}
