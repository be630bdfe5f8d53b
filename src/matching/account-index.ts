/**
 * The in-memory index of our accounts that every rule looks things up in: registrable domain → accounts
 * (website, extra domains, contacts' e-mail domains), name keys → accounts, DUNS → accounts, blocking keys
 * for fuzzy names, and the hierarchy (ultimate parent and depth of every account; cycles reported, not
 * looped). Built once per run; lookups are O(1) so matching stays linear in the number of signals.
 *
 * Accounts are stored by column (`ids[i]`, `root[i]`, …), not as one object each: at a million accounts,
 * a million small objects that all survive cost the garbage collector more than the lookups cost.
 *
 * @example
 *   const index = buildAccountIndex(accounts, { isFreeMail: (d) => d === 'gmail.com' });
 *   index.websiteDomain.get('acme.com')   // [0] — account positions
 *   index.ids[0]                          // 'A1'
 *   accountAt(index, 0).root              // its ultimate parent's position
 *   index.cycles                          // [['A', 'B']] when A → B → A
 */
import { firstWebsiteDomain, mayListSeveral, normalizeHost, splitList, websiteDomains, type NormalizedHost } from './domain-normalize.js';
import { looksLikeEmail, parseEmails } from './email-domain.js';
import { normalizeCountry } from './country.js';
import { normalizeCompanyName, type NormalizedName } from './name-normalize.js';
import { FuzzyBlocks } from './fuzzy-blocks.js';
import { PostingTable, TypedArena } from './posting-table.js';
import type { AccountRecord } from './types.js';

/** One account as an object, built on demand by `accountAt` (explain, tests); the index keeps columns. */
export interface IndexedAccount {
  accountId: string;
  name: string;
  country: string | null;
  duns: string | null;
  /** Position of the parent in `accounts`, -1 for a top-level account (or a dangling parent link). */
  parent: number;
  /** Position of the ultimate parent (itself for a top-level account). */
  root: number;
  /** 0 for the ultimate parent, 1 for its children, … */
  depth: number;
  /** The account's own registrable website domain, if any. */
  websiteDomain: string | null;
}

