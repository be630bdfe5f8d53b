/**
 * Fault injection for emulators, reproducible from a seed.
 *
 * Spec grammar (comma-separated): `KIND:AMOUNT[@ROUTE]`
 *   KIND   429 | 500 | 502 | 503 | reset | malformed | latency
 *   AMOUNT a probability in (0,1] (e.g. `0.2`), or `xN` for "the next N matching requests",
 *          or for latency a duration in ms (`latency:250`) applied to every matching request.
 *   ROUTE  optional route name (as registered by the emulator) or path prefix (`/services/data`).
 *
 * @example parseFaults('429:0.2,reset:0.05,500:x3@/crm/v3/objects/companies/batch/upsert')
 */
export const FaultKinds = ['429', '500', '502', '503', 'reset', 'malformed', 'latency'] as const;
export type FaultKind = (typeof FaultKinds)[number];

export interface FaultRule {
  kind: FaultKind;
  probability?: number;
  remaining?: number;
  latencyMs?: number;
  route?: string;
}

export function parseFaults(spec: string | undefined): FaultRule[] {
  if (!spec || !spec.trim()) return [];
  return spec.split(',').map((part) => {
    const m = /^\s*([a-z0-9]+):([^@\s]+)(?:@(\S+))?\s*$/i.exec(part);
    if (!m) throw new Error(`faults: cannot read "${part.trim()}" (expected KIND:AMOUNT[@ROUTE], e.g. 429:0.2)`);
    const kind = m[1]!.toLowerCase() as FaultKind;
    if (!FaultKinds.includes(kind)) throw new Error(`faults: unknown kind "${m[1]}" (one of ${FaultKinds.join(', ')})`);
    const amount = m[2]!;
    const rule: FaultRule = { kind, route: m[3] };
    if (kind === 'latency') {
      const ms = Number(amount.replace(/ms$/, ''));
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`faults: latency needs milliseconds, got "${amount}"`);
      rule.latencyMs = ms;
    } else if (/^x\d+$/i.test(amount)) {
      rule.remaining = Number(amount.slice(1));
    } else {
      const p = Number(amount);
      if (!(p > 0 && p <= 1)) throw new Error(`faults: "${amount}" is not a probability in (0,1] or a count xN`);
      rule.probability = p;
    }
    return rule;
  });
}

/** mulberry32: tiny, fast, seeded PRNG so `--fault-seed 7` injects the same faults on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultDecision {
  latencyMs: number;
  fault?: Exclude<FaultKind, 'latency'>;
}

export class FaultInjector {
  private rules: FaultRule[];
  private random: () => number;

  constructor(spec: string | FaultRule[] | undefined, seed = 1) {
    this.rules = typeof spec === 'string' || spec === undefined ? parseFaults(spec) : spec.map((r) => ({ ...r }));
    this.random = seededRandom(seed);
  }

  /** Replace the active rules at run time (tests use this to start and stop faults mid-run). */
  set(spec: string | FaultRule[], seed?: number): void {
    this.rules = typeof spec === 'string' ? parseFaults(spec) : spec.map((r) => ({ ...r }));
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  clear(): void {
    this.rules = [];
  }

  decide(routeName: string, path: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const rule of this.rules) {
      if (rule.route && rule.route !== routeName && !path.startsWith(rule.route)) continue;
      if (rule.kind === 'latency') {
        decision.latencyMs += rule.latencyMs ?? 0;
        continue;
      }
      if (decision.fault) continue;
      if (rule.remaining !== undefined) {
        if (rule.remaining > 0) {
          rule.remaining -= 1;
          decision.fault = rule.kind;
        }
      } else if (rule.probability !== undefined && this.random() < rule.probability) {
        decision.fault = rule.kind;
      }
    }
    return decision;
  }
}
