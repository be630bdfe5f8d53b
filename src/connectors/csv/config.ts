import { z } from 'zod';

export const CsvDialect = z.object({
  delimiter: z.string().min(1).max(2).default(','),
  quote: z.string().length(1).default('"'),
  encoding: z.enum(['utf8', 'utf-8', 'utf16le', 'utf-16', 'latin1', 'windows-1252', 'auto']).default('auto')
    .describe('auto = UTF-8 with or without BOM, UTF-16 when a BOM says so. Latin-1 only on request.'),
});

export const CsvStream = CsvDialect.partial().extend({
  file: z.string().min(1).describe('Path of the CSV file, relative to the config file.'),
  primaryKey: z.array(z.string()).optional().describe('Columns that identify a row (after mapping).'),
  columns: z.record(z.string(), z.string()).optional().describe('Rename columns: { their_name: our_name }.'),
  layout: z.enum(['plain', 'crossbeam-account-mapping']).default('plain'),
});

export const CsvConfig = CsvDialect.extend({
  type: z.literal('csv'),
  streams: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'stream names are lower_snake_case'), CsvStream),
  maxRejectRate: z.number().min(0).max(1).default(0.01),
});
export type CsvConfig = z.infer<typeof CsvConfig>;
