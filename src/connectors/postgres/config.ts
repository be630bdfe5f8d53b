import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { SqlStreamConfig } from '../shared/sql-stream-config.js';

export const PostgresConfig = z.object({
  type: z.literal('postgres'),
  url: secret(z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://')),
  schema: z.string().default('public'),
  batchSize: z.number().int().positive().default(5000),
  streams: z.record(z.string(), SqlStreamConfig).default({}),
});
export type PostgresConfig = z.infer<typeof PostgresConfig>;
