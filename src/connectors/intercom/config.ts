import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

export const IntercomConfig = z.object({
  type: z.literal('intercom'),
  ...HttpSettings,
  accessToken: secret(z.string().min(1)),
  apiVersion: z.string().default('2.11'),
  requestsPerTenSeconds: z.number().int().positive().default(83),
  concurrency: z.number().int().min(1).max(32).default(4).describe('Push: requests in flight at once (still paced by requestsPerTenSeconds).'),
});
export type IntercomConfig = z.infer<typeof IntercomConfig>;
