/**
 * A string → numbers multimap kept in typed arrays: the account index's postings (and its id lookup).
 *
 * Why not a `Map<string, number | number[]>`: at a million accounts the index is a few million keys, and
 * on this kind of machine every random memory access is expensive. A Map reaches a value through its
 * bucket array, an entry, and the key string's object (three places in memory), rehashes everything each
 * time it doubles, and leaves millions of key strings for the garbage collector to copy and trace. Here a
 * slot holds the key's hash, where its characters are and its value, so a lookup touches the slot and the
 * characters; the table is sized once from the expected number of keys; and the keys are characters in
 * one array, not string objects.
 *
 * Open addressing with linear probing, one slot per distinct key. Most keys have one value, stored in the
 * slot; a key with several keeps them in an array, in the order they were added.
 *
 * With `{ bulk: true }`, adds are only written down (key characters, hash, value: sequential writes)
 * until the first lookup, which then places them all region by region: a table of a million keys is
 * larger than any cache, and a million inserts at random places cost far more than sorting them first.
 *
 * @example
 *   const t = new PostingTable(3);
 *   t.add('acme.com', 3); t.add('acme.com', 7); t.add('zen.io', 1);
 *   t.values('acme.com')   // [3, 7]
 *   t.has('acme.io')       // false
 */
export class PostingTable {
  /**
   * Slot s is `slots[4s … 4s+3]`: hash, key length + 1 (0: empty), start of the key in `chars`, and the
   * value (≥ 0) or, for a key with several values, -1 - its position in `lists`.
   */
  private slots: Int32Array;
  private mask: number;
  private keyCount = 0;
  private keyChars: Uint16Array;
  private charsUsed = 0;
  private readonly lists: number[][] = [];
  // The last key looked up: callers often ask about one key several times in a row.
  private lastKey: string | undefined;
  private lastSlot = -1;
  /** Bulk mode: adds not placed yet, 4 ints each (hash, value, key start in `chars`, key length). */
  private pending: Int32Array | null;
  private pendingCount = 0;

  /**
   * `arena`: where the slot and character arrays come from (see `TypedArena`; `PostingTable.bytesFor`
   * says how much they take). Arrays replaced when the table grows are allocated on their own.
   */
  constructor(expectedKeys = 16, opts: { bulk?: boolean; arena?: TypedArena; chars?: number } = {}) {
    const capacity = capacityFor(expectedKeys);
    const arena = opts.arena ?? HEAP;
    this.slots = arena.int32(capacity * 4);
    this.mask = capacity - 1;
    this.keyChars = arena.uint16(opts.chars ?? initialChars(expectedKeys));
    // Not from the arena: dropped once placed, so its memory can go back while the index lives on.
    this.pending = opts.bulk ? new Int32Array(uncountedBuffer(Math.max(16, expectedKeys) * 16)) : null;
  }

  /** Bytes the constructor takes from an arena for `expectedKeys`. */
  static bytesFor(expectedKeys = 16, chars = initialChars(expectedKeys)): number {
    return capacityFor(expectedKeys) * 4 * 4 + TypedArena.rounded(chars * 2);
  }

  /** Number of distinct keys. */
  get size(): number {
    this.placePending();
    return this.keyCount;
  }

  /**
   * Adds `value` under `key` (values must be ≥ 0). Returns where the key's characters are in `chars`: the
   * index keeps that (and the length) instead of a string, and reads it back with `keyIs` / `keyText`.
   */
  add(key: string, value: number): number {
    this.lastKey = undefined;
    if (this.pending) return this.addPending(key, value);
    const h = hashString(key);
    const s = this.probe(key, h);
    const slots = this.slots;
    if (slots[s * 4 + 1] !== 0) {
      const v = slots[s * 4 + 3]!;
      if (v >= 0) slots[s * 4 + 3] = -1 - (this.lists.push([v, value]) - 1);
      else this.lists[-1 - v]!.push(value);
      return slots[s * 4 + 2]!;
    }
    if (this.keyCount + 1 > MAX_LOAD * (this.mask + 1)) {
      this.resize(2 * (this.mask + 1));
      return this.add(key, value);
    }
    this.keyCount++;
    const start = this.storeChars(key);
    slots[s * 4] = h;
    slots[s * 4 + 1] = key.length + 1;
    slots[s * 4 + 2] = start;
    slots[s * 4 + 3] = value;
    return start;
  }

