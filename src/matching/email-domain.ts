/**
 * E-mail addresses → company evidence. A work address's domain says which company the person works for;
 * a free-mail (gmail.com, outlook.com, aol.com, …) or disposable address says nothing, so it is dropped.
 * Free-mail rules apply to e-mail addresses only: a company whose own WEBSITE is on a free-mail list
 * (Yahoo, Libero, Sapo) still matches by website.
 *
 * @example
 *   const fm = freeMailChecker();
 *   parseEmails('Jane <jane@eu.acme.co.uk>; x@gmail.com').map((e) => e.domain)  // ['acme.co.uk', 'gmail.com']
 *   fm.isFree('gmail.com')    // true
 *   fm.isFree('google.com')   // false
 */
import { createRequire } from 'node:module';
import { normalizeHost, type KnownDomains, type NormalizedHost } from './domain-normalize.js';
import { isPlainHost } from './public-suffix.js';

// free-email-domains is a CommonJS JSON list; createRequire loads it the same way under NodeNext ESM and
// in the compiled dist/ without an import attribute.
const require = createRequire(import.meta.url);
const FREE_EMAIL_DOMAINS: readonly string[] = require('free-email-domains') as string[];

/**
 * Disposable/throwaway mail services. The free-mail list above covers the big providers; these are the
 * common throwaway ones, which never identify a company either.
 */
const DISPOSABLE_DOMAINS: readonly string[] = [
  'mailinator.com', 'guerrillamail.com', 'guerrillamail.net', 'guerrillamail.org', 'sharklasers.com',
  '10minutemail.com', '10minutemail.net', 'temp-mail.org', 'tempmail.com', 'tempmail.net', 'yopmail.com',
  'yopmail.fr', 'yopmail.net', 'trashmail.com', 'trashmail.de', 'getnada.com', 'nada.email', 'dispostable.com',
  'maildrop.cc', 'mailnesia.com', 'mintemail.com', 'throwawaymail.com', 'fakeinbox.com', 'spamgourmet.com',
  'emailondeck.com', 'mohmal.com', 'tempr.email', 'discard.email', 'mailcatch.com', 'burnermail.io',
  'moakt.com', 'tmail.ws', 'inboxkitten.com', 'mail.tm', 'tempmailo.com', 'emailfake.com', 'crazymailing.com',
];

export interface FreeMailChecker {
  /** True when the domain (or the registrable domain of a host) is free-mail or disposable. */
  isFree(domainOrHost: string): boolean;
}

/** Builds a checker over the maintained lists, with per-policy additions and removals. */
export function freeMailChecker(opts: { extra?: readonly string[]; notFree?: readonly string[] } = {}): FreeMailChecker {
  const set = new Set<string>();
  for (const d of FREE_EMAIL_DOMAINS) set.add(d.toLowerCase());
  for (const d of DISPOSABLE_DOMAINS) set.add(d);
  for (const d of opts.extra ?? []) set.add(d.trim().toLowerCase());
  for (const d of opts.notFree ?? []) set.delete(d.trim().toLowerCase());
  return {
    isFree(d: string): boolean {
      if (set.has(d)) return true;
      // `mail.yahoo.co.uk` → also check its registrable domain. For a clean host, the normalised host and
      // its registrable domain are both dot-separated tails of it: when no tail is listed, the answer is
      // no without a public-suffix lookup (most work addresses).
      if (isPlainHost(d) && !hasListedTail(set, d)) return false;
      const h = normalizeHost(d);
      return h !== null && (set.has(h.host) || set.has(h.domain));
    },
  };
}

function hasListedTail(set: ReadonlySet<string>, host: string): boolean {
  for (let i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) if (set.has(host.slice(i + 1))) return true;
  return false;
}

export interface ParsedEmail {
  address: string;
  /** Normalised host of the part after `@`. */
  host: NormalizedHost;
  /** Registrable domain (shorthand for host.domain). */
  domain: string;
}

const EMAIL = /[^\s<>"'(),;:[\]]+@[^\s<>"'(),;:[\]]+/g;
/** Exactly one address and nothing else (no `mailto:`, since `:` is excluded; a single `@`). */
const ONE_ADDRESS = /^[^\s<>"'(),;:[\]@]+@[^\s<>"'(),;:[\]@]+$/;

/** Returned for a field without an address: the matcher asks once per signal, most have none. */
const NO_EMAILS: readonly ParsedEmail[] = []; // not frozen: a frozen array slows the loops over it

/** Every e-mail address in a field (`Name <a@b.com>`, `mailto:a@b.com`, several separated by `,`/`;`). */
export function parseEmails(value: string | null | undefined, known?: KnownDomains): readonly ParsedEmail[] {
  if (!value) return NO_EMAILS;
  if (ONE_ADDRESS.test(value)) {
    // The usual field: one bare address, which the general scan below would match whole.
    const address = value.endsWith('.') ? value.replace(/[.]+$/, '') : value;
    const host = normalizeHost(address.slice(address.lastIndexOf('@') + 1), known);
    return host ? [{ address, host, domain: host.domain }] : NO_EMAILS;
  }
  const out: ParsedEmail[] = [];
  for (const m of value.replace(/mailto:/gi, ' ').matchAll(EMAIL)) {
    const address = m[0].replace(/[.]+$/, '');
    const host = normalizeHost(address.slice(address.lastIndexOf('@') + 1), known);
    if (host) out.push({ address, host, domain: host.domain });
  }
  return out;
}

/** True when a website-field value is really an e-mail address someone pasted there. */
export function looksLikeEmail(value: string): boolean {
  const v = value.trim().replace(/^mailto:/i, '');
  // A URL with credentials (`https://user@host/`) has a scheme; an address has no `/` before the `@`.
  return /^[^\s/@:]+@[^\s/@]+\.[^\s/@]+$/.test(v);
}
