import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnowflakeConfig } from '../../src/connectors/snowflake/config.js';
import snowflakeConnector from '../../src/connectors/snowflake/index.js';
import type { Source } from '../../src/connectors/types.js';
import { start, type SnowflakeEmulator } from '../../src/emulators/snowflake/index.js';
import { extractStreams } from '../../src/extract/extract-streams.js';
import { sourceContract } from '../contract/source-contract.js';
import { rawRows, stagingCase, startRun } from './helpers.js';

/** The Snowflake source through the real snowflake-sdk against the Snowflake emulator. */
let sf: SnowflakeEmulator;
const values = Array.from({ length: 25 }, (_, i) => `(${i + 1}, 'Account ${i + 1}', '2024-05-01 10:00:0${Math.floor(i / 4) % 10}.000')`).join(', ');

beforeAll(async () => {
  sf = await start({
    seedData: {
      database: 'ANALYTICS',
      schema: 'CRM',
      sql: ['CREATE TABLE ACCOUNTS (ID NUMBER, NAME VARCHAR, UPDATED_AT TIMESTAMP_NTZ)', `INSERT INTO ACCOUNTS VALUES ${values}`],
    },
  });
});
afterAll(async () => sf?.stop());

const config = () =>
  SnowflakeConfig.parse({
    type: 'snowflake', account: 'emulator', username: 'partnersync', password: 'partnersync', database: 'ANALYTICS', schema: 'CRM',
    accessUrl: sf.url, batchSize: 7,
    streams: { accounts: { table: 'ACCOUNTS', primaryKey: ['ID'], cursorField: 'UPDATED_AT' } },
  });
const makeSource = async () => ({ source: (await snowflakeConnector.createSource!(config(), { connection: 'sf', baseDir: '.', log: () => undefined })) as Source });

sourceContract('snowflake', { configSchema: SnowflakeConfig, makeSource });

describe('snowflake source into staging', () => {
  const sc = stagingCase('sqlite', 'sf');
  afterAll(sc.cleanup);

  it('reads in keyset pages, then only rows changed since the last run', async () => {
    const staging = await sc.open();
    try {
      const go = async () => (await extractStreams({ staging, run: await startRun(staging), connection: 'wh', config: config(), baseDir: '.' })).streams[0]!;
      expect(await go()).toMatchObject({ records: 25, inserted: 25 });
      expect(await go()).toMatchObject({ records: 0 });
      sf.state.exec("UPDATE ACCOUNTS SET NAME = 'Renamed', UPDATED_AT = '2024-06-01 00:00:00.000' WHERE ID = 5");
      expect(await go()).toMatchObject({ records: 1, updated: 1 });
      const rows = await rawRows(staging, 'raw_wh__accounts');
      expect(rows).toHaveLength(25);
      expect(rows.find((r) => r.id === '5')).toMatchObject({ name: 'Renamed' });
    } finally {
      await staging.close();
    }
  });
});
