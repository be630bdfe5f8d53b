import { FatalError, isPartnersyncError, RetriableError } from '../errors.js';
import { redact } from '../config/secrets.js';
import type { ActionConfig, WorkerConfig } from './config.js';
import { actionMatches, actionName, runAction, type ActionDeps, type ActionResult } from './actions.js';
import type { Inbox, InboxRow } from './inbox.js';
import type { Metrics } from './metrics.js';

/**
 * Processes the inbox: claim due events atomically (so two workers, or a worker and a restarted
 * one, never run the same event at the same time), run the matching actions, then mark the event
 * processed — or failed with a back-off, or dead after `maxAttempts`.
 *
 * Idempotency: actions already done for an event are recorded in its `result` and skipped on a
 * retry, and a destination write is an update by key, so a retry after a crash between the write
 * and the commit repeats the same update instead of creating anything.
 *
 * @example
 *   const worker = new InboxWorker(inbox, config.worker, config.actions, { destination }, metrics);
 *   worker.start();            // polls, and wakes at once on `worker.wake()`
 *   await worker.stop();       // finishes events in flight, leaves the rest in the inbox
 *   await worker.drain();      // tests/CLI: process until nothing is due
 */
export interface WorkerDeps extends Omit<ActionDeps, 'signal'> {
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
  random?: () => number;
}

interface EventResult {
  actions: Record<string, ActionResult>;
}

export function backoffSeconds(attempt: number, b: WorkerConfig['backoff'], random: () => number = Math.random): number {
  const base = Math.min(b.maxSeconds, b.initialSeconds * b.factor ** Math.max(0, attempt - 1));
  // Jitter spreads retries of a burst of failures (e.g. the CRM was down) over time.
  return b.jitter ? base * (0.5 + random() / 2) : base;
}

/** Permanent failures skip the remaining attempts: retrying the same request cannot succeed. */
function isPermanent(err: unknown): boolean {
  if (err instanceof RetriableError) return false;
  if (err instanceof FatalError) return true;
  return isPartnersyncError(err) && ['AUTH_FAILED', 'CONFIG_INVALID', 'USAGE', 'INPUT_INVALID'].includes(err.code);
}

export class InboxWorker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly abort = new AbortController();
  private readonly now: () => Date;

  constructor(
    private readonly inbox: Inbox,
    private readonly config: WorkerConfig,
    private readonly actions: ActionConfig[],
    private readonly deps: WorkerDeps,
    private readonly metrics?: Metrics,
  ) {
    this.now = deps.now ?? (() => new Date());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Poll now (new events were committed). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stop claiming; wait for the events in flight. Unclaimed events stay in the inbox for next time. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    if (this.timer) clearTimeout(this.timer);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let n = 0;
      try {
        n = await this.tick();
      } catch (err) {
        this.deps.log?.('warn', `webhook worker: ${redact(String((err as Error)?.message ?? err))}`);
      }
      if (!this.running) break;
      // A full batch means more may be waiting: go again without sleeping.
      if (n >= this.config.batchSize) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, this.config.pollIntervalMs);
      });
      this.wakeUp = undefined;
    }
  }

  /** Claim one batch and process it; returns how many events were claimed. */
  async tick(): Promise<number> {
    const rows = await this.inbox.claim({ limit: this.config.batchSize, leaseSeconds: this.config.leaseSeconds });
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.config.concurrency, rows.length) }, async () => {
      while (next < rows.length) await this.process(rows[next++]!);
    });
    await Promise.all(lanes);
    return rows.length;
  }

  /** Process until nothing is due (events failing with a back-off are left for later). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.tick();
      total += n;
      if (n === 0) return total;
    }
  }

  private async process(row: InboxRow): Promise<void> {
    const event = { source: row.source, eventId: row.event_id, eventType: row.event_type, body: row.body };
    const previous = (row.result ? (JSON.parse(row.result) as Partial<EventResult>) : {}).actions ?? {};
    const result: EventResult = { actions: { ...previous } };
    // A lease that ran out again and again (the worker died on this very event) also ends here.
    if (row.attempts > this.config.maxAttempts) {
      await this.inbox.fail(row, `gave up after ${row.attempts - 1} attempts (last attempt did not finish)`, { dead: true, nextAttemptAt: this.now(), result });
      this.metrics?.inc('partnersync_webhook_events_dead_total', { source: row.source });
      return;
    }
    try {
      for (const [i, a] of this.actions.entries()) {
        if (!actionMatches(a, event)) continue;
        const name = actionName(a, i);
        if (result.actions[name]?.ok) continue; // done on an earlier attempt
        result.actions[name] = await runAction(a, event, { ...this.deps, signal: this.abort.signal });
      }
      if (await this.inbox.complete(row, result)) this.metrics?.inc('partnersync_webhook_events_processed_total', { source: row.source });
    } catch (err) {
      const message = redact(String((err as Error)?.message ?? err));
      const dead = isPermanent(err) || row.attempts >= this.config.maxAttempts;
      const wait = err instanceof RetriableError && err.retryAfterMs !== undefined ? err.retryAfterMs / 1000 : backoffSeconds(row.attempts, this.config.backoff, this.deps.random);
      const nextAttemptAt = new Date(this.now().getTime() + wait * 1000);
      await this.inbox.fail(row, message, { dead, nextAttemptAt, result });
      this.metrics?.inc('partnersync_webhook_events_failed_total', { source: row.source });
      if (dead) this.metrics?.inc('partnersync_webhook_events_dead_total', { source: row.source });
      this.deps.log?.('warn', `webhook ${row.source}/${row.event_id}: ${message}${dead ? ' (dead; `partnersync webhooks retry` after fixing the cause)' : ` (attempt ${row.attempts}, retry in ${Math.round(wait)} s)`}`);
    }
  }
}
