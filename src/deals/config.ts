import { z } from 'zod';
import { secret } from '../config/secrets.js';

/**
 * The `deals:` section of partnersync.yaml: the partner deal-submission API that `partnersync serve`
 * mounts under `basePath`. Partners and their credentials live in staging (`partnersync partners
 * add`); this section holds what is policy: token lifetimes, limits, the conflict window, and how each
 * partner's field names and values map onto ours.
 *
 * @example
 *   deals:
 *     tokenSecret: ${PARTNERSYNC_DEALS_TOKEN_SECRET}   # HMAC key of OAuth access tokens (≥ 32 chars)
 *     conflictWindowDays: 90
 *     rateLimit: { requests: 120, perSeconds: 60 }
 *     mapping:                                          # defaults for every partner
 *       unknownFields: reject
 *     partners:
 *       northwind:                                      # the partner id of `partners add northwind`
 *         unknownFields: keep                           # kept in the deal's `extra`
 *         fields: { opportunity: deal_name, 'account.name': company_name, 'account.domain': company_website }
 *         values:
 *           stage: { 'Stage 1 - Discover': prospecting, 'Stage 4 - Commit': negotiation }
 *     crm:
 *       targets: [deals_to_salesforce, deals_to_hubspot]   # `targets:` entries with model: deals_accepted
 */

/** Our deal stages; partners' own stage names map onto these (`values.stage`). */
export const DEAL_STAGES = ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'] as const;
export type DealStage = (typeof DEAL_STAGES)[number];

/** Our field names, the targets of a partner's `fields` mapping. */
export const DEAL_FIELDS = [
  'deal_name',
  'company_name',
  'company_website',
  'company_country',
  'contact_name',
  'contact_email',
  'stage',
  'amount_minor',
  'currency',
  'expected_close_date',
  'partner_reference',
  'notes',
] as const;
export type DealField = (typeof DEAL_FIELDS)[number];

export const SCOPES = ['deals:read', 'deals:write'] as const;
export type Scope = (typeof SCOPES)[number];

const RateLimit = z
  .object({
    requests: z.number().int().positive().describe('Requests allowed per window (a token bucket of this size).'),
    perSeconds: z.number().positive().describe('Window in seconds over which the bucket refills.'),
  })
  .strict();
export type RateLimitConfig = z.output<typeof RateLimit>;

export const PartnerMapping = z
  .object({
    fields: z
      .record(z.string().min(1), z.enum(DEAL_FIELDS))
      .default({})
      .describe("Their field name (a dot path into their JSON, e.g. account.domain) → our field name."),
    values: z
      .partialRecord(z.enum(DEAL_FIELDS), z.record(z.string(), z.string()))
      .default({})
      .describe('Per our field: their value → ours (e.g. stage: { "Stage 1 - Discover": prospecting }). Matched exactly, then ignoring case.'),
    unknownFields: z.enum(['reject', 'keep']).optional().describe('A field neither ours nor mapped: reject the request (422), or keep it in the deal\'s `extra`.'),
    rateLimit: RateLimit.optional().describe('This partner\'s own limit (default: deals.rateLimit).'),
  })
  .strict();
export type PartnerMapping = z.output<typeof PartnerMapping>;

const DEFAULT_SALESFORCE_STAGES: Record<DealStage, string> = {
  prospecting: 'Prospecting',
  qualification: 'Qualification',
  proposal: 'Proposal/Price Quote',
  negotiation: 'Negotiation/Review',
  closed_won: 'Closed Won',
  closed_lost: 'Closed Lost',
};
const DEFAULT_HUBSPOT_STAGES: Record<DealStage, string> = {
  prospecting: 'appointmentscheduled',
  qualification: 'qualifiedtobuy',
  proposal: 'presentationscheduled',
  negotiation: 'contractsent',
  closed_won: 'closedwon',
  closed_lost: 'closedlost',
};

export const DealsConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Mount the deal API in `partnersync serve`.'),
    basePath: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'a path like /api/v1').default('/api/v1'),
    tokenSecret: secret(z.string().min(32, 'at least 32 characters (e.g. `openssl rand -base64 48`)'))
      .optional()
      .describe('HMAC-SHA256 key of OAuth access tokens. Unset: a random key per process (tokens die with it).'),
    tokenTtlSeconds: z.number().int().min(60).max(86_400).default(900).describe('Lifetime of an OAuth access token.'),
    apiKeyTtlDays: z.number().int().min(1).max(3650).default(365).describe('Default expiry of new API keys and OAuth clients.'),
    bodyLimitBytes: z.number().int().positive().max(1_048_576).default(65_536),
    rateLimit: RateLimit.default({ requests: 120, perSeconds: 60 }).describe('Per partner, over every deal API call.'),
    conflictWindowDays: z.number().int().min(0).default(90).describe("Another partner's registration of the same account within this many days is a conflict."),
    pageSize: z.object({ default: z.number().int().min(1).default(50), max: z.number().int().min(1).max(1000).default(200) }).strict().prefault({}),
    matchRefreshSeconds: z.number().min(0).default(60).describe('How long the account index built from staging `accounts` is reused before it is rebuilt.'),
    mapping: PartnerMapping.prefault({}).describe('Defaults for every partner.'),
    partners: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'partner ids use lower-case letters, digits, _ and -'), PartnerMapping).default({}),
    crm: z
      .object({
        targets: z.array(z.string().min(1)).default([]).describe('`targets:` entries (model: deals_accepted) that `deals accept` and `deals push` push.'),
        salesforceStages: z.partialRecord(z.enum(DEAL_STAGES), z.string().min(1)).default({}).describe('Our stage → Salesforce StageName (deals_accepted.salesforce_stage).'),
        hubspotStages: z.partialRecord(z.enum(DEAL_STAGES), z.string().min(1)).default({}).describe('Our stage → HubSpot dealstage (deals_accepted.hubspot_stage).'),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type DealsConfigInput = z.input<typeof DealsConfig>;
export type DealsConfig = z.output<typeof DealsConfig>;

/** A partner's effective mapping: the defaults with the partner's own entries on top. */
export interface ResolvedMapping {
  fields: Record<string, DealField>;
  values: Partial<Record<DealField, Record<string, string>>>;
  unknownFields: 'reject' | 'keep';
  rateLimit: RateLimitConfig;
}

export function resolveMapping(config: DealsConfig, partnerId: string): ResolvedMapping {
  const own = Object.hasOwn(config.partners, partnerId) ? config.partners[partnerId] : undefined;
  const base = config.mapping;
  const values: ResolvedMapping['values'] = { ...base.values };
  for (const [field, map] of Object.entries(own?.values ?? {})) values[field as DealField] = { ...(values[field as DealField] ?? {}), ...map };
  return {
    fields: { ...base.fields, ...(own?.fields ?? {}) },
    values,
    unknownFields: own?.unknownFields ?? base.unknownFields ?? 'reject',
    rateLimit: own?.rateLimit ?? base.rateLimit ?? config.rateLimit,
  };
}

export function crmStage(config: DealsConfig, crm: 'salesforce' | 'hubspot', stage: DealStage): string {
  const over = crm === 'salesforce' ? config.crm.salesforceStages : config.crm.hubspotStages;
  return over[stage] ?? (crm === 'salesforce' ? DEFAULT_SALESFORCE_STAGES : DEFAULT_HUBSPOT_STAGES)[stage];
}
