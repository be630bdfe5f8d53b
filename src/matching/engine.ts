/**
 * The matching core: pure, no I/O. Rules run in the policy's order, strongest evidence first; the first
 * rule that proposes any account decides. Its candidates are then resolved:
 *
 * - all in one hierarchy → the most specific account the evidence supports (hierarchy policy), unless
 *   other evidence of the signal points only at another hierarchy (then review);
 * - in several hierarchies → review (for fuzzy names: unless the best is far enough ahead of the rest);
 * - a confidence under `autoMatchMinConfidence` → review.
 *
 * @example
 *   const matcher = createMatcher(accounts, MatchPolicy.parse({}));
 *   for (const s of signals) write(matcher.match(s));   // streaming: nothing retained per signal
 *   matchSignals(accounts, signals);                     // or all at once
 */
import { buildAccountIndex, coreKeyAccounts, hasNameKey, hierarchyMembers, knownHost, type AccountIndex } from './account-index.js';
import { normalizeDuns } from './account-index.js';
import { normalizeCountry } from './country.js';
import { SERVICE_LABELS, normalizeHost, normalizePlainHost, registrableHost, splitList, type KnownDomains, type NormalizedHost } from './domain-normalize.js';
import { freeMailChecker, looksLikeEmail, parseEmails, type FreeMailChecker } from './email-domain.js';
import { FIRST, LAST } from './fuzzy-blocks.js';
import { jaroWinklerChars } from './fuzzy.js';
import { normalizeCompanyName, type NormalizedName } from './name-normalize.js';
import {
  MatchPolicy,
  type AccountRecord,
  type Candidate,
  type MatchPolicyInput,
  type MatchResult,
  type RuleId,
  type SignalEvidence,
  type SignalRecord,
} from './types.js';

/** How much each rule's evidence is worth when it alone decides (multiplied by the hit's own score). */
export const RULE_CONFIDENCE: Readonly<Record<RuleId, number>> = {
  duns: 0.99,
  'website-domain': 0.98,
  'extra-domain': 0.96,
  'email-domain': 0.94,
  'contact-email-domain': 0.85,
  'name-exact': 0.92,
  'name-core': 0.86,
  'name-domain-label': 0.84,
  'name-acronym': 0.7,
  'name-fuzzy': 0.9,
};

const DOMAIN_RULES = new Set<RuleId>(['website-domain', 'extra-domain', 'email-domain', 'contact-email-domain']);
/** Name rules weaker than an exact name: lowered when the signal's own website belongs to someone else. */
const WEAK_NAME_RULES = new Set<RuleId>(['name-core', 'name-domain-label', 'name-acronym', 'name-fuzzy']);
const UNKNOWN_SITE_PENALTY = 0.9;
/** Shortest name key name-exact looks up: a one-character key says nothing about a company. */
const MIN_NAME_EXACT = 2;

/** True when the account (or its hierarchy) holds the domain as website or extra domain. */
function holds(ctx: Ctx, idx: number, domain: string): boolean {
  const rootOf = ctx.index.root;
  const root = rootOf[idx]!;
  const inTree = (ids: readonly number[]): boolean => ids.some((i) => rootOf[i] === root);
  return inTree(ctx.index.websiteDomain.get(domain)) || inTree(ctx.index.extraDomain.get(domain));
}

/** True when the account (or its hierarchy) holds one of the hosts' domains. */
function holdsAny(ctx: Ctx, idx: number, hosts: readonly NormalizedHost[]): boolean {
  for (const h of hosts) if (holds(ctx, idx, h.domain)) return true;
  return false;
}

interface Hit {
  idx: number;
  score: number;
  reason: string;
}

/** A signal's evidence, normalised once. */
interface Evidence {
  site: NormalizedHost[];
  workEmail: string[];
  freeEmail: string[];
  name: NormalizedName;
  country: string | null;
  duns: string | null;
}

export interface Matcher {
  readonly index: AccountIndex;
  readonly policy: MatchPolicy;
  match(signal: SignalRecord): MatchResult;
}

