import crypto from 'node:crypto';
import { z } from 'zod';
import { stableStringify } from '../staging/state.js';

/**
 * The schema of one entry of `targets:` in partnersync.yaml: which staging model is pushed where,
 * keyed how, with which field mappings and in which mode.
 *
 * @example
 *   targets:
 *     intercom_companies:
 *       connection: intercom
 *       model: partner_accounts            # a staging table (default: the target's name)
 *       object: companies                  # destination object / table / file name (default: the model)
 *       key: { source: domain, destination: company_id }   # or `key: domain` when both names match
 *       mode: upsert                       # upsert | update-only | create-only | mirror | archive
 *       fields:
 *         partner_count: { source: partner_count, type: number }
 *         partners: partner_names          # shorthand: destination field ← source column
 *         tier: { source: tier, skipNulls: true }
 *         first_partner_seen: { source: first_seen, type: datetime, onlyIfEmpty: true }
 *         owner_note: { source: note, protected: true }
 *       mirror: { maxRemoveShare: 0.2 }
 *       batchSize: 50
 *       maxRejectRate: 0.01
 */

export const FIELD_TYPES = ['string', 'number', 'boolean', 'datetime'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const PUSH_MODES = ['upsert', 'update-only', 'create-only', 'mirror', 'archive'] as const;
export type PushMode = (typeof PUSH_MODES)[number];

const column = z.string().min(1, 'a column name');

const FieldOptions = z
  .object({
    source: column.describe('Column of the model.'),
    type: z.enum(FIELD_TYPES).optional().describe('Checked and converted before sending; a value that does not convert makes the row invalid.'),
    skipNulls: z.boolean().default(false).describe('A null is not sent (the destination keeps its value) instead of clearing the field.'),
    onlyIfEmpty: z.boolean().default(false).describe('Written only while the destination field is empty.'),
    protected: z.boolean().default(false).describe('Written when partnersync creates the record, never overwritten afterwards, never cleared by mirror.'),
  })
  .strict();

const KeyOptions = z
  .object({
    source: column.describe('Model column whose value identifies the record.'),
    destination: z.string().min(1).describe('Destination field matched on (external id, domain, company_id, email…).'),
  })
  .strict();

export const TargetConfig = z
  .object({
    connection: z.string().min(1),
    model: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a staging table name').optional().describe('Staging table to push (default: the target name).'),
    object: z.string().min(1).optional().describe('Destination object, table or file name (default: the model).'),
    key: z.union([column, KeyOptions]).optional().describe('Required to push: the model column identifying a row, and the destination field it matches.'),
    mode: z.enum(PUSH_MODES).default('upsert'),
    fields: z.record(z.string().min(1), z.union([column, FieldOptions])).optional().describe('Destination field → model column; all model columns when omitted.'),
    mirror: z
      .object({
        maxRemoveShare: z.number().min(0).max(1).default(0.2).describe('Abort before sending when more than this share of the records partnersync wrote would be removed.'),
      })
      .strict()
      .prefault({}),
    batchSize: z.number().int().positive().optional().describe('At most this many records per write call (never above what the destination accepts).'),
    concurrency: z.number().int().positive().max(32).optional().describe('Write calls in flight at once (default: the destination\'s own).'),
    maxRejectRate: z.number().min(0).max(1).optional().describe('Default for --max-reject-rate for this target (default 0).'),
    rejectsFile: z.string().min(1).optional().describe('Where rejects are written; {run} and {target} are replaced. Default .partnersync/rejects/{run}-{target}.jsonl'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const keyDest = typeof t.key === 'string' ? t.key : t.key?.destination;
    if (keyDest && t.fields && keyDest in t.fields) {
      ctx.addIssue({ code: 'custom', path: ['fields', keyDest], message: `"${keyDest}" is the key field; it is sent with every record, do not map it again` });
    }
  });
export type TargetConfigInput = z.input<typeof TargetConfig>;
export type TargetConfig = z.output<typeof TargetConfig>;

export interface FieldMapping {
  destination: string;
  source: string;
  type?: FieldType;
  skipNulls: boolean;
  onlyIfEmpty: boolean;
  protected: boolean;
}

/** A target with every default resolved: what the planner, the hash and the plan file use. */
export interface ResolvedTarget {
  name: string;
  connection: string;
  model: string;
  object: string;
  key: { source: string; destination: string };
  mode: PushMode;
  /** Undefined: every model column except the key, unchanged (resolved against the model's columns). */
  fields: FieldMapping[];
  maxRemoveShare: number;
  batchSize?: number;
  concurrency?: number;
  maxRejectRate?: number;
  rejectsFile?: string;
}

/**
 * Resolve defaults. `columns` (the model's columns) is needed only when `fields` is omitted.
 * Throws a message (`targets.<name>.key: …`) when the target cannot be pushed as configured.
 */
export function resolveTarget(name: string, t: TargetConfig, columns?: string[]): ResolvedTarget {
  if (!t.key) throw new Error(`targets.${name}.key: required to push: the model column that identifies a row (e.g. key: account_id)`);
  const key = typeof t.key === 'string' ? { source: t.key, destination: t.key } : t.key;
  const model = t.model ?? name;
  let fields: FieldMapping[];
  if (t.fields) {
    fields = Object.entries(t.fields).map(([destination, m]) =>
      typeof m === 'string'
        ? { destination, source: m, skipNulls: false, onlyIfEmpty: false, protected: false }
        : { destination, source: m.source, type: m.type, skipNulls: m.skipNulls, onlyIfEmpty: m.onlyIfEmpty, protected: m.protected },
    );
  } else {
    fields = (columns ?? [])
      .filter((c) => c !== key.source)
      .map((c) => ({ destination: c, source: c, skipNulls: false, onlyIfEmpty: false, protected: false }));
  }
  return {
    name,
    connection: t.connection,
    model,
    object: t.object ?? model,
    key,
    mode: t.mode,
    fields,
    maxRemoveShare: t.mirror.maxRemoveShare,
    batchSize: t.batchSize,
    concurrency: t.concurrency,
    maxRejectRate: t.maxRejectRate,
    rejectsFile: t.rejectsFile,
  };
}

/**
 * Hash of everything that changes what a push would send: a saved plan is applied only while its
 * target still hashes the same (`--apply` refuses a plan made under another mapping or mode).
 */
export function targetConfigHash(t: ResolvedTarget, connectionType: string): string {
  const { rejectsFile: _r, maxRejectRate: _m, concurrency: _c, ...relevant } = t;
  return crypto.createHash('sha256').update(stableStringify({ ...relevant, connectionType })).digest('hex').slice(0, 32);
}
