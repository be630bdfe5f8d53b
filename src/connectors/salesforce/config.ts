import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

export const SalesforceConfig = z.object({
  type: z.literal('salesforce'),
  ...HttpSettings,
  loginUrl: z.url().default('https://login.salesforce.com'),
  instanceUrl: z.url().optional(),
  apiVersion: z.string().regex(/^\d+\.\d$/).default('59.0'),
  clientId: z.string().optional(),
  clientSecret: secret(z.string()).optional(),
  username: z.string().optional(),
  password: secret(z.string()).optional(),
  accessToken: secret(z.string()).optional(),
  refreshToken: secret(z.string()).optional(),
  bulkThreshold: z.number().int().min(1).default(2000).describe('Above this many rows, use Bulk API 2.0.'),
});
export type SalesforceConfig = z.infer<typeof SalesforceConfig>;
