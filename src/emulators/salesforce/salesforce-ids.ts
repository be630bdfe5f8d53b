/**
 * Salesforce record ids: 15 case-sensitive characters (3-char key prefix, pod, counter) plus a
 * 3-character case-insensitivity checksum, so clients that compare ids case-insensitively (and
 * spreadsheets) still see distinct values. Emulated ids use the real key prefixes so code that
 * sniffs `001`/`003`/`006` works unchanged.
 *
 * @example makeId('001', 1) // '001Ps0000000001IAA'
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character suffix Salesforce appends to a 15-character id. */
export function idChecksum(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += CHECKSUM[bits];
  }
  return out;
}

function base62(n: number, width: number): string {
  let s = '';
  let v = Math.floor(n);
  while (v > 0) {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s.padStart(width, '0');
}

/** An 18-character id: prefix + pod `Ps` + 4 zeros + a base-62 counter of 6 characters. */
export function makeId(prefix: string, counter: number): string {
  const id15 = `${prefix}Ps0000${base62(counter, 6)}`;
  return id15 + idChecksum(id15);
}

/** 15- or 18-character id → the 18-character form, or undefined when it is not id-shaped. */
export function normalizeId(id: string): string | undefined {
  if (/^[a-zA-Z0-9]{15}$/.test(id)) return id + idChecksum(id);
  if (/^[a-zA-Z0-9]{18}$/.test(id)) {
    const id15 = id.slice(0, 15);
    return id15 + idChecksum(id15);
  }
  return undefined;
}
