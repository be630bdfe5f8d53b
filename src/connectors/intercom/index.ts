import { defineConnector } from '../types.js';
import type { IntercomConfig } from './config.js';

/** Intercom: a push destination (contacts and companies). The SDK loads only when a destination is created. */
export default defineConnector<IntercomConfig>({
  id: 'intercom',
  createDestination: async (config, ctx) => (await import('./destination.js')).createIntercomDestination(config, ctx),
});
