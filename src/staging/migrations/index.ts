import type { Knex } from 'knex';
import * as m001 from './001-core.js';
import * as m010 from './010-matching.js';
import * as m030 from './030-push.js';
import * as m040 from './040-serve.js';
import * as m050 from './050-attribution.js';
import * as m060 from './060-deals.js';

/**
 * Staging migrations, in order. Append new ones (`NNN-name.ts`, exporting `up` and `down`); never
 * edit one that has shipped. Listed explicitly (not read from disk) so they work from `dist/`.
 */
const migrations: Record<string, { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }> = {
  '001-core': m001,
  '010-matching': m010,
  '030-push': m030,
  '040-serve': m040,
  '050-attribution': m050,
  '060-deals': m060,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