/** Builds the account index once; `match` then decides one signal at a time (streaming-friendly). */
export function createMatcher(accounts: readonly AccountRecord[], policyInput: MatchPolicy | MatchPolicyInput = {}): Matcher {
  const policy = MatchPolicy.parse(policyInput);
  const freeMail = freeMailChecker({ extra: policy.email.extraFreeMailDomains, notFree: policy.email.notFreeMailDomains });
  const ignoredSites: ReadonlySet<string> = new Set(policy.ignoredWebsiteDomains);
  const index = buildAccountIndex(accounts, { isFreeMail: (d) => freeMail.isFree(d), ignoredSites });
  const unknownHosts = new HostCache();
  // The cache only ever holds hosts that are no account's domain, so asking it first spares the index
  // lookup for the frequent ones (gmail.com).
  const known = (h: string): NormalizedHost | null => unknownHosts.peek(h) ?? knownHost(index, h) ?? unknownHosts.get(h);
  const ctx: Ctx = { index, policy, freeMail, countryCache: new Map(), known, ignoredSites };
  return { index, policy, match: (s) => matchOne(ctx, s) };
}

/**
 * Matches every signal against the accounts. Pure: same input, same output, no I/O.
 *
 * @example
 *   matchSignals(
 *     [{ accountId: 'A1', name: 'Acme Inc', website: 'acme.com' }],
 *     [{ signalId: 'S1', email: 'jo@acme.com' }, { signalId: 'S2', email: 'jo@gmail.com' }],
 *   ).map((r) => r.status)   // ['matched', 'unmatched']
 */
export function matchSignals(
  accounts: readonly AccountRecord[],
  signals: Iterable<SignalRecord>,
  policy: MatchPolicy | MatchPolicyInput = {},
): MatchResult[] {
  const m = createMatcher(accounts, policy);
  const out: MatchResult[] = [];
  for (const s of signals) out.push(m.match(s));
  return out;
}

/**
 * Public-suffix answers for hosts that are no account's domain. The same few come back all the time
 * (gmail.com, a partner's own domain in every contact's address) among many seen once. A small
 * direct-mapped table keeps the frequent ones without the upkeep of a Map that a stream of one-off hosts
 * keeps filling: a one-off host only replaces one slot.
 */
class HostCache {
  private readonly keys: (string | undefined)[] = new Array(HOST_CACHE_SLOTS).fill(undefined);
  private readonly values: (NormalizedHost | null)[] = new Array(HOST_CACHE_SLOTS).fill(null);
  /** The stored answer (null: no registrable domain), or undefined when the host is not stored. */
  peek(host: string): NormalizedHost | null | undefined {
    const slot = slotOf(host);
    return this.keys[slot] === host ? this.values[slot] : undefined;
  }
  get(host: string): NormalizedHost | null {
    const slot = slotOf(host);
    if (this.keys[slot] === host) return this.values[slot]!;
    const v = registrableHost(host);
    this.keys[slot] = host;
    this.values[slot] = v;
    return v;
  }
}
const HOST_CACHE_SLOTS = 1024;
/** A cheap slot: the length and three characters (no loop over the host). */
function slotOf(host: string): number {
  const n = host.length;
  if (n === 0) return 0;
  return (n * 31 + host.charCodeAt(0) * 7 + host.charCodeAt(n >> 1) * 17 + host.charCodeAt(n - 1)) & (HOST_CACHE_SLOTS - 1);
}

interface Ctx {
  index: AccountIndex;
  policy: MatchPolicy;
  freeMail: FreeMailChecker;
  /** root → country → members with that country (only for hierarchies with several members). */
  countryCache: Map<number, Map<string, number[]>>;
  known: KnownDomains;
  /** MatchPolicy.ignoredWebsiteDomains as registrable domains (usually none). */
  ignoredSites: ReadonlySet<string>;
}

// Lists here start as `[]` and get their first element as a one-element literal (`appended`): a first
// push() would allocate room for 17, and most signals have one site or one address.
function extractEvidence(ctx: Ctx, s: SignalRecord): Evidence {
  let site: NormalizedHost[] = [];
  let emails: string[] = [];
  const known = ctx.known;
  // One plain URL or host (the usual field, never an address: it has no `@`), or else a list.
  const one = s.website ? normalizePlainHost(s.website, known) : null;
  if (one) site = [one];
  else if (one === undefined)
    for (const part of splitList(s.website)) {
      // An address pasted into the website field is e-mail evidence (free-mail rules apply), not a site.
      if (part.includes('@') && looksLikeEmail(part)) emails = appended(emails, part);
      else {
        // `part` came out of splitList, so it holds one host: `websiteDomains(part)` would split it again.
        const h = normalizeHost(part, known);
        if (h) site = appended(site, h);
      }
    }
  let workEmail: string[] = [];
  let freeEmail: string[] = [];
  let parsed = parseEmails(s.email, known);
  if (emails.length > 0) {
    const all = [...parsed];
    for (const x of emails) all.push(...parseEmails(x, known));
    parsed = all;
  }
  for (const e of parsed) {
    const free = ctx.freeMail.isFree(e.host.host) || (e.domain !== e.host.host && ctx.freeMail.isFree(e.domain));
    if (free) {
      if (!freeEmail.includes(e.domain)) freeEmail = appended(freeEmail, e.domain);
    } else if (!workEmail.includes(e.domain)) workEmail = appended(workEmail, e.domain);
  }
  if (ctx.ignoredSites.size > 0 && site.length > 0) site = site.filter((h) => !ctx.ignoredSites.has(h.domain));
  return {
    site: dedupeHosts(site),
    workEmail,
    freeEmail,
    name: s.companyName ? normalizeCompanyName(s.companyName) : NO_NAME,
    country: normalizeCountry(s.country),
    duns: normalizeDuns(s.duns),
  };
}

