/**
 * Snowflake types ↔ SQLite storage ↔ the JSON result format of snowflake-sdk.
 *
 * Storage (normalised by per-table triggers, so comparisons in SQL behave):
 *   NUMBER/INT/DECIMAL → SQLite numbers; FLOAT/DOUBLE → REAL; VARCHAR/STRING/TEXT → TEXT;
 *   BOOLEAN → 1/0; TIMESTAMP_* → 'YYYY-MM-DD HH:MM:SS.fff' (wall clock, UTC, milliseconds);
 *   DATE → 'YYYY-MM-DD'; TIME → 'HH:MM:SS.fff'; VARIANT/OBJECT/ARRAY → JSON text.
 * Wire (what the driver's column converters expect, see lib/connection/result/column.js):
 *   every cell a string or null; fixed/real decimal text; boolean "1"/"0"; date = days since epoch;
 *   timestamps = "<epoch seconds>.<9-digit fraction>" with scale 9; variants = JSON text.
 */

export class SfSqlError extends Error {
  constructor(
    public code: string,
    public sqlState: string,
    message: string,
  ) {
    super(message);
  }
}

export type SfKind = 'fixed' | 'real' | 'text' | 'boolean' | 'date' | 'time' | 'timestamp_ntz' | 'timestamp_ltz' | 'timestamp_tz' | 'variant' | 'object' | 'array' | 'binary';

export interface SfColumnType {
  kind: SfKind;
  scale: number | null;
  precision: number | null;
  length: number | null;
}

/** Snowflake type of a declared column type, e.g. `NUMBER(10,2)`, `VARCHAR(255)`, `TIMESTAMP_NTZ(9)`. */
export function sfTypeOf(declared: string | null | undefined): SfColumnType | undefined {
  if (!declared) return undefined;
  const m = /^\s*([A-Za-z_ ]+?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$/.exec(declared);
  const base = (m?.[1] ?? declared).toUpperCase().replace(/\s+/g, ' ');
  const a = m?.[2] !== undefined ? Number(m[2]) : undefined;
  const b = m?.[3] !== undefined ? Number(m[3]) : undefined;
  const text = (len?: number): SfColumnType => ({ kind: 'text', scale: null, precision: null, length: len ?? 16_777_216 });
  switch (base) {
    case 'NUMBER':
    case 'NUMERIC':
    case 'DECIMAL':
      return { kind: 'fixed', precision: a ?? 38, scale: b ?? 0, length: null };
    case 'INT':
    case 'INTEGER':
    case 'BIGINT':
    case 'SMALLINT':
    case 'TINYINT':
    case 'BYTEINT':
      return { kind: 'fixed', precision: 38, scale: 0, length: null };
    case 'FLOAT':
    case 'FLOAT4':
    case 'FLOAT8':
    case 'DOUBLE':
    case 'DOUBLE PRECISION':
    case 'REAL':
      return { kind: 'real', precision: null, scale: null, length: null };
    case 'VARCHAR':
    case 'STRING':
    case 'TEXT':
    case 'CHAR':
    case 'CHARACTER':
    case 'NVARCHAR':
    case 'NCHAR':
      return text(a ?? (base.includes('CHAR') && base !== 'VARCHAR' && base !== 'NVARCHAR' ? 1 : undefined));
    case 'BOOLEAN':
    case 'BOOL':
      return { kind: 'boolean', precision: null, scale: null, length: null };
    case 'DATE':
      return { kind: 'date', precision: null, scale: null, length: null };
    case 'TIME':
      return { kind: 'time', precision: null, scale: 9, length: null };
    case 'TIMESTAMP':
    case 'DATETIME':
    case 'TIMESTAMP_NTZ':
    case 'TIMESTAMPNTZ':
      return { kind: 'timestamp_ntz', precision: null, scale: 9, length: null };
    case 'TIMESTAMP_LTZ':
    case 'TIMESTAMPLTZ':
    case 'TIMESTAMP_TZ':
    case 'TIMESTAMPTZ':
      // TIMESTAMP_TZ would need a per-value offset suffix; the emulator stores UTC, so LTZ is exact.
      return { kind: 'timestamp_ltz', precision: null, scale: 9, length: null };
    case 'VARIANT':
      return { kind: 'variant', precision: null, scale: null, length: null };
    case 'OBJECT':
      return { kind: 'object', precision: null, scale: null, length: null };
    case 'ARRAY':
      return { kind: 'array', precision: null, scale: null, length: null };
    case 'BINARY':
    case 'VARBINARY':
      return { kind: 'binary', precision: null, scale: null, length: 8_388_608 };
    default:
      return undefined;
  }
}

/** The `DATA_TYPE` Snowflake reports in INFORMATION_SCHEMA.COLUMNS. */
export function infoSchemaType(t: SfColumnType | undefined): string {
  if (!t) return 'TEXT';
  return { fixed: 'NUMBER', real: 'FLOAT', text: 'TEXT', boolean: 'BOOLEAN', date: 'DATE', time: 'TIME', timestamp_ntz: 'TIMESTAMP_NTZ', timestamp_ltz: 'TIMESTAMP_LTZ', timestamp_tz: 'TIMESTAMP_TZ', variant: 'VARIANT', object: 'OBJECT', array: 'ARRAY', binary: 'BINARY' }[t.kind];
}

const TS_RE = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$/i;

/**
 * Normalise a value for a TIMESTAMP column. Like TIMESTAMP_NTZ, an offset in the input is dropped and
 * the wall clock kept (so a JS Date bound through `toJSON()` stores its UTC time). Numbers are epoch seconds.
 */
export function normalizeTimestamp(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v) * 1000).toISOString().replace('T', ' ').replace('Z', '');
  const s = String(v);
  if (/^-?\d+(\.\d+)?$/.test(s.trim())) return normalizeTimestamp(Number(s));
  const m = TS_RE.exec(s);
  if (!m) throw new SfSqlError('100035', '22007', `Timestamp '${s}' is not recognized`);
  const pad = (x: string | undefined, n = 2) => (x ?? '0').padStart(n, '0');
  const ms = (m[7] ?? '').padEnd(3, '0').slice(0, 3);
  return `${m[1]}-${pad(m[2])}-${pad(m[3])} ${pad(m[4])}:${pad(m[5])}:${pad(m[6])}.${ms}`;
}

