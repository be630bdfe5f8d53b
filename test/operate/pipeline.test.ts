import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stableUuid } from '../../src/emulators/crossbeam/index.js';
import { destinationDiff, ensureBuilt, runCli, spawnCli, stagingRows, startWorld, writeCalls, type World } from './world.js';

/**
 * The acceptance story of `partnersync run`, with the built CLI against emulators in this process:
 * Crossbeam overlaps + Salesforce accounts → staging → canonical accounts and partner signals → match →
 * the overlap summary play → Salesforce account fields and Intercom company attributes.
 */

const sumSent = (report: any, target: string) => report.steps.filter((s: any) => s.step === 'push').flatMap((s: any) => s.detail.targets).find((t: any) => t.target === target)?.counts.sent;
const lastRun = (w: World) => stagingRows(w, 'SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT 1')[0]!;
const modelRows = (w: World) => stagingRows(w, 'SELECT * FROM play_partner_overlap_summary').length;
/** Every live overlap that belongs to one of our accounts in Crossbeam, as the raw table keys it. */
const liveOverlapKeys = (w: World) => w.xb.state.overlaps.filter((o) => !o.is_deleted).map((o) => `${o.crossbeam_record_id}|${o.partner_crossbeam_record_id}`).sort();
const stagedOverlapKeys = (w: World) =>
  stagingRows(w, 'SELECT crossbeam_record_id, partner_crossbeam_record_id FROM raw_crossbeam__overlaps_accounts WHERE _deleted = 0').map((r) => `${r.crossbeam_record_id}|${r.partner_crossbeam_record_id}`).sort();

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(() => ensureBuilt(), 300_000);

