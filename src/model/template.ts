import type { Dialect } from '../staging/db.js';
import { rawTableName } from '../staging/raw-tables.js';
import { LIST_VARS, type ListVar, type ModelsConfig } from './config.js';
import { quoteIdent } from '../staging/sql-ident.js';

/**
 * Model SQL is plain SQL plus a few `{{ macro(args) }}` calls, rendered before it runs:
 *
 *   {{ ref('accounts') }}                 another model's table (and a dependency edge)
 *   {{ source('crm_csv', 'accounts') }}   a raw table, `raw_crm_csv__accounts`
 *   {{ table('matches') }}                a table another command writes (`matches` ← `partnersync match`)
 *   {{ string_agg('partner', ';') }}      ordered string aggregate (group_concat / string_agg)
 *   {{ strpos('rest', "';'") }}           1-based position of a substring, 0 when absent
 *   {{ domain_of('website') }}            host of a URL, lower-case, without `www.` (`https://WWW.Acme.com/x` → `acme.com`)
 *   {{ json_names('partner_populations') }}  `a;b` from a JSON array of `{name}` objects (or of plain values)
 *   {{ var_list('strategicPartners') }}   a models.* list from the config as `('a', 'b')`, lower-cased
 *
 * Arguments are quoted with '…' or "…" (double the quote to include it). A macro never renders a
 * newline, so line N of the rendered SQL is line N of the model file: database errors map back exactly.
 *
 * @example
 *   renderTemplate("SELECT * FROM {{ ref('accounts') }}", ctx) // 'SELECT * FROM "accounts"'
 */
export interface TemplateDeps {
  refs: string[];
  sources: Array<{ connection: string; stream: string; table: string }>;
  tables: string[];
}

export interface RenderContext {
  dialect: Dialect;
  config: ModelsConfig;
  /** Table (or view) name for a model; the runner passes the name it builds into. */
  relationFor?: (model: string) => string;
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const MACRO = /\{\{(.*?)\}\}/g;
const CALL = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$/;
const ARG = /\s*('(?:[^']|'')*'|"(?:[^"]|"")*")\s*(,|$)/y;

function parseArgs(text: string, line: number, name: string): string[] {
  const args: string[] = [];
  if (text.trim() === '') return args;
  ARG.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    ARG.lastIndex = pos;
    const m = ARG.exec(text);
    if (!m) throw new TemplateError(`{{ ${name}(${text}) }}: arguments must be quoted strings, e.g. ${name}('x')`, line);
    const q = m[1]!;
    args.push(q.slice(1, -1).replaceAll(q[0]! + q[0]!, q[0]!));
    pos = ARG.lastIndex;
    if (m[2] === '') break;
  }
  return args;
}

export { quoteIdent } from '../staging/sql-ident.js';
const quoteLiteral = (v: string): string => `'${v.replaceAll("'", "''")}'`;

