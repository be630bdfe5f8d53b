import type { TouchKind } from './config.js';

/**
 * The input interface of attribution: plain records, whatever table they came from. The staging
 * reader (`inputs-read.ts`) fills it from `opportunities`, `partner_touches`, `deals` and
 * `churn_events`; tests build it by hand. Timestamps are ISO-8601 UTC strings.
 */
export interface Opportunity {
  opportunityId: string;
  accountId: string;
  /** Integer minor units of `currency`. */
  amountMinor: number;
  currency: string;
  createdAt: string;
  /** When it was won or lost; null while open. */
  closedAt: string | null;
  isWon: boolean;
}

export interface PartnerTouch {
  /** Evidence id: a touch id, or `deal:<id>` for an accepted deal registration. */
  touchId: string;
  partner: string;
  kind: TouchKind;
  touchedAt: string;
  /** When partnersync could first know it (e.g. a registration's acceptance), if later than `touchedAt`. */
  knownAt?: string;
  /** A touch names an opportunity, or an account (then it applies to that account's opportunities). */
  opportunityId: string | null;
  accountId: string | null;
}

export interface ChurnEvent {
  churnId: string;
  accountId: string;
  churnedAt: string;
  lostRevenueMinor: number;
  currency: string;
}

export interface AttributionInputs {
  opportunities: Opportunity[];
  touches: PartnerTouch[];
  churnEvents: ChurnEvent[];
}

export type CreditKind = 'sourced' | 'influenced';
export type EntryKind = 'sourced_credit' | 'influenced_credit' | 'commission' | 'clawback';
export type LedgerKind = EntryKind | 'reversal';

/**
 * One line of an attribution result: a pure function of (inputs as of a date, rule version).
 * `positionId` is a hash of everything else, so the same facts and rules give the same id on any
 * machine, and a changed number gives a new id (the ledger then reverses the old one).
 */
export interface AttributionEntry {
  positionId: string;
  opportunityId: string;
  accountId: string;
  partner: string;
  kind: EntryKind;
  /** Which credit the line derives from (commissions and clawbacks too). */
  creditKind: CreditKind;
  /** Credit on an open opportunity is pipeline; on a won one, revenue. */
  stage: 'open' | 'won';
  /** The partner's share, in basis points (largest remainder, sums to 10000 per opportunity and credit kind). */
  shareBps: number;
  /** The same share as an exact reduced fraction, e.g. "1/3". */
  share: string;
  /** What the number was computed from: the opportunity amount (credit), the credited amount (commission), the commission (clawback). */
  basisMinor: number;
  amountMinor: number;
  currency: string;
  ruleVersion: string;
  /** The date the line belongs to in reports: created (pipeline), closed (revenue, commission), churned (clawback). */
  effectiveAt: string;
  evidence: string[];
  /** The rule and arithmetic, in words, for `attribute explain`. */
  note: string;
}

export interface TouchDecision {
  touchId: string;
  partner: string;
  kind: TouchKind;
  touchedAt: string;
  decision: CreditKind | 'ignored';
  reason: string;
}

export interface OpportunityExplanation {
  opportunity: Opportunity;
  stage: 'open' | 'won' | 'lost';
  touches: TouchDecision[];
  splits: Array<{ creditKind: CreditKind; policy: string; partners: Array<{ partner: string; weight: number; shareBps: number; share: string; amountMinor: number }> }>;
  entries: AttributionEntry[];
}

export interface AttributionResult {
  asOf: string;
  ruleVersion: string;
  entries: AttributionEntry[];
  explanations: OpportunityExplanation[];
  /** Things the rules could not price (e.g. a flat amount with no value for the deal's currency). */
  warnings: string[];
}
