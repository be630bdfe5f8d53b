import { SqlSource } from '../shared/sql-source.js';
import { defineConnector } from '../types.js';
import type { PostgresConfig } from './config.js';
import { connectPostgres } from './postgres-client.js';

export default defineConnector<PostgresConfig>({
  id: 'postgres',
  createSource: (config) =>
    new SqlSource({
      streams: config.streams,
      schema: config.schema,
      batchSize: config.batchSize,
      dialect: { placeholder: (i) => `$${i}`, ident: pgIdent },
      connect: () => connectPostgres(config.url),
    }),
  async createDestination(config) {
    const { PostgresDestination } = await import('./destination.js');
    return new PostgresDestination(config);
  },
});

/** Postgres folds unquoted names to lower case: quote any name that would not survive that. */
function pgIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
