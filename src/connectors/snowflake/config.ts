import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { SqlStreamConfig } from '../shared/sql-stream-config.js';

export const SnowflakeConfig = z.object({
  type: z.literal('snowflake'),
  account: z.string().min(1),
  username: z.string().min(1),
  password: secret(z.string().min(1)),
  warehouse: z.string().optional(),
  database: z.string().min(1),
  schema: z.string().default('PUBLIC'),
  role: z.string().optional(),
  accessUrl: z.url().optional().describe('Override the endpoint (an emulator).'),
  batchSize: z.number().int().positive().default(5000),
  streams: z.record(z.string(), SqlStreamConfig).default({}),
});
export type SnowflakeConfig = z.infer<typeof SnowflakeConfig>;
