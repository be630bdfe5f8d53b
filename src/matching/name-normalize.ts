/**
 * Company names → comparable keys. `ACME, Inc.`, `Acme Inc`, `acme` and `Ácme GmbH` share the key `acme`;
 * `33 Across` and `33Across` share `33across`; `Procter & Gamble` and `Procter and Gamble` share
 * `proctergamble`. Legal forms are removed at the end (and a few at the start) in many languages; generic
 * organisation words (`Group`, `Holdings`, `Foundation`) only from the secondary `core` key, because they
 * sometimes are the distinguishing part.
 *
 * @example
 *   normalizeCompanyName('Samsung,  S.A.').key          // 'samsung'
 *   normalizeCompanyName('Neodata Group Limited').core  // 'neodata'
 *   normalizeCompanyName('International Business Machines Corp.').acronyms  // ['ibm']
 *   normalizeCompanyName('N/A').key                     // '' (a placeholder: no evidence)
 */

export interface NormalizedName {
  /** Tokens after folding and legal-form removal. */
  tokens: string[];
  /** Tokens joined without spaces: the exact-match key. '' when the name is empty. */
  key: string;
  /** `key` without generic organisation words (`group`, `holdings`, …); equals `key` when none. */
  core: string;
  /** Initialisms of multi-word names (with and without small words), e.g. `gfk` for Growth from Knowledge. */
  acronyms: string[];
}

/** Letters that NFKD does not decompose into a base letter plus marks. */
const SPECIAL_FOLDS: Record<string, string> = {
  ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i', ħ: 'h', ŧ: 't', ĸ: 'k',
};
const SPECIAL_RE = new RegExp(`[${Object.keys(SPECIAL_FOLDS).join('')}]`, 'g');

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Lowercase, accents removed, compatibility forms folded (full-width letters, ligatures). */
export function foldUnicode(s: string): string {
  // Most names are plain ASCII: lower-casing is all the folding they need.
  if (PRINTABLE_ASCII.test(s)) return s.toLowerCase();
  return s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(SPECIAL_RE, (c) => SPECIAL_FOLDS[c] ?? c);
}

/**
 * Legal forms, as token sequences after folding, punctuation removal and merging of single letters
 * (`S.A.` → `sa`, `s.r.o.` → `sro`, `sp. z o.o.` → `sp zoo`). Removed repeatedly from the end.
 */
const LEGAL_SUFFIXES: string[][] = [
  // English-speaking
  'inc', 'incorporated', 'corp', 'corporation', 'co', 'company', 'cos', 'ltd', 'limited', 'llc', 'llp', 'lp',
  'plc', 'pllc', 'pc', 'lc', 'pty', 'pvt', 'pte', 'private', 'unlimited',
  // German-speaking
  'gmbh', 'ag', 'kg', 'kgaa', 'ohg', 'ug', 'ev', 'mbh', 'se', 'gesmbh',
  // French, Belgian, Swiss, Luxembourgish
  'sa', 'sas', 'sasu', 'sarl', 'eurl', 'sca', 'snc', 'sci', 'sprl', 'scrl', 'bvba',
  // Italian, Spanish, Portuguese, Brazilian, Latin American
  'spa', 'srl', 'srls', 'sapa', 'sl', 'slu', 'lda', 'ltda', 'eireli', 'sab', 'saa', 'sac', 'cv',
  // Dutch, Nordic
  'bv', 'nv', 'vof', 'ab', 'publ', 'oy', 'oyj', 'as', 'asa', 'aps', 'hf', 'ehf', 'ans',
  // Central/Eastern Europe, Balkans, Greece, Turkey
  'sro', 'kft', 'zrt', 'nyrt', 'bt', 'doo', 'dd', 'ad', 'ood', 'eood', 'ae', 'epe', 'sti', 'spzoo', 'zoo',
  'ooo', 'oao', 'zao', 'pao', 'ао', 'ооо', 'оао', 'зао', 'пао',
  // Asia-Pacific
  'kk', 'gk', 'yk', 'bhd', 'berhad', 'tbk', 'jsc', 'pjsc', 'ojsc', 'cjsc',
].map((s) => [s]).concat(
  [
    'pty ltd', 'pvt ltd', 'pte ltd', 'private limited', 'co ltd', 'co inc', 'co llc', 'sdn bhd', 'sp zoo', 'sp k',
    'sa de cv', 'sab de cv', 's de rl', 's de rl de cv', 'kabushiki kaisha', 'kabushikigaisha', 'godo kaisha',
    'anonim sirketi', 'ltd sti', 'ltd sirketi', 'limited liability company', 'public limited company',
    'aktiengesellschaft', 'gesellschaft mbh',
  ].map((s) => s.split(' ')),
);
/** Legal forms some countries put in front of the name (`PT Astra`, `OOO Yandex`). */
const LEGAL_PREFIXES = new Set(['pt', 'ooo', 'oao', 'zao', 'pao', 'ооо', 'оао', 'зао', 'пао', 'ао']);
/** CJK legal forms are written without spaces, so they are stripped as strings. */
const CJK_LEGAL = /(股份有限公司|有限责任公司|有限責任公司|有限公司|股份公司|株式会社|合同会社|有限会社|주식회사|\(株\)|（株）|\(주\)|（주）)/g;

