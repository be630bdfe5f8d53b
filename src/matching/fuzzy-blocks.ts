/**
 * Blocking for fuzzy names: each name key of the index falls in two blocks, the one of its first three
 * characters and the one of its last three, and a signal's name is only compared with the keys of its own
 * two blocks.
 *
 * Built on the first lookup, from the keys' characters where the index keeps them: most runs decide every
 * signal before the last rule, and the blocks are a few thousand lists over millions of keys, which as
 * growing arrays (and a string per block key) cost the index build more than everything fuzzy matching
 * does with them. Laid out as one array of members grouped by block, in key order.
 *
 * @example
 *   const blocks = new FuzzyBlocks(() => chars, starts, lengths);
 *   blocks.members('acmex', FIRST)   // the keys that start with "acm", in key order (an Int32Array view)
 */
export const FIRST = 0;
export const LAST = 1;

const EMPTY = new Int32Array(0);

export class FuzzyBlocks {
  /** Block → where its members start in `memberList` (block b: `offsets[b]` … `offsets[b + 1]`). */
  private offsets: Int32Array = EMPTY;
  private memberList: Int32Array = EMPTY;
  /** Block codes (see `codeOf`) → block number. */
  private readonly blockOf = new Map<number | string, number>();
  private built = false;

  /**
   * Key f is the `lengths[f]` characters of `chars()` from `starts[f]`. Both lists and the characters are
   * read when the blocks are built, after the index is complete (its lists are cut to their length then).
   */
  constructor(
    private readonly chars: () => Uint16Array,
    private readonly starts: readonly number[],
    private readonly lengths: readonly number[],
  ) {}

  /** The keys in the block of `key`'s first or last three characters (none for a shorter key). */
  members(key: string, side: typeof FIRST | typeof LAST): Int32Array {
    if (key.length < 3) return EMPTY;
    if (!this.built) this.build();
    const at = side === FIRST ? 0 : key.length - 3;
    const b = this.blockOf.get(codeOf(side, key.charCodeAt(at), key.charCodeAt(at + 1), key.charCodeAt(at + 2)));
    return b === undefined ? EMPTY : this.memberList.subarray(this.offsets[b]!, this.offsets[b + 1]!);
  }

  private build(): void {
    this.built = true;
    const chars = this.chars();
    const n = this.starts.length;
    // Two passes: each key's two blocks and the block sizes, then the members in key order.
    const blockOfKey = new Int32Array(2 * n).fill(-1);
    const sizes: number[] = [];
    for (let f = 0; f < n; f++) {
      const length = this.lengths[f]!;
      if (length < 3) continue;
      const s = this.starts[f]!;
      for (let side = FIRST; side <= LAST; side++) {
        const at = side === FIRST ? s : s + length - 3;
        const code = codeOf(side, chars[at]!, chars[at + 1]!, chars[at + 2]!);
        let b = this.blockOf.get(code);
        if (b === undefined) {
          b = sizes.push(0) - 1;
          this.blockOf.set(code, b);
        }
        sizes[b]!++;
        blockOfKey[2 * f + side] = b;
      }
    }
    const offsets = new Int32Array(sizes.length + 1);
    for (let b = 0; b < sizes.length; b++) offsets[b + 1] = offsets[b]! + sizes[b]!;
    const fill = offsets.slice(0, sizes.length);
    const memberList = new Int32Array(offsets[sizes.length]!);
    for (let f = 0; f < n; f++) {
      for (let side = 0; side < 2; side++) {
        const b = blockOfKey[2 * f + side]!;
        if (b >= 0) memberList[fill[b]!++] = f;
      }
    }
    this.offsets = offsets;
    this.memberList = memberList;
  }
}

/**
 * A block's code: one small integer for the usual three ASCII characters (7 bits each, and the side),
 * a string otherwise. Either way, equal codes mean the same block.
 */
function codeOf(side: number, c0: number, c1: number, c2: number): number | string {
  if ((c0 | c1 | c2) < 128) return (side << 21) | (c0 << 14) | (c1 << 7) | c2;
  return String.fromCharCode(48 + side, c0, c1, c2);
}
