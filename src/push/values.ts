import type { FieldMapping, FieldType } from './config.js';

/**
 * Turning a model row into the fields a destination receives: type checks and conversions
 * (a value that does not convert makes the row `invalid`, caught before sending), skip-nulls.
 */
export type Row = Record<string, unknown>;

export class InvalidValue extends Error {
  constructor(readonly code: 'WRONG_TYPE' | 'MISSING_KEY' | 'DUPLICATE_KEY' | 'MISSING_COLUMN', message: string, readonly field?: string) {
    super(message);
  }
}

/** The sync key of a row as text; throws InvalidValue when it is missing or not a scalar. */
export function keyOf(row: Row, column: string): string {
  const v = row[column];
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
    throw new InvalidValue('MISSING_KEY', `key column "${column}" is empty`, column);
  }
  if (typeof v === 'object' && !(v instanceof Date)) throw new InvalidValue('WRONG_TYPE', `key column "${column}" is not a scalar`, column);
  return v instanceof Date ? v.toISOString() : String(v).trim();
}

export function convert(value: unknown, type: FieldType | undefined, field: string): unknown {
  if (value === null || value === undefined) return null;
  const bad = () => new InvalidValue('WRONG_TYPE', `field "${field}": expected ${type}, got ${JSON.stringify(value)}`, field);
  switch (type) {
    case undefined:
      if (value instanceof Date) return value.toISOString();
      if (typeof value === 'bigint') return Number(value);
      return value;
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
      if (value instanceof Date) return value.toISOString();
      throw bad();
    case 'number': {
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw bad();
        return value;
      }
      if (typeof value === 'bigint') return Number(value);
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      throw bad();
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 1 || value === 0) return value === 1;
      if (typeof value === 'string') {
        const s = value.trim().toLowerCase();
        if (['true', 't', 'yes', '1'].includes(s)) return true;
        if (['false', 'f', 'no', '0'].includes(s)) return false;
      }
      throw bad();
    }
    case 'datetime': {
      const d = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
      if (!d || Number.isNaN(d.getTime())) throw bad();
      return d.toISOString();
    }
  }
}

/**
 * The fields to send for a row, in mapping order. Nulls of `skipNulls` mappings are left out.
 * Throws InvalidValue for a value of the wrong type or a mapped column the row does not have.
 */
export function mapFields(row: Row, fields: FieldMapping[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!(f.source in row)) throw new InvalidValue('MISSING_COLUMN', `model has no column "${f.source}" (mapped to "${f.destination}")`, f.destination);
    const v = convert(row[f.source], f.type, f.destination);
    if (v === null && f.skipNulls) continue;
    out[f.destination] = v;
  }
  return out;
}