/** Words that describe the organisation rather than name it; removed only for the `core` key. */
const GENERIC_WORDS = new Set([
  'the', 'group', 'groupe', 'gruppe', 'grupo', 'gruppo', 'holding', 'holdings', 'foundation', 'international',
  'intl', 'global', 'worldwide', 'company',
]);
/**
 * What people type where a company name is required and there is none: no company's name, so no evidence
 * (a CRM's "Unknown" or "Self-employed" bucket account would otherwise take every lead that says the same).
 * Compared with the whole key, so `Unknown Worlds` and `Self Employed Tax Co` are names as usual.
 */
const PLACEHOLDER_NAMES = new Set([
  'na', 'none', 'null', 'nil', 'undefined', 'unknown', 'tbd', 'tba', 'notapplicable', 'notavailable', 'nocompany',
  'selfemployed', 'freelance', 'freelancer', 'individual', 'student', 'retired', 'unemployed', 'test',
]);

/** Small words skipped in the second acronym form (`Bank of America` → `boa` and `ba`). */
const SMALL_WORDS = new Set(['of', 'and', 'for', 'the', 'from', 'de', 'der', 'des', 'du', 'la', 'le', 'et', 'und', 'y']);

/** Legal forms by their last token, longest first: a name's tail is compared token by token, no strings built. */
const SUFFIXES_BY_LAST = new Map<string, string[][]>();
for (const form of [...LEGAL_SUFFIXES].sort((a, b) => b.length - a.length)) {
  const last = form[form.length - 1]!;
  const list = SUFFIXES_BY_LAST.get(last);
  if (list) list.push(form);
  else SUFFIXES_BY_LAST.set(last, [form]);
}

/**
 * Tokens of a name, written into `out` from position 0; returns how many. Consecutive single characters
 * merge (`i b m` → `ibm`); `and` is dropped (`&` and `+` are read as `and`).
 */
