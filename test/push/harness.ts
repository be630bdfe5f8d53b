import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { Destination } from '../../src/connectors/types.js';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { RunLog } from '../../src/staging/runs.js';
import { pushTargets, type PushOptions, type PushReport } from '../../src/push/push-targets.js';

/** A staging database with one model table and a config with one target, for push tests. */
export interface Harness {
  dir: string;
  staging: Staging;
  configTree: Record<string, unknown>;
  setModel(rows: Array<Record<string, unknown>>): Promise<void>;
  push(dest: Destination | undefined, options?: PushOptions, targetOverrides?: Record<string, unknown>): Promise<PushReport>;
  ledger(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };

export async function harness(opts: {
  connection?: Record<string, unknown>;
  target: Record<string, unknown>;
  columns?: string;
  stagingUrl?: string;
}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-push-'));
  const staging = await openStaging(opts.stagingUrl ?? `sqlite:${path.join(dir, 'staging.db')}`);
  const columns = opts.columns ?? 'domain text, name text, seats integer';
  const configTree: Record<string, unknown> = {
    connections: { dest: opts.connection ?? { type: 'file', dir: 'out' } },
    targets: { t: { connection: 'dest', model: 'accounts', ...opts.target } },
  };
  const h: Harness = {
    dir,
    staging,
    configTree,
    async setModel(rows) {
      await staging.db.schema.dropTableIfExists('accounts');
      await staging.db.raw(`create table accounts (${columns})`);
      for (let i = 0; i < rows.length; i += 100) await staging.db('accounts').insert(rows.slice(i, i + 100));
    },
    async push(dest, options = {}, targetOverrides = {}) {
      const tree = structuredClone(configTree) as { targets: Record<string, Record<string, unknown>> };
      Object.assign(tree.targets.t!, targetOverrides);
      const r = validateConfig(tree, {});
      expect(r.problems).toEqual([]);
      const run = await RunLog.start(staging, 'push', {});
      try {
        const report = await pushTargets({ config: r.config!, baseDir: dir, staging, run }, ['t'], {
          retry: fastRetry,
          ...(dest ? { createDestination: () => dest } : {}),
          ...options,
        });
        await run.finish('succeeded', 0);
        return report;
      } catch (err) {
        await run.finish('failed', 1, String(err));
        throw err;
      }
    },
    ledger: () => staging.db('sync_ledger').where({ target: 't' }).orderBy('key'),
    async close() {
      await staging.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** considered = unchanged + sent + invalid + rejected + skipped, for every target of a report. */
export function expectCountsAddUp(report: PushReport): void {
  for (const t of report.targets) {
    const c = t.counts;
    expect(c.unchanged + c.sent + c.invalid + c.rejected + c.skipped).toBe(c.considered);
    expect(c.created + c.updated + c.deleted + c.archived + c.cleared).toBe(c.sent);
  }
}

export const accounts = (n: number, over: (i: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ domain: `d${String(i).padStart(4, '0')}.com`, name: `Company ${i}`, seats: i, ...over(i) }));
