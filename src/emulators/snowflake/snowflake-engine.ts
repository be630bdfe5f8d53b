import Database from 'better-sqlite3';
import {
  tokenize,
  isWord,
  isOp,
  matching,
  splitTop,
  findTop,
  render,
  quoteIdent,
  quoteString,
  SqlSyntaxError,
  type Token,
} from './snowflake-sql-tokens.js';
import {
  SfSqlError,
  sfTypeOf,
  toWire,
  inferType,
  rowtypeEntry,
  infoSchemaType,
  normalizeTimestamp,
  normalizeDate,
  normalizeTime,
  normalizeBoolean,
  normalizeVariant,
  parseJson,
  type SfColumnType,
} from './snowflake-types.js';

/**
 * Executes the Snowflake SQL a partnersync connector issues on an in-memory SQLite database.
 *
 * Model: every Snowflake schema `DB.SCHEMA` is an attached SQLite database named `"DB.SCHEMA"`;
 * table references in FROM / JOIN / INTO / UPDATE / TABLE / USING positions are resolved against the
 * session's current database and schema and rewritten to `"DB.SCHEMA"."TABLE"`. Unquoted identifiers
 * fold to upper case (CREATE TABLE stores upper-case column names, results report upper-case names).
 * The supported subset is listed in README.md next to this file.
 *
 * @example
 *   const eng = new SnowflakeEngine();
 *   const ctx = { database: 'PARTNERSYNC', schema: 'PUBLIC' };
 *   eng.ensureSchema('PARTNERSYNC', 'PUBLIC');
 *   eng.execute(ctx, 'create table t (id number, name varchar)');
 *   eng.execute(ctx, 'insert into t values (?, ?)', { 1: { type: 'FIXED', value: '1' }, 2: { type: 'TEXT', value: 'a' } });
 *   eng.execute(ctx, 'select * from t').rowset; // [['1', 'a']]
 */

export interface SessionContext {
  database: string;
  schema: string;
  warehouse?: string;
  role?: string;
  user?: string;
}

export interface Binding {
  type: string;
  value: string | null | (string | null)[];
}

export interface SfResult {
  statementTypeId: number;
  rowtype: ReturnType<typeof rowtypeEntry>[];
  rowset: (string | null)[][];
  /** Raw SQLite values of the rows (for tests and `state.query`). */
  rows: unknown[][];
}

const ST = { SELECT: 0x1000, INSERT: 0x3100, UPDATE: 0x3200, DELETE: 0x3300, MERGE: 0x3400, SCL: 0x4000, TCL: 0x5000, DDL: 0x6000 } as const;

/** Words that cannot be a table alias (they start the next clause). */
const CLAUSE_WORDS = new Set(
  'WHERE JOIN INNER LEFT RIGHT FULL OUTER CROSS NATURAL ON USING GROUP ORDER LIMIT OFFSET HAVING UNION EXCEPT INTERSECT MINUS SET VALUES SELECT WHEN QUALIFY FETCH WINDOW LATERAL RETURNING AS AND OR NOT'.split(
    ' ',
  ),
);

const FUNC_ALIASES: Record<string, string> = {
  NVL: 'IFNULL',
  IFF: 'SF_IFF',
  LEN: 'LENGTH',
  TO_VARCHAR: 'SF_TO_VARCHAR',
  TO_CHAR: 'SF_TO_VARCHAR',
  TO_NUMBER: 'SF_TO_NUMBER',
  TO_DECIMAL: 'SF_TO_NUMBER',
  TO_NUMERIC: 'SF_TO_NUMBER',
  TO_DOUBLE: 'SF_TO_DOUBLE',
  TO_BOOLEAN: 'SF_BOOL',
  TO_TIMESTAMP: 'SF_TS',
  TO_TIMESTAMP_NTZ: 'SF_TS',
  TO_TIMESTAMP_LTZ: 'SF_TS',
  TO_TIMESTAMP_TZ: 'SF_TS',
  TO_DATE: 'SF_DATE',
  TO_TIME: 'SF_TIME',
  PARSE_JSON: 'SF_PARSE_JSON',
  TRY_PARSE_JSON: 'SF_TRY_PARSE_JSON',
  TO_VARIANT: 'SF_VARIANT',
  TO_JSON: 'SF_VARIANT',
  HASH: 'SF_HASH',
  ZEROIFNULL: 'SF_ZEROIFNULL',
};

const NOW_WORDS = new Set(['CURRENT_TIMESTAMP', 'SYSDATE', 'GETDATE', 'LOCALTIMESTAMP', 'SYSTIMESTAMP']);

export class SnowflakeEngine {
  readonly db: Database.Database;
  private schemas = new Set<string>();
  private databases = new Set<string>();
  private ctx: SessionContext = { database: '', schema: '' };
  private quotedNames = new Set<string>();
  /** Names of the statement's common table expressions (never qualified with a schema). */
  private cteNames = new Set<string>();

  constructor() {
    this.db = new Database(':memory:');
    this.db.defaultSafeIntegers(true);
    this.registerFunctions();
  }

  close(): void {
    this.db.close();
  }

  private registerFunctions(): void {
    const f = (name: string, fn: (...a: unknown[]) => unknown, deterministic = true) =>
      this.db.function(name, { varargs: true, deterministic, safeIntegers: true }, (...args: unknown[]) => fn(...args) as never);
    const fromBig = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
    f('SF_TS', (v) => normalizeTimestamp(v));
    f('SF_DATE', (v) => normalizeDate(v));
    f('SF_TIME', (v) => normalizeTime(v));
    f('SF_BOOL', (v) => normalizeBoolean(v));
    f('SF_VARIANT', (v) => normalizeVariant(v));
    f('SF_PARSE_JSON', (v) => parseJson(v));
    f('SF_TRY_PARSE_JSON', (v) => {
      try {
        return parseJson(v);
      } catch {
        return null;
      }
    });
    f('SF_TO_VARCHAR', (v) => (v === null ? null : String(v)));
    f('SF_TO_NUMBER', (v) => {
      if (v === null) return null;
      const n = Number(fromBig(v));
      if (Number.isNaN(n)) throw new SfSqlError('100038', '22018', `Numeric value '${String(v)}' is not recognized`);
      return Number.isInteger(n) ? BigInt(n) : n;
    });
    f('SF_TO_DOUBLE', (v) => (v === null ? null : Number(fromBig(v))));
    f('SF_IFF', (c, a, b) => (c !== null && Number(fromBig(c)) !== 0 ? a : b));
    f('SF_ZEROIFNULL', (v) => (v === null ? 0n : v));
    f('SF_HASH', (...vs) => {
      let h = 0n;
      for (const ch of JSON.stringify(vs.map(fromBig))) h = (h * 31n + BigInt(ch.charCodeAt(0))) & 0x7fffffffffffffffn;
      return h;
    });
    f('SF_NOW', () => normalizeTimestamp(new Date().toISOString()), false);
    f('SF_TODAY', () => new Date().toISOString().slice(0, 10), false);
    f('CURRENT_DATABASE', () => this.ctx.database || null, false);
    f('CURRENT_SCHEMA', () => this.ctx.schema || null, false);
    f('CURRENT_WAREHOUSE', () => this.ctx.warehouse ?? null, false);
    f('CURRENT_ROLE', () => this.ctx.role ?? null, false);
    f('CURRENT_USER', () => this.ctx.user ?? null, false);
    f('SF_CAST', (v, type, tryCast) => {
      try {
        return this.cast(v, String(type));
      } catch (e) {
        if (tryCast) return null;
        throw e;
      }
    });
  }

