import { defineConnector } from '../types.js';
import type { SnowflakeConfig } from './config.js';

export default defineConnector<SnowflakeConfig>({
  id: 'snowflake',
  // snowflake-sdk is loaded only when a Snowflake target is pushed.
  async createDestination(config) {
    const { SnowflakeDestination } = await import('./destination.js');
    return new SnowflakeDestination(config);
  },
});
