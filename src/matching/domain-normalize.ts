/**
 * Websites and hosts → the registrable domain that identifies the company owning them.
 *
 * `https://EU.Shop.Acme.co.uk:8443/path?q#x`, `www.acme.co.uk.` and `acme.co.uk` are all `acme.co.uk`.
 * Private suffixes count (github.io, herokuapp.com, myshopify.com, …): `jane.github.io` belongs to Jane,
 * never to GitHub, so its registrable domain is `jane.github.io` and it is flagged as a shared host.
 *
 * @example
 *   normalizeHost('https://www.Acme.co.uk/en?x=1').domain   // 'acme.co.uk'
 *   normalizeHost('münchen.de').domain                      // 'xn--mnchen-3ya.de'
 *   normalizeHost('peak.netlify.app').sharedHost            // true
 *   normalizeHost('https://www.linkedin.com/company/acme/about').domain   // 'linkedin.com/company/acme'
 */
import { domainToASCII } from 'node:url';
import { parse } from 'tldts';
import { publicSuffixOf } from './public-suffix.js';

export interface NormalizedHost {
  /** The ASCII (punycode) host without `www.`, port or trailing dot. */
  host: string;
  /** The registrable domain (eTLD+1, private suffixes included). */
  domain: string;
  /** `domain` without its public suffix, hyphens removed: `bootstrap-cdn.com` → `bootstrapcdn`. */
  label: string;
  /** True when the public suffix is a private one (a shared hosting platform). */
  sharedHost: boolean;
  /** The public suffix (`co.uk`; for a shared host the platform's domain, `github.io`). */
  suffix: string;
}

/**
 * Sub-domain labels that name a service or locale of a site rather than a customer: `en.appspot.com` is
 * most likely the platform's own page, `peakworks2.netlify.app` a customer's.
 */
export const SERVICE_LABELS: ReadonlySet<string> = new Set([
  'www', 'en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'jp', 'cn', 'uk', 'us', 'eu', 'asia', 'global', 'intl',
  'mail', 'email', 'webmail', 'app', 'apps', 'api', 'blog', 'shop', 'store', 'portal', 'docs', 'help',
  'support', 'status', 'cdn', 'static', 'm', 'mobile', 'my', 'login', 'account', 'accounts', 'admin',
  'dev', 'developer', 'developers', 'cloud', 'news', 'console', 'dashboard', 'go', 'info', 'about',
]);

/**
 * Sites whose pages are profiles of other companies, and the first path segments of those pages:
 * `linkedin.com/company/acme` is Acme's page, not LinkedIn's website, and people type it into website
 * fields on both sides. Such a URL's evidence is the profile (`linkedin.com/company/acme`, equal only to the
 * same profile), never the site's domain: as `linkedin.com` it would match every profile to LinkedIn's own
 * account, or to whichever account was given a profile as its website. The site's other pages
 * (`linkedin.com`, `linkedin.com/help`) are still the site's own. Sites whose profiles sit at the top of
 * the path (`facebook.com/acme`) cannot be told from their own pages (`facebook.com/pricing`) and are not
 * listed.
 */
const PROFILE_PATHS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['linkedin.com', new Set(['company', 'in', 'school', 'showcase', 'pub'])],
  ['crunchbase.com', new Set(['organization', 'person'])],
]);

/** The lengths of PROFILE_PATHS' sites: a domain of any other length (nearly all) needs no map lookup. */
const PROFILE_LENGTHS: ReadonlySet<number> = new Set([...PROFILE_PATHS.keys()].map((k) => k.length));

/** `site` (the answer for `input`'s host), or the profile `input` is a page of when the site has profiles. */
function withProfile(input: string, site: NormalizedHost | null): NormalizedHost | null {
  if (site === null || !PROFILE_LENGTHS.has(site.domain.length)) return site;
  const kinds = PROFILE_PATHS.get(site.domain);
  return kinds === undefined ? site : (profileOf(input, site, kinds) ?? site);
}

function profileOf(input: string, site: NormalizedHost, kinds: ReadonlySet<string>): NormalizedHost | undefined {
  let rest = input.trim();
  const scheme = rest.indexOf('://');
  if (scheme >= 0) rest = rest.slice(scheme + 3);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  const slash = rest.search(/[/\\]/);
  if (slash < 0) return undefined;
  const [kind, slug] = rest
    .slice(slash + 1)
    .replace(/[?#].*$/s, '')
    .toLowerCase()
    .split(/[/\\]/);
  if (!kind || !slug || !kinds.has(kind)) return undefined;
  const domain = `${site.domain}/${kind}/${slug}`;
  return { host: site.host, domain, label: slug.replace(/[^a-z0-9]/g, ''), sharedHost: false, suffix: site.domain };
}

/**
 * Looks a cleaned host up among already-normalised domains: the stored normalisation, null when the host is
 * known to have no registrable domain, undefined when it is not known (then `normalizeHost` works it out).
 */
export type KnownDomains = (host: string) => NormalizedHost | null | undefined;

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const ASCII_HOST = /^[a-z0-9.-]+$/;
const WWW = /^www\d{0,3}\./;
const PARSE_PRIVATE = { allowPrivateDomains: true, extractHostname: false } as const;
const PARSE_ICANN = { allowPrivateDomains: false, extractHostname: false } as const;

/** True for the characters JavaScript's `\s` matches (tested char by char: cheaper than a regex per field). */
function isSpace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || (c >= 160 &&
      (c === 160 || c === 5760 || (c >= 8192 && c <= 8202) || c === 8232 || c === 8233 || c === 8239 || c === 8287 || c === 12288 || c === 65279))
  );
}

