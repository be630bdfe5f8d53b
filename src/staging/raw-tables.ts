import type { Knex } from 'knex';

/**
 * Raw tables: `raw_<connection>__<stream>`, one TEXT column per source field plus bookkeeping:
 *   _key           the record's primary key values joined (unique: re-extracting replaces, never duplicates)
 *   _hash          a hash of the row's content, `hashValues()` in src/extract/row-hash.ts (unchanged rows are not rewritten)
 *   _extracted_at  ISO time of the run that last wrote the row
 *   _run_id        that run
 *   _deleted       0/1 tombstone (Crossbeam is_deleted, Salesforce IsDeleted, a row a snapshot pass no
 *                  longer has); models filter on it
 *   _seen          snapshot streams only (StreamDescriptor.snapshot), added when a table first gets a
 *                  snapshot batch: the pass that last saw the row. Set for written AND unchanged rows
 *                  of the pass (an unchanged row keeps its _run_id and _extracted_at); when the pass
 *                  completes, live rows with another value are tombstoned.
 * Column names are normalised to lower_snake_case (`ParentId` → `parentid`, `Company Name` →
 * `company_name`) so model SQL can name them unquoted on both SQLite and Postgres. Values are text:
 * objects and arrays as JSON, booleans as 'true'/'false', numbers as their decimal string.
 *
 * @example
 *   rawTableName('crm_csv', 'accounts') // 'raw_crm_csv__accounts'
 *   rawColumnName('ParentId')           // 'parentid'
 */
export const RAW_META_COLUMNS = ['_key', '_hash', '_extracted_at', '_run_id', '_deleted'] as const;
/** Bookkeeping column of snapshot streams' raw tables (see above); not part of `_hash`. */
export const RAW_SEEN_COLUMN = '_seen';

export function rawTableName(connection: string, stream: string): string {
  return `raw_${rawColumnName(connection)}__${rawColumnName(stream)}`;
}

export function rawColumnName(field: string): string {
  const c = field
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const name = c || 'column';
  return /^[0-9]/.test(name) ? `c_${name}` : name;
}

export function rawValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

export function recordKey(record: Record<string, unknown>, primaryKey: string[]): string | undefined {
  if (primaryKey.length === 1) {
    // The common case, without the arrays below (this runs once per extracted record).
    const k = primaryKey[0]!;
    const v = rawValue(record[k] ?? record[rawColumnName(k)]);
    return v === null || v === '' ? undefined : v;
  }
  const parts = primaryKey.map((k) => rawValue(record[k] ?? record[rawColumnName(k)]));
  if (parts.some((p) => p === null || p === '')) return undefined;
  return parts.length === 1 ? parts[0]! : JSON.stringify(parts);
}

/** Normalise a source record into raw-table columns (without bookkeeping columns). */
export function toRawRow(record: Record<string, unknown>): Record<string, string | null> {
  const row: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(record)) row[rawColumnName(k)] = rawValue(v);
  return row;
}

const known = new WeakMap<Knex, Map<string, Set<string>>>();

/**
 * Create the raw table, or add columns a new batch brings. Column sets are cached per knex instance,
 * so the common case (no new columns) costs no query.
 */
export async function ensureRawTable(db: Knex, table: string, columns: Iterable<string>): Promise<void> {
  let tables = known.get(db);
  if (!tables) known.set(db, (tables = new Map()));
  let cols = tables.get(table);
  if (!cols) {
    if (await db.schema.hasTable(table)) {
      const info = await db(table).columnInfo();
      cols = new Set(Object.keys(info));
    } else {
      await db.schema.createTable(table, defineRawTable);
      cols = new Set(RAW_META_COLUMNS);
    }
    tables.set(table, cols);
  }
  const missing = [...columns].filter((c) => !cols!.has(c));
  if (missing.length > 0) {
    await db.schema.alterTable(table, (t) => {
      for (const c of missing) t.text(c);
    });
    for (const c of missing) cols.add(c);
  }
}

/** The bookkeeping columns every raw table starts with; source columns are added as they come. */
function defineRawTable(t: Knex.CreateTableBuilder): void {
  t.text('_key').primary();
  t.string('_hash', 64).notNullable();
  t.string('_extracted_at', 32).notNullable();
  t.string('_run_id', 40).notNullable();
  t.integer('_deleted').notNullable().defaultTo(0);
}

/**
 * The SQL that creates a raw table, compiled for `db`'s dialect: for a writer that runs it on a
 * connection of its own (the SQLite writer thread), so the layout is defined here only.
 */
export function createRawTableSql(db: Knex, table: string): string[] {
  return db.schema.createTable(table, defineRawTable).toSQL().map((q) => q.sql);
}