/** `list` with `x` at its end: a new one-element array for an empty list, else the list after push(). */
function appended<T>(list: T[], x: T): T[] {
  if (list.length === 0) return [x];
  list.push(x);
  return list;
}

/** The name evidence of a signal without a name (shared, read only). */
const NO_NAME: NormalizedName = { tokens: [], key: '', core: '', acronyms: [] };

function dedupeHosts(hosts: NormalizedHost[]): NormalizedHost[] {
  if (hosts.length < 2) return hosts;
  const seen = new Set<string>();
  return hosts.filter((h) => (seen.has(h.domain) ? false : (seen.add(h.domain), true)));
}

/** Returned for "no hits" without allocating; never mutated (callers only mutate non-empty hit lists). */
const NO_HITS: Hit[] = [];

/**
 * Adds the accounts not yet among `hits` (the first reason for an account stays); allocates on the first.
 * Small lists (nearly all) are checked by scanning them; past `SCAN_HITS` a Set keeps the check linear: an
 * evidence key that thousands of accounts share (a placeholder website such as google.com or gmail.com
 * typed into the CRM, a franchise's name on every store) would otherwise cost a scan of every hit for every
 * account added, for every signal that carries it.
 */
function addHits(hits: Hit[], ids: readonly number[], score: number, reason: string): Hit[] {
  if (hits.length + ids.length > SCAN_HITS) return addHitsLarge(hits, ids, score, reason);
  for (const idx of ids) {
    let seen = false;
    for (const h of hits) if (h.idx === idx) (seen = true);
    if (!seen) hits = hits === NO_HITS ? [{ idx, score, reason }] : (hits.push({ idx, score, reason }), hits);
  }
  return hits;
}
const SCAN_HITS = 32;

function addHitsLarge(hits: Hit[], ids: readonly number[], score: number, reason: string): Hit[] {
  // Into an empty list nothing can repeat: an index lookup lists each account once.
  if (hits === NO_HITS) return ids.map((idx) => ({ idx, score, reason }));
  const seen = new Set<number>();
  for (const h of hits) seen.add(h.idx);
  for (const idx of ids)
    if (!seen.has(idx)) {
      seen.add(idx);
      hits.push({ idx, score, reason });
    }
  return hits;
}

