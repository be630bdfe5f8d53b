/**
 * Intercom's contact search language: a single filter `{field, operator, value}` or a compound
 * `{operator: 'AND'|'OR', value: [...]}`, at most 2 levels of nesting and 15 filters per group.
 * Timestamp fields compare by UTC day, as Intercom documents ("you can only query for timestamp
 * fields by day"): `updated_at > t` means "updated on a later day than t".
 *
 * @example
 *   evaluate({ field: 'email', operator: '$', value: '@acme.com' }, (f) => contact[f]) // true for x@acme.com
 */

export const SEARCH_OPERATORS = ['=', '!=', 'IN', 'NIN', '<', '>', '~', '!~', '^', '$'] as const;
export const MAX_NESTING = 2;
export const MAX_GROUP_SIZE = 15;

export interface SingleFilter {
  field: string;
  operator: string;
  value: unknown;
}
export interface CompoundFilter {
  operator: 'AND' | 'OR';
  value: SearchQuery[];
}
export type SearchQuery = SingleFilter | CompoundFilter;

const TIMESTAMP_FIELDS = new Set(['created_at', 'updated_at', 'signed_up_at', 'last_seen_at', 'last_contacted_at', 'last_replied_at', 'last_email_opened_at', 'last_email_clicked_at']);

const isCompound = (q: SearchQuery): q is CompoundFilter => (q.operator === 'AND' || q.operator === 'OR') && Array.isArray(q.value);

/** Returns a problem description, or undefined when the query is acceptable. */
export function validateQuery(q: unknown, depth = 0): string | undefined {
  if (!q || typeof q !== 'object') return 'query must be an object';
  const query = q as SearchQuery;
  if (isCompound(query)) {
    if (depth >= MAX_NESTING) return `nested filters are limited to ${MAX_NESTING} levels`;
    if (query.value.length > MAX_GROUP_SIZE) return `a maximum of ${MAX_GROUP_SIZE} filters can be used in an ${query.operator} group`;
    for (const sub of query.value) {
      const problem = validateQuery(sub, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof (query as SingleFilter).field !== 'string') return 'each filter needs a field';
  if (!SEARCH_OPERATORS.includes(query.operator as (typeof SEARCH_OPERATORS)[number])) {
    return `operator '${String(query.operator)}' is not one of ${SEARCH_OPERATORS.join(' ')}`;
  }
  return undefined;
}

const DAY = 86_400;

function norm(v: unknown): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v.toLowerCase();
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v).toLowerCase();
}

export function evaluate(q: SearchQuery, get: (field: string) => unknown, isDateField: (field: string) => boolean = () => false): boolean {
  if (isCompound(q)) {
    return q.operator === 'AND' ? q.value.every((s) => evaluate(s, get, isDateField)) : q.value.some((s) => evaluate(s, get, isDateField));
  }
  const raw = get(q.field);
  const byDay = TIMESTAMP_FIELDS.has(q.field) || isDateField(q.field);
  const toCmp = (v: unknown) => (byDay && v !== null && v !== undefined && Number.isFinite(Number(v)) ? Math.floor(Number(v) / DAY) : norm(v));
  const left = toCmp(raw);
  switch (q.operator) {
    case '=':
      return q.value === null ? left === null : left === toCmp(q.value);
    case '!=':
      return q.value === null ? left !== null : left !== toCmp(q.value);
    case 'IN':
      return Array.isArray(q.value) && q.value.some((v) => toCmp(v) === left);
    case 'NIN':
      return !Array.isArray(q.value) || !q.value.some((v) => toCmp(v) === left);
    case '>':
    case '<': {
      const right = toCmp(q.value);
      if (left === null || right === null) return false;
      const l = typeof left === 'number' ? left : Number(left);
      const r = typeof right === 'number' ? right : Number(right);
      if (!Number.isFinite(l) || !Number.isFinite(r)) return false;
      return q.operator === '>' ? l > r : l < r;
    }
    case '~':
      return typeof left === 'string' && left.includes(String(norm(q.value)));
    case '!~':
      return typeof left !== 'string' || !left.includes(String(norm(q.value)));
    case '^':
      return typeof left === 'string' && left.startsWith(String(norm(q.value)));
    case '$':
      return typeof left === 'string' && left.endsWith(String(norm(q.value)));
    default:
      return false;
  }
}
