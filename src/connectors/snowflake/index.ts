import { quoteWhenNeeded, SqlSource } from '../shared/sql-source.js';
import { defineConnector } from '../types.js';
import type { SnowflakeConfig } from './config.js';

export default defineConnector<SnowflakeConfig>({
  id: 'snowflake',
  createSource: (config) =>
    new SqlSource({
      streams: config.streams,
      schema: config.schema,
      batchSize: config.batchSize,
      dialect: { placeholder: () => '?', ident: (n) => quoteWhenNeeded(n) },
      // snowflake-sdk is loaded only when a Snowflake stream is read.
      connect: async () => (await import('./snowflake-client.js')).connectSnowflake(config),
    }),
  // snowflake-sdk is loaded only when a Snowflake target is pushed.
  async createDestination(config) {
    const { SnowflakeDestination } = await import('./destination.js');
    return new SnowflakeDestination(config);
  },
});