// Each rule looks its evidence up first and builds a reason only for a hit: most lookups miss, and a rule
// without evidence (no website, no name) returns at once.
function runRule(ctx: Ctx, rule: RuleId, ev: Evidence): Hit[] {
  const { index, policy } = ctx;
  let hits = NO_HITS;
  let ids: readonly number[];
  switch (rule) {
    case 'duns':
      if (policy.duns === 'precedence' && ev.duns && (ids = index.duns.get(ev.duns)).length > 0) hits = addHits(hits, ids, 1, `DUNS ${ev.duns} is equal`);
      break;
    case 'website-domain':
      for (const h of ev.site)
        if ((ids = index.websiteDomain.get(h.domain)).length > 0) hits = addHits(hits, ids, 1, `website ${h.domain} is the account's website`);
      break;
    case 'extra-domain':
      for (const h of ev.site)
        if ((ids = index.extraDomain.get(h.domain)).length > 0) hits = addHits(hits, ids, 1, `website ${h.domain} is one of the account's domains`);
      break;
    case 'email-domain':
      for (const d of ev.workEmail) {
        if ((ids = index.websiteDomain.get(d)).length > 0) hits = addHits(hits, ids, 1, `e-mail domain ${d} is the account's website`);
        if ((ids = index.extraDomain.get(d)).length > 0) hits = addHits(hits, ids, 1, `e-mail domain ${d} is one of the account's domains`);
      }
      break;
    case 'contact-email-domain':
      for (const d of [...ev.site.map((h) => h.domain), ...ev.workEmail])
        if ((ids = index.contactDomain.get(d)).length > 0) hits = addHits(hits, ids, 1, `${d} is the e-mail domain of the account's contacts`);
      break;
    case 'name-exact':
      if (ev.name.key.length >= MIN_NAME_EXACT && (ids = index.nameKey.get(ev.name.key)).length > 0) hits = addHits(hits, ids, 1, `name "${ev.name.key}" is equal`);
      break;
    case 'name-core':
      if (ev.name.core.length >= 3 && (ids = coreKeyAccounts(index, ev.name.core)).length > 0)
        hits = addHits(hits, ids, 1, `name "${ev.name.core}" is equal without generic words`);
      break;
    case 'name-domain-label':
      if (ev.name.key.length >= 4 && (ids = index.domainLabel.get(ev.name.key)).length > 0)
        hits = addHits(hits, ids, 1, `name "${ev.name.key}" is the name of one of the account's domains`);
      break;
    case 'name-acronym': {
      const k = ev.name.key;
      if (ev.name.tokens.length === 1 && k.length >= 2 && k.length <= 6 && /^[a-z0-9]+$/.test(k) && (ids = index.acronym.get(k)).length > 0)
        hits = addHits(hits, ids, 1, `name "${k}" is the initialism of the account's name`);
      for (const a of ev.name.acronyms)
        if ((ids = index.nameKey.get(a)).length > 0) hits = addHits(hits, ids, 1, `the initialism "${a}" of the name is the account's name`);
      break;
    }
    case 'name-fuzzy':
      return ev.name.key.length < policy.fuzzy.minLength ? NO_HITS : fuzzyHits(ctx, ev.name);
  }
  return hits;
}

/** Fuzzy names: the best score per account, over the blocks the name falls in; only scores worth review. */
function fuzzyHits(ctx: Ctx, name: NormalizedName): Hit[] {
  const { index, policy } = ctx;
  const key = name.key;
  if (key.length < policy.fuzzy.minLength) return [];
  const best = new Map<number, number>();
  const seen = new Set<number>();
  for (const side of [FIRST, LAST] as const) {
    const block = index.fuzzyBlocks.members(key, side);
    if (block.length > policy.fuzzy.maxBlockSize) continue;
    for (const f of block) {
      if (seen.has(f)) continue;
      seen.add(f);
      const length = index.fuzzyLengths[f]!;
      if (length < policy.fuzzy.minLength) continue;
      const score = jaroWinklerChars(key, index.namePostings.chars, index.fuzzyStarts[f]!, length);
      if (score < policy.fuzzy.reviewThreshold) continue;
      const owner = index.fuzzyOwners[f]!;
      if ((best.get(owner) ?? 0) < score) best.set(owner, score);
    }
  }
  return [...best].map(([idx, score]) => ({
    idx,
    score,
    reason: `name "${key}" is similar to "${normalizeCompanyName(index.names[idx]).key}" (${score.toFixed(3)})`,
  }));
}

/** Accounts of one hierarchy by country, computed once per hierarchy. */
function membersWithCountry(ctx: Ctx, anyIdx: number, country: string): readonly number[] {
  const root = ctx.index.root[anyIdx]!;
  let byCountry = ctx.countryCache.get(root);
  if (!byCountry) {
    byCountry = new Map();
    for (const m of hierarchyMembers(ctx.index, anyIdx)) {
      const c = ctx.index.countries[m];
      if (!c) continue;
      const list = byCountry.get(c);
      if (list) list.push(m);
      else byCountry.set(c, [m]);
    }
    ctx.countryCache.set(root, byCountry);
  }
  return byCountry.get(country) ?? [];
}

interface Decision {
  status: 'matched' | 'review';
  winner: number;
  confidence: number;
  /** Why the winner won (hierarchy step), or why it is review. */
  note: string;
  losers: Candidate[];
  ranked: Candidate[];
}

function label(ctx: Ctx, idx: number): string {
  return `${ctx.index.ids[idx]} (${ctx.index.names[idx]})`;
}

function toCandidate(ctx: Ctx, rule: RuleId, h: Hit, reason?: string): Candidate {
  return {
    accountId: ctx.index.ids[h.idx]!,
    rule,
    score: round(RULE_CONFIDENCE[rule] * h.score),
    reason: reason ?? h.reason,
  };
}

