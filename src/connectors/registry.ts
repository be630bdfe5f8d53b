import { UsageError } from '../errors.js';
import type { ConnectionType } from './config-schemas.js';
import type { ConnectorDefinition } from './types.js';

/**
 * Connector code by type, loaded lazily: `partnersync --help` and config validation never load
 * jsforce, snowflake-sdk or the HubSpot client. Add a connector by adding one line here.
 */
const loaders: Readonly<Partial<Record<ConnectionType, () => Promise<{ default: ConnectorDefinition<never> }>>>> = Object.freeze({
  csv: () => import('./csv/index.js'),
  postgres: () => import('./postgres/index.js'),
  crossbeam: () => import('./crossbeam/index.js'),
  salesforce: () => import('./salesforce/index.js'),
  hubspot: () => import('./hubspot/index.js'),
  intercom: () => import('./intercom/index.js'),
  file: () => import('./file/index.js'),
  snowflake: () => import('./snowflake/index.js'),
});

export async function getConnector(type: ConnectionType): Promise<ConnectorDefinition<never>> {
  const load = loaders[type];
  if (!load) {
    throw new UsageError(`connector "${type}" has no implementation in this version`, {
      hint: `available: ${Object.keys(loaders).join(', ') || 'none yet'}`,
    });
  }
  return (await load()).default;
}
