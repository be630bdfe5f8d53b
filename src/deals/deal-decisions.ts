import type { Knex } from 'knex';
import { InputError } from '../errors.js';
import { crmStage, type DealsConfig } from './config.js';
import type { DealRow } from './deal-service.js';
import { ensureDealsTable } from './deal-tables.js';

/**
 * People's decisions on registered deals (`partnersync deals review|accept|reject`). Accepting writes
 * the deal's CRM-ready row into `deals_accepted` in the same transaction as the status change; the
 * push engine then delivers that table to the CRM targets with its ledger, so accepting twice, or
 * pushing again after a failure, never creates a second CRM record.
 *
 * @example
 *   const { deal, changed } = await acceptDeal(db, cfg.deals, 'dl_…', { by: 'jane@us.com' });
 */
export type ReviewFilter = 'open' | 'submitted' | 'conflict' | 'accepted' | 'rejected' | 'all';

export async function listDeals(db: Knex, filter: ReviewFilter = 'open', partner?: string): Promise<DealRow[]> {
  await ensureDealsTable(db);
  const q = db('deals').select('*').orderBy('registered_at');
  if (filter === 'open') q.whereIn('status', ['submitted', 'conflict']);
  else if (filter !== 'all') q.where('status', filter);
  if (partner) q.where('partner', partner);
  return (await q) as DealRow[];
}

async function load(db: Knex, dealId: string): Promise<DealRow> {
  await ensureDealsTable(db);
  const row = (await db('deals').where({ deal_id: dealId }).first()) as DealRow | undefined;
  if (!row) throw new InputError(`no deal ${dealId}`, { hint: 'partnersync deals review lists the deals waiting for a decision' });
  return row;
}

/** Major units as exact decimal text (12345 minor USD → "123.45"); the currency's own exponent. */
export function minorToDecimal(minor: number | string | null, currency: string | null): string | null {
  if (minor === null || minor === undefined) return null;
  let digits = 2;
  try {
    if (currency) digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    digits = 2;
  }
  const n = BigInt(minor);
  const neg = n < 0n;
  const s = (neg ? -n : n).toString().padStart(digits + 1, '0');
  const whole = digits ? s.slice(0, -digits) : s;
  return `${neg ? '-' : ''}${whole}${digits ? `.${s.slice(-digits)}` : ''}`;
}

export interface Decision {
  deal: DealRow;
  /** False when the deal already had this decision (running accept twice changes nothing). */
  changed: boolean;
}

export async function acceptDeal(db: Knex, config: DealsConfig, dealId: string, opts: { by: string; note?: string; accountId?: string; now?: Date }): Promise<Decision> {
  const cur = await load(db, dealId);
  if (cur.status === 'rejected') throw new InputError(`deal ${dealId} was rejected on ${cur.rejected_at}; it cannot be accepted`);
  if (cur.status === 'accepted' && (!opts.accountId || opts.accountId === cur.account_id)) return { deal: cur, changed: false };
  if (cur.status === 'accepted') throw new InputError(`deal ${dealId} is already accepted for account ${cur.account_id ?? '(none)'}; its CRM record exists`);
  if (opts.accountId && (await db.schema.hasTable('accounts')) && !(await db('accounts').where('account_id', opts.accountId).first()))
    throw new InputError(`account ${opts.accountId} is not in the staged accounts`);
  const at = (opts.now ?? new Date()).toISOString();
  const partner = (await db('api_partners').where({ partner_id: cur.partner }).first('name')) as { name?: string } | undefined;
  const deal: DealRow = { ...cur, status: 'accepted', accepted_at: at, decided_by: opts.by, decision_note: opts.note ?? null, account_id: opts.accountId ?? cur.account_id, updated_at: at };
  await db.transaction(async (trx) => {
    // Only a deal still undecided moves: two concurrent accepts write one row.
    const n = await trx('deals')
      .where({ deal_id: dealId })
      .whereIn('status', ['submitted', 'conflict'])
      .update({ status: 'accepted', accepted_at: at, decided_by: opts.by, decision_note: opts.note ?? null, account_id: deal.account_id, updated_at: at });
    if (n === 0) return;
    await trx('deals_accepted')
      .insert({
        deal_id: deal.deal_id,
        partner: deal.partner,
        partner_name: partner?.name ?? deal.partner,
        deal_name: deal.deal_name,
        account_id: deal.account_id,
        company_name: deal.company_name,
        company_website: deal.company_website,
        stage: deal.stage,
        salesforce_stage: crmStage(config, 'salesforce', deal.stage),
        hubspot_stage: crmStage(config, 'hubspot', deal.stage),
        amount: minorToDecimal(deal.amount_minor, deal.currency),
        amount_minor: deal.amount_minor,
        currency: deal.currency,
        close_date: deal.expected_close_date,
        partner_reference: deal.partner_reference,
        registered_at: deal.registered_at,
        accepted_at: at,
      })
      .onConflict('deal_id')
      .ignore();
  });
  return { deal: await load(db, dealId), changed: true };
}

export async function rejectDeal(db: Knex, dealId: string, opts: { by: string; note?: string; now?: Date }): Promise<Decision> {
  const cur = await load(db, dealId);
  if (cur.status === 'rejected') return { deal: cur, changed: false };
  if (cur.status === 'accepted') throw new InputError(`deal ${dealId} is already accepted (its CRM record exists); it cannot be rejected`);
  const at = (opts.now ?? new Date()).toISOString();
  await db('deals').where({ deal_id: dealId }).whereIn('status', ['submitted', 'conflict']).update({ status: 'rejected', rejected_at: at, decided_by: opts.by, decision_note: opts.note ?? null, updated_at: at });
  return { deal: await load(db, dealId), changed: true };
}
