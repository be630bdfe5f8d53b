import { z } from 'zod';

/** A destination that writes files: JSONL and/or CSV, one file per target, replaced atomically. */
export const FileConfig = z.object({
  type: z.literal('file'),
  dir: z.string().min(1).describe('Output folder, relative to the config file.'),
  formats: z.array(z.enum(['jsonl', 'csv'])).min(1).default(['jsonl', 'csv']),
});
export type FileConfig = z.infer<typeof FileConfig>;
