import { z } from 'zod';

/**
 * One stream of a SQL connection (Postgres, Snowflake): a table or a query, the primary key that
 * orders its keyset pages, and optionally a cursor column that only grows (for incremental reads).
 * One schema for every SQL connector's `streams:` entries, so they accept the same settings;
 * "exactly one of table or query" is checked by SqlSource, which reads them.
 *
 * @example
 *   streams: z.record(z.string(), SqlStreamConfig).default({}),
 *   // partnersync.yaml: streams: { accounts: { table: accounts, primaryKey: [id], cursorField: updated_at } }
 */
export const SqlStreamConfig = z
  .object({
    table: z.string().optional(),
    query: z.string().optional(),
    primaryKey: z.array(z.string()).min(1),
    cursorField: z.string().optional(),
    snapshot: z.boolean().default(false)
      .describe('Without a cursor: each complete read is the whole table, so staged rows it did not return are marked deleted. Off: rows only come and change.'),
  })
  // An incremental read returns only what changed: rows it did not return were not deleted.
  .refine((s) => !(s.snapshot && s.cursorField), { message: 'snapshot: true reads the whole table each run; it cannot be combined with cursorField', path: ['snapshot'] });
export type SqlStreamConfig = z.infer<typeof SqlStreamConfig>;
