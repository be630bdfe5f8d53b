import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

const FieldList = z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce field API name')).optional();

export const SalesforceConfig = z.object({
  type: z.literal('salesforce'),
  ...HttpSettings,
  loginUrl: z.url().default('https://login.salesforce.com'),
  instanceUrl: z.url().optional(),
  apiVersion: z.string().regex(/^\d+\.\d$/).default('59.0'),
  clientId: z.string().optional(),
  clientSecret: secret(z.string()).optional(),
  username: z.string().optional(),
  password: secret(z.string()).optional().describe('Password, with the security token appended when the org requires one.'),
  accessToken: secret(z.string()).optional(),
  refreshToken: secret(z.string()).optional(),
  bulkThreshold: z.number().int().min(1).default(2000).describe('Above this many rows, use Bulk API 2.0.'),
  /** Fields read on top of the built-in ones (e.g. `Crossbeam_Id__c`); a field that does not exist is an error. */
  extraFields: z
    .object({ Account: FieldList, Contact: FieldList, Opportunity: FieldList })
    .strict()
    .default({})
    .describe('Extra fields per object, read in addition to the defaults.'),
  overlapMinutes: z
    .number()
    .min(0)
    .default(5)
    .describe('Incremental reads start this many minutes before the last SystemModstamp seen (late commits; upserts make re-reads harmless).'),
  queryBatchSize: z.number().int().min(200).max(2000).default(2000).describe('Rows per SOQL page (Sforce-Query-Options batchSize).'),
  bulkPollTimeoutMs: z.number().int().positive().default(600_000).describe('How long to wait for a Bulk API 2.0 query job.'),
  bulkPollIntervalMs: z.number().int().positive().default(2000).describe('Push: how often a Bulk API 2.0 ingest job is polled.'),
});
export type SalesforceConfig = z.infer<typeof SalesforceConfig>;