  /** Every key's characters (positions from `add`; the array is replaced when it grows: do not keep it). */
  get chars(): Uint16Array {
    return this.keyChars;
  }

  /** True when the `length` characters at `start` (from `add`) are `s`. */
  keyIs(start: number, length: number, s: string): boolean {
    return length === s.length && this.charsEqual(start, s);
  }

  /** The `length` characters at `start` (from `add`) as a string. */
  keyText(start: number, length: number): string {
    // In pieces: `String.fromCharCode(...)` with very many arguments would overflow the stack.
    let out = '';
    for (let i = start; i < start + length; i += 4096)
      out += String.fromCharCode(...this.keyChars.subarray(i, Math.min(start + length, i + 4096)));
    return out;
  }

  /**
   * Adds `value` under `key` unless the key has a value already; returns that first value, or -1 when it
   * added (one probe where `has` then `add` would take two).
   */
  addFirst(key: string, value: number): number {
    this.placePending();
    this.lastKey = undefined;
    const h = hashString(key);
    const s = this.probe(key, h);
    if (this.slots[s * 4 + 1] !== 0) return this.valueAt(s, 0);
    this.add(key, value);
    return -1;
  }

  /**
   * Sets `flags[v] = 1` for every value stored after the first under its key (values must be below
   * `flags.length`): with row numbers as values, the rows that repeat an earlier row's key.
   */
  flagLaterValues(flags: Uint8Array): void {
    this.placePending();
    for (const list of this.lists) for (let i = 1; i < list.length; i++) flags[list[i]!] = 1;
  }

  /** Leaves each key its first value only, as `map[value]` (values must be below `map.length`). */
  keepFirstValues(map: Int32Array): void {
    this.placePending();
    const slots = this.slots;
    for (let s = 0; s * 4 < slots.length; s++) {
      if (slots[s * 4 + 1] === 0) continue;
      const v = slots[s * 4 + 3]!;
      slots[s * 4 + 3] = map[v >= 0 ? v : this.lists[-1 - v]![0]!]!;
    }
    this.lists.length = 0;
    this.lastKey = undefined;
  }

  /** The first value stored under `key`, or undefined. */
  get(key: string): number | undefined {
    const s = this.find(key);
    return s < 0 ? undefined : this.valueAt(s, 0);
  }

  /** True when the key has a value. */
  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** The values stored under `key`, in the order they were added (do not change the array). */
  values(key: string): readonly number[] {
    const s = this.find(key);
    if (s < 0) return EMPTY;
    const v = this.slots[s * 4 + 3]!;
    return v >= 0 ? [v] : this.lists[-1 - v]!;
  }

  /** The key's slot, or -1. Read its values with `valueCount` and `valueAt`. */
  find(key: string): number {
    if (this.pending) this.placePending();
    if (key === this.lastKey) return this.lastSlot;
    const s = this.probe(key, hashString(key));
    this.lastKey = key;
    this.lastSlot = this.slots[s * 4 + 1] === 0 ? -1 : s;
    return this.lastSlot;
  }

  /** Bulk mode: writes the add down, and the key's characters (a repeated key's too: placing compares them). */
  private addPending(key: string, value: number): number {
    const len = key.length;
    if (this.charsUsed + len > this.keyChars.length) this.keyChars = grow16(this.keyChars, this.charsUsed + len);
    if ((this.pendingCount + 1) * 4 > this.pending!.length) this.pending = grow32(this.pending!, (this.pendingCount + 1) * 4);
    const chars = this.keyChars;
    const start = this.charsUsed;
    let h = FNV_OFFSET;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(i);
      chars[start + i] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    this.charsUsed += len;
    const at = this.pendingCount++ * 4;
    const p = this.pending!;
    p[at] = mix(h);
    p[at + 1] = value;
    p[at + 2] = start;
    p[at + 3] = len;
    return start;
  }