/** A string → account positions map that stores one position without an array (most keys have one). */
export class PostingMap {
  private readonly map = new Map<string, number | number[]>();
  add(key: string, idx: number): void {
    const cur = this.map.get(key);
    if (cur === undefined) this.map.set(key, idx);
    else if (typeof cur === 'number') {
      if (cur !== idx) this.map.set(key, [cur, idx]);
      // Positions arrive in increasing order while the index is built, so a repeat can only be the last one.
    } else if (cur[cur.length - 1] !== idx) cur.push(idx);
  }
  get(key: string): readonly number[] {
    const cur = this.map.get(key);
    return cur === undefined ? EMPTY : typeof cur === 'number' ? [cur] : cur;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  get size(): number {
    return this.map.size;
  }
  entries(): IterableIterator<[string, number | number[]]> {
    return this.map.entries();
  }
}
const EMPTY: readonly number[] = Object.freeze([]);

/** Read side of a string → account positions map (positions in increasing order). */
export interface Postings {
  get(key: string): readonly number[];
  has(key: string): boolean;
}

/**
 * Several string → account positions maps in one table: each stored value is `position * 16 + tags`, the
 * tags a bit mask (bit `1 << tag`). The maps it replaces share most keys (a company `Acme` at acme.com has
 * the name key and the domain label `acme`; a parent's website is its child's extra domain), so a host
 * needs one lookup to know whether it is any account's domain. Positions must stay below 2^27 (the stored
 * value is an int32).
 */
export class TaggedPostings {
  private readonly table: PostingTable;
  /** `chars`: the characters of all keys added (see `PostingTable`; an estimate, the table grows past it). */
  constructor(expectedKeys?: number, arena?: TypedArena, chars?: number) {
    // Filled while the index is built and read only after: the adds are placed in bulk (see PostingTable).
    this.table = new PostingTable(expectedKeys, { bulk: true, arena, chars });
  }
  /** Adds the account under the key with one tag; returns where the key's characters are (see `keyText`). */
  add(key: string, idx: number, tag: number): number {
    return this.table.add(key, idx * 16 + (1 << tag));
  }
  /** Adds the account under every tag of `mask` with one entry. */
  addMask(key: string, idx: number, mask: number): number {
    return this.table.add(key, idx * 16 + mask);
  }
  /** The characters of every key (see `PostingTable.chars`). */
  get chars(): Uint16Array {
    return this.table.chars;
  }
  keyIs(start: number, length: number, s: string): boolean {
    return this.table.keyIs(start, length, s);
  }
  keyText(start: number, length: number): string {
    return this.table.keyText(start, length);
  }
  get(key: string, tag: number): readonly number[] {
    const t = this.table;
    const slot = t.find(key);
    if (slot < 0) return EMPTY;
    const bit = 1 << tag;
    const n = t.valueCount(slot);
    let out = EMPTY as number[];
    // Values come in the order they were added, so positions do not decrease; one account may have
    // several values under a key (its website and an extra domain): report it once.
    for (let i = 0; i < n; i++) {
      const v = t.valueAt(slot, i);
      if ((v & bit) === 0) continue;
      const idx = v >>> 4;
      if (out === EMPTY) out = [idx];
      else if (out[out.length - 1] !== idx) out.push(idx);
    }
    return out;
  }
  /** True when the key has an entry with one of the tags in `mask` (bit `1 << tag`). */
  hasAny(key: string, mask: number): boolean {
    const t = this.table;
    const slot = t.find(key);
    if (slot < 0) return false;
    const n = t.valueCount(slot);
    for (let i = 0; i < n; i++) if ((t.valueAt(slot, i) & mask) !== 0) return true;
    return false;
  }
  /** The postings of one tag, as a map of their own. */
  view(tag: number): Postings {
    return { get: (key) => this.get(key, tag), has: (key) => this.hasAny(key, 1 << tag) };
  }
}
/** Tags in `AccountIndex.domainPostings`. */
export const WEBSITE = 0;
export const EXTRA = 1;
export const CONTACT = 2;
/** Tags in `AccountIndex.namePostings`. */
export const NAME = 0;
export const LABEL = 1;
export const ACRONYM = 2;
export const CORE = 3;

export interface AccountIndex {
  /** Number of accounts (positions 0 … size-1). */
  size: number;
  ids: string[];
  names: string[];
  countries: (string | null)[];
  accountDuns: (string | null)[];
  /** Position of the parent, -1 for a top-level account (or a dangling parent link). */
  parent: Int32Array;
  /** Position of the ultimate parent (itself for a top-level account). */
  root: Int32Array;
  /** 0 for the ultimate parent, 1 for its children, … */
  depth: Int32Array;
  /**
   * Where each account's own registrable website domain is in `domainPostings`' characters (-1: none)
   * and its length: the index keeps positions, not a million strings (read with `websiteDomainOf`).
   */
  siteDomainStart: Int32Array;
  siteDomainLength: Int32Array;
  /**
   * Each account's own name key in `namePostings`' characters: start at `2 * idx` (-1 when the key is
   * ''), length at `2 * idx + 1`. Whether a signal's name is the account's, without a lookup (see
   * `hasNameKey`); side by side, the two are one memory read for an account the matcher just picked.
   */
  nameKeySpan: Int32Array;
  /** Account id → position (`get` returns undefined for an unknown id). */
  byId: PostingTable;
  /** Website, extra and contacts' domains (tags WEBSITE, EXTRA, CONTACT); read through the views below. */
  domainPostings: TaggedPostings;
  /** Name keys, domain labels, acronyms and core keys (tags NAME, LABEL, ACRONYM, CORE). */
  namePostings: TaggedPostings;
  websiteDomain: Postings;
  extraDomain: Postings;
  contactDomain: Postings;
  /** Normalised name key (and alias keys) → accounts. */
  nameKey: Postings;
  /**
   * Name key without generic words (`group`, `holdings`) → accounts, only where it differs from the name
   * key or the account has such a name (see `coreKeyAccounts`, which answers the full question). Most
   * names have no generic word, so this saves one map entry per account.
   */
  coreKey: Postings;
  /** Accounts with at least one name (or alias) containing a generic word (their `coreKey` entries are complete). */
  hasGenericName: Uint8Array;
  /** Initialisms of multi-word names → accounts. */
  acronym: Postings;
  /** Labels of website and extra domains (`bootstrapcdn` for bootstrapcdn.com) → accounts. */
  domainLabel: Postings;
  duns: PostingMap;
  /** Members of each hierarchy, keyed by root position. Only hierarchies with more than one member. */
  members: Map<number, number[]>;
  /**
   * Name keys of every account and alias, for fuzzy scoring: key f is the `fuzzyLengths[f]` characters
   * of `namePostings.chars` from `fuzzyStarts[f]`, a name of account `fuzzyOwners[f]`.
   */
  fuzzyStarts: number[];
  fuzzyLengths: number[];
  fuzzyOwners: number[];
  /** The fuzzy keys by their first and last three characters (built on the first lookup). */
  fuzzyBlocks: FuzzyBlocks;
  /** Parent-link cycles found, each as the account ids on the cycle. */
  cycles: string[][];
  /** Accounts whose parent id names no account (treated as top-level). */
  danglingParents: { accountId: string; parentAccountId: string }[];
  /** Account ids that appeared more than once (the first row wins). */
  duplicateIds: string[];
  /** Held domains that sit on a shared host (`acme.github.io` as an account's site); rare, kept for evidence. */
  sharedHostDomains: Map<string, NormalizedHost>;
}

export interface BuildIndexOptions {
  /** Free-mail/disposable check for contacts' e-mail domains. */
  isFreeMail: (domain: string) => boolean;
  /** Registrable domains that are no account's website or extra domain (MatchPolicy.ignoredWebsiteDomains). */
  ignoredSites?: ReadonlySet<string>;
}

/** Adds one of the account's extra domains (unless the policy ignores it). */
function addExtra(index: AccountIndex, opts: BuildIndexOptions, h: NormalizedHost, idx: number): void {
  if (opts.ignoredSites?.has(h.domain)) return;
  if (h.sharedHost) index.sharedHostDomains.set(h.domain, h);
  index.domainPostings.add(h.domain, idx, EXTRA);
  index.namePostings.add(h.label, idx, LABEL);
}

/**
 * The sites of an account's website field, the website first (the rest are extra domains), for a field
 * that needs more than `firstWebsiteDomain`: a list, an `@`, or ignored domains to skip. An address typed
 * there (`info@acme.com`) gives its domain, except a free-mail one: `jo@gmail.com` is a sole trader's
 * mailbox, not gmail.com as the account's website, which would put the account in review for every
 * gmail-only signal.
 */
function sitesOf(website: string, opts: BuildIndexOptions): NormalizedHost[] {
  return websiteDomains(
    website,
    undefined,
    (h, part) => !opts.ignoredSites?.has(h.domain) && !(part.includes('@') && looksLikeEmail(part) && opts.isFreeMail(h.domain)),
  );
}

/** True when the website field needs `sitesOf` rather than `firstWebsiteDomain` alone. */
function needsSites(website: string | null | undefined, opts: BuildIndexOptions): website is string {
  return !!website && (mayListSeveral(website) || website.includes('@') || (opts.ignoredSites?.size ?? 0) > 0);
}

export function buildAccountIndex(records: readonly AccountRecord[], opts: BuildIndexOptions): AccountIndex {
  const n = records.length;
  // About one website and one name entry per account, and a few more (extra domains, aliases, labels).
  const postingKeys = n + (n >> 2);
  const chars = sampleKeyChars(records);
  // Every large array of the index from one buffer (see TypedArena for why).
  const arena = new TypedArena(
    PostingTable.bytesFor(postingKeys, chars.domain) +
      PostingTable.bytesFor(postingKeys, chars.name) +
      PostingTable.bytesFor(n, chars.id) +
      5 * TypedArena.rounded(4 * n) +
      TypedArena.rounded(8 * n) +
      TypedArena.rounded(n),
  );
  const domainPostings = new TaggedPostings(postingKeys, arena, chars.domain);
  const namePostings = new TaggedPostings(postingKeys, arena, chars.name);
  // One name key per account, plus aliases (appended past `n`); `fuzzy.count` of them so far.
  const fuzzy = { count: 0 };
  const fuzzyStarts = new Array<number>(n);
  const fuzzyLengths = new Array<number>(n);
  // Per-account lists at their final size, filled by position: grown by push(), a list of a million
  // goes through copies of twice its size in total, garbage in the old generation that a mark-compact
  // (over the caller's records too) has to clear. Cut to `size` at the end (blank or repeated ids).
  const index: AccountIndex = {
    size: 0,
    ids: new Array<string>(n),
    names: new Array<string>(n),
    countries: new Array<string | null>(n),
    accountDuns: new Array<string | null>(n),
    parent: arena.int32(n).fill(-1),
    root: arena.int32(n),
    depth: arena.int32(n),
    siteDomainStart: arena.int32(n).fill(-1),
    siteDomainLength: arena.int32(n),
    nameKeySpan: arena.int32(2 * n).fill(-1),
    // Filled in bulk, ahead of the accounts (see below).
    byId: new PostingTable(n, { bulk: true, arena, chars: chars.id }),
    domainPostings,
    namePostings,
    websiteDomain: domainPostings.view(WEBSITE),
    extraDomain: domainPostings.view(EXTRA),
    contactDomain: domainPostings.view(CONTACT),
    nameKey: namePostings.view(NAME),
    coreKey: namePostings.view(CORE),
    hasGenericName: arena.uint8(n),
    acronym: namePostings.view(ACRONYM),
    domainLabel: namePostings.view(LABEL),
    duns: new PostingMap(),
    members: new Map(),
    fuzzyStarts,
    fuzzyLengths,
    fuzzyOwners: new Array<number>(n),
    fuzzyBlocks: new FuzzyBlocks(() => namePostings.chars, fuzzyStarts, fuzzyLengths),
    cycles: [],
    danglingParents: [],
    duplicateIds: [],
    sharedHostDomains: new Map(),
  };
  const parentIds = new Array<string | null>(n);
  // Account ids first, all of them, placed in bulk: a million one-by-one inserts into a table larger
  // than any cache cost a cache miss each. Stored by row; rows whose id an earlier row has are
  // repeats (the first row wins). `ids` holds the rows' ids until the loop below overwrites it with the
  // kept accounts' (position <= row, so each row's id is read before it is overwritten).
  const rowIds = index.ids;
  for (let row = 0; row < n; row++) {
    const id = String(records[row]!.accountId ?? '').trim();
    rowIds[row] = id;
    if (id !== '') index.byId.add(id, row);
  }
  const repeat = new Uint8Array(n);
  index.byId.flagLaterValues(repeat);
  const positionOfRow = new Int32Array(n).fill(-1);
  for (let row = 0; row < n; row++) {
    const r = records[row]!;
    const id = rowIds[row]!;
    if (id === '') continue;
    if (repeat[row] === 1) {
      index.duplicateIds.push(id);
      continue;
    }
    const idx = index.size++;
    positionOfRow[row] = idx;
    // Nearly every field is one plain site: the first and only, without the list.
    const sites = needsSites(r.website, opts) ? sitesOf(r.website, opts) : undefined;
    const site = sites ? (sites[0] ?? null) : firstWebsiteDomain(r.website);
    const duns = normalizeDuns(r.duns);
    index.ids[idx] = id;
    index.names[idx] = r.name ?? '';
    index.countries[idx] = normalizeCountry(r.country);
    index.accountDuns[idx] = duns;
    index.root[idx] = idx;
    parentIds[idx] = r.parentAccountId ? String(r.parentAccountId).trim() || null : null;

    if (site) {
      if (site.sharedHost) index.sharedHostDomains.set(site.domain, site);
      index.siteDomainStart[idx] = domainPostings.add(site.domain, idx, WEBSITE);
      index.siteDomainLength[idx] = site.domain.length;
    }
    // A website field that lists several sites (`acme.com; acme.io`): the first is the website, the
    // others are the account's too, as extra domains.
    if (sites) for (let k = 1; k < sites.length; k++) addExtra(index, opts, sites[k]!, idx);
    for (const d of r.domains ?? []) for (const h of websiteDomains(d)) addExtra(index, opts, h, idx);
    for (const c of r.contactEmails ?? []) {
      for (const part of splitList(c)) {
        const domain = part.includes('@') ? parseEmails(part)[0]?.domain : normalizeHost(part)?.domain;
        if (domain && !opts.isFreeMail(domain)) domainPostings.add(domain, idx, CONTACT);
      }
    }
    if (duns) index.duns.add(duns, idx);
    const nn = normalizeCompanyName(r.name);
    // `Acme Inc` at acme.com: the name key is also the domain label; one entry holds both.
    let labelBit = 0;
    if (site) {
      if (nn.key === site.label && nn.key !== '') labelBit = 1 << LABEL;
      else namePostings.add(site.label, idx, LABEL);
    }
    if (!r.aliases || r.aliases.length === 0) addName(index, fuzzy, nn, idx, false, nn.core !== nn.key, labelBit);
    else {
      const aliases = r.aliases.map((a) => normalizeCompanyName(a));
      const generic = nn.core !== nn.key || aliases.some((a) => a.core !== a.key);
      addName(index, fuzzy, nn, idx, false, generic, labelBit);
      for (const a of aliases) addName(index, fuzzy, a, idx, true, generic);
    }
  }
  index.byId.keepFirstValues(positionOfRow);
  for (const list of [index.ids, index.names, index.countries, index.accountDuns, parentIds]) list.length = index.size;
  for (const list of [index.fuzzyStarts, index.fuzzyLengths, index.fuzzyOwners]) list.length = fuzzy.count;
  resolveHierarchy(index, parentIds);
  return index;
}

/**
 * How many key characters each table of the index will hold, from an even sample of 1024 accounts, with
 * a margin. Sized right, the key arrays never grow: a grown array is a copy, its arena part is lost, and
 * the new one is allocated outside the arena, which V8 answers with a full collection (over the caller's
 * records too) at a million accounts. Extra domains and contacts count at their raw length (an upper
 * bound); a wrong guess only costs a growth. Blank list entries count as nothing, as the build skips them.
 */
function sampleKeyChars(records: readonly AccountRecord[]): { domain: number; name: number; id: number } {
  const n = records.length;
  const step = Math.max(1, Math.floor(n / 1024));
  let domain = 0;
  let name = 0;
  let id = 0;
  let sampled = 0;
  for (let row = 0; row < n; row += step, sampled++) {
    const r = records[row]!;
    const site = firstWebsiteDomain(r.website);
    let extra = 0;
    for (const d of r.domains ?? []) extra += d?.length ?? 0;
    for (const c of r.contactEmails ?? []) extra += c?.length ?? 0;
    domain += (site?.domain.length ?? 0) + extra;
    // As `buildAccountIndex` adds them: the name key, the core key and the website's label where they
    // differ from it, initialisms, the extra domains' labels, and aliases (key and core).
    const nn = normalizeCompanyName(r.name);
    name += nn.key.length + (nn.core !== nn.key ? nn.core.length : 0) + (site && site.label !== nn.key ? site.label.length : 0) + extra;
    for (const a of nn.acronyms) name += a.length;
    for (const a of r.aliases ?? []) name += 2 * (a?.length ?? 0);
    id += String(r.accountId ?? '').length;
  }
  const forAll = (inSample: number): number => Math.ceil(((inSample / Math.max(1, sampled)) * 1.1 + 1) * n) + 64;
  return { domain: forAll(domain), name: forAll(name), id: forAll(id) };
}

/** `fuzzy.count`: the fuzzy keys so far (the fuzzy lists are presized, so their length is not it). */
function addName(index: AccountIndex, fuzzy: { count: number }, nn: NormalizedName, idx: number, isAlias: boolean, generic: boolean, labelBit = 0): void {
  const key = nn.key;
  if (key === '') return;
  const start = index.namePostings.addMask(key, idx, (1 << NAME) | labelBit);
  if (generic) {
    index.hasGenericName[idx] = 1;
    index.namePostings.add(nn.core, idx, CORE);
  }
  if (!isAlias) for (const a of nn.acronyms) index.namePostings.add(a, idx, ACRONYM);
  const f = fuzzy.count++;
  index.fuzzyStarts[f] = start;
  index.fuzzyLengths[f] = key.length;
  index.fuzzyOwners[f] = idx;
  if (!isAlias) {
    index.nameKeySpan[2 * idx] = start;
    index.nameKeySpan[2 * idx + 1] = key.length;
  }
}

export function normalizeDuns(v: string | null | undefined): string | null {
  if (!v) return null;
  const d = String(v).replace(/\D/g, '');
  return d === '' ? null : d.padStart(9, '0');
}

/**
 * Ultimate parent and depth of every account, iteratively (deep chains cannot overflow the stack).
 * A cycle's members become one hierarchy rooted at the smallest account id on it, all at depth 0, so
 * none of them is "top-most" over another and a choice among them goes to review.
 */
function resolveHierarchy(index: AccountIndex, parentIds: (string | null)[]): void {
  const n = index.size;
  const { parent, root, depth, ids } = index;
  const state = new Uint8Array(n); // 0 new, 1 on the current path, 2 done
  for (let i = 0; i < n; i++) {
    const pid = parentIds[i];
    if (!pid) continue;
    const p = index.byId.get(pid);
    if (p === undefined) index.danglingParents.push({ accountId: ids[i]!, parentAccountId: pid });
    else if (p !== i) parent[i] = p;
  }
  // The chain being walked, as positions; a typed buffer reused for every walk (a list emptied with
  // `length = 0` gives its storage back, and the next push() allocates it again: once per account).
  const path = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (state[start] === 2) continue;
    let len = 0;
    let cur = start;
    while (cur !== -1 && state[cur] === 0) {
      state[cur] = 1;
      path[len++] = cur;
      cur = parent[cur]!;
    }
    // `cur` is now the first account above the path whose root/depth is final (or -1).
    if (cur !== -1 && state[cur] === 1) {
      let at = 0;
      while (path[at] !== cur) at++;
      const cycle = Array.from(path.subarray(at, len));
      len = at;
      index.cycles.push(cycle.map((c) => ids[c]!));
      const sorted = [...cycle].sort((a, b) => cmp(ids[a]!, ids[b]!));
      const r = sorted[0]!;
      for (const c of cycle) {
        root[c] = r;
        depth[c] = 0;
        if (c === r) parent[c] = -1;
        state[c] = 2;
      }
    }
    let next = cur;
    for (let k = len - 1; k >= 0; k--) {
      const c = path[k]!;
      if (next === -1) {
        root[c] = c;
        depth[c] = 0;
      } else {
        root[c] = root[next]!;
        depth[c] = depth[next]! + 1;
      }
      state[c] = 2;
      next = c;
    }
  }
  for (let i = 0; i < n; i++) {
    const r = root[i]!;
    if (r === i && parent[i] === -1) continue;
    let list = index.members.get(r);
    // Every non-root member reaches here once; the root opens its hierarchy's list.
    if (!list) index.members.set(r, (list = [r]));
    if (i !== r) list.push(i);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Accounts with a name whose key without generic words is `core`, in index order: those listed under it
 * in `coreKey`, and those whose plain name key is `core` and that have no generic word in any name.
 */
export function coreKeyAccounts(index: AccountIndex, core: string): readonly number[] {
  const listed = index.coreKey.get(core);
  const plain = index.nameKey.get(core);
  if (plain.length === 0) return listed;
  const out: number[] = [];
  let i = 0;
  for (const p of plain) {
    if (index.hasGenericName[p] === 1) continue;
    while (i < listed.length && listed[i]! < p) out.push(listed[i++]!);
    if (i < listed.length && listed[i] === p) i++;
    out.push(p);
  }
  while (i < listed.length) out.push(listed[i++]!);
  return out;
}

/** All accounts of the hierarchy that `idx` belongs to (itself alone when it has none). */
export function hierarchyMembers(index: AccountIndex, idx: number): readonly number[] {
  return index.members.get(index.root[idx]!) ?? [idx];
}

/** Account `idx` as one object (for explain and tests; the matcher reads the columns). */
export function accountAt(index: AccountIndex, idx: number): IndexedAccount {
  return {
    accountId: index.ids[idx]!,
    name: index.names[idx]!,
    country: index.countries[idx]!,
    duns: index.accountDuns[idx]!,
    parent: index.parent[idx]!,
    root: index.root[idx]!,
    depth: index.depth[idx]!,
    websiteDomain: websiteDomainOf(index, idx),
  };
}

/** The account's own registrable website domain, or null. */
export function websiteDomainOf(index: AccountIndex, idx: number): string | null {
  const start = index.siteDomainStart[idx]!;
  return start < 0 ? null : index.domainPostings.keyText(start, index.siteDomainLength[idx]!);
}

/** True when `key` is the account's own name key ('' for an account without one). */
export function hasNameKey(index: AccountIndex, idx: number, key: string): boolean {
  const start = index.nameKeySpan[2 * idx]!;
  return start < 0 ? key === '' : index.namePostings.keyIs(start, index.nameKeySpan[2 * idx + 1]!, key);
}

/**
 * The matcher's fast path: a host that is exactly a domain some account holds is already a registrable
 * domain, so it needs no public-suffix lookup. Builds the normalisation on demand instead of storing one
 * object per domain (a million accounts would keep a million of them alive).
 */
export function knownHost(index: AccountIndex, host: string): NormalizedHost | undefined {
  if (!index.domainPostings.hasAny(host, (1 << WEBSITE) | (1 << EXTRA))) return undefined;
  return index.sharedHostDomains.get(host) ?? { host, domain: host, label: '', sharedHost: false, suffix: '' };
}
