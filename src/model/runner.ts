import type { Knex } from 'knex';
import { InterruptedError, PartnersyncError } from '../errors.js';
import { inPgTransaction, withDriverConnection, type Staging } from '../staging/db.js';
import type { RunLog } from '../staging/runs.js';
import { ModelsConfig, type ModelsConfigInput } from './config.js';
import { buildGraph, descendants, runOrder, selectModels, type ModelGraph } from './graph.js';
import { loadProject, modelTemplate, type Materialization, type ModelDef, type ModelProject } from './project.js';
import { databaseMessage, errorLine, ModelSqlError } from './sql-error.js';
import { quoteIdent, renderTemplate, TemplateError } from './template.js';

/**
 * Runs models in staging, in graph order. Each table model is built into `<name>__ps_build` and
 * swapped in (drop + rename in one transaction), so a model that fails leaves yesterday's table as it
 * was and nothing downstream runs on half a result.
 *
 * @example
 *   const result = await runModels(staging, config, { select: ['partner_signals+'], run, baseDir });
 *   result.models // [{ name: 'partner_signals', status: 'built', rows: 42, ms: 12, … }, …]
 */
export interface RunModelsOptions {
  /** Selectors (`name`, `name+`, `+name`); all models when empty. */
  select?: readonly string[];
  /** Per-model time and row count go here (events + counts). */
  run?: RunLog;
  /** Folder `models.dir` is relative to (the config file's). Default: the working directory. */
  baseDir?: string;
  /**
   * What to do with a model whose `{{ table(...) }}` is not in staging (the plays before the first
   * `partnersync match`): `fail` (default when models were selected by name) or `skip` (default when
   * running everything, so `extract → model → match → model` works on a fresh staging database).
   */
  missingTables?: 'fail' | 'skip';
  /** Called as each model finishes (for progress output). */
  onModel?: (r: ModelRunResult) => void;
  signal?: AbortSignal;
}

export interface ModelRunResult {
  name: string;
  file: string;
  materialized: Materialization;
  status: 'built' | 'skipped';
  /** Rows in the table; null for views (counting would run the view). */
  rows: number | null;
  ms: number;
  reason?: string;
}

export interface RunModelsResult {
  models: ModelRunResult[];
}

/** Where the matching engine and other commands' tables come from, for the "missing table" hint. */
const PRODUCERS: Record<string, string> = {
  matches: 'run `partnersync match` first',
  match_review: 'run `partnersync match` first',
};

export interface PlannedProject {
  project: ModelProject;
  graph: ModelGraph;
}

export function planProject(config: ModelsConfig | ModelsConfigInput, baseDir = process.cwd()): PlannedProject {
  // Parsing is idempotent (defaults, lower-casing), so parsed and raw sections are both accepted.
  const models = ModelsConfig.parse(config);
  const project = loadProject(models, { baseDir });
  const defs = [...project.models.values()];
  const graph = buildGraph(
    defs.map((d) => ({ name: d.name, refs: d.deps.refs })),
    (n) => project.models.get(n)!.file,
  );
  return { project, graph };
}

