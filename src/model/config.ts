import { z } from 'zod';

/**
 * The `models:` section of partnersync.yaml: where the user's SQL models live, which raw tables feed
 * the built-in canonical models, and the lists the plays read.
 *
 * @example
 *   models:
 *     dir: models
 *     inputs:
 *       accounts: [{ source: crm_csv.accounts, kind: csv }]
 *       partner_signals: [{ source: crossbeam.overlaps_accounts, kind: crossbeam-api }]
 *       technographics: [{ source: techno_csv.technographics, kind: csv, optional: true }]
 *     strategicPartners: [Acme Cloud]
 *     aiTools: [OpenAI, Anthropic]
 */

/** The raw layouts each canonical model can read (columns per kind: `src/model/builtin/input-kinds.ts`). */
export const INPUT_KINDS = {
  accounts: ['csv', 'salesforce', 'hubspot'],
  contacts: ['csv', 'salesforce', 'hubspot'],
  opportunities: ['csv', 'salesforce', 'hubspot'],
  partner_signals: ['crossbeam-api', 'crossbeam-export', 'csv'],
  technographics: ['csv'],
} as const;
export type CanonicalModel = keyof typeof INPUT_KINDS;
export const CANONICAL_MODELS = Object.keys(INPUT_KINDS) as CanonicalModel[];

const sourceRef = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*\.[A-Za-z0-9_ -]+$/, 'write the source as <connection>.<stream>, e.g. crm_csv.accounts');

const input = <K extends readonly [string, ...string[]]>(kinds: K) =>
  z.object({
    source: sourceRef,
    kind: z.enum(kinds),
    /** A missing optional input is left out (an empty canonical table when none is there); a missing required one fails the run. */
    optional: z.boolean().default(false),
  });

const lower = (values: string[]) => values.map((v) => v.trim().toLowerCase()).filter(Boolean);

export const ModelsConfig = z
  .object({
    dir: z.string().min(1).default('models').describe('Folder of the project\'s *.sql models, relative to the config file.'),
    inputs: z
      .object({
        accounts: z.array(input(INPUT_KINDS.accounts)).default([]),
        contacts: z.array(input(INPUT_KINDS.contacts)).default([]),
        opportunities: z.array(input(INPUT_KINDS.opportunities)).default([]),
        partner_signals: z.array(input(INPUT_KINDS.partner_signals)).default([]),
        technographics: z.array(input(INPUT_KINDS.technographics)).default([]),
      })
      .strict()
      .prefault({}),
    /** Partners (by name, case-insensitive) whose customers matter for the churn-risk play. */
    strategicPartners: z.array(z.string()).default([]),
    /** AI tools we integrate with (technology or vendor name, case-insensitive) for the AI-prospects play. */
    aiTools: z.array(z.string()).default([]),
    /** Partner population names that mean "customer of the partner" (case-insensitive). */
    customerPopulations: z.array(z.string()).default(['Customers']),
    /** `accounts.churn_risk` values that mean "at risk" (case-insensitive). */
    churnRiskValues: z.array(z.string()).default(['high', 'at risk', 'true', 'yes', '1']),
    /** `accounts.lifecycle_stage` values that mean "prospect, not yet a customer" (case-insensitive). */
    prospectStages: z.array(z.string()).default(['prospect', 'lead', 'subscriber', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity']),
    /** Materialise these models as views instead of tables (a `-- materialized: view` header does the same). */
    views: z.array(z.string()).default([]),
    /** Leave the built-in models out (a project model of the same name replaces a built-in anyway). */
    disableBuiltins: z.array(z.string()).default([]),
  })
  .strict()
  .transform((c) => ({
    ...c,
    strategicPartners: lower(c.strategicPartners),
    aiTools: lower(c.aiTools),
    customerPopulations: lower(c.customerPopulations),
    churnRiskValues: lower(c.churnRiskValues),
    prospectStages: lower(c.prospectStages),
  }));
export type ModelsConfig = z.output<typeof ModelsConfig>;
export type ModelsConfigInput = z.input<typeof ModelsConfig>;
/** One configured input of a canonical model (kind narrowed per model by the schema). */
export interface ModelInput {
  source: string;
  kind: string;
  optional: boolean;
}

/** The list-valued settings a model can read with `{{ var_list('name') }}` (values lower-cased). */
export const LIST_VARS = ['strategicPartners', 'aiTools', 'customerPopulations', 'churnRiskValues', 'prospectStages'] as const;
export type ListVar = (typeof LIST_VARS)[number];