  private cast(v: unknown, type: string): unknown {
    if (v === null) return null;
    const t = sfTypeOf(type);
    if (!t) throw new SfSqlError('002040', '42601', `SQL compilation error:\nUnsupported data type '${type}'.`);
    switch (t.kind) {
      case 'fixed': {
        const n = Number(typeof v === 'bigint' ? v : String(v).trim());
        if (Number.isNaN(n)) throw new SfSqlError('100038', '22018', `Numeric value '${String(v)}' is not recognized`);
        return t.scale ? Number(n.toFixed(t.scale)) : BigInt(Math.round(n));
      }
      case 'real':
        return Number(typeof v === 'bigint' ? v : String(v));
      case 'text':
        return String(v);
      case 'boolean':
        return normalizeBoolean(v);
      case 'date':
        return normalizeDate(v);
      case 'time':
        return normalizeTime(v);
      case 'variant':
      case 'object':
      case 'array':
        return normalizeVariant(v);
      default:
        return normalizeTimestamp(v);
    }
  }

  // ---- catalog --------------------------------------------------------------------------------

  private dbName(database: string, schema: string): string {
    return `${database}.${schema}`;
  }

  hasSchema(database: string, schema: string): boolean {
    return this.schemas.has(this.dbName(database, schema));
  }

  ensureDatabase(database: string): void {
    if (this.databases.has(database)) return;
    this.databases.add(database);
    this.ensureSchema(database, 'PUBLIC');
  }

  ensureSchema(database: string, schema: string): void {
    this.databases.add(database);
    const name = this.dbName(database, schema);
    if (this.schemas.has(name)) return;
    this.db.prepare(`ATTACH ':memory:' AS ${quoteIdent(name)}`).run();
    this.schemas.add(name);
  }

