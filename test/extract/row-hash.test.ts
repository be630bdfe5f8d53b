import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashValues, legacyHash, sameContent } from '../../src/extract/row-hash.js';

describe('row content hash', () => {
  const cols = ['id', 'name', 'website'];

  it('is 24 base64url characters and ignores the order of columns', () => {
    const h = hashValues(cols, ['1', 'Acme', 'acme.com']);
    expect(h).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(hashValues(['website', 'id', 'name'], ['acme.com', '1', 'Acme'])).toBe(h);
  });

  it('tells apart what must differ: a changed value, null and empty, moved boundaries, renamed columns, odd lengths', () => {
    const base = hashValues(cols, ['1', 'Acme', 'acme.com']);
    const others = [
      hashValues(cols, ['1', 'Acme', 'acme.co']),
      hashValues(cols, ['1', 'Acme ', 'acme.com']),
      hashValues(cols, ['1', null, 'acme.com']),
      hashValues(cols, ['1', '', 'acme.com']),
      hashValues(cols, ['1A', 'cme', 'acme.com']),
      hashValues(['id', 'label', 'website'], ['1', 'Acme', 'acme.com']),
      hashValues(['id', 'name'], ['1', 'Acme']),
      hashValues(cols, ['1', 'Acme\u0000', 'acme.com']),
      hashValues(cols, ['1', 'Äcme', 'acme.com']),
      hashValues(cols, ['1', 'Acme😀', 'acme.com']),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
    // null and undefined are both "no value".
    expect(hashValues(cols, ['1', undefined, 'x'])).toBe(hashValues(cols, ['1', null, 'x']));
  });

  it('gives distinct hashes to many similar rows', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) seen.add(hashValues(cols, [String(i), `Company ${i % 1000}`, `c${i}.example`]));
    expect(seen.size).toBe(50_000);
  });

  it('compares a hash staged by earlier versions (sha1, 32 hex) by recomputing it the old way', () => {
    const values = ['1', 'Acme', null];
    // The earlier format, written out independently: per column in name order, name, length and value.
    const old = crypto.createHash('sha1').update('\u0002id\u00001:1\u0002name\u00004:Acme\u0001website\u0000').digest('hex').slice(0, 32);
    expect(legacyHash(cols, values)).toBe(old);
    const now = hashValues(cols, values);
    expect(sameContent(old, now, cols, values)).toBe(true);
    expect(sameContent(now, now, cols, values)).toBe(true);
    const changed = ['1', 'Acme Inc', null];
    expect(sameContent(old, hashValues(cols, changed), cols, changed)).toBe(false);
    expect(sameContent('tombstone', now, cols, values)).toBe(false);
  });
});
