import { defineConnector } from '../types.js';
import type { FileConfig } from './config.js';

export default defineConnector<FileConfig>({
  id: 'file',
  async createDestination(config, ctx) {
    const { FileDestination } = await import('./destination.js');
    return new FileDestination(config, ctx);
  },
});
