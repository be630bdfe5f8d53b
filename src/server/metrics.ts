/**
 * Prometheus counters and gauges for `/metrics`, in the text exposition format (version 0.0.4).
 * Kept in memory: counters restart at 0 with the process, which Prometheus' rate() handles; the
 * inbox depth is read from staging at scrape time, so it is right across restarts.
 *
 * @example
 *   const m = new Metrics();
 *   m.inc('partnersync_webhooks_received_total', { source: 'crossbeam' });
 *   m.render({ partnersync_webhook_inbox_depth: [[{ status: 'received' }, 3]] });
 */
type Labels = Record<string, string>;

const HELP: Record<string, [type: 'counter' | 'gauge', help: string]> = {
  partnersync_webhooks_received_total: ['counter', 'Webhook requests received, per source (before verification).'],
  partnersync_webhooks_accepted_total: ['counter', 'Events verified and committed to the inbox.'],
  partnersync_webhooks_rejected_total: ['counter', 'Requests rejected, by reason (bad_signature, stale, future, payload_too_large, …).'],
  partnersync_webhooks_duplicates_total: ['counter', 'Verified events already in the inbox (answered 200, not stored again).'],
  partnersync_webhook_events_processed_total: ['counter', 'Inbox events whose actions all succeeded.'],
  partnersync_webhook_events_failed_total: ['counter', 'Failed processing attempts (the event is retried later or dead).'],
  partnersync_webhook_events_dead_total: ['counter', 'Events that went to the dead-letter state.'],
  partnersync_webhook_inbox_depth: ['gauge', 'Inbox events per status.'],
  partnersync_http_requests_in_flight: ['gauge', 'HTTP requests being handled.'],
};

const key = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

const keyCache = new Map<string, string>();
function labelKey(labels: Labels): string {
  let fast = '';
  for (const k in labels) fast += `${k}\u0000${labels[k]}\u0000`;
  let k = keyCache.get(fast);
  if (k === undefined) {
    k = key(labels);
    if (keyCache.size < 10_000) keyCache.set(fast, k);
  }
  return k;
}

export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>();

  inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    // Label sets repeat (a handful of sources and reasons): skip sorting and escaping on the hot path.
    const k = labelKey(labels);
    series.set(k, (series.get(k) ?? 0) + by);
  }

  /** Current value of one series (tests and `/healthz`). */
  get(name: string, labels: Labels = {}): number {
    return this.counters.get(name)?.get(key(labels)) ?? 0;
  }

  /** Sum of every series of a counter. */
  total(name: string): number {
    let n = 0;
    for (const v of this.counters.get(name)?.values() ?? []) n += v;
    return n;
  }

  render(gauges: Record<string, Array<[Labels, number]>> = {}): string {
    const lines: string[] = [];
    const names = new Set([...Object.keys(HELP).filter((n) => HELP[n]![0] === 'counter'), ...this.counters.keys(), ...Object.keys(gauges)]);
    for (const name of names) {
      const [type, help] = HELP[name] ?? ['counter', name];
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      const series: Array<[string, number]> = gauges[name] ? gauges[name]!.map(([l, v]) => [key(l), v]) : [...(this.counters.get(name)?.entries() ?? [])];
      for (const [k, v] of series) lines.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