/** The first `max` hits as candidates. */
function toCandidates(ctx: Ctx, rule: RuleId, hits: readonly Hit[], max: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < hits.length && i < max; i++) out.push(toCandidate(ctx, rule, hits[i]!));
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A signal a person decides: the ranked candidates, and why the engine would not pick one. */
function reviewResult(signalId: string, rule: RuleId, confidence: number, candidates: Candidate[], why: string, ev: Evidence): MatchResult {
  return {
    signalId,
    status: 'review',
    accountId: null,
    rule,
    confidence,
    candidates,
    explanation: `${why}. Evidence: ${describeEvidence(ev)}. Candidates: ${candidates.map((c) => `${c.accountId} — ${c.reason}`).join(' | ')}`,
    evidence: publicEvidence(ev),
  };
}

/**
 * The order of hits: score, then country agreement, then shallower in its hierarchy, then id (a total
 * order: ids are unique). A closure, so it is made only where there are several hits to order.
 */
function hitOrder(index: AccountIndex, country: string | null): (a: Hit, b: Hit) => number {
  const { depth: depthOf, countries, ids } = index;
  return (a, b) =>
    b.score - a.score ||
    Number(countries[b.idx] === country) - Number(countries[a.idx] === country) ||
    depthOf[a.idx]! - depthOf[b.idx]! ||
    (ids[a.idx]! < ids[b.idx]! ? -1 : 1);
}

/** Ranks hits in place (see `hitOrder`). */
function rankHits(index: AccountIndex, hits: Hit[], country: string | null): void {
  hits.sort(hitOrder(index, country));
}

/**
 * The first `k` of the hits in `hitOrder`, the hits left as they are: what sorting them all and taking the
 * first `k` gives, without sorting thousands of hits of a key many accounts share to show ten of them.
 */
function topHits(index: AccountIndex, hits: readonly Hit[], country: string | null, k: number): Hit[] {
  const order = hitOrder(index, country);
  const top: Hit[] = [];
  for (const h of hits) {
    if (top.length === k && order(h, top[k - 1]!) >= 0) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && order(h, top[at - 1]!) < 0) at--;
    if (top.length === k) top.pop();
    top.splice(at, 0, h);
  }
  return top;
}

/** How many hierarchies the hits are in: 1, without allocating, when they are all in the first's. */
function distinctRoots(rootOf: Int32Array, hits: readonly Hit[]): number {
  const first = rootOf[hits[0]!.idx]!;
  let i = 1;
  while (i < hits.length && rootOf[hits[i]!.idx] === first) i++;
  if (i === hits.length) return 1;
  // Counted in a sorted typed array: a Set of thousands of numbers took ~0.2 µs an element.
  const roots = new Int32Array(hits.length);
  for (let j = 0; j < hits.length; j++) roots[j] = rootOf[hits[j]!.idx]!;
  roots.sort();
  let n = 1;
  for (let j = 1; j < roots.length; j++) if (roots[j] !== roots[j - 1]) n++;
  return n;
}

/** The hits (in order) whose account is in the hierarchy rooted at `root`. */
function hitsInTree(rootOf: Int32Array, hits: readonly Hit[], root: number): Hit[] {
  const out: Hit[] = [];
  for (const h of hits) if (rootOf[h.idx] === root) out.push(h);
  return out;
}

