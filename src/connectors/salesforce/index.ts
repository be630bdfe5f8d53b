import { defineConnector } from '../types.js';
import { connectSalesforce, type SalesforceClient } from './client.js';
import type { SalesforceConfig } from './config.js';
import { SalesforceSource } from './source.js';

export default defineConnector<SalesforceConfig>({
  id: 'salesforce',
  createSource: (config) => {
    // Log in on first use, once: discover() and --help-like paths need no session.
    let client: Promise<SalesforceClient> | undefined;
    return new SalesforceSource(() => (client ??= connectSalesforce(config)), config);
  },
  createDestination: async (config) => (await import('./destination.js')).createSalesforceDestination(config),
});
