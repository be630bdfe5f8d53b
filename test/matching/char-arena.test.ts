import { describe, expect, it } from 'vitest';
import { CharArena } from '../../src/matching/char-arena.js';
import { jaroWinkler, jaroWinklerChars } from '../../src/matching/fuzzy.js';

describe('CharArena', () => {
  it('gives back every string it stored, by ref, however many and however long', () => {
    const a = new CharArena();
    const strings = ['acme.com', '', 'müller', '株式会社', '😀x', 'y'.repeat(10_000)];
    for (let i = 0; i < 3000; i++) strings.push(`k${i}`);
    const refs = strings.map((s) => a.add(s));
    expect(refs).toEqual(strings.map((_, i) => i));
    strings.forEach((s, i) => {
      expect(a.stringAt(i)).toBe(s);
      expect(a.lengthOf(i)).toBe(s.length);
      expect(a.equals(i, s)).toBe(true);
      expect(a.equals(i, s + 'x')).toBe(false);
    });
    expect(a.equals(0, 'acme.co')).toBe(false);
    expect(a.equals(0, 'acme.con')).toBe(false);
    expect(a.size).toBe(strings.length);
  });

  it('fuzzy scores from stored characters equal the scores of the strings', () => {
    const a = new CharArena();
    const names = ['cheetahmobile', 'cheetamobile', 'acme', 'zenith', '', 'münchen', 'muenchen'];
    const refs = names.map((n) => a.add(n));
    for (const x of names)
      refs.forEach((r, i) => expect(jaroWinklerChars(x, a.chars, a.startOf(r), a.lengthOf(r))).toBe(jaroWinkler(x, names[i]!)));
    expect(jaroWinkler('acme', 'acme')).toBe(1);
    expect(jaroWinkler('', '')).toBe(0);
  });
});
