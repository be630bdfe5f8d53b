import { defineConnector } from '../types.js';
import { createHubspotClient } from './client.js';
import type { HubspotConfig } from './config.js';
import { HubspotSource } from './source.js';

export default defineConnector<HubspotConfig>({
  id: 'hubspot',
  createSource: (config) => new HubspotSource(createHubspotClient(config), config),
  createDestination: async (config) => (await import('./destination.js')).createHubspotDestination(config),
});
