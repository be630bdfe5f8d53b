import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';

/**
 * Staging URLs for tests: a fresh SQLite file, or a fresh schema in the local Postgres.
 * `STAGING_DIALECTS=sqlite` runs only SQLite (for a laptop without Postgres); CI runs both.
 */
export const PG_URL = process.env.PARTNERSYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export const dialects = (process.env.STAGING_DIALECTS ?? 'sqlite,postgres').split(',').map((s) => s.trim()) as Array<'sqlite' | 'postgres'>;

export function tempDir(prefix = 'partnersync-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestStaging {
  url: string;
  cleanup(): Promise<void>;
}

export function newStagingUrl(dialect: 'sqlite' | 'postgres', label = 't'): TestStaging {
  if (dialect === 'sqlite') {
    const dir = tempDir();
    return { url: `sqlite:${path.join(dir, 'staging.db')}`, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `${label}_${crypto.randomBytes(5).toString('hex')}`;
  return {
    url: `${PG_URL}?schema=${schema}`,
    cleanup: async () => {
      const k = knexFactory({ client: 'pg', connection: PG_URL });
      try {
        await k.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      } finally {
        await k.destroy();
      }
    },
  };
}