describe('run: Crossbeam + Salesforce → staging → match → Salesforce + Intercom', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({
      accounts: 30,
      patchConfig: (c) => {
        // Several batches per target, so an interrupt can land between them.
        c.targets.intercom_companies.batchSize = 4;
        c.targets.salesforce_accounts.batchSize = 5;
        c.connections.intercom.concurrency = 2;
      },
    });
  });
  afterAll(async () => w?.stop());

  it('first run lands the model in both destinations; a second run moves nothing; one changed overlap moves one account', async () => {
    const first = await runCli(w, ['run', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.status).toBe('succeeded');
    expect(report.steps.map((s: any) => `${s.step}:${s.status}`)).toEqual(['extract:succeeded', 'model:succeeded', 'match:succeeded', 'model:succeeded', 'push:succeeded']);
    const rows = modelRows(w);
    expect(rows).toBeGreaterThan(10);
    expect(sumSent(report, 'salesforce_accounts')).toBe(rows);
    expect(sumSent(report, 'intercom_companies')).toBe(rows);
    expect(destinationDiff(w)).toEqual([]);

    const before = writeCalls(w);
    const second = await runCli(w, ['run', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(writeCalls(w)).toEqual(before);
    const again = JSON.parse(second.stdout);
    expect(sumSent(again, 'salesforce_accounts')).toBe(0);
    expect(sumSent(again, 'intercom_companies')).toBe(0);

    // Account 0 overlaps with two partners; one of those overlaps changes populations.
    w.xb.state.modifyOverlap({ crossbeam_record_id: stableUuid('rec:0'), partner_crossbeam_record_id: stableUuid('p:0:a') }, { partner_populations: [1, 3] });
    const sfUpdates = w.sf.calls('collections-update');
    const third = await runCli(w, ['run', '--json']);
    expect(third.code, third.stderr).toBe(0);
    const changed = JSON.parse(third.stdout);
    expect(sumSent(changed, 'salesforce_accounts')).toBe(1);
    expect(sumSent(changed, 'intercom_companies')).toBe(1);
    expect(writeCalls(w)).toEqual({ salesforce: before.salesforce + 1, intercom: before.intercom + 1 });
    expect(w.sf.calls('collections-update')).toBe(sfUpdates + 1);
    expect(w.sf.state.get('Account', w.accountIds[0]!)?.Partner_Overlaps__c).toContain('Prospects');
    expect(w.ic.state.companyByCompanyId(w.accountIds[0]!)?.custom_attributes.partner_overlaps).toContain('Prospects');
    expect(destinationDiff(w)).toEqual([]);
  }, 90_000);

  it('with 429s, 503s and dropped connections injected, the destinations still end equal to the model', async () => {
    // Every account with overlaps changes: a new population on its first overlap.
    for (const o of w.xb.state.overlaps.filter((x) => !x.is_deleted && !x.partner_populations.includes(3))) w.xb.state.modifyOverlap(o, { partner_populations: [...o.partner_populations, 3] });
    const spec = '429:0.2,503:0.1,reset:0.05';
    w.ic.faults.set(spec, 7);
    w.sf.faults.set(spec.split(',').map((f) => `${f}@collections-update`).join(','), 7);
    w.xb.faults.set(spec.split(',').map((f) => `${f}@overlaps-accounts`).join(','), 7);
    try {
      const r = await runCli(w, ['run', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      const targets = report.steps.find((s: any) => s.step === 'push').detail.targets;
      expect(targets.reduce((n: number, t: any) => n + t.retries + t.rateLimited, 0)).toBeGreaterThan(0);
      expect(targets.every((t: any) => t.counts.rejected === 0)).toBe(true);
      const faulted = w.ic.requests.filter((q) => q.fault).length + w.sf.requests.filter((q) => q.fault).length;
      expect(faulted).toBeGreaterThan(0);
    } finally {
      w.ic.faults.clear();
      w.sf.faults.clear();
      w.xb.faults.clear();
    }
    expect(destinationDiff(w)).toEqual([]);
  }, 120_000);

  it('SIGINT mid-push: the batch in flight finishes, exit 130, run log says interrupted; the re-run completes without resending anything', async () => {
    for (const o of w.xb.state.overlaps.filter((x) => !x.is_deleted)) w.xb.state.modifyOverlap(o, { partner_populations: [1] });
    const before = { sf: w.sf.calls('collections-update'), ic: w.ic.calls('companies-create-or-update') };
    // Slow Intercom, so the interrupt lands while its batches are going out.
    w.ic.faults.set('latency:150@companies-create-or-update');
    const cli = spawnCli(w, ['run']);
    await until(() => w.ic.calls('companies-create-or-update') - before.ic >= 5);
    cli.child.kill('SIGINT');
    const stopped = await cli.done;
    w.ic.faults.clear();
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/SIGINT: finishing the current batch/);
    const interrupted = lastRun(w);
    expect([interrupted.status, Number(interrupted.exit_code)]).toEqual(['interrupted', 130]);
    const changed = modelRows(w);
    const sentBeforeStop = w.ic.calls('companies-create-or-update') - before.ic;
    expect(sentBeforeStop).toBeLessThan(changed);
    // Every record the interrupted run sent is confirmed in the ledger (its batch finished).
    const confirmed = Number(stagingRows(w, "SELECT COUNT(*) AS n FROM sync_ledger WHERE target = 'intercom_companies' AND run_id = ? AND status = 'ok'", interrupted.id)[0]!.n);
    expect(confirmed).toBe(sentBeforeStop);

    const shown = await runCli(w, ['runs', 'show', interrupted.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/run interrupted \(exit 130\)/);
    expect(shown.stdout).toMatch(/\[push\] push interrupted after \d+\.\ds/);

    const resumed = await runCli(w, ['run', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(destinationDiff(w)).toEqual([]);
    // Nothing lost, nothing sent twice: each changed company went out exactly once over both runs.
    expect(w.ic.calls('companies-create-or-update') - before.ic).toBe(changed);
    expect(sumSent(JSON.parse(resumed.stdout), 'intercom_companies')).toBe(changed - sentBeforeStop);

    const status = await runCli(w, ['status']);
    expect(status.stdout).toMatch(/interrupted\s+130/);
    expect(status.stdout).toMatch(/seconds: extract=[\d.]+ model=[\d.]+ match=[\d.]+ push=[\d.]+/);
  }, 120_000);
});

describe('backfills: --full-refresh per stream, --since, SIGTERM mid-extract and resume', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({
      accounts: 60,
      // Half the accounts last changed in 2024, half in 2025 (for --since).
      accountFields: (i) => ({ SystemModstamp: i < 30 ? '2024-03-01T00:00:00.000+0000' : '2025-03-01T00:00:00.000+0000' }),
      patchConfig: (c) => {
        c.connections.crossbeam.pageSize = 4;
        c.connections.salesforce.overlapMinutes = 0;
      },
    });
  });
  afterAll(async () => w?.stop());

  it('--since stages only what changed since then; unknown --full-refresh streams are a usage error', async () => {
    const r = await runCli(w, ['run', '--only', 'extract', '--since', '2025-01-01', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const sf = JSON.parse(r.stdout).steps[0].detail.find((s: any) => s.connection === 'salesforce');
    expect(sf.records).toBe(30);
    expect(stagingRows(w, 'SELECT COUNT(*) AS n FROM raw_salesforce__accounts')[0]!.n).toBe(30);

    const bad = await runCli(w, ['run', '--full-refresh', 'hubspot.companies']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--full-refresh: "hubspot.companies" is not extracted by this pipeline/);
  }, 60_000);

  it('--full-refresh of one stream, stopped by SIGTERM mid-extract, resumes where it stopped and ends with exactly the source rows', async () => {
    // A full refresh of the whole salesforce connection backfills what --since left out.
    const sfRefresh = await runCli(w, ['run', '--only', 'extract', '--full-refresh', 'salesforce', '--json']);
    expect(sfRefresh.code, sfRefresh.stderr).toBe(0);
    const detail = JSON.parse(sfRefresh.stdout).steps[0].detail;
    expect(detail.map((s: any) => `${s.connection}.${s.stream}:${s.fullRefresh}`).sort()).toEqual(['crossbeam.overlaps_accounts:false', 'salesforce.accounts:true']);
    expect(stagingRows(w, 'SELECT COUNT(*) AS n FROM raw_salesforce__accounts WHERE _deleted = 0')[0]!.n).toBe(60);

    const total = liveOverlapKeys(w).length;
    expect(stagedOverlapKeys(w)).toEqual(liveOverlapKeys(w));
    w.xb.faults.set('latency:120@overlaps-accounts');
    const pagesBefore = w.xb.calls('overlaps-accounts');
    const cli = spawnCli(w, ['run', '--full-refresh', 'crossbeam.overlaps_accounts']);
    await until(() => w.xb.calls('overlaps-accounts') - pagesBefore >= 4);
    cli.child.kill('SIGTERM');
    const stopped = await cli.done;
    w.xb.faults.clear();
    expect(stopped.code, stopped.stderr).toBe(143);
    expect([lastRun(w).status, Number(lastRun(w).exit_code)]).toEqual(['interrupted', 143]);
    const partial = stagedOverlapKeys(w).length;
    expect(partial).toBeLessThan(total);

    // Meanwhile one overlap changes and one is deleted at the source.
    const [a, b] = w.xb.state.overlaps.filter((o) => !o.is_deleted);
    w.xb.state.modifyOverlap(a!, { partner_record_name: 'Renamed in Crossbeam' });
    w.xb.state.deleteOverlap(b!);

    const resumed = await runCli(w, ['run', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const xb = JSON.parse(resumed.stdout).steps[0].detail.find((s: any) => s.connection === 'crossbeam');
    // Resumed, not restarted: the rows committed before SIGTERM were not read again.
    expect(xb.records).toBeLessThan(total);
    expect(stagedOverlapKeys(w)).toEqual(liveOverlapKeys(w));
    expect(stagingRows(w, 'SELECT partner_record_name FROM raw_crossbeam__overlaps_accounts WHERE crossbeam_record_id = ? AND partner_crossbeam_record_id = ?', a!.crossbeam_record_id, a!.partner_crossbeam_record_id)[0]!.partner_record_name).toBe('Renamed in Crossbeam');
    expect(destinationDiff(w)).toEqual([]);
  }, 90_000);
});
