import { defineConnector } from '../types.js';
import type { HubspotConfig } from './config.js';

/**
 * HubSpot CRM v3. The destination lives in `destination.ts` (loaded on first use, with the SDK);
 * the source side adds `createSource` here.
 */
export default defineConnector<HubspotConfig>({
  id: 'hubspot',
  createDestination: async (config) => (await import('./destination.js')).createHubspotDestination(config),
});
