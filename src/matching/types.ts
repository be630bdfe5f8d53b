/**
 * The contract of the account-matching engine: which of OUR accounts does a partner signal belong to?
 *
 * The core is one pure function, `matchSignals(accounts, signals, policy) → MatchResult[]` (see
 * `engine.ts`): no I/O, deterministic, the same answer for the same input. File mode, pipeline mode, eval
 * and explain are thin shells around it.
 *
 * A wrong automatic match is far worse than a missed one (it puts a partner's customer on the wrong
 * account in front of a sales rep), so every doubt ends as `review`, never as a guess.
 *
 * @example
 *   import { matchSignals, MatchPolicy } from './index.js';
 *   const accounts = [
 *     { accountId: 'A1', name: 'Acme Inc.', website: 'https://www.acme.com/', domains: ['acme.io'] },
 *     { accountId: 'A2', name: 'Acme GmbH', website: 'acme.de', parentAccountId: 'A1', country: 'DE' },
 *   ];
 *   const signals = [{ signalId: 'S1', website: 'eu.acme.com/pricing', country: 'DE' }];
 *   const [r] = matchSignals(accounts, signals, MatchPolicy.parse({}));
 *   // r.status === 'matched', r.accountId === 'A2' (the hierarchy's only DE account),
 *   // r.rule === 'website-domain', r.candidates lists A1 as the candidate it beat.
 */
import { z } from 'zod';
import { normalizeHost } from './domain-normalize.js';

/** One of our (CRM) accounts. Only `accountId` and `name` are required. */
export interface AccountRecord {
  accountId: string;
  name: string;
  /** As a CRM user typed it: `WWW.ACME.COM`, `https://acme.com/en-us`, `acme.com`, … */
  website?: string | null;
  /** Extra domains the account owns (bare domains or URLs). */
  domains?: readonly string[] | null;
  /** Other names the company goes by (`IBM` for International Business Machines). */
  aliases?: readonly string[] | null;
  parentAccountId?: string | null;
  /** ISO 3166 alpha-2 preferred; `UK`, country names and case variants are folded (see `country.ts`). */
  country?: string | null;
  /** D-U-N-S number; used only when the policy enables DUNS precedence. */
  duns?: string | null;
  /**
   * E-mail addresses (or bare domains) of the account's contacts. Their non-free-mail domains become
   * weak evidence (`contact-email-domain`), used only when the policy lists that rule.
   */
  contactEmails?: readonly string[] | null;
}

/** One partner signal: a company as a partner's PRM knows it. Every evidence field is optional. */
export interface SignalRecord {
  signalId: string;
  companyName?: string | null;
  website?: string | null;
  /** One address, or several separated by `,`/`;`/spaces; `Name <a@b.com>` and `mailto:` are accepted. */
  email?: string | null;
  country?: string | null;
  duns?: string | null;
}

