/**
 * String similarity for company-name keys. Jaro-Winkler suits short names with typos and dropped letters
 * (`cheetamobile` ~ `cheetahmobile`) and rewards a shared beginning, which is where names agree most.
 *
 * @example
 *   jaroWinkler('cheetamobile', 'cheetahmobile')  // ≈ 0.98
 *   jaroWinkler('acme', 'zenith')                 // 0
 */

/** Jaro similarity in [0, 1]. Works on UTF-16 code units, which is fine for folded names. */
export function jaro(a: string, b: string): number {
  return jaroChars(a, charsOf(b), 0, b.length);
}

/** Jaro-Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4 characters). */
export function jaroWinkler(a: string, b: string): number {
  return jaroWinklerChars(a, charsOf(b), 0, b.length);
}

/**
 * `jaroWinkler(a, b)` where b is `lb` characters of `chars` from `start`: the account index keeps its name
 * keys as characters (see `PostingTable`), and fuzzy scoring reads them there without making strings.
 */
export function jaroWinklerChars(a: string, chars: Uint16Array, start: number, lb: number): number {
  const j = jaroChars(a, chars, start, lb);
  let prefix = 0;
  const max = Math.min(4, a.length, lb);
  while (prefix < max && a.charCodeAt(prefix) === chars[start + prefix]) prefix++;
  return j + prefix * 0.1 * (1 - j);
}

function jaroChars(a: string, chars: Uint16Array, start: number, lb: number): number {
  const la = a.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  const matchedA = new Uint8Array(la);
  const matchedB = new Uint8Array(lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(lb - 1, i + window);
    const c = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (matchedB[j] === 0 && chars[start + j] === c) {
        matchedA[i] = 1;
        matchedB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (matchedA[i] === 0) continue;
    while (matchedB[k] === 0) k++;
    if (a.charCodeAt(i) !== chars[start + k]) transpositions++;
    k++;
  }
  const m = matches;
  return (m / la + m / lb + (m - transpositions / 2) / m) / 3;
}

/** A string's UTF-16 code units in a scratch array (reused: the functions above do not keep it). */
let scratch = new Uint16Array(64);
function charsOf(s: string): Uint16Array {
  if (s.length > scratch.length) scratch = new Uint16Array(s.length * 2);
  for (let i = 0; i < s.length; i++) scratch[i] = s.charCodeAt(i);
  return scratch;
}