  /**
   * Places the pending adds and leaves bulk mode. A stable counting sort by the top 8 bits of their home
   * slot first, so the inserts fill the table one 1/256th at a time (that region stays in cache); being
   * stable, it keeps a key's values in the order they were added. The adds themselves are moved into
   * that order (256 sequential write streams), so placing reads them in sequence rather than hopping
   * through the pending array by index, a cache miss per add at a million.
   */
  private placePending(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    const n = this.pendingCount;
    if (this.keyCount + n > MAX_LOAD * (this.mask + 1)) this.resize(capacityFor(this.keyCount + n));
    const mask = this.mask;
    let bits = 0;
    while (1 << bits < mask + 1) bits++;
    const shift = Math.max(0, bits - 8);
    const starts = new Int32Array(257);
    for (let i = 0; i < n; i++) starts[((p[i * 4]! & mask) >>> shift) + 1]!++;
    for (let r = 0; r < 256; r++) starts[r + 1]! += starts[r]!;
    const sorted = new Int32Array(uncountedBuffer(n * 16));
    for (let i = 0; i < n; i++) {
      const at = starts[(p[i * 4]! & mask) >>> shift]!++ * 4;
      sorted[at] = p[i * 4]!;
      sorted[at + 1] = p[i * 4 + 1]!;
      sorted[at + 2] = p[i * 4 + 2]!;
      sorted[at + 3] = p[i * 4 + 3]!;
    }
    for (let k = 0; k < n * 4; k += 4) this.placeStored(sorted[k]!, sorted[k + 1]!, sorted[k + 2]!, sorted[k + 3]!);
  }

  /** `add` for a key whose characters are in `chars` already. */
  private placeStored(h: number, value: number, start: number, len: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const l = slots[s * 4 + 1]!;
      if (l === 0) break;
      if (l === len + 1 && slots[s * 4] === h && this.storedEqual(slots[s * 4 + 2]!, start, len)) {
        const v = slots[s * 4 + 3]!;
        if (v >= 0) slots[s * 4 + 3] = -1 - (this.lists.push([v, value]) - 1);
        else this.lists[-1 - v]!.push(value);
        return;
      }
      s = (s + 1) & mask;
    }
    this.keyCount++;
    slots[s * 4] = h;
    slots[s * 4 + 1] = len + 1;
    slots[s * 4 + 2] = start;
    slots[s * 4 + 3] = value;
  }

  private storedEqual(a: number, b: number, len: number): boolean {
    const chars = this.keyChars;
    for (let k = 0; k < len; k++) if (chars[a + k] !== chars[b + k]) return false;
    return true;
  }

  valueCount(slot: number): number {
    const v = this.slots[slot * 4 + 3]!;
    return v >= 0 ? 1 : this.lists[-1 - v]!.length;
  }

  valueAt(slot: number, i: number): number {
    const v = this.slots[slot * 4 + 3]!;
    return v >= 0 ? v : this.lists[-1 - v]![i]!;
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  private probe(key: string, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const lenPlus1 = key.length + 1;
    let s = h & mask;
    for (;;) {
      const l = slots[s * 4 + 1]!;
      if (l === 0) return s;
      if (l === lenPlus1 && slots[s * 4] === h && this.charsEqual(slots[s * 4 + 2]!, key)) return s;
      s = (s + 1) & mask;
    }
  }

  private charsEqual(start: number, key: string): boolean {
    const chars = this.keyChars;
    for (let k = 0; k < key.length; k++) if (chars[start + k] !== key.charCodeAt(k)) return false;
    return true;
  }

  private storeChars(key: string): number {
    const len = key.length;
    if (this.charsUsed + len > this.keyChars.length) this.keyChars = grow16(this.keyChars, this.charsUsed + len);
    const chars = this.keyChars;
    const start = this.charsUsed;
    for (let i = 0; i < len; i++) chars[start + i] = key.charCodeAt(i);
    this.charsUsed += len;
    return start;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.slots = new Int32Array(capacity * 4);
    this.mask = capacity - 1;
    for (let s = 0; s * 4 < old.length; s++) {
      if (old[s * 4 + 1] === 0) continue;
      let t = old[s * 4]! & this.mask;
      while (this.slots[t * 4 + 1] !== 0) t = (t + 1) & this.mask;
      this.slots.set(old.subarray(s * 4, s * 4 + 4), t * 4);
    }
  }
}