// `decide` and `matchOne` run once per signal: they make no closures over their own variables (a
// callback for find/filter/some, say), since any one would cost a context allocation on every call.
/** Resolves one rule's hits to a decision, or null when the rule's hits are not worth anything. */
function decide(ctx: Ctx, rule: RuleId, hits: Hit[], ev: Evidence): Decision | null {
  const { index, policy } = ctx;
  const { root: rootOf, depth: depthOf } = index;

  let group = hits;
  if (rule === 'name-fuzzy') {
    if (hits.length > 1) rankHits(index, hits, ev.country);
    const top = hits[0]!;
    const topRoot = rootOf[top.idx]!;
    let runnerUp: Hit | undefined;
    for (const h of hits)
      if (rootOf[h.idx] !== topRoot) {
        runnerUp = h;
        break;
      }
    const margin = top.score - (runnerUp?.score ?? 0);
    if (top.score < policy.fuzzy.autoThreshold) return reviewDecision(ctx, rule, `best name similarity ${top.score.toFixed(3)} is below ${policy.fuzzy.autoThreshold}`, hits);
    if (runnerUp && margin < policy.fuzzy.margin)
      return reviewDecision(ctx, rule, `best name similarity ${top.score.toFixed(3)} is within ${policy.fuzzy.margin} of ${label(ctx, runnerUp.idx)}`, hits);
    group = hitsInTree(rootOf, hits, topRoot);
  } else if (hits.length > 1) {
    // Unrelated accounts: review, showing the best ten (all that `reviewDecision` shows); the hits are
    // ranked in full only when they are one hierarchy's, which the steps below read in order.
    const roots = distinctRoots(rootOf, hits);
    if (roots > 1) return reviewDecision(ctx, rule, `${rule} points at ${roots} unrelated accounts`, topHits(index, hits, ev.country, REVIEW_CANDIDATES));
    rankHits(index, hits, ev.country);
  }

  // One hierarchy: the most specific account the evidence supports.
  const first = group[0]!.idx;
  let winner = -1;
  let note = '';
  const resolve = policy.hierarchy.resolve;
  if (resolve === 'most-specific' && ev.country && hierarchyMembers(index, first).length > 1) {
    const local = membersWithCountry(ctx, first, ev.country);
    if (local.length === 1) {
      winner = local[0]!;
      note = `country ${ev.country} picks ${label(ctx, winner)}, the hierarchy's only ${ev.country} account`;
    } else if (local.length > 1) {
      // Several accounts in that country (a parent and its local subsidiary both in GB): the most specific
      // one the evidence supports is the single deepest, when there is one.
      let maxDepth = -1;
      let deepest = 0;
      for (const i of local) {
        if (depthOf[i]! > maxDepth) {
          maxDepth = depthOf[i]!;
          deepest = 0;
        }
        if (depthOf[i] === maxDepth && deepest++ === 0) winner = i;
      }
      if (deepest > 1) winner = -1;
      else note = `country ${ev.country} picks ${label(ctx, winner)}, the most specific of the hierarchy's ${local.length} ${ev.country} accounts`;
    }
  }
  if (winner === -1) {
    if (resolve === 'review' && group.length > 1) return reviewDecision(ctx, rule, `${group.length} accounts of one hierarchy hold the evidence`, group);
    let minDepth = Infinity;
    for (const h of group) if (depthOf[h.idx]! < minDepth) minDepth = depthOf[h.idx]!;
    let top = 0;
    for (const h of group) if (depthOf[h.idx]! === minDepth && top++ === 0) winner = h.idx;
    if (top > 1) return reviewDecision(ctx, rule, `${top} accounts at the same level of one hierarchy hold the evidence`, group);
    if (group.length > 1) note = `top-most of ${group.length} accounts of one hierarchy holding the evidence`;
  }
  const winHit = findHit(group, winner);
  let confidence = round(RULE_CONFIDENCE[rule] * (winHit?.score ?? group[0]!.score));
  if (WEAK_NAME_RULES.has(rule) && ev.site.length > 0 && !holdsAny(ctx, winner, ev.site)) {
    // The signal names its own website and the account does not hold it: a name that only resembles the
    // account's is not enough on its own.
    confidence = round(confidence * UNKNOWN_SITE_PENALTY);
    note = `${note ? note + '; ' : ''}the signal's website ${ev.site[0]!.domain} is not the account's, confidence lowered`;
  }
  // A new list even when empty: it becomes the result's `candidates`, which the caller owns.
  const losers: Candidate[] = [];
  for (const h of hits) {
    if (h.idx === winner || losers.length === 10) continue;
    const why = rootOf[h.idx] === rootOf[winner] ? `${h.reason}; same hierarchy, ${label(ctx, winner)} is more specific` : `${h.reason}; lower score`;
    losers.push(toCandidate(ctx, rule, h, why));
  }
  if (confidence < policy.autoMatchMinConfidence) {
    const ranked = [{ idx: winner, score: winHit?.score ?? group[0]!.score, reason: winHit?.reason ?? note }];
    for (const h of hits) if (h.idx !== winner) ranked.push(h);
    return reviewDecision(ctx, rule, `confidence ${confidence} is below ${policy.autoMatchMinConfidence}`, ranked);
  }
  return { status: 'matched', winner, confidence, note, losers, ranked: NO_CANDIDATES };
}

const NO_CANDIDATES: Candidate[] = [];
/** Candidates a review item shows. */
const REVIEW_CANDIDATES = 10;

function reviewDecision(ctx: Ctx, rule: RuleId, note: string, list: Hit[]): Decision {
  return {
    status: 'review',
    winner: -1,
    confidence: round(RULE_CONFIDENCE[rule] * list[0]!.score),
    note,
    losers: [],
    ranked: toCandidates(ctx, rule, list, REVIEW_CANDIDATES),
  };
}

function findHit(hits: readonly Hit[], idx: number): Hit | undefined {
  for (const h of hits) if (h.idx === idx) return h;
  return undefined;
}

