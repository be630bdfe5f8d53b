import type { WriteBatch } from '../types.js';

type WriteRecord = WriteBatch['records'][number];

/**
 * The records of a batch grouped by the set of fields they carry, in first-seen order. SQL
 * destinations write one statement per group: under skip-nulls a record leaves a field out, and a
 * statement naming that column would write null over the value the destination keeps.
 *
 * @example
 *   groupByFieldSet([{ key: '1', fields: { a: 1 } }, { key: '2', fields: { a: 2, b: 3 } }, { key: '3', fields: { a: 4 } }]);
 *   // [[record 1, record 3], [record 2]]
 */
export function groupByFieldSet(records: WriteRecord[]): WriteRecord[][] {
  const groups = new Map<string, WriteRecord[]>();
  for (const r of records) {
    const sig = Object.keys(r.fields).sort().join('\u0000');
    const g = groups.get(sig);
    if (g) g.push(r);
    else groups.set(sig, [r]);
  }
  return [...groups.values()];
}
