import { describe, expect, it } from 'vitest';
import { PostingTable, TypedArena } from '../../src/matching/posting-table.js';
import { jaroWinkler, jaroWinklerChars } from '../../src/matching/fuzzy.js';

// `arena`: the table's arrays from a TypedArena with room for them ('fits') or for nothing ('full').
describe.each([
  { bulk: false, arena: 'none' },
  { bulk: true, arena: 'none' },
  { bulk: true, arena: 'fits' },
  { bulk: false, arena: 'full' },
] as const)('PostingTable %o', (opts) => {
  const make = (expected: number): PostingTable => {
    const arena = opts.arena === 'none' ? undefined : new TypedArena(opts.arena === 'fits' ? PostingTable.bytesFor(expected) : 8);
    return new PostingTable(expected, { bulk: opts.bulk, arena });
  };
  it('returns every value of a key in the order added, and nothing for other keys', () => {
    const t = make(16);
    t.add('acme.com', 3);
    t.add('zen.io', 1);
    t.add('acme.com', 7);
    t.add('acme.com', 7);
    expect(t.values('acme.com')).toEqual([3, 7, 7]);
    expect(t.values('zen.io')).toEqual([1]);
    expect(t.values('acme.co')).toEqual([]);
    expect(t.has('zen.io')).toBe(true);
    expect(t.has('zen.i')).toBe(false);
    expect(t.get('acme.com')).toBe(3);
    expect(t.get('nope')).toBeUndefined();
    expect(t.size).toBe(2);
  });

  it('addFirst adds a new key and reports the first value of a known one', () => {
    const t = make(16);
    expect(t.addFirst('A1', 0)).toBe(-1);
    expect(t.addFirst('A2', 1)).toBe(-1);
    expect(t.addFirst('A1', 2)).toBe(0);
    expect(t.values('A1')).toEqual([0]);
  });

  it('keeps keys and their value order when it grows far past its expected size', () => {
    const t = make(1);
    const n = 20_000;
    for (let i = 0; i < n; i++) t.add(`k${i}`, i);
    for (let i = 0; i < n; i += 7) t.add(`k${i}`, n + i);
    for (let i = 0; i < n; i++) expect(t.values(`k${i}`)).toEqual(i % 7 === 0 ? [i, n + i] : [i]);
    expect(t.has(`k${n}`)).toBe(false);
    expect(t.size).toBe(n);
  });

  it('tells apart keys of any characters and lengths (Unicode, empty, prefixes of each other)', () => {
    const t = make(16);
    const keys = ['', 'a', 'ab', 'abc', 'müller', 'mueller', '株式会社', '😀', '\u0000', 'x'.repeat(70_000)];
    keys.forEach((k, i) => t.add(k, i));
    keys.forEach((k, i) => expect(t.values(k)).toEqual([i]));
    expect(t.has('abcd')).toBe(false);
    expect(t.has('x'.repeat(69_999))).toBe(false);
  });

  it('answers a repeated question about the same key the same way after other keys were added', () => {
    const t = make(16);
    t.add('a', 1);
    expect(t.values('a')).toEqual([1]);
    t.add('a', 2);
    expect(t.values('a')).toEqual([1, 2]);
    t.add('b', 3);
    expect(t.has('a')).toBe(true);
    expect(t.values('b')).toEqual([3]);
  });

  it('gives back each key from where add() says its characters are, even after growing', () => {
    const t = make(1);
    const keys = ['acme.com', 'müller', '株式会社', '😀x', 'y'.repeat(10_000)];
    for (let i = 0; i < 3000; i++) keys.push(`k${i}`);
    const starts = keys.map((k, i) => t.add(k, i));
    t.has('acme.com');
    keys.forEach((k, i) => {
      expect(t.keyText(starts[i]!, k.length)).toBe(k);
      expect(t.keyIs(starts[i]!, k.length, k)).toBe(true);
      expect(t.keyIs(starts[i]!, k.length, k + 'x')).toBe(false);
    });
    expect(t.keyIs(starts[0]!, 8, 'acme.con')).toBe(false);
    // A repeated key: the position of its characters, whichever add is asked.
    expect(t.keyText(t.add('acme.com', 1), 8)).toBe('acme.com');
  });

  it('fuzzy scores computed on the stored characters equal the scores of the strings', () => {
    const t = make(4);
    const names = ['cheetahmobile', 'cheetamobile', 'acme', 'zenith', 'münchen', 'muenchen'];
    const starts = names.map((n, i) => t.add(n, i));
    t.has('acme');
    for (const x of [...names, ''])
      names.forEach((n, i) => expect(jaroWinklerChars(x, t.chars, starts[i]!, n.length)).toBe(jaroWinkler(x, n)));
    expect(jaroWinkler('acme', 'acme')).toBe(1);
    expect(jaroWinkler('', '')).toBe(0);
  });

  it('takes adds after its first lookup too (bulk mode places the earlier ones first)', () => {
    const t = make(4);
    for (let i = 0; i < 100; i++) t.add(`k${i % 10}`, i);
    expect(t.values('k3')).toEqual([3, 13, 23, 33, 43, 53, 63, 73, 83, 93]);
    t.add('k3', 100);
    t.add('new', 101);
    expect(t.values('k3')).toEqual([3, 13, 23, 33, 43, 53, 63, 73, 83, 93, 100]);
    expect(t.values('new')).toEqual([101]);
    expect(t.size).toBe(11);
  });
});

describe.each([{ bulk: false }, { bulk: true }])('PostingTable %o with row numbers as values', (opts) => {
  it('flags the rows that repeat an earlier key, then keeps each key its first row, renumbered', () => {
    const t = new PostingTable(4, opts);
    ['a', 'b', 'a', 'c', 'b', 'a'].forEach((k, row) => t.add(k, row));
    const repeat = new Uint8Array(6);
    t.flagLaterValues(repeat);
    expect([...repeat]).toEqual([0, 0, 1, 0, 1, 1]);
    t.keepFirstValues(Int32Array.from([0, 1, -1, 2, -1, -1]));
    expect([t.values('a'), t.values('b'), t.values('c'), t.values('d')]).toEqual([[0], [1], [2], []]);
  });
});

describe('TypedArena', () => {
  it('hands out zero-filled, aligned, non-overlapping views of one buffer, then arrays of their own', () => {
    const arena = new TypedArena(64);
    const a = arena.int32(3);
    const b = arena.uint16(5);
    const c = arena.uint8(3);
    a.fill(-1);
    b.fill(0xffff);
    expect([...c]).toEqual([0, 0, 0]);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset % 8).toBe(0);
    expect(c.byteOffset).toBeGreaterThanOrEqual(b.byteOffset + b.byteLength);
    // 16 + 16 + 8 bytes used: 32 more do not fit, so this one is an array of its own, still zero-filled.
    const d = arena.int32(8);
    expect(d.buffer).not.toBe(a.buffer);
    expect([...d]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
