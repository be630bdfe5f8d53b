import { RateLimiter, type RateLimit } from '../connectors/shared/rate-limiter.js';
import type { DestinationCapabilities, RateGate } from '../connectors/types.js';

/**
 * The one rate governor of a push: a token bucket per destination connection and, inside it, one
 * per endpoint. Every target writing through the same connection shares its buckets, so two
 * targets on one HubSpot portal never add up to twice the allowance. A 429 pauses the whole
 * connection (or one endpoint) for what the server asked, plus jitter so paused callers do not
 * return in lockstep; it is never counted as a failure.
 *
 * @example
 *   const gate = governor.gate('hubspot', destination.capabilities);
 *   await gate.take();                 // one write call
 *   gate.pause(10_000);                // Retry-After: 10
 */
export class RateGovernor {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(private readonly opts: { now?: () => number; random?: () => number } = {}) {}

  gate(connection: string, caps: Pick<DestinationCapabilities, 'rateLimit' | 'endpointRateLimits'>): RateGate {
    let limiter = this.limiters.get(connection);
    if (!limiter) {
      // No declared limit: an effectively unlimited bucket that a 429 can still pause.
      const unlimited: RateLimit = { requests: 1e9, perMs: 1 };
      limiter = new RateLimiter(caps.rateLimit ?? unlimited, caps.endpointRateLimits ?? {}, this.opts.now);
      this.limiters.set(connection, limiter);
    }
    const l = limiter;
    const random = this.opts.random ?? Math.random;
    return {
      async take(endpoint, signal) {
        await l.take('default', 1, signal);
        if (endpoint && caps.endpointRateLimits?.[endpoint]) await l.take(endpoint, 1, signal);
      },
      pause(ms, endpoint) {
        // Up to 10% extra, at least 50 ms: callers paused together do not all return in the same tick.
        const wait = Math.max(0, ms) + Math.max(50, Math.floor(random() * 0.1 * ms));
        l.pause(endpoint && caps.endpointRateLimits?.[endpoint] ? endpoint : 'default', wait);
      },
    };
  }
}