/** Other evidence that contradicts a domain decision: it points only at other hierarchies. */
function conflicts(ctx: Ctx, rule: RuleId, winner: number, ev: Evidence): Hit[] {
  const { index, policy } = ctx;
  const root = index.root[winner]!;
  let out = NO_HITS;
  // A name that is the winner's own name key cannot conflict (the winner is among its hits): no lookup.
  // Nor can a name too short for name-exact (most often: none), whose check would only read the
  // winner's key from memory for nothing.
  if (policy.nameConflict === 'review' && DOMAIN_RULES.has(rule) && ev.name.key.length >= MIN_NAME_EXACT && !hasNameKey(index, winner, ev.name.key))
    out = addIfElsewhere(out, runRule(ctx, 'name-exact', ev), index.root, root);
  if (rule === 'email-domain') {
    const site = runRule(ctx, 'website-domain', ev);
    const extra = runRule(ctx, 'extra-domain', ev);
    out = addIfElsewhere(out, extra.length === 0 ? site : [...site, ...extra], index.root, root);
  } else if (rule === 'website-domain' || rule === 'extra-domain') {
    out = addIfElsewhere(out, runRule(ctx, 'email-domain', ev), index.root, root);
  }
  return out;
}

/** `out` plus `hits` when none of them is in the hierarchy rooted at `root`. */
function addIfElsewhere(out: Hit[], hits: Hit[], rootOf: Int32Array, root: number): Hit[] {
  if (hits.length === 0) return out;
  for (const h of hits) if (rootOf[h.idx] === root) return out;
  if (out === NO_HITS) out = [];
  out.push(...hits);
  return out;
}

function publicEvidence(ev: Evidence): SignalEvidence {
  // Arrays of their exact size (a push() into `[]` makes room for 17).
  return {
    websiteDomains: ev.site.map((h) => h.domain),
    sharedHostDomains: ev.site.some((h) => h.sharedHost) ? ev.site.filter((h) => h.sharedHost).map((h) => h.domain) : [],
    emailDomains: ev.workEmail,
    freeMailDomains: ev.freeEmail,
    nameKey: ev.name.key,
    country: ev.country,
    duns: ev.duns,
  };
}

function describeEvidence(ev: Evidence): string {
  let out = '';
  if (ev.site.length) out = joined(out, `website ${ev.site.map((h) => h.domain + (h.sharedHost ? ' (shared host)' : '')).join(', ')}`);
  if (ev.workEmail.length) out = joined(out, `e-mail domain ${ev.workEmail.join(', ')}`);
  if (ev.freeEmail.length) out = joined(out, `free-mail ${ev.freeEmail.join(', ')} (no evidence)`);
  if (ev.name.key) out = joined(out, `name "${ev.name.key}"`);
  if (ev.country) out = joined(out, `country ${ev.country}`);
  if (ev.duns) out = joined(out, `DUNS ${ev.duns}`);
  return out || 'no usable evidence';
}

/** `[a, b].join('; ')` for a non-empty b, without the array (a = '' for the first part). */
function joined(a: string, b: string): string {
  return a === '' ? b : `${a}; ${b}`;
}

/** True when the account has a DUNS and it is not `duns`. */
function hasOtherDuns(index: AccountIndex, idx: number, duns: string | null): boolean {
  const d = index.accountDuns[idx]!;
  return d !== null && d !== duns;
}

/** The accounts that have no other DUNS than `duns` (DUNS precedence). */
function idsWithoutOtherDuns(index: AccountIndex, ids: readonly number[], duns: string | null): number[] {
  const out: number[] = [];
  for (const i of ids) if (!hasOtherDuns(index, i, duns)) out.push(i);
  return out;
}

/** The hits whose account has no other DUNS than `duns` (DUNS precedence). */
function withoutOtherDuns(index: AccountIndex, hits: Hit[], duns: string | null): Hit[] {
  const out: Hit[] = [];
  for (const h of hits) if (!hasOtherDuns(index, h.idx, duns)) out.push(h);
  return out;
}

