import { PartnersyncError } from '../../errors.js';
import { rawTableName } from '../../staging/raw-tables.js';
import type { CanonicalModel, ModelInput } from '../config.js';
import { CANONICAL_COLUMNS, INPUT_COLUMNS, type ColumnSpec } from './input-kinds.js';

/**
 * Generates the SQL of a canonical model from its configured inputs and the columns their raw tables
 * actually have, so a CSV without a `duns` column still loads (duns is NULL) while one without any
 * name column fails with a message that says which column is expected.
 */
export interface ResolvedInput extends ModelInput {
  connection: string;
  stream: string;
  table: string;
}

export function resolveInput(input: ModelInput): ResolvedInput {
  const dot = input.source.indexOf('.');
  const connection = input.source.slice(0, dot);
  const stream = input.source.slice(dot + 1);
  return { ...input, connection, stream, table: rawTableName(connection, stream) };
}

/** Columns computed by the outer select of the generated SQL, not read from raw tables. */
const COMPUTED: Partial<Record<CanonicalModel, Record<string, string>>> = {
  accounts: { domain: "{{ domain_of('website') }}" },
  technographics: { domain: "{{ domain_of('domain') }}" },
};

const blankToNull = (col: string) => `NULLIF(TRIM(${col}), '')`;

function valueSql(spec: ColumnSpec, have: ReadonlySet<string>): string | undefined {
  const cols = spec.from.filter((c) => have.has(c));
  if (cols.length === 0) return undefined;
  if (spec.transform === 'json-names') return `NULLIF({{ json_names('${cols[0]}') }}, '')`;
  const first = cols.length === 1 ? blankToNull(cols[0]!) : `COALESCE(${cols.map(blankToNull).join(', ')})`;
  // Extra domains arrive as `a.com, b.com` or `a.com;b.com`: one `;`-separated lower-case list.
  if (spec.transform === 'domain-list') return `NULLIF(lower(replace(replace(${first}, ',', ';'), ' ', '')), '')`;
  return first;
}

export class ModelInputError extends PartnersyncError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'MODEL_INPUT', hint });
  }
}

/**
 * @param columns raw table → its columns; `undefined` when the table is not in staging.
 * @example
 *   canonicalSql('accounts', [resolveInput({ source: 'crm_csv.accounts', kind: 'csv', optional: false })],
 *     new Map([['raw_crm_csv__accounts', new Set(['_key', '_deleted', 'id', 'name'])]]))
 */
export function canonicalSql(model: CanonicalModel, inputs: readonly ResolvedInput[], columns: ReadonlyMap<string, ReadonlySet<string> | undefined>): string {
  const canonical = CANONICAL_COLUMNS[model];
  const computed = COMPUTED[model] ?? {};
  const parts: string[] = [];
  for (const input of inputs) {
    const have = columns.get(input.table);
    if (!have) {
      if (input.optional) continue;
      throw new ModelInputError(
        `model ${model}: input table ${input.table} (${input.source}, kind ${input.kind}) is not in staging`,
        `run \`partnersync extract ${input.connection}\` first, or mark the input optional: true in models.inputs.${model}`,
      );
    }
    const spec = (INPUT_COLUMNS[model] as Record<string, Record<string, ColumnSpec>>)[input.kind];
    if (!spec) throw new ModelInputError(`model ${model}: input ${input.source} has unknown kind ${input.kind}`);
    const select: string[] = [];
    for (const col of canonical) {
      if (col === 'source') {
        select.push(`'${input.source.replaceAll("'", "''")}' AS source`);
        continue;
      }
      const s = spec[col];
      if (!s) {
        // A computed column without its own raw spec (accounts.domain) is derived by the outer select.
        if (!(col in computed)) select.push(`CAST(NULL AS TEXT) AS ${col}`);
        continue;
      }
      let v = valueSql(s, have);
      if (v === undefined && s.required) {
        throw new ModelInputError(
          `model ${model}: input table ${input.table} (${input.source}, kind ${input.kind}) has no column for ${col} (expected one of: ${s.from.join(', ')})`,
          `rename the column in the connection's stream config (columns: { theirs: ${s.from[0]} }), or pick the matching kind`,
        );
      }
      if (col === 'signal_id' && inputs.length > 1) v = `'${input.source.replaceAll("'", "''")}:' || ${v}`;
      select.push(`${v ?? 'CAST(NULL AS TEXT)'} AS ${col}`);
    }
    parts.push(`SELECT ${select.join(', ')} FROM {{ source('${input.connection}', '${input.stream}') }} WHERE _deleted = 0`);
  }
  const outer = canonical.map((col) => (col in computed ? `${computed[col]} AS ${col}` : col)).join(', ');
  if (parts.length === 0) {
    // No input configured or present: an empty table with the canonical columns, so what reads it still runs.
    return `-- ${model}: no input present (models.inputs.${model})\nSELECT ${canonical.map((c) => `CAST(NULL AS TEXT) AS ${c}`).join(', ')} WHERE 1 = 0\n`;
  }
  return `-- ${model}: ${inputs.map((i) => `${i.source} (${i.kind})`).join(', ')}\nSELECT ${outer}\nFROM (\n${parts.join('\nUNION ALL\n')}\n) u\n`;
}
