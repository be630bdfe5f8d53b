/**
 * Strings kept as characters in one growing Uint16Array, each known by its position (a "ref").
 *
 * The account index keeps a few strings per account (its website domain, its name keys) for the rare
 * questions that need them back (explain, fuzzy scoring). As string objects, a million accounts' worth
 * are millions of objects that the garbage collector copies while the index is built and traces for as
 * long as it lives; as characters in one typed array they cost it nothing.
 *
 * @example
 *   const a = new CharArena();
 *   const r = a.add('acme.com');
 *   a.equals(r, 'acme.com')   // true
 *   a.stringAt(r)             // 'acme.com'
 */
export class CharArena {
  private buf: Uint16Array;
  private used = 0;
  /** String r is `buf[starts[r] … starts[r + 1] - 1]`. */
  private starts: Int32Array;
  private count = 0;

  /** Sized for `expectedStrings` of about a dozen characters (it grows past that). */
  constructor(expectedStrings = 64) {
    this.buf = new Uint16Array(Math.max(64, expectedStrings * 12));
    this.starts = new Int32Array(Math.max(16, expectedStrings + 1));
  }

  /** Number of strings added. */
  get size(): number {
    return this.count;
  }

  /** The characters of every string (read with `startOf` and `lengthOf`; do not change them). */
  get chars(): Uint16Array {
    return this.buf;
  }

  /** Stores `s` and returns its ref (0, 1, 2, … in the order added). */
  add(s: string): number {
    const len = s.length;
    if (this.used + len > this.buf.length) {
      const b = new Uint16Array(Math.max(this.used + len, this.buf.length * 2));
      b.set(this.buf.subarray(0, this.used));
      this.buf = b;
    }
    if (this.count + 2 > this.starts.length) {
      const st = new Int32Array(this.starts.length * 2);
      st.set(this.starts);
      this.starts = st;
    }
    const buf = this.buf;
    const start = this.used;
    for (let i = 0; i < len; i++) buf[start + i] = s.charCodeAt(i);
    this.used += len;
    this.starts[this.count + 1] = this.used;
    return this.count++;
  }

  startOf(ref: number): number {
    return this.starts[ref]!;
  }

  lengthOf(ref: number): number {
    return this.starts[ref + 1]! - this.starts[ref]!;
  }

  equals(ref: number, s: string): boolean {
    const start = this.starts[ref]!;
    if (this.starts[ref + 1]! - start !== s.length) return false;
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) if (buf[start + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  stringAt(ref: number): string {
    const start = this.starts[ref]!;
    const end = this.starts[ref + 1]!;
    // In pieces: `String.fromCharCode(...)` with very many arguments would overflow the stack.
    let out = '';
    for (let i = start; i < end; i += 4096) out += String.fromCharCode(...this.buf.subarray(i, Math.min(end, i + 4096)));
    return out;
  }
}
