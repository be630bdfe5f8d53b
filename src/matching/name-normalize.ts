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
/** Small words skipped in the second acronym form (`Bank of America` → `boa` and `ba`). */
const SMALL_WORDS = new Set(['of', 'and', 'for', 'the', 'from', 'de', 'der', 'des', 'du', 'la', 'le', 'et', 'und', 'y']);

const MAX_SUFFIX_LEN = Math.max(...LEGAL_SUFFIXES.map((s) => s.length));
const SUFFIX_SET = new Set(LEGAL_SUFFIXES.map((s) => s.join(' ')));
const SUFFIX_LAST = new Set(LEGAL_SUFFIXES.map((s) => s[s.length - 1]!));

/** Splits a folded name into tokens; consecutive single characters merge (`i b m` → `ibm`). */
function tokenize(folded: string): string[] {
  // Each replacement runs only when its characters can be there: most names are short plain ASCII.
  let s = folded;
  // `Ask.com`, `JD.com`: a web suffix glued to the name is not part of it.
  if (s.includes('.')) s = s.replace(/(?<=[\p{L}\p{N}])\.(com|net|org|io|co|biz|info)(?![\p{L}\p{N}])/gu, ' ');
  const ascii = PRINTABLE_ASCII.test(s);
  if (!ascii) s = s.replace(CJK_LEGAL, ' ');
  if (!ascii || s.includes("'") || s.includes('`')) s = s.replace(/['’`´]/g, '');
  if (s.includes('&') || s.includes('+')) s = s.replace(/&|\+/g, ' and ');
  const raw = ascii ? splitAsciiWords(s) : s.split(/[^\p{L}\p{N}]+/u).filter((t) => t !== '' && t !== 'and');
  const out: string[] = [];
  let single = '';
  for (const t of raw) {
    // One code point (a surrogate pair is one too).
    if (t.length === 1 || (t.length === 2 && t.codePointAt(0)! > 0xffff)) {
      single += t;
      continue;
    }
    if (single) out.push(single), (single = '');
    out.push(t);
  }
  if (single) out.push(single);
  return out;
}

/**
 * `s.split(/[^\p{L}\p{N}]+/u)` without empty tokens and `and`, for printable ASCII, where letters and
 * numbers are exactly [A-Za-z0-9]: one pass over the characters instead of a Unicode-property regex
 * (the index normalises every account's name).
 */
function splitAsciiWords(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0;
    const word = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
    if (word) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      const t = start === 0 && i === s.length ? s : s.slice(start, i);
      if (t !== 'and') out.push(t);
      start = -1;
    }
  }
  return out;
}

function stripLegal(tokens: string[]): string[] {
  let t = tokens;
  for (;;) {
    // A legal form can only end with one of these tokens: skip the slicing when the name does not.
    if (t.length < 2 || !SUFFIX_LAST.has(t[t.length - 1]!)) break;
    let removed = false;
    // The candidate tails (`ltd`, `co ltd`, `pty co ltd`, …), each built from the shorter one.
    const max = Math.min(MAX_SUFFIX_LEN, t.length - 1);
    const tails: string[] = [t[t.length - 1]!];
    for (let n = 2; n <= max; n++) tails.push(t[t.length - n] + ' ' + tails[n - 2]);
    for (let n = max; n >= 1; n--) {
      if (SUFFIX_SET.has(tails[n - 1]!)) {
        t = t.slice(0, t.length - n);
        removed = true;
        break;
      }
    }
    if (!removed) break;
  }
  if (t.length > 1 && LEGAL_PREFIXES.has(t[0]!)) t = t.slice(1);
  return t;
}

/** Normalises a company name into its comparison keys. */
export function normalizeCompanyName(name: string | null | undefined): NormalizedName {
  if (!name) return { tokens: [], key: '', core: '', acronyms: [] };
  const tokens = stripLegal(tokenize(foldUnicode(name)));
  const key = tokens.join('');
  const coreTokens = tokens.filter((t) => !GENERIC_WORDS.has(t));
  // No generic word (the usual case): the core key is the key itself, not a second equal string.
  const core = coreTokens.length === tokens.length || coreTokens.length === 0 ? key : coreTokens.join('');
  const acronyms: string[] = [];
  if (tokens.length >= 3) {
    acronyms.push(tokens.map((t) => t[0]).join(''));
    const content = tokens.filter((t) => !SMALL_WORDS.has(t));
    if (content.length >= 2 && content.length !== tokens.length) acronyms.push(content.map((t) => t[0]).join(''));
  }
  return { tokens, key, core, acronyms };
}