const EMPTY: readonly number[] = Object.freeze([]);

/** Keys of the index are domains and name keys: about a dozen characters. */
function initialChars(expectedKeys: number): number {
  return Math.max(64, expectedKeys * 12);
}

/**
 * Memory for the index's large typed arrays that V8 does not count as external memory pressure.
 *
 * Why: V8 answers every ~64 MB of new ArrayBuffer memory with garbage-collection work that ends in a full
 * mark-compact, and a mark-compact walks the whole live heap. At a million accounts the index takes
 * ~250 MB of typed arrays that live as long as it does, and the caller's account records (and signals,
 * when it holds them) are several hundred MB of live heap: the collection took 0.3-0.35 s of a 2.8 s
 * build and freed nothing. V8 leaves a SharedArrayBuffer out of that count (its memory may belong to
 * several threads), and views of one read and write as fast as views of an ArrayBuffer (measured).
 * The memory still goes back when the index is collected. Used for the arrays that are large and either
 * live with the index or are dropped at a known point (bulk adds once placed); arrays replaced when a
 * table grows, and small ones, stay ordinary.
 */
export function uncountedBuffer(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes);
}

/**
 * Typed arrays carved out of one buffer (see `uncountedBuffer`), for a structure that allocates several
 * large ones at once (the account index: a few hundred MB at a million accounts). One buffer also keeps
 * them together, and makes the index's layout one sized allocation instead of a dozen.
 * When the arena is used up, arrays are allocated on their own (correct, only not pooled).
 *
 * @example
 *   const arena = new TypedArena(4 * 1000 + 2 * 500);
 *   const a = arena.int32(1000), b = arena.uint16(500);   // zero-filled views of one buffer
 */
export class TypedArena {
  private readonly buffer: SharedArrayBuffer | null;
  private used = 0;
  constructor(bytes: number) {
    this.buffer = bytes > 0 ? uncountedBuffer(bytes) : null;
  }
  /** Sizes are rounded up to 8 bytes, so every view stays aligned. */
  static rounded(bytes: number): number {
    return (bytes + 7) & ~7;
  }
  int32(length: number): Int32Array {
    const at = this.take(length * 4);
    return at < 0 ? new Int32Array(length) : new Int32Array(this.buffer!, at, length);
  }
  uint16(length: number): Uint16Array {
    const at = this.take(length * 2);
    return at < 0 ? new Uint16Array(length) : new Uint16Array(this.buffer!, at, length);
  }
  uint8(length: number): Uint8Array {
    const at = this.take(length);
    return at < 0 ? new Uint8Array(length) : new Uint8Array(this.buffer!, at, length);
  }
  /** The offset of `bytes` more, or -1 when they do not fit. */
  private take(bytes: number): number {
    const size = TypedArena.rounded(bytes);
    if (!this.buffer || this.used + size > this.buffer.byteLength) return -1;
    const at = this.used;
    this.used += size;
    return at;
  }
}

/** An arena of no bytes: every array on its own. */
const HEAP = new TypedArena(0);

/** Linear probing stays short below this share of slots in use. */
const MAX_LOAD = 0.7;

function capacityFor(entries: number): number {
  let c = 16;
  while (c * MAX_LOAD < entries) c *= 2;
  return c;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, then `mix`. */
function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix(h);
}

/** MurmurHash3's finaliser: spreads FNV's differences over all bits (the slot is taken from the low ones). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function grow32(a: Int32Array, min: number): Int32Array {
  const b = new Int32Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

function grow16(a: Uint16Array, min: number): Uint16Array {
  const b = new Uint16Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}
