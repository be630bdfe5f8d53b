import { z } from 'zod';
import { CsvConfig } from './csv/config.js';
import { CrossbeamConfig } from './crossbeam/config.js';
import { SalesforceConfig } from './salesforce/config.js';
import { HubspotConfig } from './hubspot/config.js';
import { IntercomConfig } from './intercom/config.js';
import { PostgresConfig } from './postgres/config.js';
import { SnowflakeConfig } from './snowflake/config.js';
import { FileConfig } from './file/config.js';

/**
 * Connection config schemas by `type`. Only zod schemas live here (no SDKs), so validating a config
 * never loads jsforce or snowflake-sdk. The code of a connector is loaded lazily by `registry.ts`.
 */
export const connectionSchemas = Object.freeze({
  csv: CsvConfig,
  crossbeam: CrossbeamConfig,
  salesforce: SalesforceConfig,
  hubspot: HubspotConfig,
  intercom: IntercomConfig,
  postgres: PostgresConfig,
  snowflake: SnowflakeConfig,
  file: FileConfig,
});
export type ConnectionType = keyof typeof connectionSchemas;
export const connectionTypes = Object.keys(connectionSchemas) as ConnectionType[];

export const ConnectionConfig = z.discriminatedUnion('type', [
  CsvConfig, CrossbeamConfig, SalesforceConfig, HubspotConfig, IntercomConfig, PostgresConfig, SnowflakeConfig, FileConfig,
]);
export type ConnectionConfig = z.infer<typeof ConnectionConfig>;