function lineAt(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

type MacroFn = (args: string[], ctx: RenderContext, deps: TemplateDeps) => string;

function arity(name: string, args: string[], n: number, line: number, example: string): void {
  if (args.length !== n) throw new TemplateError(`{{ ${name}(…) }} takes ${n} argument${n === 1 ? '' : 's'}: ${example}`, line);
}

/** SQL for the host part of a URL-ish text, without `www.`; NULL for blanks. Same result on both dialects. */
export function domainSql(expr: string, dialect: Dialect): string {
  const x = `lower(trim(${expr}))`;
  if (dialect === 'postgres') {
    return `NULLIF(regexp_replace(${x}, '^([a-z][a-z0-9+.-]*://)?(www\\.)?([^/?#:@]*).*$', '\\3'), '')`;
  }
  // SQLite has no regexp by default: peel the scheme, cut at the first of / ? # : (appending '/'
  // so the cut always finds one), then drop `www.`. Each step names its input twice at most.
  const noScheme = `substr(${x}, CASE WHEN instr(${x}, '://') > 0 THEN instr(${x}, '://') + 3 ELSE 1 END)`;
  const slashed = `replace(replace(replace(${noScheme}, '?', '/'), '#', '/'), ':', '/')`;
  const host = `substr(${slashed}, 1, instr(${slashed} || '/', '/') - 1)`;
  return `NULLIF(substr(${host}, CASE WHEN substr(${host}, 1, 4) = 'www.' THEN 5 ELSE 1 END), '')`;
}

const MACROS: Record<string, (line: number) => MacroFn> = {
  ref: (line) => (args, ctx, deps) => {
    arity('ref', args, 1, line, "ref('accounts')");
    deps.refs.push(args[0]!);
    return quoteIdent(ctx.relationFor ? ctx.relationFor(args[0]!) : args[0]!);
  },
  source: (line) => (args, _ctx, deps) => {
    arity('source', args, 2, line, "source('crm_csv', 'accounts')");
    const table = rawTableName(args[0]!, args[1]!);
    deps.sources.push({ connection: args[0]!, stream: args[1]!, table });
    return quoteIdent(table);
  },
  table: (line) => (args, _ctx, deps) => {
    arity('table', args, 1, line, "table('matches')");
    deps.tables.push(args[0]!);
    return quoteIdent(args[0]!);
  },
  string_agg: (line) => (args, ctx) => {
    arity('string_agg', args, 2, line, "string_agg('partner', ';')");
    const [expr, sep] = args as [string, string];
    // Ordered by the value in byte order (COLLATE "C" on Postgres), so the same rows give the same text on both databases.
    return ctx.dialect === 'postgres'
      ? `string_agg(${expr}, ${quoteLiteral(sep)} ORDER BY ${expr} COLLATE "C")`
      : `group_concat(${expr}, ${quoteLiteral(sep)} ORDER BY ${expr})`;
  },
  strpos: (line) => (args, ctx) => {
    arity('strpos', args, 2, line, `strpos('rest', "';'")`);
    return ctx.dialect === 'postgres' ? `strpos(${args[0]}, ${args[1]})` : `instr(${args[0]}, ${args[1]})`;
  },
  domain_of: (line) => (args, ctx) => {
    arity('domain_of', args, 1, line, "domain_of('website')");
    return domainSql(args[0]!, ctx.dialect);
  },
  json_names: (line) => (args, ctx) => {
    arity('json_names', args, 1, line, "json_names('partner_populations')");
    const e = args[0]!;
    // Crossbeam sends populations as [{id, name}]; plain arrays of names or ids work too.
    return ctx.dialect === 'postgres'
      ? `(SELECT string_agg(COALESCE(j.v ->> 'name', j.v #>> '{}'), ';' ORDER BY j.i) FROM jsonb_array_elements(CASE WHEN ${e} LIKE '[%' THEN CAST(${e} AS jsonb) ELSE '[]'::jsonb END) WITH ORDINALITY AS j(v, i))`
      : `(SELECT group_concat(COALESCE(json_extract(j.value, '$.name'), j.value), ';' ORDER BY j.key) FROM json_each(CASE WHEN ${e} LIKE '[%' THEN ${e} ELSE '[]' END) AS j)`;
  },
  var_list: (line) => (args, ctx) => {
    arity('var_list', args, 1, line, "var_list('strategicPartners')");
    const name = args[0] as ListVar;
    if (!(LIST_VARS as readonly string[]).includes(name)) throw new TemplateError(`var_list('${name}'): unknown list (one of ${LIST_VARS.join(', ')})`, line);
    const values = ctx.config[name];
    // `x IN (NULL)` is never true: an empty list selects nothing instead of being a syntax error.
    return values.length === 0 ? '(NULL)' : `(${values.map(quoteLiteral).join(', ')})`;
  },
};

export const MACRO_NAMES = Object.keys(MACROS);

/** Render a model's SQL; returns the SQL and what it depends on. Throws TemplateError with the line. */
export function renderTemplate(text: string, ctx: RenderContext): { sql: string; deps: TemplateDeps } {
  const deps: TemplateDeps = { refs: [], sources: [], tables: [] };
  const sql = text.replace(MACRO, (_whole: string, inner: string, offset: number) => {
    const line = lineAt(text, offset);
    const call = CALL.exec(inner);
    if (!call) throw new TemplateError(`{{${inner}}}: write macros as {{ name('arg', …) }}`, line);
    const [, name, argText] = call as unknown as [string, string, string];
    const macro = MACROS[name];
    if (!macro) throw new TemplateError(`unknown macro {{ ${name}(…) }} (known: ${MACRO_NAMES.join(', ')})`, line);
    return macro(line)(parseArgs(argText, line, name), ctx, deps);
  });
  const stray = /\{\{/.exec(sql);
  if (stray) throw new TemplateError('unclosed {{ (a macro must open and close on one line)', lineAt(sql, stray.index));
  return { sql, deps: { refs: unique(deps.refs), sources: uniqueBy(deps.sources, (s) => s.table), tables: unique(deps.tables) } };
}

const unique = (xs: string[]): string[] => [...new Set(xs)];
function uniqueBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

/** `-- key: value` lines at the top of a model (before the first SQL line). */
export function parseHeader(text: string): Record<string, string> {
  const header: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^--\s*([a-z_]+)\s*:\s*(.*?)\s*$/i.exec(line);
    if (m) header[m[1]!.toLowerCase()] = m[2]!;
    else if (!line.startsWith('--')) break;
  }
  return header;
}