  listTables(): { database: string; schema: string; table: string }[] {
    const out: { database: string; schema: string; table: string }[] = [];
    for (const name of this.schemas) {
      const [database, schema] = [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.') + 1)];
      if (schema === 'INFORMATION_SCHEMA') continue;
      const rows = this.db.prepare(`SELECT name FROM ${quoteIdent(name)}.sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[];
      for (const r of rows) out.push({ database: database!, schema: schema!, table: r.name });
    }
    return out;
  }

  columnsOf(database: string, schema: string, table: string): { name: string; type: string; notnull: boolean }[] {
    const rows = this.db.prepare(`PRAGMA ${quoteIdent(this.dbName(database, schema))}.table_info(${quoteIdent(table)})`).all() as {
      name: string;
      type: string;
      notnull: number | bigint;
    }[];
    return rows.map((r) => ({ name: r.name, type: r.type, notnull: Number(r.notnull) === 1 }));
  }

  /** All rows of a table as objects (tests and dumps). */
  tableRows(database: string, schema: string, table: string): Record<string, unknown>[] {
    const stmt = this.db.prepare(`SELECT * FROM ${quoteIdent(this.dbName(database, schema))}.${quoteIdent(table)}`);
    return (stmt.all() as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  }

  private refreshInformationSchema(database: string): void {
    this.ensureSchema(database, 'INFORMATION_SCHEMA');
    const is = quoteIdent(this.dbName(database, 'INFORMATION_SCHEMA'));
    this.db.exec(`DROP TABLE IF EXISTS ${is}."TABLES"; DROP TABLE IF EXISTS ${is}."COLUMNS"; DROP TABLE IF EXISTS ${is}."SCHEMATA";
      CREATE TABLE ${is}."TABLES" ("TABLE_CATALOG" VARCHAR, "TABLE_SCHEMA" VARCHAR, "TABLE_NAME" VARCHAR, "TABLE_TYPE" VARCHAR, "ROW_COUNT" NUMBER);
      CREATE TABLE ${is}."COLUMNS" ("TABLE_CATALOG" VARCHAR, "TABLE_SCHEMA" VARCHAR, "TABLE_NAME" VARCHAR, "COLUMN_NAME" VARCHAR, "ORDINAL_POSITION" NUMBER, "DATA_TYPE" VARCHAR, "IS_NULLABLE" VARCHAR, "NUMERIC_PRECISION" NUMBER, "NUMERIC_SCALE" NUMBER, "CHARACTER_MAXIMUM_LENGTH" NUMBER);
      CREATE TABLE ${is}."SCHEMATA" ("CATALOG_NAME" VARCHAR, "SCHEMA_NAME" VARCHAR);`);
    const insT = this.db.prepare(`INSERT INTO ${is}."TABLES" VALUES (?, ?, ?, 'BASE TABLE', ?)`);
    const insC = this.db.prepare(`INSERT INTO ${is}."COLUMNS" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const insS = this.db.prepare(`INSERT INTO ${is}."SCHEMATA" VALUES (?, ?)`);
    for (const name of this.schemas) if (name.startsWith(database + '.')) insS.run(database, name.slice(database.length + 1));
    for (const t of this.listTables()) {
      if (t.database !== database) continue;
      const count = this.db.prepare(`SELECT COUNT(*) AS n FROM ${quoteIdent(this.dbName(t.database, t.schema))}.${quoteIdent(t.table)}`).get() as { n: bigint };
      insT.run(t.database, t.schema, t.table, count.n);
      this.columnsOf(t.database, t.schema, t.table).forEach((c, i) => {
        const st = sfTypeOf(c.type);
        insC.run(t.database, t.schema, t.table, c.name, i + 1, infoSchemaType(st), c.notnull ? 'NO' : 'YES', st?.precision ?? null, st?.scale ?? null, st?.length ?? null);
      });
    }
  }

  // ---- execution ------------------------------------------------------------------------------

  /** Run one statement for a session. Throws SfSqlError with Snowflake's code, SQLSTATE and message. */
  execute(ctx: SessionContext, sqlText: string, bindings?: Record<string, Binding>): SfResult {
    this.ctx = ctx;
    let tokens: Token[];
    try {
      tokens = tokenize(sqlText);
    } catch (e) {
      throw syntaxError(String((e as Error).message));
    }
    const statements = splitTop(tokens, (t) => isOp(t, ';')).filter((s) => s.length > 0);
    if (statements.length === 0) throw new SfSqlError('000900', '42000', 'SQL compilation error:\nEmpty SQL statement.');
    if (statements.length > 1)
      throw new SfSqlError('000008', '0A000', `Actual statement count ${statements.length} did not match the desired statement count 1.`);
    const stmt = statements[0]!;
    this.quotedNames = new Set(stmt.filter((t) => t.k === 'qid').map((t) => t.v));
    this.cteNames = new Set();
    stmt.forEach((t, i) => {
      if ((t.k === 'word' || t.k === 'qid') && isWord(stmt[i + 1], 'AS') && isOp(stmt[i + 2], '(') && (isWord(stmt[i - 1], 'WITH', 'RECURSIVE') || isOp(stmt[i - 1], ',')))
        this.cteNames.add(foldIdent(t).v);
    });

    const binds = bindings ?? {};
    const arrays = Object.values(binds).filter((b) => Array.isArray(b.value));
    if (arrays.length) {
      // Array binding: the statement runs once per row; DML counts add up.
      const n = (arrays[0]!.value as unknown[]).length;
      let total: SfResult | undefined;
      this.db.exec('SAVEPOINT sf_array_bind');
      try {
        for (let r = 0; r < n; r++) {
          const row: Record<string, Binding> = {};
          for (const [k, b] of Object.entries(binds)) row[k] = { type: b.type, value: Array.isArray(b.value) ? (b.value[r] ?? null) : b.value };
          const res = this.run(substituteBinds(stmt, row));
          if (!total) total = res;
          else total.rowset = total.rowset.map((cells, i) => cells.map((c, j) => String(Number(c) + Number(res.rowset[i]?.[j] ?? 0))));
        }
        this.db.exec('RELEASE sf_array_bind');
      } catch (e) {
        this.db.exec('ROLLBACK TO sf_array_bind; RELEASE sf_array_bind');
        throw e;
      }
      return total ?? dmlResult(ST.INSERT, [['number of rows inserted', 0]]);
    }
    return this.run(substituteBinds(stmt, binds));
  }

  private run(tokens: Token[]): SfResult {
    try {
      return this.dispatch(tokens);
    } catch (e) {
      throw mapError(e);
    }
  }

  private dispatch(t: Token[]): SfResult {
    const w0 = t[0]?.k === 'word' ? t[0].v.toUpperCase() : isOp(t[0], '(') ? 'SELECT' : '';
    const w1 = t[1]?.k === 'word' ? t[1].v.toUpperCase() : '';
    switch (w0) {
      case 'SELECT':
      case 'WITH':
        return this.select(t);
      case 'INSERT':
        return this.insert(t);
      case 'UPDATE': {
        const changes = this.exec(this.rewrite(t));
        return dmlResult(ST.UPDATE, [
          ['number of rows updated', changes],
          ['number of multi-joined rows updated', 0],
        ]);
      }
      case 'DELETE':
        return this.delete(t);
      case 'MERGE':
        return this.merge(t);
      case 'CREATE':
        return this.create(t);
      case 'DROP':
        return this.drop(t);
      case 'TRUNCATE': {
        const i = isWord(t[1], 'TABLE') ? 2 : 1;
        const ifExists = isWord(t[i], 'IF') ? 2 : 0;
        const { sql, end } = this.tableRef(t, i + ifExists);
        if (end !== t.length) throw syntaxError(render(t.slice(end)));
        this.exec(`DELETE FROM ${sql}`);
        return statusResult(ST.DDL, 'Statement executed successfully.');
      }
      case 'ALTER':
        if (w1 === 'SESSION' || w1 === 'WAREHOUSE' || w1 === 'USER') return statusResult(ST.SCL, 'Statement executed successfully.');
        if (w1 === 'TABLE') return this.alterTable(t);
        break;
      case 'USE':
        return this.use(t);
      case 'BEGIN':
      case 'START':
        if (!this.db.inTransaction) this.db.exec('BEGIN');
        return statusResult(ST.TCL, 'Statement executed successfully.');
      case 'COMMIT':
        if (this.db.inTransaction) this.db.exec('COMMIT');
        return statusResult(ST.TCL, 'Statement executed successfully.');
      case 'ROLLBACK':
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        return statusResult(ST.TCL, 'Statement executed successfully.');
      case 'SHOW':
        if (w1 === 'TABLES') return this.showTables();
        break;
      case 'DESC':
      case 'DESCRIBE':
        return this.describe(t);
    }
    throw new SfSqlError('001003', '42000', `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${t[0]?.v ?? ''}' (statement not supported by the partnersync Snowflake emulator).`);
  }

  private exec(sql: string): number {
    return this.db.prepare(sql).run().changes;
  }

  private select(t: Token[]): SfResult {
    const stmt = this.db.prepare(this.rewrite(t));
    if (!stmt.reader) throw syntaxError(render(t).slice(0, 30));
    const cols = stmt.columns();
    const rows = stmt.raw(true).all() as unknown[][];
    const rowtype: SfResult['rowtype'] = [];
    const types: SfColumnType[] = cols.map((c, i) => {
      const declared = sfTypeOf(c.type);
      const type = declared ?? inferType(rows.map((r) => r[i]));
      const [database, schema] = c.database && c.database.includes('.') ? [c.database.slice(0, c.database.lastIndexOf('.')), c.database.slice(c.database.lastIndexOf('.') + 1)] : [];
      rowtype.push(rowtypeEntry(this.quotedNames.has(c.name) ? c.name : c.name.toUpperCase(), type, { database, schema, table: c.table ?? '' }));
      return type;
    });
    return { statementTypeId: ST.SELECT, rowtype, rowset: rows.map((r) => r.map((v, i) => toWire(v, types[i]!))), rows };
  }

  private insert(t: Token[]): SfResult {
    let tokens = t;
    if (isWord(t[1], 'OVERWRITE')) {
      const { sql } = this.tableRef(t, isWord(t[2], 'INTO') ? 3 : 2);
      this.exec(`DELETE FROM ${sql}`);
      tokens = [t[0]!, ...t.slice(2)];
    }
    if (isWord(tokens[1], 'ALL', 'FIRST')) throw syntaxError('multi-table INSERT');
    const changes = this.exec(this.rewrite(tokens));
    return dmlResult(ST.INSERT, [['number of rows inserted', changes]]);
  }

  private delete(t: Token[]): SfResult {
    if (!isWord(t[1], 'FROM')) throw syntaxError(t[1]?.v ?? '');
    const target = this.tableRef(t, 2);
    let i = target.end;
    const alias = this.aliasAt(t, i);
    i = alias.end;
    const aliasName = alias.name ?? target.table;
    let sql: string;
    if (isWord(t[i], 'USING')) {
      const whereAt = findTop(t, (x) => isWord(x, 'WHERE'), i + 1);
      const using = t.slice(i + 1, whereAt < 0 ? t.length : whereAt);
      const cond = whereAt < 0 ? [{ k: 'word', v: 'TRUE' } as Token] : t.slice(whereAt + 1);
      sql = `DELETE FROM ${target.sql} AS ${quoteIdent(aliasName)} WHERE EXISTS (SELECT 1 ${this.rewrite([{ k: 'word', v: 'FROM' }, ...using])} WHERE ${this.rewrite(cond)})`;
    } else {
      sql = `DELETE FROM ${target.sql} AS ${quoteIdent(aliasName)} ${this.rewrite(t.slice(i))}`;
    }
    return dmlResult(ST.DELETE, [['number of rows deleted', this.exec(sql)]]);
  }

  /**
   * MERGE INTO target [AS] t USING source [AS] s ON cond
   *   WHEN MATCHED [AND c] THEN UPDATE SET … | DELETE
   *   WHEN NOT MATCHED [AND c] THEN INSERT [(cols)] VALUES (…)
   * runs as: materialise the source, check that no target row matches twice (Snowflake's
   * "Duplicate row detected during DML action"), snapshot the not-matched rows, then one UPDATE /
   * DELETE / INSERT per clause, each excluding rows an earlier clause of its kind already took.
   */
  private merge(t: Token[]): SfResult {
    if (!isWord(t[1], 'INTO')) throw syntaxError(t[1]?.v ?? '');
    const target = this.tableRef(t, 2);
    let i = target.end;
    const tAlias = this.aliasAt(t, i, ['USING']);
    i = tAlias.end;
    const ta = quoteIdent(tAlias.name ?? target.table);
    if (!isWord(t[i], 'USING')) throw syntaxError(t[i]?.v ?? 'end of statement');
    i++;
    let sourceSql: string;
    if (isOp(t[i], '(')) {
      const close = matching(t, i);
      sourceSql = `(${this.rewrite(t.slice(i + 1, close))})`;
      i = close + 1;
    } else {
      const src = this.tableRef(t, i);
      sourceSql = src.sql;
      i = src.end;
    }
    const sAlias = this.aliasAt(t, i, ['ON']);
    i = sAlias.end;
    const sa = quoteIdent(sAlias.name ?? 'SRC');
    if (!isWord(t[i], 'ON')) throw syntaxError(t[i]?.v ?? 'end of statement');
    const firstWhen = findTop(t, (x) => isWord(x, 'WHEN'), i + 1);
    if (firstWhen < 0) throw syntaxError('end of statement');
    const on = this.rewrite(t.slice(i + 1, firstWhen));
    const clauses = splitTop(t.slice(firstWhen), (x) => isWord(x, 'WHEN')).filter((c) => c.length);
    interface Clause {
      matched: boolean;
      cond: string | null;
      action: Token[];
    }
    const parsed: Clause[] = clauses.map((c) => {
      let j = 0;
      const matched = !isWord(c[0], 'NOT');
      if (!matched) j++;
      if (!isWord(c[j], 'MATCHED')) throw syntaxError(c[j]?.v ?? '');
      j++;
      if (isWord(c[j], 'BY')) j += 2; // NOT MATCHED BY TARGET/SOURCE → treat BY TARGET as NOT MATCHED
      const thenAt = findTop(c, (x) => isWord(x, 'THEN'), j);
      if (thenAt < 0) throw syntaxError('WHEN without THEN');
      const cond = isWord(c[j], 'AND') ? this.rewrite(c.slice(j + 1, thenAt)) : null;
      return { matched, cond, action: c.slice(thenAt + 1) };
    });

    const src = '"temp"."__sf_merge_src"';
    const ins = '"temp"."__sf_merge_ins"';
    let inserted = 0;
    let updated = 0;
    let deleted = 0;
    this.db.exec('SAVEPOINT sf_merge');
    try {
      this.db.exec(`DROP TABLE IF EXISTS ${src}; DROP TABLE IF EXISTS ${ins}`);
      this.exec(`CREATE TEMP TABLE "__sf_merge_src" AS SELECT * FROM ${sourceSql} AS ${sa}`);
      if (parsed.some((c) => c.matched)) {
        const dup = this.db.prepare(`SELECT COUNT(*) AS n, COUNT(DISTINCT ${ta}.rowid) AS d FROM ${target.sql} AS ${ta} JOIN ${src} AS ${sa} ON ${on}`).get() as {
          n: bigint;
          d: bigint;
        };
        if (dup.n !== dup.d) throw new SfSqlError('100090', '42P18', 'Duplicate row detected during DML action\nRow Values: (merge source matches a target row more than once)');
      }
      if (parsed.some((c) => !c.matched)) {
        this.exec(`CREATE TEMP TABLE "__sf_merge_ins" AS SELECT ${sa}.* FROM ${src} AS ${sa} WHERE NOT EXISTS (SELECT 1 FROM ${target.sql} AS ${ta} WHERE ${on})`);
      }
      const doneMatched: string[] = [];
      const doneNotMatched: string[] = [];
      for (const c of parsed) {
        const cond = c.cond ? `(${c.cond})` : 'TRUE';
        if (c.matched) {
          const exclude = doneMatched.length ? ` AND NOT (${doneMatched.join(' OR ')})` : '';
          if (isWord(c.action[0], 'UPDATE')) {
            if (!isWord(c.action[1], 'SET')) throw syntaxError(c.action[1]?.v ?? '');
            const sets = splitTop(c.action.slice(2), (x) => isOp(x, ',')).map((a) => (isOp(a[1], '.') ? a.slice(2) : a));
            updated += this.exec(
              `UPDATE ${target.sql} AS ${ta} SET ${sets.map((a) => this.rewrite(a)).join(', ')} FROM ${src} AS ${sa} WHERE (${on}) AND ${cond}${exclude}`,
            );
          } else if (isWord(c.action[0], 'DELETE')) {
            deleted += this.exec(`DELETE FROM ${target.sql} AS ${ta} WHERE EXISTS (SELECT 1 FROM ${src} AS ${sa} WHERE (${on}) AND ${cond}${exclude})`);
          } else throw syntaxError(c.action[0]?.v ?? '');
          doneMatched.push(cond);
        } else {
          if (!isWord(c.action[0], 'INSERT')) throw syntaxError(c.action[0]?.v ?? '');
          let j = 1;
          let cols = '';
          if (isOp(c.action[j], '(')) {
            const close = matching(c.action, j);
            cols = `(${render(c.action.slice(j + 1, close).map(foldIdent))})`;
            j = close + 1;
          }
          if (!isWord(c.action[j], 'VALUES') || !isOp(c.action[j + 1], '(')) throw syntaxError(c.action[j]?.v ?? '');
          const close = matching(c.action, j + 1);
          const exprs = this.rewrite(c.action.slice(j + 2, close));
          const exclude = doneNotMatched.length ? ` AND NOT (${doneNotMatched.join(' OR ')})` : '';
          inserted += this.exec(`INSERT INTO ${target.sql} ${cols} SELECT ${exprs} FROM ${ins} AS ${sa} WHERE ${cond}${exclude}`);
          doneNotMatched.push(cond);
        }
      }
      this.db.exec(`DROP TABLE IF EXISTS ${src}; DROP TABLE IF EXISTS ${ins}; RELEASE sf_merge`);
    } catch (e) {
      this.db.exec(`ROLLBACK TO sf_merge; RELEASE sf_merge`);
      this.db.exec(`DROP TABLE IF EXISTS ${src}; DROP TABLE IF EXISTS ${ins}`);
      throw e;
    }
    const counts: [string, number][] = [];
    if (parsed.some((c) => !c.matched)) counts.push(['number of rows inserted', inserted]);
    if (parsed.some((c) => c.matched && isWord(c.action[0], 'UPDATE'))) counts.push(['number of rows updated', updated]);
    if (parsed.some((c) => c.matched && isWord(c.action[0], 'DELETE'))) counts.push(['number of rows deleted', deleted]);
    return dmlResult(ST.MERGE, counts);
  }

  private create(t: Token[]): SfResult {
    let i = 1;
    let orReplace = false;
    if (isWord(t[i], 'OR') && isWord(t[i + 1], 'REPLACE')) {
      orReplace = true;
      i += 2;
    }
    while (isWord(t[i], 'TRANSIENT', 'TEMPORARY', 'TEMP', 'LOCAL', 'GLOBAL', 'VOLATILE')) i++;
    const what = t[i]?.k === 'word' ? t[i]!.v.toUpperCase() : '';
    i++;
    let ifNotExists = false;
    if (isWord(t[i], 'IF') && isWord(t[i + 1], 'NOT') && isWord(t[i + 2], 'EXISTS')) {
      ifNotExists = true;
      i += 3;
    }
    const name = this.nameAt(t, i);
    if (what === 'DATABASE') {
      const db = name.parts[name.parts.length - 1]!;
      if (this.databases.has(db) && !orReplace) {
        if (!ifNotExists) throw new SfSqlError('002002', '42710', `SQL compilation error:\nObject '${db}' already exists.`);
        return statusResult(ST.DDL, `${db} already exists, statement succeeded.`);
      }
      this.ensureDatabase(db);
      Object.assign(this.ctx, { database: db, schema: 'PUBLIC' });
      return statusResult(ST.DDL, `Database ${db} successfully created.`);
    }
    if (what === 'SCHEMA') {
      const db = name.parts.length > 1 ? name.parts[0]! : this.ctx.database;
      const schema = name.parts[name.parts.length - 1]!;
      if (!this.databases.has(db)) throw new SfSqlError('002003', '02000', `SQL compilation error:\nDatabase '${db}' does not exist or not authorized.`);
      if (this.hasSchema(db, schema) && !orReplace) {
        if (!ifNotExists) throw new SfSqlError('002002', '42710', `SQL compilation error:\nObject '${schema}' already exists.`);
        return statusResult(ST.DDL, `${schema} already exists, statement succeeded.`);
      }
      this.ensureSchema(db, schema);
      Object.assign(this.ctx, { database: db, schema });
      return statusResult(ST.DDL, `Schema ${schema} successfully created.`);
    }
    if (what !== 'TABLE') throw syntaxError(what);
    const ref = this.resolve(name.parts);
    const qualified = `${quoteIdent(ref.db)}.${quoteIdent(ref.table)}`;
    const exists = !!this.db.prepare(`SELECT 1 FROM ${quoteIdent(ref.db)}.sqlite_master WHERE type = 'table' AND name = ?`).get(ref.table);
    if (exists) {
      if (ifNotExists) return statusResult(ST.DDL, `${ref.table} already exists, statement succeeded.`);
      if (!orReplace) throw new SfSqlError('002002', '42710', `SQL compilation error:\nObject '${ref.table}' already exists.`);
      this.exec(`DROP TABLE ${qualified}`);
    }
    i = name.end;
    if (isOp(t[i], '(')) {
      const close = matching(t, i);
      const defs = splitTop(t.slice(i + 1, close), (x) => isOp(x, ','))
        .map((d) => this.columnDef(d))
        .filter((d): d is string => d !== null);
      this.exec(`CREATE TABLE ${qualified} (${defs.join(', ')})`);
    } else if (isWord(t[i], 'AS')) {
      this.exec(`CREATE TABLE ${qualified} AS ${this.rewrite(t.slice(i + 1))}`);
      for (const c of this.columnsOf(ref.database, ref.schema, ref.table)) {
        if (c.name !== c.name.toUpperCase() && !this.quotedNames.has(c.name)) {
          this.exec(`ALTER TABLE ${qualified} RENAME COLUMN ${quoteIdent(c.name)} TO ${quoteIdent(c.name.toUpperCase())}`);
        }
      }
    } else if (isWord(t[i], 'LIKE')) {
      const src = this.tableRef(t, i + 1);
      const row = this.db.prepare(`SELECT sql FROM ${quoteIdent(src.db)}.sqlite_master WHERE type = 'table' AND name = ?`).get(src.table) as { sql: string } | undefined;
      if (!row) throw new SfSqlError('002003', '42S02', `SQL compilation error:\nObject '${src.table}' does not exist or not authorized.`);
      this.exec(row.sql.replace(/^CREATE TABLE\s+("(?:[^"]|"")*"\.)?("(?:[^"]|"")*"|\S+)/i, `CREATE TABLE ${qualified}`));
    } else throw syntaxError(t[i]?.v ?? 'end of statement');
    this.installNormalizers(ref.db, ref.table);
    return statusResult(ST.DDL, `Table ${ref.table} successfully created.`);
  }

  /** One CREATE TABLE element → SQLite column definition; table constraints are dropped (Snowflake does not enforce them). */
  private columnDef(d: Token[]): string | null {
    if (isWord(d[0], 'PRIMARY', 'UNIQUE', 'FOREIGN', 'CONSTRAINT', 'CHECK')) return null;
    const name = foldIdent(d[0]!);
    if (name.k !== 'qid') throw syntaxError(d[0]?.v ?? '');
    let i = 1;
    let type = '';
    while (i < d.length && d[i]!.k === 'word' && !isWord(d[i], 'NOT', 'NULL', 'DEFAULT', 'PRIMARY', 'UNIQUE', 'AUTOINCREMENT', 'IDENTITY', 'COMMENT', 'COLLATE', 'CONSTRAINT', 'REFERENCES', 'WITH')) {
      type += (type ? ' ' : '') + d[i]!.v.toUpperCase();
      i++;
    }
    if (isOp(d[i], '(')) {
      const close = matching(d, i);
      type += render(d.slice(i, close + 1));
      i = close + 1;
    }
    if (!type) throw syntaxError(d[i]?.v ?? 'end of column definition');
    if (!sfTypeOf(type)) throw new SfSqlError('002040', '42601', `SQL compilation error:\nUnsupported data type '${type}'.`);
    const out = [quoteIdent(name.v), type];
    while (i < d.length) {
      if (isWord(d[i], 'NOT') && isWord(d[i + 1], 'NULL')) {
        out.push('NOT NULL');
        i += 2;
      } else if (isWord(d[i], 'NULL')) i++;
      else if (isWord(d[i], 'DEFAULT')) {
        let j = i + 1;
        const start = j;
        if (isOp(d[j], '(')) j = matching(d, j) + 1;
        else {
          j++;
          if (isOp(d[j], '(')) j = matching(d, j) + 1;
          while (isOp(d[j], '::')) j += 2;
        }
        const expr = d.slice(start, j);
        out.push(`DEFAULT ${isWord(expr[0], ...NOW_WORDS) ? 'CURRENT_TIMESTAMP' : `(${this.rewrite(expr)})`}`);
        i = j;
      } else if (isWord(d[i], 'AUTOINCREMENT', 'IDENTITY')) {
        out.splice(1, 1, 'INTEGER PRIMARY KEY');
        i++;
        if (isOp(d[i], '(')) i = matching(d, i) + 1;
        while (isWord(d[i], 'START', 'INCREMENT', 'ORDER', 'NOORDER')) i += isWord(d[i], 'ORDER', 'NOORDER') ? 1 : 2;
      } else if (isWord(d[i], 'PRIMARY') && isWord(d[i + 1], 'KEY')) i += 2;
      else if (isWord(d[i], 'UNIQUE')) i++;
      else if (isWord(d[i], 'COMMENT', 'COLLATE')) i += 2;
      else if (isWord(d[i], 'REFERENCES')) {
        i += 2;
        while (isOp(d[i], '.')) i += 2;
        if (isOp(d[i], '(')) i = matching(d, i) + 1;
      } else throw syntaxError(d[i]?.v ?? '');
    }
    return out.join(' ');
  }

  /** Triggers that keep timestamps, dates, booleans and variants in one canonical stored form. */
  private installNormalizers(db: string, table: string): void {
    const fnFor: Partial<Record<SfColumnType['kind'], string>> = {
      timestamp_ntz: 'SF_TS',
      timestamp_ltz: 'SF_TS',
      timestamp_tz: 'SF_TS',
      date: 'SF_DATE',
      time: 'SF_TIME',
      boolean: 'SF_BOOL',
      variant: 'SF_VARIANT',
      object: 'SF_VARIANT',
      array: 'SF_VARIANT',
    };
    const [database, schema] = [db.slice(0, db.lastIndexOf('.')), db.slice(db.lastIndexOf('.') + 1)];
    const sets = this.columnsOf(database, schema, table)
      .map((c) => [c.name, fnFor[sfTypeOf(c.type)?.kind ?? 'text']] as const)
      .filter(([, fn]) => fn)
      .map(([n, fn]) => `${quoteIdent(n)} = ${fn}(${quoteIdent(n)})`);
    for (const ev of ['INSERT', 'UPDATE']) {
      const trg = `${quoteIdent(db)}.${quoteIdent(`__sf_norm_${table}_${ev}`)}`;
      this.exec(`DROP TRIGGER IF EXISTS ${trg}`);
      if (sets.length) {
        this.exec(`CREATE TRIGGER ${trg} AFTER ${ev} ON ${quoteIdent(table)} BEGIN UPDATE ${quoteIdent(table)} SET ${sets.join(', ')} WHERE rowid = NEW.rowid; END`);
      }
    }
  }

  private drop(t: Token[]): SfResult {
    const what = t[1]?.k === 'word' ? t[1].v.toUpperCase() : '';
    let i = 2;
    let ifExists = false;
    if (isWord(t[i], 'IF') && isWord(t[i + 1], 'EXISTS')) {
      ifExists = true;
      i += 2;
    }
    const name = this.nameAt(t, i);
    if (what === 'TABLE' || what === 'VIEW') {
      const ref = this.resolve(name.parts, ifExists);
      const exists = ref.attached && !!this.db.prepare(`SELECT 1 FROM ${quoteIdent(ref.db)}.sqlite_master WHERE type = 'table' AND name = ?`).get(ref.table);
      if (!exists) {
        if (ifExists) return statusResult(ST.DDL, 'Drop statement executed successfully (' + ref.table + ' already dropped).');
        throw new SfSqlError('002003', '42S02', `SQL compilation error:\nTable '${ref.table}' does not exist or not authorized.`);
      }
      this.exec(`DROP TABLE ${quoteIdent(ref.db)}.${quoteIdent(ref.table)}`);
      return statusResult(ST.DDL, `${ref.table} successfully dropped.`);
    }
    if (what === 'SCHEMA') {
      const db = name.parts.length > 1 ? name.parts[0]! : this.ctx.database;
      const schema = name.parts[name.parts.length - 1]!;
      if (!this.hasSchema(db, schema)) {
        if (ifExists) return statusResult(ST.DDL, `Drop statement executed successfully (${schema} already dropped).`);
        throw new SfSqlError('002003', '02000', `SQL compilation error:\nSchema '${db}.${schema}' does not exist or not authorized.`);
      }
      this.db.prepare(`DETACH ${quoteIdent(this.dbName(db, schema))}`).run();
      this.schemas.delete(this.dbName(db, schema));
      return statusResult(ST.DDL, `${schema} successfully dropped.`);
    }
    throw syntaxError(what);
  }

  private alterTable(t: Token[]): SfResult {
    let i = 2;
    if (isWord(t[i], 'IF') && isWord(t[i + 1], 'EXISTS')) i += 2;
    const ref = this.tableRef(t, i);
    i = ref.end;
    if (isWord(t[i], 'ADD')) {
      i++;
      if (isWord(t[i], 'COLUMN')) i++;
      let ifNotExists = false;
      if (isWord(t[i], 'IF') && isWord(t[i + 1], 'NOT') && isWord(t[i + 2], 'EXISTS')) {
        ifNotExists = true;
        i += 3;
      }
      for (const def of splitTop(t.slice(i), (x) => isOp(x, ','))) {
        const col = foldIdent(def[0]!).v;
        if (ifNotExists && this.columnsOf(ref.database, ref.schema, ref.table).some((c) => c.name === col)) continue;
        this.exec(`ALTER TABLE ${ref.sql} ADD COLUMN ${this.columnDef(def)}`);
      }
      this.installNormalizers(ref.db, ref.table);
      return statusResult(ST.DDL, 'Statement executed successfully.');
    }
    if (isWord(t[i], 'DROP')) {
      i++;
      if (isWord(t[i], 'COLUMN')) i++;
      for (const c of splitTop(t.slice(i), (x) => isOp(x, ','))) this.exec(`ALTER TABLE ${ref.sql} DROP COLUMN ${render([foldIdent(c[0]!)])}`);
      this.installNormalizers(ref.db, ref.table);
      return statusResult(ST.DDL, 'Statement executed successfully.');
    }
    if (isWord(t[i], 'RENAME') && isWord(t[i + 1], 'TO')) {
      const to = this.resolve(this.nameAt(t, i + 2).parts);
      if (to.db !== ref.db) throw new SfSqlError('001003', '42000', 'SQL compilation error:\nthe emulator renames tables within one schema only.');
      this.exec(`ALTER TABLE ${ref.sql} RENAME TO ${quoteIdent(to.table)}`);
      this.installNormalizers(ref.db, to.table);
      return statusResult(ST.DDL, 'Statement executed successfully.');
    }
    throw syntaxError(t[i]?.v ?? 'end of statement');
  }

  private use(t: Token[]): SfResult {
    let i = 1;
    const kind = isWord(t[i], 'DATABASE', 'SCHEMA', 'WAREHOUSE', 'ROLE', 'SECONDARY') ? t[i++]!.v.toUpperCase() : 'SCHEMA';
    const name = this.nameAt(t, i).parts;
    if (kind === 'WAREHOUSE') this.ctx.warehouse = name[0];
    else if (kind === 'ROLE') this.ctx.role = name[0];
    else if (kind === 'DATABASE' || (kind === 'SCHEMA' && name.length === 1 && isWord(t[1], 'DATABASE'))) {
      if (!this.databases.has(name[0]!)) throw new SfSqlError('002043', '02000', `SQL compilation error:\nObject does not exist, or operation cannot be performed.`);
      Object.assign(this.ctx, { database: name[0]!, schema: 'PUBLIC' });
    } else {
      const db = name.length > 1 ? name[0]! : this.ctx.database;
      const schema = name[name.length - 1]!;
      if (!this.hasSchema(db, schema)) throw new SfSqlError('002043', '02000', `SQL compilation error:\nObject does not exist, or operation cannot be performed.`);
      Object.assign(this.ctx, { database: db, schema });
    }
    return statusResult(ST.SCL, 'Statement executed successfully.');
  }

  private showTables(): SfResult {
    const rows = this.listTables()
      .filter((x) => x.database === this.ctx.database)
      .map((x) => [x.table, x.database, x.schema, 'TABLE']);
    const text = sfTypeOf('VARCHAR')!;
    return {
      statementTypeId: ST.SCL,
      rowtype: ['name', 'database_name', 'schema_name', 'kind'].map((n) => rowtypeEntry(n, text, {})),
      rowset: rows,
      rows,
    };
  }

  private describe(t: Token[]): SfResult {
    const i = isWord(t[1], 'TABLE') ? 2 : 1;
    const ref = this.tableRef(t, i);
    const cols = this.columnsOf(ref.database, ref.schema, ref.table);
    if (!cols.length) throw new SfSqlError('002003', '42S02', `SQL compilation error:\nTable '${ref.table}' does not exist or not authorized.`);
    const rows = cols.map((c) => [c.name, c.type, 'COLUMN', c.notnull ? 'N' : 'Y']);
    const text = sfTypeOf('VARCHAR')!;
    return { statementTypeId: ST.SCL, rowtype: ['name', 'type', 'kind', 'null?'].map((n) => rowtypeEntry(n, text, {})), rowset: rows, rows };
  }

  // ---- names and the generic rewrite ----------------------------------------------------------

  private nameAt(t: Token[], i: number): { parts: string[]; end: number } {
    const parts: string[] = [];
    let j = i;
    for (;;) {
      const tok = t[j];
      if (!tok || (tok.k !== 'word' && tok.k !== 'qid')) throw syntaxError(tok?.v ?? 'end of statement');
      parts.push(tok.k === 'qid' ? tok.v : tok.v.toUpperCase());
      j++;
      if (isOp(t[j], '.')) j++;
      else break;
    }
    if (parts.length > 3) throw syntaxError(parts.join('.'));
    return { parts, end: j };
  }

  private resolve(parts: string[], lenient = false) {
    const table = parts[parts.length - 1]!;
    const schema = parts.length >= 2 ? parts[parts.length - 2]! : this.ctx.schema;
    const database = parts.length === 3 ? parts[0]! : this.ctx.database;
    if (!database || !schema) throw new SfSqlError('090105', '22000', 'Cannot perform SELECT. This session does not have a current database. Call \'USE DATABASE\', or use a qualified name.');
    if (schema === 'INFORMATION_SCHEMA') this.refreshInformationSchema(database);
    const attached = this.hasSchema(database, schema);
    if (!attached && !lenient) throw new SfSqlError('002003', '02000', `SQL compilation error:\nSchema '${database}.${schema}' does not exist or not authorized.`);
    return { database, schema, table, db: this.dbName(database, schema), attached };
  }

  private tableRef(t: Token[], i: number) {
    const name = this.nameAt(t, i);
    const r = this.resolve(name.parts);
    return { ...r, sql: `${quoteIdent(r.db)}.${quoteIdent(r.table)}`, end: name.end };
  }

  /** Optional `[AS] alias` at i. */
  private aliasAt(t: Token[], i: number, stop: string[] = []): { name?: string; end: number } {
    if (isWord(t[i], 'AS')) return { name: foldIdent(t[i + 1]!).v, end: i + 2 };
    const tok = t[i];
    if (tok && (tok.k === 'qid' || (tok.k === 'word' && !CLAUSE_WORDS.has(tok.v.toUpperCase()) && !stop.includes(tok.v.toUpperCase()))))
      return { name: foldIdent(tok).v, end: i + 1 };
    return { end: i };
  }

  /**
   * Translate a statement (or fragment) to SQLite: qualify table names, turn `x::T` and
   * `CAST(x AS T)` into SF_CAST, `FROM VALUES` into a subquery, and Snowflake functions into UDFs.
   */
  rewrite(t: Token[]): string {
    const out: Token[] = [];
    const raw = (v: string): Token => ({ k: 'op', v });
    for (let i = 0; i < t.length; i++) {
      const tok = t[i]!;
      const up = tok.k === 'word' ? tok.v.toUpperCase() : '';
      if (tok.k === 'word' && ['FROM', 'JOIN', 'INTO', 'UPDATE', 'TABLE', 'USING'].includes(up)) {
        out.push(tok);
        let j = i + 1;
        if (isWord(t[j], 'IF')) {
          while (isWord(t[j], 'IF', 'NOT', 'EXISTS')) out.push(t[j++]!);
        }
        if (up === 'FROM' && isWord(t[j], 'VALUES')) {
          j = this.fromValues(t, j, out);
          i = j - 1;
          continue;
        }
        // FROM a, b: every comma-separated table of the list.
        for (;;) {
          const nx = t[j];
          if (!nx || (nx.k !== 'word' && nx.k !== 'qid') || (nx.k === 'word' && (CLAUSE_WORDS.has(nx.v.toUpperCase()) || isOp(t[j + 1], '(')))) break;
          if (up === 'USING' && !isWord(t[0], 'MERGE', 'DELETE')) break;
          if (this.cteNames.has(foldIdent(nx).v) && !isOp(t[j + 1], '.')) {
            out.push(foldIdent(nx));
            j++;
          } else {
            const ref = this.tableRef(t, j);
            out.push({ k: 'qid', v: ref.db }, raw('.'), { k: 'qid', v: ref.table });
            j = ref.end;
          }
          const alias = this.aliasAt(t, j);
          if (alias.name !== undefined) out.push(raw('AS'), { k: 'qid', v: alias.name });
          j = alias.end;
          if (up === 'FROM' && isOp(t[j], ',') && t[j + 1] && (t[j + 1]!.k === 'word' || t[j + 1]!.k === 'qid') && !isOp(t[j + 2], '(')) {
            out.push(t[j]!);
            j++;
            continue;
          }
          break;
        }
        i = j - 1;
        continue;
      }
      if (isOp(tok, '::')) {
        const { start } = atomStart(out);
        const atom = out.splice(start);
        let j = i + 1;
        let type = t[j]!.v.toUpperCase();
        j++;
        if (isOp(t[j], '(')) {
          const close = matching(t, j);
          type += render(t.slice(j, close + 1));
          j = close + 1;
        }
        out.push({ k: 'word', v: 'SF_CAST' }, raw('('), ...atom, raw(','), { k: 'str', v: type }, raw(','), { k: 'num', v: '0' }, raw(')'));
        i = j - 1;
        continue;
      }
      if ((up === 'CAST' || up === 'TRY_CAST') && isOp(t[i + 1], '(')) {
        const close = matching(t, i + 1);
        const inner = t.slice(i + 2, close);
        const asAt = findTop(inner, (x) => isWord(x, 'AS'));
        if (asAt < 0) throw syntaxError(')');
        const type = render(inner.slice(asAt + 1)).toUpperCase();
        out.push(raw(`SF_CAST(${this.rewrite(inner.slice(0, asAt))}, ${quoteString(type)}, ${up === 'TRY_CAST' ? 1 : 0})`));
        i = close;
        continue;
      }
      if (NOW_WORDS.has(up) && !isOp(out[out.length - 1], '.')) {
        out.push(raw('SF_NOW()'));
        if (isOp(t[i + 1], '(') && isOp(t[i + 2], ')')) i += 2;
        continue;
      }
      if (up === 'CURRENT_DATE' && !isOp(out[out.length - 1], '.')) {
        out.push(raw('SF_TODAY()'));
        if (isOp(t[i + 1], '(') && isOp(t[i + 2], ')')) i += 2;
        continue;
      }
      if (up === 'ILIKE') {
        out.push({ k: 'word', v: 'LIKE' });
        continue;
      }
      if (up && FUNC_ALIASES[up] && isOp(t[i + 1], '(')) {
        out.push({ k: 'word', v: FUNC_ALIASES[up]! });
        continue;
      }
      out.push(tok);
    }
    return render(out);
  }

  /** `FROM VALUES (…), (…) [AS] v [(a, b)]` → `FROM (SELECT column1 AS a, … FROM (VALUES …)) AS v`. */
  private fromValues(t: Token[], j: number, out: Token[]): number {
    let k = j + 1;
    const tuples: string[] = [];
    while (isOp(t[k], '(')) {
      const close = matching(t, k);
      tuples.push(`(${this.rewrite(t.slice(k + 1, close))})`);
      k = close + 1;
      if (isOp(t[k], ',') && isOp(t[k + 1], '(')) k++;
      else break;
    }
    const alias = this.aliasAt(t, k);
    k = alias.end;
    let cols: string[] = [];
    if (alias.name !== undefined && isOp(t[k], '(')) {
      const close = matching(t, k);
      cols = splitTop(t.slice(k + 1, close), (x) => isOp(x, ',')).map((c) => foldIdent(c[0]!).v);
      k = close + 1;
    }
    const width = tuples[0] ? splitTop(tokenize(tuples[0].slice(1, -1)), (x) => isOp(x, ',')).length : 0;
    const select = Array.from({ length: width }, (_, n) => `column${n + 1} AS ${quoteIdent(cols[n] ?? `COLUMN${n + 1}`)}`).join(', ');
    out.push({ k: 'op', v: `(SELECT ${select} FROM (VALUES ${tuples.join(', ')})) AS ${quoteIdent(alias.name ?? 'VALUES')}` });
    return k;
  }
}

/** Unquoted identifiers fold to upper case; the result is a quoted identifier token. */
function foldIdent(t: Token): Token {
  if (t.k === 'qid') return t;
  if (t.k === 'word') return { k: 'qid', v: t.v.toUpperCase() };
  return t;
}

/** Where the operand of a trailing `::` starts in the output built so far. */
function atomStart(out: Token[]): { start: number } {
  let i = out.length - 1;
  if (isOp(out[i], ')')) {
    let depth = 0;
    for (; i >= 0; i--) {
      if (isOp(out[i], ')')) depth++;
      if (isOp(out[i], '(')) depth--;
      if (depth === 0) break;
    }
    if (out[i - 1]?.k === 'word') i--;
    return { start: i };
  }
  while (i >= 2 && isOp(out[i - 1], '.')) i -= 2;
  return { start: Math.max(0, i) };
}

/** Replace `?` and `:N` with SQL literals from the driver's bindings map. */
function substituteBinds(tokens: Token[], binds: Record<string, Binding>): Token[] {
  let pos = 0;
  return tokens.map((t) => {
    if (t.k !== 'bind') return t;
    const key = t.v === '?' ? String(++pos) : t.v;
    const b = binds[key];
    if (!b) throw new SfSqlError('002049', '42601', `SQL compilation error: error line 1 at position 0\nBind variable ${t.v === '?' ? '?' : ':' + t.v} not set.`);
    const v = b.value as string | null;
    if (v === null || v === undefined) return { k: 'word', v: 'NULL' };
    const type = b.type.toUpperCase();
    if ((type === 'FIXED' || type === 'REAL') && /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v)) return { k: 'num', v: v.startsWith('-') ? `(${v})` : v };
    if (type === 'BOOLEAN') return { k: 'word', v: /^(true|1)$/i.test(v) ? 'TRUE' : 'FALSE' };
    return { k: 'str', v };
  });
}

function syntaxError(near: string): SfSqlError {
  return new SfSqlError('001003', '42000', `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${near}'.`);
}

function mapError(e: unknown): SfSqlError {
  if (e instanceof SfSqlError) return e;
  if (e instanceof SqlSyntaxError) return syntaxError(e.message);
  const msg = String((e as Error)?.message ?? e);
  let m: RegExpExecArray | null;
  if ((m = /no such table: (.+)$/.exec(msg))) {
    const name = m[1]!.split('.').pop()!;
    return new SfSqlError('002003', '42S02', `SQL compilation error:\nObject '${name}' does not exist or not authorized.`);
  }
  if ((m = /unknown database (.+)$/.exec(msg))) return new SfSqlError('002003', '02000', `SQL compilation error:\nSchema '${m[1]}' does not exist or not authorized.`);
  if ((m = /no such column: (.+)$/.exec(msg))) return new SfSqlError('000904', '42000', `SQL compilation error: error line 1 at position 0\ninvalid identifier '${m[1]!.toUpperCase()}'`);
  if ((m = /near "(.*?)": syntax error/.exec(msg))) return syntaxError(m[1]!);
  if (/syntax error|incomplete input/.test(msg)) return syntaxError('end of statement');
  if ((m = /table (.+) already exists/.exec(msg))) return new SfSqlError('002002', '42710', `SQL compilation error:\nObject '${m[1]}' already exists.`);
  if (/NOT NULL constraint failed/.test(msg)) return new SfSqlError('100072', '22000', 'NULL result in a non-nullable column');
  if ((m = /no such function: (.+)$/.exec(msg))) return new SfSqlError('002140', '42601', `SQL compilation error:\nUnknown function ${m[1]!.toUpperCase()}`);
  if (/has \d+ columns but \d+ values were supplied|values were supplied/.test(msg))
    return new SfSqlError('002020', '21S01', `SQL compilation error:\nInsert value list does not match column list (${msg}).`);
  return new SfSqlError('000603', 'XX000', `SQL execution internal error: ${msg}`);
}

function statusResult(statementTypeId: number, status: string): SfResult {
  return { statementTypeId, rowtype: [rowtypeEntry('status', sfTypeOf('VARCHAR')!, {})], rowset: [[status]], rows: [[status]] };
}

function dmlResult(statementTypeId: number, counts: [string, number][]): SfResult {
  const fixed: SfColumnType = { kind: 'fixed', precision: 19, scale: 0, length: null };
  return {
    statementTypeId,
    rowtype: counts.map(([n]) => rowtypeEntry(n, fixed, {}, false)),
    rowset: [counts.map(([, v]) => String(v))],
    rows: [counts.map(([, v]) => v)],
  };
}