function tokenize(folded: string, out: string[]): number {
  single = '';
  // Each replacement runs only when its characters can be there: most names are short plain ASCII.
  let s = folded;
  // `Ask.com`, `JD.com`: a web suffix glued to the name is not part of it.
  if (s.includes('.')) s = s.replace(/(?<=[\p{L}\p{N}])\.(com|net|org|io|co|biz|info)(?![\p{L}\p{N}])/gu, ' ');
  if (PRINTABLE_ASCII.test(s)) return asciiTokens(s, out);
  s = s.replace(CJK_LEGAL, ' ').replace(/['’`´]/g, '');
  if (s.includes('&') || s.includes('+')) s = s.replace(/&|\+/g, ' and ');
  let n = 0;
  for (const t of s.split(/[^\p{L}\p{N}]+/u)) {
    if (t === '' || t === 'and') continue;
    // One code point (a surrogate pair is one too).
    n = emit(out, n, t, t.length === 1 || (t.length === 2 && t.codePointAt(0)! > 0xffff));
  }
  return flush(out, n);
}

/** A run of single characters not written yet: `i b m` becomes one token, `ibm`. */
let single = '';

/** Writes token `t` at `out[n]` and returns the new count; a single character joins the run instead. */
function emit(out: string[], n: number, t: string, isSingle: boolean): number {
  if (isSingle) {
    single += t;
    return n;
  }
  n = flush(out, n);
  out[n] = t;
  return n + 1;
}

/** Writes the run of single characters, if there is one. */
function flush(out: string[], n: number): number {
  if (single === '') return n;
  out[n] = single;
  single = '';
  return n + 1;
}

/**
 * `tokenize` for printable ASCII, where letters and numbers are exactly [A-Za-z0-9], in one pass over the
 * characters: `'` and `` ` `` are deleted (`O'Neil` → `oneil`), every other character separates (so `&`
 * and `+`, which read as `and`, simply separate). The index tokenizes every account's name.
 */
function asciiTokens(s: string, out: string[]): number {
  let n = 0;
  let start = -1;
  let quoted = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90)) {
      if (start < 0) start = i;
      continue;
    }
    if (c === 39 || c === 96) {
      // Deleted: the word goes on across it.
      if (start >= 0) quoted = true;
      continue;
    }
    if (start < 0) continue;
    let t = start === 0 && i === s.length ? s : s.slice(start, i);
    if (quoted) (t = t.replace(/['`]/g, '')), (quoted = false);
    start = -1;
    if (t !== 'and') n = emit(out, n, t, t.length === 1);
  }
  return flush(out, n);
}

/**
 * Where the name proper ends among `tokens[0 … n)` once legal forms are removed from the end, repeatedly
 * (longest form first, never the whole name).
 */
function legalEnd(tokens: readonly string[], n: number): number {
  let to = n;
  for (;;) {
    if (to < 2) return to;
    const forms = SUFFIXES_BY_LAST.get(tokens[to - 1]!);
    if (!forms) return to;
    let removed = 0;
    for (const form of forms) {
      if (form.length > to - 1) continue;
      let k = 1;
      while (k < form.length && tokens[to - 1 - k] === form[form.length - 1 - k]) k++;
      if (k === form.length) {
        removed = form.length;
        break;
      }
    }
    if (removed === 0) return to;
    to -= removed;
  }
}

/** Tokens of the name being normalised (reused: one exact-size array per name is all that is kept). */
const SCRATCH: string[] = [];
const NO_ACRONYMS: string[] = [];

/** The keys of no name (a new object: callers own what they get). */
function noName(): NormalizedName {
  return { tokens: [], key: '', core: '', acronyms: [] };
}

/** Normalises a company name into its comparison keys. */
export function normalizeCompanyName(name: string | null | undefined): NormalizedName {
  if (!name) return noName();
  const n = tokenize(foldUnicode(name), SCRATCH);
  const to = legalEnd(SCRATCH, n);
  // And once from the start (`PT Astra`, `OOO Yandex`), never the whole name.
  const tokens = SCRATCH.slice(to > 1 && LEGAL_PREFIXES.has(SCRATCH[0]!) ? 1 : 0, to);
  const key = tokens.length === 1 ? tokens[0]! : tokens.join('');
  if (PLACEHOLDER_NAMES.has(key)) return noName();
  // No generic word (the usual case): the core key is the key itself, not a second equal string.
  let generic = 0;
  for (const t of tokens) if (GENERIC_WORDS.has(t)) generic++;
  const core = generic === 0 || generic === tokens.length ? key : tokens.filter((t) => !GENERIC_WORDS.has(t)).join('');
  // Shared when there are none (the usual case); nobody adds to a name's initialisms.
  let acronyms = NO_ACRONYMS;
  if (tokens.length >= 3) {
    acronyms = [tokens.map((t) => t[0]).join('')];
    const content = tokens.filter((t) => !SMALL_WORDS.has(t));
    if (content.length >= 2 && content.length !== tokens.length) acronyms.push(content.map((t) => t[0]).join(''));
  }
  return { tokens, key, core, acronyms };
}
