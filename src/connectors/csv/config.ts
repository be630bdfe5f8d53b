import { z } from 'zod';

export const CsvDialect = z.object({
  delimiter: z.string().min(1).max(2).default(','),
  quote: z.string().length(1).default('"'),
  encoding: z.enum(['utf8', 'utf-8', 'utf16le', 'utf-16', 'latin1', 'windows-1252', 'auto']).default('auto')
    .describe('auto = UTF-8 with or without BOM, UTF-16 when a BOM says so. Latin-1 only on request.'),
});

// Stream-level dialect overrides have no defaults of their own: unset means "the connection's".
export const CsvStream = z.object({
  delimiter: z.string().min(1).max(2).optional(),
  quote: z.string().length(1).optional(),
  encoding: CsvDialect.shape.encoding.unwrap().optional(),
  file: z.string().min(1).describe('Path of the CSV file, relative to the config file.'),
  primaryKey: z.array(z.string()).optional().describe('Columns that identify a row (after mapping).'),
  columns: z.record(z.string(), z.string()).optional().describe('Rename columns: { their_name: our_name }.'),
  layout: z.enum(['auto', 'plain', 'crossbeam-account-mapping']).default('auto')
    .describe('auto recognises Crossbeam account-mapping exports by their header; plain takes columns as they are.'),
  snapshot: z.boolean().default(false)
    .describe('The file is the whole table: when it is read from the start to the end, staged rows not in it are marked deleted. Off: rows only come and change (append-style files).'),
});
export type CsvStream = z.infer<typeof CsvStream>;

export const CsvConfig = CsvDialect.extend({
  type: z.literal('csv'),
  streams: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'stream names are lower_snake_case'), CsvStream),
  maxRejectRate: z.number().min(0).max(1).default(0.01),
  batchSize: z.number().int().min(1).max(100_000).default(2000).describe('Rows per staging transaction (and per checkpoint).'),
  maxRecordBytes: z.number().int().min(1024).default(1_048_576)
    .describe('A record longer than this (e.g. an unclosed quote swallowing the file) is rejected, keeping memory bounded.'),
});
export type CsvConfig = z.infer<typeof CsvConfig>;
