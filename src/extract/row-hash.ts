import crypto from 'node:crypto';

const sortedOrders = new Map<string, number[]>();

/**
 * The order in which `hashValues` visits columns: by name, so a reordered header hashes the same.
 * Worked out once per column set.
 */
export function hashOrder(cols: readonly string[]): number[] {
  const sig = cols.join('\u0000');
  let order = sortedOrders.get(sig);
  if (!order) {
    order = cols.map((_, i) => i).sort((a, b) => (cols[a]! < cols[b]! ? -1 : cols[a]! > cols[b]! ? 1 : 0));
    if (sortedOrders.size < 1000) sortedOrders.set(sig, order);
  }
  return order;
}

/**
 * Content hash of one raw row for change detection (not security): sha1 over the columns in name
 * order, each written as name, length and value so no two different rows share an input; 32 hex
 * chars. `values[i]` is the value of `cols[i]` (a prepared row, no object per row); `order` is
 * `hashOrder(cols)`, passed in when many rows share the columns.
 *
 * @example
 *   hashValues(['id', 'name'], ['1', 'Acme']) === hashValues(['name', 'id'], ['Acme', '1']) // true
 *
 * The input format is what staged `_hash` values were computed with: changing it would make every
 * staged row look changed on the next extract.
 */
export function hashValues(cols: readonly string[], values: readonly (string | null | undefined)[], order = hashOrder(cols)): string {
  let input = '';
  for (let i = 0; i < order.length; i++) {
    const c = order[i]!;
    const k = cols[c]!;
    const v = values[c];
    input += v === null || v === undefined ? `\u0001${k}\u0000` : `\u0002${k}\u0000${v.length}:${v}`;
  }
  return crypto.hash('sha1', input, 'hex').slice(0, 32);
}
