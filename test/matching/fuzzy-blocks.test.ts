import { describe, expect, it } from 'vitest';
import { FIRST, FuzzyBlocks, LAST } from '../../src/matching/fuzzy-blocks.js';

/** The keys laid out as the index keeps them: characters in one array, a start and a length each. */
function blocksOf(keys: string[]): FuzzyBlocks {
  const chars = new Uint16Array(keys.reduce((n, k) => n + k.length, 0));
  const starts: number[] = [];
  let at = 0;
  for (const k of keys) {
    starts.push(at);
    for (let i = 0; i < k.length; i++) chars[at++] = k.charCodeAt(i);
  }
  return new FuzzyBlocks(() => chars, starts, keys.map((k) => k.length));
}

describe('FuzzyBlocks', () => {
  const keys = ['acmeworks', 'acmetools', 'zenacme', 'ac', 'müllerbau', 'müllerei', 'toolsacm', 'マイクロソフト', 'マイクロン', 'acmetools'];
  const blocks = blocksOf(keys);

  it('puts each key of three or more characters under its first and its last three, in key order', () => {
    expect([...blocks.members('acmexyz', FIRST)]).toEqual([0, 1, 9]);
    expect([...blocks.members('xyzacme', LAST)]).toEqual([2]);
    expect([...blocks.members('acm', LAST)]).toEqual([6]);
    expect([...blocks.members('xxxtools', LAST)]).toEqual([1, 9]);
  });

  it('keeps the two sides apart and leaves short keys out', () => {
    expect([...blocks.members('xxacm', FIRST)]).toEqual([]);
    expect([...blocks.members('acm', FIRST)]).toEqual([0, 1, 9]);
    expect([...blocks.members('ac', FIRST)]).toEqual([]);
    expect([...blocks.members('acz', FIRST)]).toEqual([]);
  });

  it('blocks names in any script by their UTF-16 characters', () => {
    expect([...blocks.members('müllerhaus', FIRST)]).toEqual([4, 5]);
    expect([...blocks.members('マイクロ', FIRST)]).toEqual([7, 8]);
    expect([...blocks.members('ソフト', LAST)]).toEqual([7]);
    // Same three characters up to the ASCII boundary: `mul` is not `mül`.
    expect([...blocks.members('mulleria', FIRST)]).toEqual([]);
  });
});
