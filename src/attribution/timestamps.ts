import { InputError, UsageError } from '../errors.js';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `--as-of` as a canonical ISO instant. A bare date means the END of that day (UTC): "as of
 * 2024-03-31" includes everything that happened on the 31st.
 *
 * @example parseAsOf('2024-03-31') // '2024-03-31T23:59:59.999Z'
 */
export function parseAsOf(value: string): string {
  const v = value.trim();
  const t = Date.parse(DATE_ONLY.test(v) ? `${v}T23:59:59.999Z` : v);
  if (Number.isNaN(t)) throw new UsageError(`--as-of: "${value}" is not a date`, { hint: 'use YYYY-MM-DD (end of that day, UTC) or an ISO timestamp' });
  return new Date(t).toISOString();
}

/**
 * A stored timestamp as canonical ISO (`2024-01-05` → `2024-01-05T00:00:00.000Z`), so every input
 * compares and serialises the same way whatever format the source table used.
 */
export function normalizeTimestamp(value: unknown, where: string): string {
  const v = value instanceof Date ? value.toISOString() : String(value ?? '').trim();
  const t = Date.parse(DATE_ONLY.test(v) ? `${v}T00:00:00.000Z` : v);
  if (!v || Number.isNaN(t)) throw new InputError(`${where}: "${String(value ?? '')}" is not a timestamp`);
  return new Date(t).toISOString();
}