/** Position of the first character of `[;,|\s]` in `s`, or -1. */
function separatorAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 59 || c === 44 || c === 124 || isSpace(c)) return i;
  }
  return -1;
}

/** Position of the first character of `[/?#\\\s]` in `s` (where a host ends), or -1. */
function hostEndAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35 || c === 92 || isSpace(c)) return i;
  }
  return -1;
}

/**
 * Extracts the host from anything a person may type in a website field: a URL with or without scheme,
 * a bare host, `//host`, `user@host` credentials. Returns '' when there is none.
 */
export function extractHost(input: string): string {
  let s = input.trim();
  if (s === '') return '';
  // Each step is guarded by a cheap check for the character it needs: most values are bare hosts or
  // plain URLs, and this runs once per account and per signal.
  if (s.includes('://')) s = s.replace(SCHEME, '');
  if (s.startsWith('//')) s = s.slice(2);
  // Cut the path, query and fragment first, so an `@` in a query string is not read as credentials.
  const cut = hostEndAt(s);
  if (cut >= 0) s = s.slice(0, cut);
  const at = s.lastIndexOf('@');
  if (at >= 0) s = s.slice(at + 1);
  if (s.startsWith('[')) return ''; // IPv6 literal: no company behind it
  if (s.includes(':')) s = s.replace(/:\d*$/, '');
  return s;
}

/**
 * Normalises one host or URL. Returns null when there is no registrable domain (empty, an IP address,
 * `localhost`, a bare public suffix such as `co.uk`).
 */
export function normalizeHost(input: string | null | undefined, known?: KnownDomains): NormalizedHost | null {
  if (!input) return null;
  const plain = plainHost(input);
  return withProfile(input, hostAnswer(plain !== undefined ? plain : cleanHost(input), known));
}

/**
 * `normalizeHost` of a value that is one plain URL or host (see `plainHost`): the usual field, which needs
 * no list split. Undefined for any other value (then split it with `splitList`).
 */
export function normalizePlainHost(value: string, known?: KnownDomains): NormalizedHost | null | undefined {
  const plain = plainHost(value);
  return plain === undefined ? undefined : withProfile(value, hostAnswer(plain, known));
}

/** `normalizeHost` for a host `cleanHost` (or `plainHost`) returned. */
function hostAnswer(host: string, known: KnownDomains | undefined): NormalizedHost | null {
  if (host === '') return null;
  // A host that IS a registrable domain already computed (an account's) needs no public-suffix lookup:
  // the matcher's hot path, where most signals carry exactly an account's domain.
  if (known) {
    const k = known(host);
    if (k !== undefined) return k;
  }
  return registrableHost(host);
}

/**
 * The host `normalizeHost` looks up, by the general route: the steps one by one, each a string
 * operation (trim, scheme, path, credentials, port, case, trailing dots, IDN, `www`). '' when none.
 */
export function cleanHost(input: string): string {
  let host = extractHost(input).toLowerCase();
  if (host.endsWith('.')) host = host.replace(/\.+$/, '');
  if (host === '') return '';
  if (!ASCII_HOST.test(host)) {
    // IDN (and full-width dots, uppercase in other scripts): WHATWG's IDNA mapping gives the one punycode form.
    host = domainToASCII(host);
    if (host === '') return '';
  }
  if (host.startsWith('www')) host = host.replace(WWW, '');
  return host;
}

/**
 * `cleanHost` in one pass over the characters, for the usual value: one URL or host with an ASCII host
 * (`https://www.Acme.com:8443/en?x=1`, `acme.co.uk`), no list separator, whitespace or `@` anywhere.
 * Returns undefined for anything else, which then takes the general route (and `splitList`, for a field
 * that may hold several). A million accounts and signals each pass here; the general route makes a
 * new string per step. A test checks that both routes agree wherever this one answers.
 */
