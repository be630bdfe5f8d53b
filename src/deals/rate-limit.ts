/**
 * Per-partner token buckets for the deal API: `requests` tokens, refilled evenly over `perSeconds`.
 * A bucket lets a partner burst up to its size after a quiet spell and then holds it to the average
 * rate; the answer to an empty bucket says exactly when the next token arrives (Retry-After).
 * In memory: one `serve` process is the unit a limit applies to.
 *
 * @example
 *   const rl = new RateLimiter();
 *   const r = rl.take('northwind', { requests: 60, perSeconds: 60 });
 *   if (!r.ok) return problem(429, …, { 'retry-after': String(r.retryAfterSeconds) });
 */
export type TakeResult = { ok: true; remaining: number; limit: number } | { ok: false; retryAfterSeconds: number; limit: number };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  take(key: string, limit: { requests: number; perSeconds: number }): TakeResult {
    const t = this.now();
    const perMs = limit.requests / (limit.perSeconds * 1000);
    const b = this.buckets.get(key) ?? { tokens: limit.requests, at: t };
    b.tokens = Math.min(limit.requests, b.tokens + (t - b.at) * perMs);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens), limit: limit.requests };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)), limit: limit.requests };
  }
}
