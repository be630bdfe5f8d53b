import { z } from 'zod';
import { secret } from '../config/secrets.js';

/**
 * The `serve:` section of partnersync.yaml: where the server listens, which webhook sources it
 * accepts (one route each, `POST <basePath>/<source name>`), how the inbox worker retries, and what
 * each event does (actions).
 *
 * @example
 *   serve:
 *     host: 127.0.0.1
 *     port: 8787
 *     sources:
 *       crossbeam:
 *         scheme: crossbeam
 *         secrets: ['${XB_WEBHOOK_SECRET}', '${XB_WEBHOOK_SECRET_PREVIOUS:-}']   # rotation: old + new
 *         connection: crossbeam            # for `webhooks backfill`
 *       billing:
 *         scheme: hmac
 *         secret: ${BILLING_WEBHOOK_SECRET}
 *         hmac: { header: X-Signature, prefix: 'sha256=', encoding: hex, signed: '{timestamp}.{body}',
 *                 timestampHeader: X-Timestamp, eventId: { path: id } }
 *     worker: { maxAttempts: 8, backoff: { initialSeconds: 5, maxSeconds: 3600 } }
 *     actions:
 *       - name: partner-deal-stage
 *         source: crossbeam
 *         eventTypes: [partner_deal_opened, partner_deal_closed_won]
 *         connection: salesforce
 *         object: Account
 *         key: record_id                   # event field holding our CRM id
 *         fields:
 *           Partner_Deal_Stage__c: partner_data.deal.stage
 *           Partner_Name__c: partner_name
 */

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'names use letters, digits, _ and -');
const secretString = secret(z.string());

export const SIGNATURE_SCHEMES = ['crossbeam', 'standard-webhooks', 'hubspot-v3', 'hmac'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** Where a generic HMAC source finds the event id (the deduplication key). */
const EventIdLocation = z
  .object({
    header: z.string().min(1).optional().describe('Request header holding the event id (e.g. webhook-id).'),
    path: z.string().min(1).optional().describe('Dot path into the JSON body (e.g. id, data.event_id).'),
  })
  .strict()
  .refine((v) => Boolean(v.header) !== Boolean(v.path), { message: 'set exactly one of header or path' });

export const GenericHmacConfig = z
  .object({
    header: z.string().min(1).describe('Header carrying the signature, e.g. X-Signature.'),
    algorithm: z.enum(['sha256', 'sha1', 'sha512']).default('sha256'),
    encoding: z.enum(['hex', 'base64', 'base64url']).default('hex'),
    prefix: z.string().default('').describe('Text before the signature in the header, e.g. "sha256=".'),
    signed: z
      .string()
      .min(1)
      .default('{body}')
      .describe('What is signed: a template of {body}, {timestamp}, {id}, {method}, {url}, e.g. "{timestamp}.{body}".'),
    timestampHeader: z.string().min(1).optional().describe('Header with the send time; required when `signed` uses {timestamp}.'),
    timestampUnit: z.enum(['s', 'ms']).default('s'),
    secretEncoding: z.enum(['utf8', 'base64', 'hex']).default('utf8').describe('How the secret string becomes key bytes.'),
    eventId: EventIdLocation.optional().describe('Deduplication key; default: the SHA-256 of the body.'),
    eventType: z.string().min(1).optional().describe('Dot path of the event type in the body (e.g. type).'),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.signed.includes('{timestamp}') && !h.timestampHeader) {
      ctx.addIssue({ code: 'custom', path: ['timestampHeader'], message: 'required because `signed` contains {timestamp}' });
    }
    if (h.signed.includes('{id}') && !h.eventId?.header) {
      ctx.addIssue({ code: 'custom', path: ['eventId', 'header'], message: 'required because `signed` contains {id}' });
    }
    if (!h.signed.includes('{body}')) ctx.addIssue({ code: 'custom', path: ['signed'], message: 'must contain {body}: an unsigned body could be forged' });
  });
export type GenericHmacConfig = z.output<typeof GenericHmacConfig>;

export const SourceConfig = z
  .object({
    scheme: z.enum(SIGNATURE_SCHEMES),
    secret: secretString.optional().describe('Signing secret (Standard Webhooks: whsec_…; HubSpot: the app client secret).'),
    secrets: z.array(secretString).optional().describe('Several secrets during a rotation: a request signed with any of them is accepted.'),
    toleranceSeconds: z.number().int().positive().max(86_400).default(300).describe('Reject timestamps further than this from now, in either direction.'),
    bodyLimitBytes: z.number().int().positive().optional().describe('Per-source body limit (default: serve.bodyLimitBytes).'),
    hmac: GenericHmacConfig.optional().describe('Required for scheme: hmac.'),
    publicUrl: z.url().optional().describe('hubspot-v3: the URL as HubSpot calls it (behind a proxy the local URL differs).'),
    connection: z.string().min(1).optional().describe('crossbeam: the connection `webhooks backfill` reads signals from.'),
  })
  .strict()
  .superRefine((s, ctx) => {
    // Empty strings come from `${VAR:-}` of a rotation slot that is not in use: not a secret.
    const all = [...(s.secret ? [s.secret] : []), ...(s.secrets ?? [])].filter((x) => x !== '');
    if (all.length === 0) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required: set secret (or secrets, for a rotation) as ${ENV_VAR}' });
    if (s.scheme === 'hmac' && !s.hmac) ctx.addIssue({ code: 'custom', path: ['hmac'], message: 'required for scheme: hmac' });
    if (s.scheme !== 'hmac' && s.hmac) ctx.addIssue({ code: 'custom', path: ['hmac'], message: `only for scheme: hmac (this source is ${s.scheme})` });
    if (s.scheme === 'standard-webhooks') {
      all.forEach((x) => {
        if (!/^whsec_[A-Za-z0-9+/=]+$/.test(x)) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'a Standard Webhooks secret looks like whsec_<base64>' });
      });
    }
  });