export async function runModels(
  staging: Staging,
  config: { models?: ModelsConfig | ModelsConfigInput },
  opts: RunModelsOptions = {},
): Promise<RunModelsResult> {
  const models = ModelsConfig.parse(config.models ?? {});
  const { project, graph } = planProject(models, opts.baseDir);
  const selected = selectModels(graph, opts.select);
  const missingTables = opts.missingTables ?? (opts.select && opts.select.length > 0 ? 'fail' : 'skip');

  // A rebuilt table invalidates the views that read it (Postgres drops them with the table): re-create them.
  const plan = new Set(selected);
  for (const name of selected) {
    if (project.models.get(name)!.materialized !== 'table') continue;
    for (const d of descendants(graph, name)) if (project.models.get(d)!.materialized === 'view') plan.add(d);
  }
  const order = runOrder(graph, plan);

  const results: ModelRunResult[] = [];
  const skipped = new Set<string>();
  for (const name of order) {
    if (opts.signal?.aborted) throw new InterruptedError(opts.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
    const def = project.models.get(name)!;
    const blockedBy = graph.parents.get(name)!.find((p) => skipped.has(p));
    const started = Date.now();
    let result: ModelRunResult;
    if (blockedBy) {
      result = { name, file: def.file, materialized: def.materialized, status: 'skipped', rows: null, ms: 0, reason: `${blockedBy} was skipped` };
    } else {
      // A parent left out of the selection must already be in staging (built by an earlier run).
      let missing = await missingExternalTable(staging, def);
      for (const parent of graph.parents.get(name)!) {
        if (missing) break;
        if (!plan.has(parent) && !(await staging.db.schema.hasTable(parent))) missing = parent;
      }
      if (missing) {
        const hint = PRODUCERS[missing] ?? (project.models.has(missing) ? `build it first: partnersync model --select ${missing}` : `no command has written table ${missing} to this staging database yet`);
        if (missingTables === 'fail') {
          throw new PartnersyncError(`model ${name} (${def.file}) reads table ${missing}, which is not in staging: ${hint}`, { code: 'MODEL_INPUT', hint });
        }
        result = { name, file: def.file, materialized: def.materialized, status: 'skipped', rows: null, ms: 0, reason: `table ${missing} is not in staging (${hint})` };
      } else {
        const rows = await buildModel(staging, def, models);
        result = { name, file: def.file, materialized: def.materialized, status: 'built', rows, ms: Date.now() - started };
      }
    }
    if (result.status === 'skipped') skipped.add(name);
    results.push(result);
    opts.onModel?.(result);
    if (opts.run) {
      const what = result.status === 'built' ? `${result.materialized} built${result.rows === null ? '' : `, ${result.rows} rows`} in ${result.ms} ms` : `skipped: ${result.reason}`;
      await opts.run.event(result.status === 'built' ? 'info' : 'warn', `model ${name}: ${what}`, result, `model:${name}`);
      await opts.run.count('model', { [name]: result.status === 'built' ? { rows: result.rows, ms: result.ms } : { skipped: result.reason } });
    }
  }
  return { models: results };
}

async function relationKind(db: Knex, dialect: Staging['dialect'], name: string): Promise<'table' | 'view' | undefined> {
  if (dialect === 'sqlite') {
    const row = await db.raw<Array<{ type: string }>>('SELECT type FROM sqlite_master WHERE name = ? AND type IN (\'table\', \'view\')', [name]);
    const t = (row as Array<{ type: string }>)[0]?.type;
    return t === 'table' || t === 'view' ? t : undefined;
  }
  const res = await db.raw('SELECT table_type FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?', [name]);
  const t = (res as { rows: Array<{ table_type: string }> }).rows[0]?.table_type;
  return t === undefined ? undefined : t === 'VIEW' ? 'view' : 'table';
}

async function columnsOf(staging: Staging, table: string): Promise<Set<string> | undefined> {
  if (!(await relationKind(staging.db, staging.dialect, table))) return undefined;
  const info = await staging.db(table).columnInfo();
  return new Set(Object.keys(info));
}

async function missingExternalTable(staging: Staging, def: ModelDef): Promise<string | undefined> {
  for (const t of def.deps.tables) if (!(await relationKind(staging.db, staging.dialect, t))) return t;
  return undefined;
}

async function dropRelation(db: Knex, dialect: Staging['dialect'], name: string): Promise<void> {
  const kind = await relationKind(db, dialect, name);
  if (!kind) return;
  // Postgres refuses to drop a table a view reads; the runner re-creates those views right after.
  const cascade = dialect === 'postgres' ? ' CASCADE' : '';
  await db.raw(`DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} ${quoteIdent(name)}${cascade}`);
}

/**
 * Run model SQL as written. On Postgres it goes straight to the pg connection: knex would turn every
 * `?` (in a regex or a string literal) into a bind parameter. Several statements run in one transaction.
 */
async function execStatements(staging: Staging, statements: string[]): Promise<void> {
  if (staging.dialect === 'sqlite') {
    if (statements.length === 1) {
      await staging.db.raw(statements[0]!);
      return;
    }
    await staging.db.transaction(async (trx) => {
      for (const s of statements) await trx.raw(s);
    });
    return;
  }
  await withDriverConnection<PgConnection, void>(staging.db, async (conn) => {
    if (statements.length === 1) {
      await conn.query(statements[0]!);
      return;
    }
    await inPgTransaction(conn, async () => {
      for (const s of statements) await conn.query(s);
    });
  });
}

interface PgConnection {
  query(sql: string): Promise<unknown>;
}

async function buildModel(staging: Staging, def: ModelDef, config: ModelsConfig): Promise<number | null> {
  const { db, dialect } = staging;
  // Raw tables a model reads: missing ones are reported by model and table, before any SQL runs.
  const columns = new Map<string, Set<string> | undefined>();
  for (const s of def.deps.sources) columns.set(s.table, await columnsOf(staging, s.table));
  if (!def.canonical) {
    const missing = def.deps.sources.find((s) => !columns.get(s.table));
    if (missing) {
      throw new PartnersyncError(`model ${def.name} (${def.file}) reads source ${missing.connection}.${missing.stream}: table ${missing.table} is not in staging`, {
        code: 'MODEL_INPUT',
        hint: `run \`partnersync extract ${missing.connection}\` first`,
      });
    }
  }

  let sql: string;
  try {
    sql = renderTemplate(modelTemplate(def, columns), { dialect, config }).sql;
  } catch (err) {
    if (err instanceof TemplateError) throw new ModelSqlError(`${def.file}:${err.line}: ${err.message}`, { file: def.file, line: err.line, model: def.name });
    throw err;
  }
  sql = sql.replace(/;\s*$/, '').replace(/\s+$/, '');
  // A trailing `-- comment` would swallow anything appended after it.
  sql += '\n';

  const build = `${def.name}__ps_build`;
  const prefix = def.materialized === 'table' ? `CREATE TABLE ${quoteIdent(build)} AS\n` : `CREATE VIEW ${quoteIdent(def.name)} AS\n`;
  const sent = prefix + sql;
  const fail = (err: unknown): never => {
    const line = errorLine(err, sql, sent, 1);
    const msg = databaseMessage(err, sent);
    throw new ModelSqlError(`${def.file}:${line}: model ${def.name} failed: ${msg}`, { file: def.file, line, model: def.name }, {
      cause: err,
      hint: def.origin === 'builtin' ? 'a built-in model failed: check the raw input columns (models.inputs) or replace it with a project model of the same name' : undefined,
    });
  };

  if (def.materialized === 'view') {
    // Dropped and created in one transaction: a view that does not compile leaves the old one in place.
    const kind = await relationKind(db, dialect, def.name);
    const drop = kind ? [`DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} ${quoteIdent(def.name)}${dialect === 'postgres' ? ' CASCADE' : ''}`] : [];
    await execStatements(staging, [...drop, sent]).catch(fail);
    return null;
  }

  await dropRelation(db, dialect, build);
  await execStatements(staging, [sent]).catch(fail);
  const [counted] = (await db(build).count({ n: '*' })) as Array<{ n: number | string }>;
  if (dialect === 'sqlite') {
    // Renaming with views in the schema that read the (dropped) old table would fail the rename check.
    await db.raw('PRAGMA legacy_alter_table = ON');
  }
  try {
    await db.transaction(async (trx) => {
      await dropRelation(trx, dialect, def.name);
      await trx.raw(`ALTER TABLE ${quoteIdent(build)} RENAME TO ${quoteIdent(def.name)}`);
    });
  } finally {
    if (dialect === 'sqlite') await db.raw('PRAGMA legacy_alter_table = OFF');
  }
  return Number(counted?.n ?? 0);
}
