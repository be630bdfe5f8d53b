/**
 * Integer money arithmetic for attribution. Everything is BigInt inside so no intermediate product
 * (amount × weight × rate) can lose precision; results are converted back to safe integers at the edge.
 */

/** One share of a split: who, and their integer weight (basis points, touch-kind weight, or 1). */
export interface Weighted {
  partner: string;
  weight: number;
}

/**
 * Split `total` minor units in proportion to the weights so the parts sum to exactly `total`.
 * Largest remainder: everyone gets the floor of their exact share, then the leftover units go one
 * each to the largest fractional remainders; equal remainders go to the lower partner id, so the
 * result never depends on input order.
 *
 * @example
 *   largestRemainder(100n, [{ partner: 'b', weight: 1 }, { partner: 'a', weight: 1 }, { partner: 'c', weight: 1 }])
 *   // → Map { 'a' => 34n, 'b' => 33n, 'c' => 33n }
 */
export function largestRemainder(total: bigint, parts: Weighted[]): Map<string, bigint> {
  if (total < 0n) throw new RangeError('largestRemainder splits non-negative totals');
  const sorted = [...parts].sort((x, y) => cmp(x.partner, y.partner));
  const sum = sorted.reduce((a, p) => a + BigInt(p.weight), 0n);
  const out = new Map<string, bigint>();
  if (sum === 0n) throw new RangeError('largestRemainder needs a positive total weight');
  const rems: Array<{ partner: string; rem: bigint }> = [];
  let given = 0n;
  for (const p of sorted) {
    const exact = total * BigInt(p.weight);
    const q = exact / sum;
    out.set(p.partner, q);
    given += q;
    rems.push({ partner: p.partner, rem: exact % sum });
  }
  // Stable sort keeps partner-id order among equal remainders.
  rems.sort((x, y) => (x.rem === y.rem ? 0 : x.rem > y.rem ? -1 : 1));
  for (let i = 0; given < total; i++, given++) {
    const p = rems[i]!.partner;
    out.set(p, out.get(p)! + 1n);
  }
  return out;
}

/** `num / den` rounded half away from zero (the commercial rounding people check by hand). */
export function divRound(num: bigint, den: bigint): bigint {
  if (den <= 0n) throw new RangeError('divRound needs a positive denominator');
  const neg = num < 0n;
  const a = neg ? -num : num;
  const q = (2n * a + den) / (2n * den);
  return neg ? -q : q;
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y) [x, y] = [y, x % y];
  return x;
}

/** An exact share as a reduced fraction string: `"1/3"`, `"1/1"`. */
export function ratio(num: bigint, den: bigint): string {
  const g = gcd(num, den) || 1n;
  return `${num / g}/${den / g}`;
}

export function toSafe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`${what} ${n} exceeds the safe integer range`);
  return Number(n);
}

/** Code-point comparison: the same order on every machine and locale. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
