import { parseHubSpotDate, compareIds, type HubSpotPropertyDef, type HubSpotRecord } from './hubspot-state.js';

/**
 * The filter language of `POST /crm/v3/objects/{type}/search`: filter groups are ORed, the
 * filters inside a group are ANDed. Values compare by the property's type (numbers and dates
 * numerically, strings case-insensitively), as HubSpot does.
 *
 * @example
 *   matches(rec, [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: 'acme.com' }] }], defs) // true
 */

export interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: unknown;
  highValue?: unknown;
  values?: unknown[];
}

export interface SearchFilterGroup {
  filters: SearchFilter[];
}

export const SEARCH_OPERATORS = [
  'EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN',
] as const;

/** Since 2024-08-26: at most 5 groups, 10 filters in a group and 25 filters overall. */
export const SEARCH_LIMITS = { groups: 5, filtersPerGroup: 10, filtersTotal: 25, maxLimit: 200 } as const;

type Defs = Map<string, HubSpotPropertyDef>;

function comparable(def: HubSpotPropertyDef | undefined, name: string, raw: unknown): number | string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const s = String(raw);
  const type = def?.type ?? (name === 'hs_object_id' ? 'number' : 'string');
  if (type === 'number') {
    const n = Number(s);
    return Number.isFinite(n) ? n : s.toLowerCase();
  }
  if (type === 'date' || type === 'datetime') return parseHubSpotDate(s) ?? s.toLowerCase();
  return s.toLowerCase();
}

function cmp(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function tokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

function containsToken(value: string, token: string): boolean {
  const t = token.toLowerCase();
  if (t.includes('*')) {
    const re = new RegExp(`^${t.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(value.toLowerCase()) || tokens(value).some((tok) => re.test(tok));
  }
  const wanted = tokens(t);
  const have = tokens(value);
  return wanted.length > 0 && wanted.every((w) => have.includes(w));
}

export function filterMatches(rec: HubSpotRecord, f: SearchFilter, defs: Defs): boolean {
  const def = defs.get(f.propertyName);
  const stored = rec.properties[f.propertyName];
  const has = stored !== undefined && stored !== null && stored !== '';
  const left = has ? comparable(def, f.propertyName, stored) : undefined;
  const right = comparable(def, f.propertyName, f.value);
  switch (f.operator) {
    case 'HAS_PROPERTY':
      return has;
    case 'NOT_HAS_PROPERTY':
      return !has;
    case 'EQ':
      return left !== undefined && right !== undefined && cmp(left, right) === 0;
    case 'NEQ':
      return left === undefined || right === undefined || cmp(left, right) !== 0;
    case 'LT':
      return left !== undefined && right !== undefined && cmp(left, right) < 0;
    case 'LTE':
      return left !== undefined && right !== undefined && cmp(left, right) <= 0;
    case 'GT':
      return left !== undefined && right !== undefined && cmp(left, right) > 0;
    case 'GTE':
      return left !== undefined && right !== undefined && cmp(left, right) >= 0;
    case 'BETWEEN': {
      const high = comparable(def, f.propertyName, f.highValue);
      return left !== undefined && right !== undefined && high !== undefined && cmp(left, right) >= 0 && cmp(left, high) <= 0;
    }
    case 'IN':
    case 'NOT_IN': {
      const list = (f.values ?? []).map((v) => comparable(def, f.propertyName, v));
      const hit = left !== undefined && list.some((v) => v !== undefined && cmp(left, v) === 0);
      return f.operator === 'IN' ? hit : !hit;
    }
    case 'CONTAINS_TOKEN':
      return has && containsToken(String(stored), String(f.value ?? ''));
    case 'NOT_CONTAINS_TOKEN':
      return !has || !containsToken(String(stored), String(f.value ?? ''));
    default:
      return false;
  }
}

export function matches(rec: HubSpotRecord, groups: SearchFilterGroup[], defs: Defs): boolean {
  if (groups.length === 0) return true;
  return groups.some((g) => (g.filters ?? []).every((f) => filterMatches(rec, f, defs)));
}

/** Free-text `query`: every word must appear as a token of one of the default searchable properties. */
export function matchesQuery(rec: HubSpotRecord, query: string, searchable: string[]): boolean {
  const words = tokens(query);
  if (words.length === 0) return true;
  const haystack = searchable.flatMap((p) => tokens(rec.properties[p] ?? ''));
  return words.every((w) => haystack.some((h) => h.startsWith(w)));
}

export interface SortSpec {
  propertyName: string;
  direction: 'ASCENDING' | 'DESCENDING';
}

/** Sorts arrive as objects `{propertyName, direction}` or, as the v13 client types them, strings (`-name` = descending). */
export function parseSorts(raw: unknown): SortSpec[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((s): SortSpec[] => {
    if (typeof s === 'string') {
      return s.startsWith('-') ? [{ propertyName: s.slice(1), direction: 'DESCENDING' }] : [{ propertyName: s, direction: 'ASCENDING' }];
    }
    if (s && typeof s === 'object' && typeof (s as SortSpec).propertyName === 'string') {
      return [{ propertyName: (s as SortSpec).propertyName, direction: (s as SortSpec).direction === 'DESCENDING' ? 'DESCENDING' : 'ASCENDING' }];
    }
    return [];
  });
}

export function sortRecords(recs: HubSpotRecord[], sorts: SortSpec[], defs: Defs): HubSpotRecord[] {
  return [...recs].sort((a, b) => {
    for (const s of sorts) {
      const def = defs.get(s.propertyName);
      const va = comparable(def, s.propertyName, a.properties[s.propertyName] ?? undefined);
      const vb = comparable(def, s.propertyName, b.properties[s.propertyName] ?? undefined);
      // Records without the value sort last in either direction.
      if (va === undefined && vb === undefined) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const c = cmp(va, vb);
      if (c !== 0) return s.direction === 'DESCENDING' ? -c : c;
    }
    return compareIds(a.id, b.id);
  });
}