export function plainHost(value: string): string | undefined {
  const n = value.length;
  let i = 0;
  // `scheme://`, as SCHEME matches it.
  if (n > 0 && isLetter(value.charCodeAt(0))) {
    let j = 1;
    while (j < n && isSchemeChar(value.charCodeAt(j))) j++;
    if (j + 2 < n && value.charCodeAt(j) === 58 && value.charCodeAt(j + 1) === 47 && value.charCodeAt(j + 2) === 47) i = j + 3;
  }
  if (i + 1 < n && value.charCodeAt(i) === 47 && value.charCodeAt(i + 1) === 47) i += 2;
  const start = i;
  let upper = false;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 45) continue;
    if (c >= 65 && c <= 90) upper = true;
    else break;
  }
  let end = i;
  if (i < n && value.charCodeAt(i) === 58) {
    // A port: digits only, up to where the host ends.
    for (i++; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c < 48 || c > 57) break;
    }
  }
  if (i < n) {
    const c = value.charCodeAt(i);
    // The host ends at a path, query, fragment or backslash; any other character needs the general route.
    if (c !== 47 && c !== 63 && c !== 35 && c !== 92) return undefined;
    // A separator after it makes the field a list; an `@` may make it an e-mail address.
    for (; i < n; i++) {
      const d = value.charCodeAt(i);
      if (d === 59 || d === 44 || d === 124 || d === 64 || isSpace(d)) return undefined;
    }
  }
  while (end > start && value.charCodeAt(end - 1) === 46) end--;
  let from = start;
  // `www.`, `www2.` … `www999.` (WWW)
  if (end - from > 3 && isW(value.charCodeAt(from)) && isW(value.charCodeAt(from + 1)) && isW(value.charCodeAt(from + 2))) {
    let k = from + 3;
    while (k < end && k < from + 6 && value.charCodeAt(k) >= 48 && value.charCodeAt(k) <= 57) k++;
    if (k < end && value.charCodeAt(k) === 46) from = k + 1;
  }
  const host = from === 0 && end === n ? value : value.slice(from, end);
  return upper ? host.toLowerCase() : host;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** `[a-z0-9+.-]`, either case. */
function isSchemeChar(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57) || c === 43 || c === 46 || c === 45;
}

function isW(c: number): boolean {
  return c === 119 || c === 87;
}

/**
 * The second half of `normalizeHost`, for a host it has cleaned (ASCII, lower case, no `www.`, port or
 * trailing dot): the public-suffix lookup. A `KnownDomains` may call it to remember answers per host.
 */
export function registrableHost(host: string): NormalizedHost | null {
  const fast = publicSuffixOf(host);
  if (fast !== undefined) {
    return { host, domain: fast.domain, label: labelOf(fast.domain, fast.suffix), sharedHost: fast.isPrivate, suffix: fast.suffix };
  }
  const p = parse(host, PARSE_PRIVATE);
  if (p.isIp) return null;
  let domain = p.domain;
  const suffix = p.publicSuffix ?? '';
  if (!domain) {
    // The host IS a private suffix (`github.io`, `blogspot.com`): that is the platform's own site,
    // owned by the platform's company.
    if (p.isPrivate && suffix === host) {
      const icann = parse(host, PARSE_ICANN);
      if (!icann.domain) return null;
      return { host, domain: host, label: labelOf(host, icann.publicSuffix ?? ''), sharedHost: false, suffix: icann.publicSuffix ?? '' };
    }
    return null;
  }
  return { host, domain, label: labelOf(domain, suffix), sharedHost: p.isPrivate === true, suffix };
}

function labelOf(domain: string, suffix: string): string {
  const bare = suffix && domain.endsWith('.' + suffix) ? domain.slice(0, -suffix.length - 1) : domain;
  return bare.includes('-') || bare.includes('.') ? bare.replace(/[-.]/g, '') : bare;
}

/** True when a website-like field may hold several URLs/hosts (it has a separator `splitList` splits at). */
export function mayListSeveral(value: string): boolean {
  return separatorAt(value) >= 0;
}

/** Splits a field that may hold several URLs/hosts (`a.com; b.com`, `a.com, b.com`). */
export function splitList(value: string | null | undefined): string[] {
  if (!value) return [];
  // One host and no separator (the usual case): the split below would return it unchanged.
  if (separatorAt(value) < 0) return [value];
  return value
    .split(/[;,|\s]+/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * The registrable domains of every host in a website-like field (deduplicated, in order). `keep` drops
 * the hosts it answers false for, given the part of the field each came from.
 */
export function websiteDomains(
  value: string | null | undefined,
  known?: KnownDomains,
  keep?: (h: NormalizedHost, part: string) => boolean,
): NormalizedHost[] {
  if (!value) return [];
  const one = normalizePlainHost(value, known);
  if (one !== undefined) return one && (!keep || keep(one, value)) ? [one] : [];
  const parts = splitList(value);
  if (parts.length === 1) {
    const h = normalizeHost(parts[0], known);
    return h && (!keep || keep(h, parts[0]!)) ? [h] : [];
  }
  const out: NormalizedHost[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    const h = normalizeHost(part, known);
    if (h && !seen.has(h.domain) && (!keep || keep(h, part))) {
      seen.add(h.domain);
      out.push(h);
    }
  }
  return out;
}

/** The first registrable domain in a website-like field (`websiteDomains(value)[0]` without the rest). */
export function firstWebsiteDomain(value: string | null | undefined): NormalizedHost | null {
  if (!value) return null;
  const one = normalizePlainHost(value);
  if (one !== undefined) return one;
  for (const part of splitList(value)) {
    const h = normalizeHost(part);
    if (h) return h;
  }
  return null;
}
