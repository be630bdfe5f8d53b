import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

export const HubspotConfig = z.object({
  type: z.literal('hubspot'),
  ...HttpSettings,
  accessToken: secret(z.string().min(1)).describe('Private-app access token.'),
  requestsPerTenSeconds: z.number().int().positive().default(100),
});
export type HubspotConfig = z.infer<typeof HubspotConfig>;