/** The rules the engine knows; `MatchPolicy.rules` picks and orders them. */
export const RULE_IDS = [
  'duns',
  'website-domain',
  'extra-domain',
  'email-domain',
  'contact-email-domain',
  'name-exact',
  'name-core',
  'name-domain-label',
  'name-acronym',
  'name-fuzzy',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** What the engine decided about one signal. */
export type MatchStatus = 'matched' | 'review' | 'unmatched';

/** An account the engine considered, with why. */
export interface Candidate {
  accountId: string;
  /** The rule that proposed this account. */
  rule: RuleId;
  /** 0–1: how strongly this rule's evidence points at this account. */
  score: number;
  /** Human-readable: what matched, or why this candidate lost. */
  reason: string;
}

/** The normalised evidence a signal carried, as the engine saw it (for explain). */
export interface SignalEvidence {
  /** Registrable domains from the website field (public-suffix aware, private suffixes included). */
  websiteDomains: string[];
  /** Website domains that sit on a shared host (`x.github.io`): owned by the customer, not by the host. */
  sharedHostDomains: string[];
  /** Registrable domains of work e-mail addresses (free-mail/disposable removed). */
  emailDomains: string[];
  /** E-mail domains that were ignored because they are free-mail or disposable. */
  freeMailDomains: string[];
  /** Normalised company name (`acme`), or '' when absent. */
  nameKey: string;
  country: string | null;
  duns: string | null;
}

/**
 * The decision for one signal.
 * - `matched`: `accountId`, `rule` and `confidence` are set; `candidates` are the accounts it beat.
 * - `review`: `accountId` is null; `candidates` are ranked, best first, each with its reason.
 * - `unmatched`: no evidence pointed at any account.
 */
export interface MatchResult {
  signalId: string;
  status: MatchStatus;
  accountId: string | null;
  /** The rule that decided (for `review`: the rule whose candidates are ambiguous). */
  rule: RuleId | null;
  /** 0–1; 0 for `unmatched`. For `review`, the best candidate's score. */
  confidence: number;
  candidates: Candidate[];
  /** One line: the evidence, the rule that decided, why the others lost. */
  explanation: string;
  evidence: SignalEvidence;
  /** Set when a stored review decision overrode the engine (pipeline mode). */
  decidedBy?: 'engine' | 'review';
}

const unit = z.number().min(0).max(1);

/**
 * The matching policy (the `match:` section of partnersync.yaml). Every field has a default; the defaults
 * are the policy of the dev set's README: strongest evidence first, hierarchy resolved to the most specific
 * account the evidence supports, ambiguity to review.
 *
 * @example
 *   MatchPolicy.parse({});                                    // all defaults
 *   MatchPolicy.parse({ rules: ['website-domain', 'name-exact'], fuzzy: { autoThreshold: 0.97 } });
 *   MatchPolicy.parse({ duns: 'precedence' });                // equal DUNS matches, different DUNS never does
 */
export const MatchPolicy = z.object({
  /** Rules, strongest first. The first rule that yields a candidate decides (see `engine.ts`). */
  rules: z
    .array(z.enum(RULE_IDS))
    .min(1)
    .default([
      'duns',
      'website-domain',
      'extra-domain',
      'email-domain',
      'name-exact',
      'name-core',
      'name-domain-label',
      'name-acronym',
      'name-fuzzy',
    ]),
  /**
   * `ignore`: DUNS is not used. `precedence`: a signal and an account with the same DUNS match before any
   * other rule, and an account whose DUNS differs from the signal's is never matched by the other rules.
   */
  duns: z.enum(['ignore', 'precedence']).default('ignore'),
  hierarchy: z
    .object({
      /**
       * `most-specific` (default): inside one hierarchy, the account whose country equals the signal's wins
       * when exactly one account of the hierarchy has that country; otherwise the top-most account holding
       * the evidence. `top-most`: always the top-most holder. `review`: several holders in one hierarchy go
       * to review.
       */
      resolve: z.enum(['most-specific', 'top-most', 'review']).default('most-specific'),
    })
    .default({ resolve: 'most-specific' }),
  /** Confidence below which a unique candidate still goes to review instead of matching. */
  autoMatchMinConfidence: unit.default(0.8),
  fuzzy: z
    .object({
      /** Jaro-Winkler similarity of the normalised names at or above which a match is automatic… */
      autoThreshold: unit.default(0.95),
      /** …provided the runner-up (in another hierarchy) is at least this much lower. */
      margin: unit.default(0.04),
      /** Candidates from here up to the auto threshold go to review. */
      reviewThreshold: unit.default(0.9),
      /** Names shorter than this (normalised, without spaces) are never fuzzy-matched: `3m` ≈ `3d` is noise. */
      minLength: z.number().int().min(1).default(5),
      /** A blocking key shared by more accounts than this is too generic to search (keeps it linear). */
      maxBlockSize: z.number().int().min(1).default(5000),
    })
    .default({ autoThreshold: 0.95, margin: 0.04, reviewThreshold: 0.9, minLength: 5, maxBlockSize: 5000 }),
  email: z
    .object({
      /**
       * A free-mail address whose domain is an account's main website (`x@yahoo.com` when Yahoo is an
       * account; not gmail.com merely listed among Google's domains): `review` lets a person decide,
       * `ignore` treats it as no evidence. Never an automatic match.
       */
      freeMailOwnedByAccount: z.enum(['review', 'ignore']).default('review'),
      /** Extra domains to treat as free-mail/disposable, on top of the maintained lists. */
      extraFreeMailDomains: z.array(z.string()).default([]),
      /** Domains to remove from the free-mail list (a company's own mail domain that the list gets wrong). */
      notFreeMailDomains: z.array(z.string()).default([]),
    })
    .default({ freeMailOwnedByAccount: 'review', extraFreeMailDomains: [], notFreeMailDomains: [] }),
  /**
   * When a domain rule decided but the company name exactly names an account in ANOTHER hierarchy, send
   * the signal to review instead of trusting the domain.
   */
  nameConflict: z.enum(['review', 'ignore']).default('review'),
  /**
   * Registrable domains that are no company's website on either side: placeholders typed into website
   * fields by the thousand (`google.com`, `example.com`), whose signals would all go to review. Accounts
   * are not indexed under them (as website or extra domain) and a signal's website on one is no evidence;
   * the other evidence (names, other domains) decides. Written as a host or URL (`www.google.com`); parsed
   * to the registrable domain, and a value without one (`localhost`, a typo) is a config error.
   */
  ignoredWebsiteDomains: z
    .array(
      z.string().transform((v, ctx) => {
        const h = normalizeHost(v);
        if (h) return h.domain;
        ctx.addIssue({ code: 'custom', message: `"${v}" has no registrable domain (expected a host such as google.com)` });
        return z.NEVER;
      }),
    )
    .default([]),
});
export type MatchPolicy = z.infer<typeof MatchPolicy>;
export type MatchPolicyInput = z.input<typeof MatchPolicy>;
