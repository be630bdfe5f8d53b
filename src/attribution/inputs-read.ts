import type { Knex } from 'knex';
import { InputError } from '../errors.js';
import { TOUCH_KINDS, type TouchKind } from './config.js';
import { normalizeTimestamp } from './timestamps.js';
import type { AttributionInputs, ChurnEvent, Opportunity, PartnerTouch } from './types.js';

/**
 * Reads the attribution inputs from staging. This is the documented input interface; the model
 * step (and the deal API) write these tables, tests create them by hand:
 *
 * | table             | required | columns                                                                                   |
 * |-------------------|----------|-------------------------------------------------------------------------------------------|
 * | `opportunities`   | yes      | opportunity_id, account_id, amount_minor (integer), currency, created_at, closed_at, is_won |
 * | `partner_touches` | yes      | touch_id, partner, kind (registered_deal, intro, co_sell, influence_signal), touched_at, account_id and/or opportunity_id |
 * | `deals`           | no       | deal_id (or id), partner (or partner_id), status, registered_at (or submitted_at, created_at), accepted_at?, account_id?, opportunity_id? — only `accepted` ones count, as registered_deal touches |
 * | `churn_events`    | no       | churn_id (or event_id, id), account_id, churned_at, lost_revenue_minor, currency            |
 *
 * A missing required table is an error naming it; a missing optional one is a warning (its facts
 * are simply absent from the result).
 */
export const INPUT_TABLES = { opportunities: true, partner_touches: true, deals: false, churn_events: false } as const;

export interface ReadInputs {
  inputs: AttributionInputs;
  warnings: string[];
}

export async function readAttributionInputs(db: Knex): Promise<ReadInputs> {
  const warnings: string[] = [];
  const present: Record<string, boolean> = {};
  for (const t of Object.keys(INPUT_TABLES)) present[t] = await db.schema.hasTable(t);
  const missing = Object.entries(INPUT_TABLES).filter(([t, required]) => required && !present[t]).map(([t]) => t);
  if (missing.length > 0) {
    throw new InputError(`attribution needs the staging table${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist`, {
      code: 'ATTRIBUTION_INPUT_MISSING',
      hint: 'run `partnersync model` to build the canonical tables (see `partnersync attribute --help` for the columns)',
    });
  }
  const cols = async (t: string) => new Set(Object.keys(await db(t).columnInfo()));
  const need = (t: string, have: Set<string>, names: string[]) => {
    const lacking = names.filter((n) => !have.has(n));
    if (lacking.length) throw new InputError(`staging table ${t} lacks column${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')}`, { code: 'ATTRIBUTION_INPUT_MISSING' });
  };
  const pick = (t: string, have: Set<string>, options: string[]) => {
    const c = options.find((o) => have.has(o));
    if (!c) throw new InputError(`staging table ${t} needs one of the columns ${options.join(', ')}`, { code: 'ATTRIBUTION_INPUT_MISSING' });
    return c;
  };

  const oc = await cols('opportunities');
  need('opportunities', oc, ['opportunity_id', 'account_id', 'amount_minor', 'currency', 'created_at', 'closed_at', 'is_won']);
  const opportunities: Opportunity[] = (await db('opportunities').select('*')).map((r, i) => {
    const where = `opportunities row ${r.opportunity_id ?? i + 1}`;
    return {
      opportunityId: String(r.opportunity_id),
      accountId: String(r.account_id),
      amountMinor: nonNegative(integer(r.amount_minor, `${where}: amount_minor`), `${where}: amount_minor`),
      currency: String(r.currency).toUpperCase(),
      createdAt: normalizeTimestamp(r.created_at, `${where}: created_at`),
      closedAt: r.closed_at === null || r.closed_at === undefined || r.closed_at === '' ? null : normalizeTimestamp(r.closed_at, `${where}: closed_at`),
      isWon: truthy(r.is_won),
    };
  });

  const tc = await cols('partner_touches');
  need('partner_touches', tc, ['touch_id', 'partner', 'kind', 'touched_at']);
  const touches: PartnerTouch[] = [];
  for (const r of await db('partner_touches').select('*')) {
    const where = `partner_touches row ${r.touch_id}`;
    if (!(TOUCH_KINDS as readonly string[]).includes(r.kind)) {
      warnings.push(`${where}: unknown kind "${r.kind}" (one of ${TOUCH_KINDS.join(', ')}); skipped`);
      continue;
    }
    touches.push({
      touchId: String(r.touch_id),
      partner: String(r.partner),
      kind: r.kind as TouchKind,
      touchedAt: normalizeTimestamp(r.touched_at, `${where}: touched_at`),
      opportunityId: tc.has('opportunity_id') && r.opportunity_id ? String(r.opportunity_id) : null,
      accountId: tc.has('account_id') && r.account_id ? String(r.account_id) : null,
    });
  }

  if (present.deals) {
    const dc = await cols('deals');
    const id = pick('deals', dc, ['deal_id', 'id']);
    const partner = pick('deals', dc, ['partner', 'partner_id']);
    const at = pick('deals', dc, ['registered_at', 'submitted_at', 'created_at']);
    need('deals', dc, ['status']);
    for (const r of await db('deals').select('*')) {
      if (String(r.status).toLowerCase() !== 'accepted') continue;
      const where = `deals row ${r[id]}`;
      touches.push({
        touchId: `deal:${r[id]}`,
        partner: String(r[partner]),
        kind: 'registered_deal',
        touchedAt: normalizeTimestamp(r[at], `${where}: ${at}`),
        knownAt: dc.has('accepted_at') && r.accepted_at ? normalizeTimestamp(r.accepted_at, `${where}: accepted_at`) : undefined,
        opportunityId: dc.has('opportunity_id') && r.opportunity_id ? String(r.opportunity_id) : null,
        accountId: dc.has('account_id') && r.account_id ? String(r.account_id) : null,
      });
    }
  } else warnings.push('staging table deals does not exist: no deal registrations considered');

  const churnEvents: ChurnEvent[] = [];
  if (present.churn_events) {
    const cc = await cols('churn_events');
    const id = pick('churn_events', cc, ['churn_id', 'event_id', 'id']);
    need('churn_events', cc, ['account_id', 'churned_at', 'lost_revenue_minor', 'currency']);
    for (const r of await db('churn_events').select('*')) {
      const where = `churn_events row ${r[id]}`;
      churnEvents.push({
        churnId: String(r[id]),
        accountId: String(r.account_id),
        churnedAt: normalizeTimestamp(r.churned_at, `${where}: churned_at`),
        lostRevenueMinor: integer(r.lost_revenue_minor ?? 0, `${where}: lost_revenue_minor`),
        currency: String(r.currency).toUpperCase(),
      });
    }
  } else warnings.push('staging table churn_events does not exist: no clawbacks can be computed');

  return { inputs: { opportunities, touches, churnEvents }, warnings };
}

function integer(v: unknown, where: string): number {
  // pg returns bigint columns as strings; a decimal point means someone stored major units.
  const s = String(v ?? '').trim();
  if (!/^-?\d+$/.test(s)) throw new InputError(`${where}: "${s}" is not an integer amount in minor units (cents)`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new InputError(`${where}: ${s} is too large`);
  return n;
}

function nonNegative(n: number, where: string): number {
  if (n < 0) throw new InputError(`${where}: ${n} is negative; credit is split from an opportunity's positive amount`);
  return n;
}

function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || (typeof v === 'string' && ['true', 't', 'yes', 'won'].includes(v.toLowerCase()));
}
