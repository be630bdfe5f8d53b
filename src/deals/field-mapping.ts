import { DEAL_FIELDS, DEAL_STAGES, type DealField, type ResolvedMapping } from './config.js';

/**
 * A partner's JSON → our field names and values (pure). Their names are dot paths
 * (`account.domain`); a top-level key that is one of our names passes through unchanged, so a
 * partner without a mapping speaks our schema. Values map per field (their stage names → ours),
 * exactly first, then ignoring case, then by spelling (`Closed Won` → closed_won). A key neither
 * ours nor mapped is `unknown`: the caller rejects it or keeps it in `extra`, per config.
 *
 * @example
 *   mapPartnerFields({ opportunity: 'Big one', stage: 'Stage 1' },
 *     { fields: { opportunity: 'deal_name' }, values: { stage: { 'Stage 1': 'prospecting' } }, unknownFields: 'reject', rateLimit })
 *   // → { fields: { deal_name: 'Big one', stage: 'prospecting' }, unknown: {}, theirName: { deal_name: 'opportunity', stage: 'stage' } }
 */
export interface MappedFields {
  fields: Record<string, unknown>;
  /** Top-level keys that are neither ours nor mapped, with their values. */
  unknown: Record<string, unknown>;
  /** Our field → the name the partner used (for error messages in their vocabulary). */
  theirName: Record<string, string>;
}

const OURS = new Set<string>(DEAL_FIELDS);

function pathGet(value: unknown, path: string): unknown {
  let v: unknown = value;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const spelling = (s: string) => s.trim().toLowerCase().replace(/[\s-]+/g, '_');

function mapValue(field: DealField, value: unknown, mapping: ResolvedMapping): unknown {
  if (typeof value !== 'string') return value;
  const table = mapping.values[field];
  if (table) {
    if (Object.hasOwn(table, value)) return table[value];
    const lower = value.toLowerCase();
    for (const [k, v] of Object.entries(table)) if (k.toLowerCase() === lower) return v;
  }
  if (field === 'stage') {
    const s = spelling(value);
    if ((DEAL_STAGES as readonly string[]).includes(s)) return s;
  }
  return value;
}

export function mapPartnerFields(body: Record<string, unknown>, mapping: ResolvedMapping): MappedFields {
  const fields: Record<string, unknown> = {};
  const theirName: Record<string, string> = {};
  const consumed = new Set<string>();
  for (const [theirs, ours] of Object.entries(mapping.fields)) {
    consumed.add(theirs.split('.')[0]!);
    const v = pathGet(body, theirs);
    if (v === undefined) continue;
    fields[ours] = mapValue(ours, v, mapping);
    theirName[ours] = theirs;
  }
  const unknown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (consumed.has(k)) continue;
    if (OURS.has(k)) {
      // An explicit mapping onto this field wins over a same-named key.
      if (!Object.hasOwn(theirName, k)) {
        fields[k] = mapValue(k as DealField, v, mapping);
        theirName[k] = k;
      }
      continue;
    }
    unknown[k] = v;
  }
  return { fields, unknown, theirName };
}
