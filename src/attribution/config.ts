import { z } from 'zod';

/**
 * The `attribution:` section of partnersync.yaml. Rules are versioned: a ledger entry records the
 * version that produced it, and `partnersync attribute --as-of <date> --rules <version>` replays any
 * version, so a disputed commission is recomputed with exactly the rules that paid it.
 *
 * Amounts are integer minor units (cents) keyed by ISO currency, rates are basis points
 * (1000 = 10%): no floats anywhere near money.
 *
 * @example
 *   attribution:
 *     activeRules: v2
 *     rules:
 *       v2:
 *         sourced: { kinds: [registered_deal, intro], windowDays: 90, split: { policy: first } }
 *         influenced: { kinds: [co_sell, influence_signal], split: { policy: weighted } }
 *         tiers: { acme: gold }
 *         commissions:
 *           gold:
 *             sourced: { type: percent, rateBps: 1000, capMinor: { USD: 500000 } }
 *         clawback: { withinDays: 90, mode: pro_rata }
 */
export const TOUCH_KINDS = ['registered_deal', 'intro', 'co_sell', 'influence_signal'] as const;
export type TouchKind = (typeof TOUCH_KINDS)[number];
export const TouchKindSchema = z.enum(TOUCH_KINDS);

const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');
const minor = z.number().int('integer minor units (cents), not a decimal').nonnegative();
const bps = z.number().int('basis points are integers (1000 = 10%)').min(0).max(100_000);
/** Money that depends on the opportunity's currency: `{ USD: 50000, EUR: 45000 }`. No FX is ever applied. */
const perCurrency = z.record(currency, minor);

export const SplitPolicy = z
  .object({
    policy: z.enum(['equal', 'weighted', 'first', 'last', 'fixed']).default('equal'),
    /** `weighted`: a partner's weight is that of its strongest touch kind (many weak signals do not add up). */
    weights: z.partialRecord(TouchKindSchema, z.number().int().positive()).default({ registered_deal: 4, co_sell: 3, intro: 2, influence_signal: 1 }),
    /** `fixed`: co-sell agreements. Used when the credited partners are exactly an agreement's partners. */
    agreements: z
      .array(
        z.object({
          name: z.string().min(1).optional(),
          /** Only for these opportunities (all when omitted). */
          opportunities: z.array(z.string().min(1)).optional(),
          sharesBps: z.record(z.string().min(1), z.number().int().positive()).refine((s) => Object.values(s).reduce((a, b) => a + b, 0) === 10_000, 'shares must sum to exactly 10000 basis points'),
        }),
      )
      .default([]),
    /** What `fixed` does when no agreement fits the partners on a deal. */
    fallback: z.enum(['equal', 'weighted', 'first', 'last']).default('equal'),
  })
  .prefault({});
export type SplitPolicy = z.infer<typeof SplitPolicy>;

export const CommissionRule = z
  .object({
    /** percent: rateBps of the partner's credited amount; flat: amountMinor per deal, times the partner's share. */
    type: z.enum(['percent', 'flat']),
    rateBps: bps.optional(),
    amountMinor: perCurrency.optional(),
    /** At most this much per deal and partner. */
    capMinor: perCurrency.optional(),
    /**
     * Marginal rates above cumulative credited revenue per partner, kind, currency and period: the part
     * of a deal above `aboveMinor` earns `rateBps` (like tax brackets, so crossing a threshold never lowers pay).
     */
    accelerators: z.array(z.object({ aboveMinor: perCurrency, rateBps: bps })).default([]),
    period: z.enum(['year', 'quarter', 'all']).default('year'),
  })
  .superRefine((r, ctx) => {
    if (r.type === 'percent' && r.rateBps === undefined) ctx.addIssue({ code: 'custom', path: ['rateBps'], message: 'required for type percent' });
    if (r.type === 'flat' && r.amountMinor === undefined) ctx.addIssue({ code: 'custom', path: ['amountMinor'], message: 'required for type flat' });
    if (r.type === 'flat' && r.accelerators.length > 0) ctx.addIssue({ code: 'custom', path: ['accelerators'], message: 'accelerators apply to type percent only' });
  });
export type CommissionRule = z.infer<typeof CommissionRule>;

export const RuleSet = z.object({
  description: z.string().optional(),
  sourced: z
    .object({
      kinds: z.array(TouchKindSchema).default(['registered_deal', 'intro']),
      /** A sourcing touch happened at most this many days before the opportunity was created… */
      windowDays: z.number().int().nonnegative().default(90),
      /** …or at most this many days after (registrations filed just after the CRM record). */
      graceDays: z.number().int().nonnegative().default(0),
      split: SplitPolicy,
    })
    .prefault({}),
  influenced: z
    .object({
      /** Touches of these kinds while the opportunity was open (created ≤ touch ≤ closed) influence it. */
      kinds: z.array(TouchKindSchema).default(['co_sell', 'influence_signal', 'intro', 'registered_deal']),
      split: SplitPolicy,
    })
    .prefault({}),
  /** Partner → tier name; the tier picks the commission rules. */
  tiers: z.record(z.string().min(1), z.string().min(1)).default({}),
  defaultTier: z.string().min(1).default('default'),
  /** Tier → credit kind → rule. A tier or kind without a rule earns no commission. */
  commissions: z.record(z.string().min(1), z.object({ sourced: CommissionRule.optional(), influenced: CommissionRule.optional() })).default({}),
  clawback: z
    .object({
      /** A churn within this many days of close takes back the commission (0 disables clawbacks). */
      withinDays: z.number().int().nonnegative().default(0),
      /** full: all of it; pro_rata: the unearned part (by days left in the window, or by lost revenue). */
      mode: z.enum(['full', 'pro_rata']).default('full'),
      basis: z.enum(['time', 'lost_revenue']).default('time'),
      appliesTo: z.array(z.enum(['sourced', 'influenced'])).default(['sourced']),
    })
    .prefault({}),
});
export type RuleSet = z.infer<typeof RuleSet>;

const version = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'versions use letters, digits, ., _ and -');

export const AttributionConfig = z
  .object({
    activeRules: version.optional(),
    rules: z.record(version, RuleSet).default({}),
  })
  .superRefine((c, ctx) => {
    if (c.activeRules !== undefined && !c.rules[c.activeRules]) {
      ctx.addIssue({ code: 'custom', path: ['activeRules'], message: `no rule version "${c.activeRules}" under attribution.rules (have: ${Object.keys(c.rules).join(', ') || 'none'})` });
    }
  });
export type AttributionConfig = z.infer<typeof AttributionConfig>;
