import { z } from 'zod';
import { secret } from '../../config/secrets.js';

export const PostgresConfig = z.object({
  type: z.literal('postgres'),
  url: secret(z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://')),
  schema: z.string().default('public'),
  batchSize: z.number().int().positive().default(5000),
  streams: z.record(z.string(), z.object({
    table: z.string().optional(),
    query: z.string().optional(),
    primaryKey: z.array(z.string()).min(1),
    cursorField: z.string().optional(),
  })).default({}),
});
export type PostgresConfig = z.infer<typeof PostgresConfig>;
