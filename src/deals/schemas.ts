import { z } from 'zod';
import { DEAL_STAGES, SCOPES } from './config.js';

/**
 * The wire shapes of the deal API, in our vocabulary (snake_case, as partners' PRMs mostly speak).
 * These zod schemas are the single source: requests are validated with them and the OpenAPI document
 * (`openapi.ts`) is generated from them, so the two cannot drift. No transforms here: a schema with
 * transforms has no faithful JSON Schema; normalisation happens after parsing (`deal-service.ts`).
 *
 * @example
 *   const r = DealInput.safeParse({ deal_name: 'Acme renewal', company_name: 'Acme', stage: 'proposal',
 *                                   expected_close_date: '2025-09-30' });
 */

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);
/** A website as people write it: `acme.com`, `www.acme.com`, `https://acme.com/en`. */
export const WEBSITE_PATTERN = '^(https?://)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+(?::\\d{1,5})?(?:[/?#]\\S*)?$';

const fields = {
  deal_name: text(255).describe('What the partner calls the deal.'),
  company_name: text(255).describe('The prospect company.'),
  company_website: z.string().max(255).regex(new RegExp(WEBSITE_PATTERN), 'a website such as acme.com or https://www.acme.com').describe('Used to find the account.'),
  company_country: z.string().regex(/^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as US or DE').describe('ISO 3166-1 alpha-2.'),
  contact_name: text(255),
  contact_email: z.email('an e-mail address').max(320).describe("A contact at the prospect; a work address's domain helps find the account."),
  stage: z.enum(DEAL_STAGES, { error: `one of ${DEAL_STAGES.join(', ')}` }),
  amount_minor: z
    .number({ error: 'an integer amount in minor units (cents)' })
    .int('an integer amount in minor units (cents)')
    .min(0, 'must not be negative')
    .max(Number.MAX_SAFE_INTEGER)
    .describe('Expected amount in minor units of `currency` (12500.00 USD = 1250000).'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code in capitals, e.g. USD').describe('ISO 4217; required with amount_minor.'),
  expected_close_date: z.iso.date('a date as YYYY-MM-DD'),
  partner_reference: text(255).describe("The partner's own id of the deal."),
  notes: z.string().max(5000, 'at most 5000 characters'),
};

const amountNeedsCurrency = (v: { amount_minor?: unknown; currency?: unknown }, ctx: z.RefinementCtx) => {
  if (v.amount_minor !== undefined && v.amount_minor !== null && (v.currency === undefined || v.currency === null))
    ctx.addIssue({ code: 'custom', path: ['currency'], message: 'required with amount_minor' });
};

export const DealInput = z
  .object({
    deal_name: fields.deal_name,
    company_name: fields.company_name,
    company_website: fields.company_website.optional(),
    company_country: fields.company_country.optional(),
    contact_name: fields.contact_name.optional(),
    contact_email: fields.contact_email.optional(),
    stage: fields.stage,
    amount_minor: fields.amount_minor.optional(),
    currency: fields.currency.optional(),
    expected_close_date: fields.expected_close_date,
    partner_reference: fields.partner_reference.optional(),
    notes: fields.notes.optional(),
  })
  .strict()
  .superRefine(amountNeedsCurrency)
  .meta({ id: 'DealInput', description: 'A deal registration. Field names and values can be mapped per partner (deals.partners.<id> in the server config).' });
export type DealInput = z.output<typeof DealInput>;

/** PATCH: any subset; `null` clears an optional field. */
export const DealPatch = z
  .object({
    deal_name: fields.deal_name.optional(),
    company_name: fields.company_name.optional(),
    company_website: fields.company_website.nullable().optional(),
    company_country: fields.company_country.nullable().optional(),
    contact_name: fields.contact_name.nullable().optional(),
    contact_email: fields.contact_email.nullable().optional(),
    stage: fields.stage.optional(),
    amount_minor: fields.amount_minor.nullable().optional(),
    currency: fields.currency.nullable().optional(),
    expected_close_date: fields.expected_close_date.optional(),
    partner_reference: fields.partner_reference.nullable().optional(),
    notes: fields.notes.nullable().optional(),
  })
  .strict()
  .meta({ id: 'DealPatch', description: 'Changes to a deal that is not accepted or rejected yet; null clears an optional field.' });
export type DealPatch = z.output<typeof DealPatch>;

export const DEAL_STATUSES = ['submitted', 'conflict', 'accepted', 'rejected'] as const;
export type DealStatus = (typeof DEAL_STATUSES)[number];
export const MATCH_STATUSES = ['matched', 'review', 'new'] as const;
export type DealMatchStatus = (typeof MATCH_STATUSES)[number];
export const CONFLICT_REASONS = ['partner_registered', 'open_opportunity'] as const;
export type ConflictReason = (typeof CONFLICT_REASONS)[number];

const nullable = <T extends z.ZodType>(s: T) => s.nullable();

export const Deal = z
  .object({
    id: z.string().describe('Our id of the deal.'),
    status: z.enum(DEAL_STATUSES).describe('submitted: waiting for review; conflict: a person decides; accepted / rejected: decided.'),
    match: z
      .object({
        status: z.enum(MATCH_STATUSES).describe('matched: an existing account; review: several candidates, a person decides; new: no account yet.'),
      })
      .strict(),
    conflict: nullable(z.object({ reason: z.enum(CONFLICT_REASONS), message: z.string() }).strict()).describe('Why the deal waits for a person.'),
    deal_name: z.string(),
    company_name: z.string(),
    company_website: nullable(z.string()),
    company_country: nullable(z.string()),
    contact_name: nullable(z.string()),
    contact_email: nullable(z.string()),
    stage: z.enum(DEAL_STAGES),
    amount_minor: nullable(z.number().int()),
    currency: nullable(z.string()),
    expected_close_date: z.string(),
    partner_reference: nullable(z.string()),
    notes: nullable(z.string()),
    extra: nullable(z.record(z.string(), z.unknown())).describe('Fields outside our schema, kept when the partner is configured to keep them.'),
    registered_at: z.string(),
    updated_at: z.string(),
    decided_at: nullable(z.string()),
  })
  .strict()
  .meta({ id: 'Deal' });
export type Deal = z.output<typeof Deal>;

export const DealList = z
  .object({
    data: z.array(Deal),
    next_cursor: nullable(z.string()).describe('Pass as `cursor` for the next page; null on the last page.'),
  })
  .strict()
  .meta({ id: 'DealList' });

export const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().min(1).optional(),
    status: z.enum(DEAL_STATUSES).optional(),
  })
  .strict();

export const InvalidParam = z
  .object({
    field: z.string().describe("The field as the caller named it (the partner's own name when mapped)."),
    pointer: z.string().describe('JSON Pointer into the request body.'),
    code: z.string(),
    detail: z.string(),
  })
  .strict()
  .meta({ id: 'InvalidParam' });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string().describe('Stable machine-readable code (also the last part of `type`).'),
    errors: z.array(InvalidParam).optional().describe('Every invalid field of the request (422).'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

export const TokenRequest = z
  .object({
    grant_type: z.literal('client_credentials'),
    scope: z.string().optional().describe(`Space-separated: ${SCOPES.join(', ')}. Default: every scope the client has.`),
    client_id: z.string().optional().describe('Or HTTP Basic authentication.'),
    client_secret: z.string().optional(),
  })
  .meta({ id: 'TokenRequest' });

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    scope: z.string(),
  })
  .strict()
  .meta({ id: 'TokenResponse' });

export const OAuthError = z
  .object({ error: z.enum(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']), error_description: z.string().optional() })
  .meta({ id: 'OAuthError' });
