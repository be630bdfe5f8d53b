import { createRequire } from 'node:module';
import { parse } from 'tldts';
import { describe, expect, it } from 'vitest';
import { publicSuffixOf } from '../../src/matching/public-suffix.js';
import { registrableHost } from '../../src/matching/domain-normalize.js';

type Packed = [number, Record<string, Packed>];
const require = createRequire(import.meta.url);
const trie = require('tldts/dist/cjs/src/data/trie.js') as { rules: Packed; exceptions: Packed };

/** Every rule of a packed trie as its labels (`*` kept), each rule once. */
function rulesOf(root: Packed): string[][] {
  const out: string[][] = [];
  const walk = (node: Packed, path: string[]): void => {
    if (node[0] !== 0) out.push(path);
    for (const [label, child] of Object.entries(node[1])) walk(child, [label, ...path]);
  };
  walk(root, []);
  return out;
}

const tldts = (host: string) => parse(host, { allowPrivateDomains: true, extractHostname: false });

describe('publicSuffixOf', () => {
  it('answers like tldts for hosts at, under and beside every rule of the list', () => {
    const rules = [...rulesOf(trie.rules), ...rulesOf(trie.exceptions)];
    expect(rules.length).toBeGreaterThan(5000);
    let compared = 0;
    for (const labels of rules) {
      const rule = labels.map((l) => (l === '*' ? 'wild' : l)).join('.');
      for (const host of [rule, `acme.${rule}`, `eu.acme.${rule}`, `x1.y2.acme.${rule}`, `acme-${labels[0] === '*' ? 'x' : labels[0]}.${labels.slice(1).join('.') || 'com'}`]) {
        const mine = publicSuffixOf(host);
        if (mine === undefined) continue;
        const p = tldts(host);
        expect({ host, domain: mine.domain, suffix: mine.suffix, isPrivate: mine.isPrivate }).toEqual({
          host,
          domain: p.domain,
          suffix: p.publicSuffix,
          isPrivate: p.isPrivate,
        });
        compared++;
      }
    }
    // Most of them took the fast path: the comparison above is not vacuous.
    expect(compared).toBeGreaterThan(3 * rules.length);
  });

  it.each([
    ['eu.acme.co.uk', 'acme.co.uk', 'co.uk', false],
    ['acme.com', 'acme.com', 'com', false],
    ['jane.github.io', 'jane.github.io', 'github.io', true],
    ['shop.peak.myshopify.com', 'peak.myshopify.com', 'myshopify.com', true],
    ['acme.unknowntld', 'acme.unknowntld', 'unknowntld', false],
    ['a.b.c.kawasaki.jp', 'b.c.kawasaki.jp', 'c.kawasaki.jp', false],
  ])('%s → %s (suffix %s)', (host, domain, suffix, isPrivate) => {
    expect(publicSuffixOf(host)).toEqual({ domain, suffix, isPrivate });
  });

  it.each([
    ['co.uk', 'a suffix itself'],
    ['github.io', 'a private suffix itself: the platform'],
    ['www.city.kawasaki.jp', 'an exception rule'],
    ['10.0.0.1', 'an IPv4 address'],
    ['acme.com.', 'a trailing dot'],
    ['a..com', 'an empty label'],
    ['ACME.com', 'upper case'],
    ['localhost', 'one label'],
    ['xn--mnchen-3ya.de:8080', 'a port'],
  ])('leaves %s to tldts (%s)', (host) => {
    expect(publicSuffixOf(host)).toBeUndefined();
  });

  it('leaves the platform case to tldts: github.io is GitHub\'s own site', () => {
    expect(registrableHost('github.io')).toMatchObject({ domain: 'github.io', sharedHost: false });
    expect(registrableHost('co.uk')).toBeNull();
    expect(registrableHost('www.city.kawasaki.jp')).toMatchObject({ domain: 'city.kawasaki.jp' });
  });
});
