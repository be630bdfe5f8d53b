import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { CANONICAL_MODELS, type CanonicalModel, type ModelsConfig } from './config.js';
import { canonicalSql, resolveInput, type ResolvedInput } from './builtin/canonical.js';
import { BUILTIN_SQL } from './builtin/plays.js';
import { parseHeader, renderTemplate, TemplateError, type TemplateDeps } from './template.js';
import { ModelSqlError } from './sql-error.js';

/**
 * A model project: the built-in models plus the user's `models/**\/*.sql`. A project file named like a
 * built-in replaces it (the way to customise `accounts` or a play). Loading reads files only; nothing
 * here touches the database.
 *
 * @example
 *   const project = loadProject(config.models, { baseDir });
 *   project.models.get('accounts')?.file   // 'builtin:accounts' or 'models/accounts.sql'
 */
export type Materialization = 'table' | 'view';

export interface ModelDef {
  name: string;
  origin: 'builtin' | 'project';
  /** For messages: `models/foo.sql` (relative to the config folder) or `builtin:<name>`. */
  file: string;
  materialized: Materialization;
  description?: string;
  deps: TemplateDeps;
  /** Template text; undefined for canonical models, whose SQL depends on the raw tables' columns. */
  template?: string;
  canonical?: { model: CanonicalModel; inputs: ResolvedInput[] };
}

export interface ModelProject {
  models: Map<string, ModelDef>;
  /** Models folder (absolute), whether or not it exists. */
  dir: string;
}

const MODEL_NAME = /^[a-z_][a-z0-9_]*$/;

function listSql(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listSql(p));
    else if (e.isFile() && e.name.endsWith('.sql')) out.push(p);
  }
  return out.sort();
}

function materialization(header: Record<string, string>, name: string, config: ModelsConfig, file: string): Materialization {
  if (config.views.includes(name)) return 'view';
  const m = header.materialized?.toLowerCase();
  if (m === undefined || m === 'table') return 'table';
  if (m === 'view') return 'view';
  throw new ModelSqlError(`${file}:1: materialized must be table or view, got "${header.materialized}"`, { file, line: 1, model: name });
}

/** Dependencies of a template, found by rendering it once with a throwaway context. */
function scan(name: string, file: string, text: string, config: ModelsConfig): TemplateDeps {
  try {
    return renderTemplate(text, { dialect: 'sqlite', config }).deps;
  } catch (err) {
    if (err instanceof TemplateError) throw new ModelSqlError(`${file}:${err.line}: ${err.message}`, { file, line: err.line, model: name });
    throw err;
  }
}

export function loadProject(config: ModelsConfig, opts: { baseDir: string }): ModelProject {
  const models = new Map<string, ModelDef>();
  const disabled = new Set(config.disableBuiltins);

  for (const model of CANONICAL_MODELS) {
    if (disabled.has(model)) continue;
    const inputs = config.inputs[model].map(resolveInput);
    models.set(model, {
      name: model,
      origin: 'builtin',
      file: `builtin:${model}`,
      materialized: config.views.includes(model) ? 'view' : 'table',
      description: `canonical ${model} from ${inputs.length ? inputs.map((i) => i.source).join(', ') : '(no inputs configured)'}`,
      deps: { refs: [], sources: inputs.map((i) => ({ connection: i.connection, stream: i.stream, table: i.table })), tables: [] },
      canonical: { model, inputs },
    });
  }
  for (const b of BUILTIN_SQL) {
    if (disabled.has(b.name)) continue;
    const file = `builtin:${b.name}`;
    models.set(b.name, {
      name: b.name,
      origin: 'builtin',
      file,
      materialized: materialization(parseHeader(b.sql), b.name, config, file),
      description: b.description,
      deps: scan(b.name, file, b.sql, config),
      template: b.sql,
    });
  }

  const dir = path.resolve(opts.baseDir, config.dir);
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const abs of listSql(dir)) {
    const file = path.relative(opts.baseDir, abs).split(path.sep).join('/');
    const name = path.basename(abs, '.sql');
    if (!MODEL_NAME.test(name)) {
      problems.push(`${file}: model names are lower_snake_case (letters, digits, _), got "${name}"`);
      continue;
    }
    const twin = seen.get(name);
    if (twin) {
      problems.push(`${file}: a model named ${name} is already defined in ${twin}`);
      continue;
    }
    seen.set(name, file);
    const text = fs.readFileSync(abs, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
    const header = parseHeader(text);
    models.set(name, {
      name,
      origin: 'project',
      file,
      materialized: materialization(header, name, config, file),
      description: header.description,
      deps: scan(name, file, text, config),
      template: text,
    });
  }
  if (problems.length) throw new ConfigError(problems, { hint: `models live in ${config.dir}/ next to the config file` });
  return { models, dir };
}

/** The template to render for a model; canonical models are generated from their inputs' columns. */
export function modelTemplate(def: ModelDef, columns: ReadonlyMap<string, ReadonlySet<string> | undefined>): string {
  if (def.template !== undefined) return def.template;
  return canonicalSql(def.canonical!.model, def.canonical!.inputs, columns);
}
