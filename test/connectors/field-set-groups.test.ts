import { describe, expect, it } from 'vitest';
import { groupByFieldSet } from '../../src/connectors/shared/field-set-groups.js';

describe('groupByFieldSet', () => {
  it('groups records carrying the same fields (in any order), first-seen order kept', () => {
    const r1 = { key: '1', fields: { a: 1, b: 2 } };
    const r2 = { key: '2', fields: { a: 3 } };
    const r3 = { key: '3', fields: { b: 4, a: 5 } };
    const r4 = { key: '4', fields: {} };
    expect(groupByFieldSet([r1, r2, r3, r4])).toEqual([[r1, r3], [r2], [r4]]);
  });

  it('does not merge field sets whose joined names would collide', () => {
    const r1 = { key: '1', fields: { ab: 1 } };
    const r2 = { key: '2', fields: { a: 1, b: 2 } };
    expect(groupByFieldSet([r1, r2])).toEqual([[r1], [r2]]);
  });

  it('returns no groups for no records', () => {
    expect(groupByFieldSet([])).toEqual([]);
  });
});
