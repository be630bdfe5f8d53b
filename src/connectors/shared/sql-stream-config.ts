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
export const SqlStreamConfig = z.object({
  table: z.string().optional(),
  query: z.string().optional(),
  primaryKey: z.array(z.string()).min(1),
  cursorField: z.string().optional(),
});
export type SqlStreamConfig = z.infer<typeof SqlStreamConfig>;
