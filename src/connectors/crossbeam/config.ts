import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

export const CrossbeamConfig = z.object({
  type: z.literal('crossbeam'),
  ...HttpSettings,
  baseUrl: z.url().default('https://api.crossbeam.com'),
  organization: z.string().min(1).describe('Crossbeam organization UUID (sent as Xbeam-Organization).'),
  clientId: z.string().optional(),
  clientSecret: secret(z.string()).optional(),
  refreshToken: secret(z.string()).optional(),
  accessToken: secret(z.string()).optional(),
  pageSize: z.number().int().min(1).max(1000).default(100),
});
export type CrossbeamConfig = z.infer<typeof CrossbeamConfig>;