function matchOne(ctx: Ctx, s: SignalRecord): MatchResult {
  const { index, policy } = ctx;
  const ev = extractEvidence(ctx, s);
  const signalId = String(s.signalId);
  // Only DUNS precedence with a signal DUNS excludes accounts; otherwise the hit lists are used as they are.
  // No closure over this signal here (a filter callback, say): it would cost an allocation per signal.
  const dunsFilter = policy.duns === 'precedence' && !!ev.duns;

  for (const rule of policy.rules) {
    let hits = runRule(ctx, rule, ev);
    if (hits.length === 0) continue;
    if (dunsFilter) hits = withoutOtherDuns(index, hits, ev.duns);
    if (hits.length === 0) continue;
    const d = decide(ctx, rule, hits, ev);
    if (!d) continue;
    if (d.status === 'review') {
      return reviewResult(signalId, rule, d.confidence, d.ranked, `review by ${rule}: ${d.note}`, ev);
    }
    let conflict = conflicts(ctx, rule, d.winner, ev);
    if (dunsFilter && conflict.length > 0) conflict = withoutOtherDuns(index, conflict, ev.duns);
    const winnerId = index.ids[d.winner]!;
    const winHit = findHit(hits, d.winner);
    const why = winHit ? winHit.reason : `evidence lands in its hierarchy (${hits[0]!.reason} for ${label(ctx, hits[0]!.idx)})`;
    if (conflict.length > 0) {
      const ranked: Candidate[] = [
        { accountId: winnerId, rule, score: d.confidence, reason: why },
        ...toCandidates(ctx, 'name-exact', conflict, REVIEW_CANDIDATES - 1),
      ];
      return reviewResult(signalId, rule, d.confidence, ranked, `review: ${rule} picks ${label(ctx, d.winner)} but other evidence points at another company`, ev);
    }
    const beat = d.losers.length ? `; beat ${d.losers.map((c) => `${c.accountId} (${c.reason})`).join(', ')}` : '';
    return {
      signalId,
      status: 'matched',
      accountId: winnerId,
      rule,
      confidence: d.confidence,
      candidates: d.losers,
      explanation: `${rule}: ${why}${d.note ? `; ${d.note}` : ''} → ${label(ctx, d.winner)}${beat}. Evidence: ${describeEvidence(ev)}`,
      evidence: publicEvidence(ev),
    };
  }

  // Nothing decided. A free-mail address on an account's own website (x@yahoo.com, Yahoo an account) is
  // most likely a private mailbox, but may be an employee: a person decides, the engine never does.
  if (policy.email.freeMailOwnedByAccount === 'review' && ev.freeEmail.length > 0) {
    let hits = NO_HITS;
    for (const d of ev.freeEmail) {
      // Only the account's main website: Google listing gmail.com among its domains must not send every
      // gmail address to review, whereas a provider whose site IS the mail domain (yahoo.com) is a real doubt.
      const ids = index.websiteDomain.get(d);
      if (ids.length > 0)
        hits = addHits(hits, dunsFilter ? idsWithoutOtherDuns(index, ids, ev.duns) : ids, 1, `free-mail address on ${d}, the account's own website: maybe an employee, maybe a private mailbox`);
    }
    if (hits.length > 0) {
      const ranked = toCandidates(ctx, 'email-domain', hits, REVIEW_CANDIDATES);
      return reviewResult(signalId, 'email-domain', ranked[0]!.score, ranked, "review: only a free-mail address, whose domain is an account's own", ev);
    }
  }
  // `en.appspot.com` when App Engine is an account: probably the platform's own page, but a customer could
  // have picked that name. A person decides; a customer's site on a shared host never matches the host.
  let platformHits = NO_HITS;
  for (const h of ev.site) {
    if (!h.sharedHost) continue;
    const sub = h.domain.slice(0, -h.suffix.length - 1);
    if (!SERVICE_LABELS.has(sub)) continue;
    const reason = `${h.host} is on the shared host ${h.suffix}, the account's own domain; "${sub}" looks like the platform's own page`;
    for (const ids of [index.websiteDomain.get(h.suffix), index.extraDomain.get(h.suffix)])
      if (ids.length > 0) platformHits = addHits(platformHits, dunsFilter ? idsWithoutOtherDuns(index, ids, ev.duns) : ids, 1, reason);
  }
  if (platformHits.length > 0) {
    const ranked = toCandidates(ctx, 'website-domain', platformHits, REVIEW_CANDIDATES);
    return reviewResult(signalId, 'website-domain', ranked[0]!.score, ranked, "review: a site on a shared host that is an account's own domain", ev);
  }
  const shared = ev.site.filter((h) => h.sharedHost).map((h) => h.domain);
  return {
    signalId,
    status: 'unmatched',
    accountId: null,
    rule: null,
    confidence: 0,
    candidates: [],
    explanation: `no rule found an account. Evidence: ${describeEvidence(ev)}${
      shared.length ? `. ${shared.join(', ')} is on a shared host: the customer owns it, not the host's company` : ''
    }`,
    evidence: publicEvidence(ev),
  };
}
