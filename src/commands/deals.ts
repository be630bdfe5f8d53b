import os from 'node:os';
import { ConfigError, UsageError } from '../errors.js';
import { acceptDeal, listDeals, rejectDeal, type Decision, type ReviewFilter } from '../deals/deal-decisions.js';
import type { DealRow } from '../deals/deal-service.js';
import { pushTargets, throwIfRejectsOverLimit, type PushReport } from '../push/push-targets.js';
import type { RetrySettings } from '../push/apply.js';
import { table } from '../ui/output.js';
import { withStagedRun, type CommandContext } from './context.js';
import type { LoadedConfig } from '../config/load.js';

/**
 * `partnersync deals review|accept|reject|push`: the human side of the deal API. Accepting moves a
 * deal into `deals_accepted` and pushes the configured CRM targets (`deals.crm.targets`) through the
 * push engine, so the CRM record is written once, with the engine's retries and ledger; running
 * accept again, or `deals push` after a failed push, sends only what the ledger has not confirmed.
 */
const FILTERS: ReviewFilter[] = ['open', 'submitted', 'conflict', 'accepted', 'rejected', 'all'];

const view = (d: DealRow) => ({
  deal: d.deal_id,
  partner: d.partner,
  status: d.status,
  match: d.match_status,
  account: d.account_id ?? '',
  company: d.company_name,
  deal_name: d.deal_name,
  stage: d.stage,
  conflict: d.status === 'conflict' ? `${d.conflict_reason}: ${d.conflict_detail}` : '',
  registered_at: d.registered_at,
});

export async function dealsReview(ctx: CommandContext, opts: { status?: string; partner?: string }): Promise<void> {
  const filter = (opts.status ?? 'open') as ReviewFilter;
  if (!FILTERS.includes(filter)) throw new UsageError(`--status: one of ${FILTERS.join(', ')}`);
  await withStagedRun(ctx, { command: 'deals review', args: opts, lock: false, configOptional: true }, async ({ staging }) => {
    const rows = await listDeals(staging.db, filter, opts.partner);
    const candidates = (d: DealRow) => (d.match_candidates ? (JSON.parse(d.match_candidates) as Array<{ accountId: string; reason: string }>) : []);
    ctx.out.result({ deals: rows.map((d) => ({ ...view(d), candidates: candidates(d) })) }, () =>
      rows.length ? table(rows.map(view)) : `no ${filter === 'open' ? 'deals waiting for a decision' : `${filter} deals`}`,
    );
  });
}

function crmTargets(config: LoadedConfig): string[] {
  const targets = config.deals.crm.targets;
  const problems = targets.filter((t) => !config.targets[t]).map((t) => `deals.crm.targets: no target named "${t}" in targets:`);
  for (const t of targets) {
    const model = config.targets[t]?.model ?? t;
    if (config.targets[t] && model !== 'deals_accepted') problems.push(`targets.${t}.model: "${model}" — a deals.crm target pushes the model deals_accepted`);
  }
  if (problems.length) throw new ConfigError(problems);
  return targets;
}

async function pushAccepted(ctx: CommandContext, staged: Parameters<Parameters<typeof withStagedRun>[2]>[0], retry?: RetrySettings): Promise<PushReport | undefined> {
  const targets = crmTargets(staged.config);
  if (targets.length === 0) {
    ctx.out.warn('deals.crm.targets is empty: accepted deals stay in staging table deals_accepted');
    return undefined;
  }
  const report = await pushTargets(staged, targets, { out: ctx.out, signal: ctx.signal, retry });
  return report;
}

const who = (ctx: CommandContext, by?: string) => by ?? ctx.env.PARTNERSYNC_USER ?? ctx.env.USER ?? os.userInfo().username;

export async function dealsAccept(ctx: CommandContext, opts: { args?: unknown[]; account?: string; note?: string; by?: string; push?: boolean; retry?: RetrySettings }): Promise<void> {
  const ids = (opts.args ?? []).flat().map(String).filter(Boolean);
  if (ids.length === 0) throw new UsageError('say which deals to accept', { hint: 'partnersync deals review lists them' });
  if (opts.account && ids.length > 1) throw new UsageError('--account applies to one deal at a time');
  await withStagedRun(ctx, { command: 'deals accept', args: { ids, account: opts.account }, configOptional: true }, async (staged) => {
    const decisions: Decision[] = [];
    for (const id of ids) decisions.push(await acceptDeal(staged.staging.db, staged.config.deals, id, { by: who(ctx, opts.by), note: opts.note, accountId: opts.account }));
    for (const d of decisions) ctx.out.info(`${d.deal.deal_id}: ${d.changed ? 'accepted' : 'already accepted'}`);
    // --no-push: decide now, push later with `deals push` (e.g. from a scheduled run).
    const report = opts.push === false ? undefined : await pushAccepted(ctx, staged, opts.retry);
    ctx.out.result({ accepted: decisions.map((d) => ({ deal: d.deal.deal_id, changed: d.changed })), push: report ?? null }, () =>
      [`accepted ${decisions.filter((d) => d.changed).length} deal(s) (${decisions.filter((d) => !d.changed).length} already accepted)`, ...(report ? report.targets.map((t) => `  ${t.target}: sent ${t.counts.sent}, unchanged ${t.counts.unchanged}, rejected ${t.counts.rejected}`) : [])].join('\n'),
    );
    if (report) throwIfRejectsOverLimit(report);
  });
}

export async function dealsReject(ctx: CommandContext, opts: { args?: unknown[]; note?: string; by?: string }): Promise<void> {
  const ids = (opts.args ?? []).flat().map(String).filter(Boolean);
  if (ids.length === 0) throw new UsageError('say which deals to reject');
  await withStagedRun(ctx, { command: 'deals reject', args: { ids }, lock: false, configOptional: true }, async ({ staging }) => {
    const decisions: Decision[] = [];
    for (const id of ids) decisions.push(await rejectDeal(staging.db, id, { by: who(ctx, opts.by), note: opts.note }));
    ctx.out.result({ rejected: decisions.map((d) => ({ deal: d.deal.deal_id, changed: d.changed })) }, `rejected ${decisions.filter((d) => d.changed).length} deal(s)`);
  });
}

export async function dealsPush(ctx: CommandContext, opts: { retry?: RetrySettings } = {}): Promise<void> {
  await withStagedRun(ctx, { command: 'deals push', args: {} }, async (staged) => {
    const report = await pushAccepted(ctx, staged, opts.retry);
    ctx.out.result({ push: report ?? null }, report ? report.targets.map((t) => `${t.target}: sent ${t.counts.sent}, unchanged ${t.counts.unchanged}, rejected ${t.counts.rejected}`).join('\n') : 'nothing to push');
    if (report) throwIfRejectsOverLimit(report);
  });
}