export type SourceConfig = z.output<typeof SourceConfig>;

/** The secrets of a source in order of preference, empty rotation slots dropped. */
export function sourceSecrets(s: Pick<SourceConfig, 'secret' | 'secrets'>): string[] {
  return [...(s.secret ? [s.secret] : []), ...(s.secrets ?? [])].filter((x) => x !== '');
}

/** A field value: a dot path into the event (`partner_data.deal.stage`), or a constant. */
const FieldSource = z.union([
  z.string().min(1),
  z.object({ path: z.string().min(1), default: z.unknown().optional() }).strict(),
  z.object({ value: z.unknown() }).strict(),
]);
export type FieldSource = z.output<typeof FieldSource>;

export const ActionConfig = z
  .object({
    name: name.optional(),
    source: z.string().min(1).describe('Which webhook source this action handles.'),
    eventTypes: z.array(z.string().min(1)).optional().describe('Event types handled; all when omitted.'),
    kind: z.enum(['destination', 'http']).default('destination'),
    connection: z.string().min(1).optional().describe('destination: the connection written to (salesforce, hubspot, intercom…).'),
    object: z.string().min(1).optional().describe('destination: the object updated, e.g. Account or Opportunity.'),
    operation: z.enum(['update', 'upsert']).default('update'),
    keyField: z.string().min(1).default('Id').describe('destination: the field the key is matched on.'),
    key: z.string().min(1).default('record_id').describe('Dot path of the key in the event (Crossbeam: record_id = our CRM id).'),
    fields: z.record(z.string().min(1), FieldSource).default({}).describe('Destination field ← event path or { value }.'),
    url: z.url().optional().describe('http: forward the raw event to this URL (with Idempotency-Key).'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.kind === 'destination') {
      if (!a.connection) ctx.addIssue({ code: 'custom', path: ['connection'], message: 'required for a destination action' });
      if (!a.object) ctx.addIssue({ code: 'custom', path: ['object'], message: 'required for a destination action' });
      if (Object.keys(a.fields).length === 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'map at least one field' });
    }
    if (a.kind === 'http' && !a.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required for an http action' });
  });
export type ActionConfig = z.output<typeof ActionConfig>;

export const WorkerConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Process the inbox in this process (false: receive only).'),
    concurrency: z.number().int().min(1).max(64).default(4),
    batchSize: z.number().int().min(1).max(500).default(50).describe('Rows claimed per poll.'),
    pollIntervalMs: z.number().int().min(10).default(500),
    maxAttempts: z.number().int().min(1).max(100).default(8).describe('After this many failed attempts an event is dead.'),
    leaseSeconds: z.number().int().min(1).default(120).describe('A claimed event not finished in this time (worker died) is claimed again.'),
    backoff: z
      .object({
        initialSeconds: z.number().min(0).default(5),
        factor: z.number().min(1).default(3),
        maxSeconds: z.number().min(0).default(3600),
        jitter: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type WorkerConfig = z.output<typeof WorkerConfig>;

export const ServeConfig = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(8787),
    basePath: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'a path like /webhooks').default('/webhooks'),
    bodyLimitBytes: z.number().int().positive().default(1_048_576),
    /** Group commit: accepted events arriving within this window share one transaction (one fsync). */
    groupCommitMs: z.number().min(0).max(50).default(2),
    groupCommitMaxEvents: z.number().int().min(1).max(2000).default(256),
    /** Graceful shutdown: how long in-flight requests get to finish before connections are cut. */
    shutdownGraceMs: z.number().int().min(0).default(10_000),
    sources: z.record(name, SourceConfig).default({}),
    worker: WorkerConfig.prefault({}),
    actions: z.array(ActionConfig).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.actions.forEach((a, i) => {
      if (!s.sources[a.source]) ctx.addIssue({ code: 'custom', path: ['actions', i, 'source'], message: `no source named "${a.source}" in serve.sources` });
    });
  });
export type ServeConfigInput = z.input<typeof ServeConfig>;
export type ServeConfig = z.output<typeof ServeConfig>;