export function normalizeDate(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const ts = normalizeTimestamp(v);
  return ts === null ? null : ts.slice(0, 10);
}

export function normalizeTime(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*$/.exec(String(v));
  if (!m) throw new SfSqlError('100108', '22007', `Time '${String(v)}' is not recognized`);
  return `${m[1]!.padStart(2, '0')}:${m[2]}:${(m[3] ?? '0').padStart(2, '0')}.${(m[4] ?? '').padEnd(3, '0').slice(0, 3)}`;
}

export function normalizeBoolean(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v) !== 0 ? 1 : 0;
  const s = String(v).trim().toLowerCase();
  if (['true', 't', 'yes', 'y', 'on', '1'].includes(s)) return 1;
  if (['false', 'f', 'no', 'n', 'off', '0'].includes(s)) return 0;
  throw new SfSqlError('100037', '22018', `Boolean value '${String(v)}' is not recognized`);
}

/** VARIANT storage: JSON text. Text that is already JSON stays as it is; anything else becomes a JSON value. */
export function normalizeVariant(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    try {
      JSON.parse(v);
      return v;
    } catch {
      return JSON.stringify(v);
    }
  }
  return JSON.stringify(typeof v === 'bigint' ? Number(v) : v);
}

export function parseJson(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  try {
    return JSON.stringify(JSON.parse(String(v)));
  } catch {
    throw new SfSqlError('100069', '22P02', `Error parsing JSON: ${String(v).slice(0, 50)}`);
  }
}

function wallClockMs(ts: string): number {
  const n = normalizeTimestamp(ts)!;
  return Date.parse(n.replace(' ', 'T') + 'Z');
}

/** A stored SQLite value as the driver wants the cell: a string or null. */
export function toWire(v: unknown, t: SfColumnType): string | null {
  if (v === null || v === undefined) return null;
  switch (t.kind) {
    case 'fixed':
      if (typeof v === 'number' && t.scale) return v.toFixed(t.scale);
      if (typeof v === 'number' && !Number.isInteger(v)) return String(v);
      return String(v);
    case 'real':
      return String(typeof v === 'bigint' ? Number(v) : v);
    case 'boolean':
      return normalizeBoolean(v) ? '1' : '0';
    case 'date':
      return String(Math.floor(wallClockMs(String(v)) / 86_400_000));
    case 'time': {
      const n = normalizeTime(v)!;
      const [h, m, s] = n.split(':');
      const [sec, frac] = s!.split('.');
      return `${Number(h) * 3600 + Number(m) * 60 + Number(sec)}.${frac!.padEnd(9, '0')}`;
    }
    case 'timestamp_ntz':
    case 'timestamp_ltz':
    case 'timestamp_tz': {
      const ms = typeof v === 'number' || typeof v === 'bigint' ? Number(v) * 1000 : wallClockMs(String(v));
      const secs = Math.floor(ms / 1000);
      const frac = ms - secs * 1000;
      return `${secs}.${String(frac).padStart(3, '0')}000000`;
    }
    case 'variant':
    case 'object':
    case 'array':
      return typeof v === 'string' ? v : JSON.stringify(typeof v === 'bigint' ? Number(v) : v);
    case 'binary':
      return Buffer.isBuffer(v) ? v.toString('hex').toUpperCase() : String(v);
    default:
      return Buffer.isBuffer(v) ? v.toString('hex') : String(v);
  }
}

/** Type of an expression column (no declared type): from the values it produced. */
export function inferType(values: unknown[]): SfColumnType {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length && present.every((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))))
    return { kind: 'fixed', precision: 38, scale: 0, length: null };
  if (present.length && present.every((v) => typeof v === 'number' || typeof v === 'bigint')) return { kind: 'real', precision: null, scale: null, length: null };
  return { kind: 'text', precision: null, scale: null, length: 16_777_216 };
}

/** A `rowtype` entry as the driver reads it (lib/connection/result/column.js). */
export function rowtypeEntry(name: string, t: SfColumnType, where: { database?: string; schema?: string; table?: string }, nullable = true) {
  return {
    name,
    database: where.database ?? '',
    schema: where.schema ?? '',
    table: where.table ?? '',
    type: t.kind,
    nullable,
    scale: t.scale,
    precision: t.precision,
    length: t.length,
    byteLength: t.kind === 'text' ? t.length : null,
    collation: null,
  };
}
