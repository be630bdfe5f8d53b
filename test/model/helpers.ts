import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { ModelsConfigInput } from '../../src/model/config.js';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { ensureRawTable } from '../../src/staging/raw-tables.js';
import { newStagingUrl } from '../helpers/staging.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/model/', import.meta.url));

/** The models section the fixture scenario is written for. */
export const fixtureModelsConfig = (): ModelsConfigInput => ({
  inputs: {
    accounts: [{ source: 'crm_csv.accounts', kind: 'csv' }],
    contacts: [{ source: 'crm_csv.contacts', kind: 'csv' }],
    opportunities: [{ source: 'crm_csv.opportunities', kind: 'csv' }],
    partner_signals: [{ source: 'partner_csv.overlaps', kind: 'crossbeam-export' }],
    technographics: [{ source: 'techno_csv.technographics', kind: 'csv' }],
  },
  strategicPartners: ['Acme Cloud'],
  aiTools: ['OpenAI', 'Anthropic'],
});

export async function openTestStaging(dialect: 'sqlite' | 'postgres', label: string): Promise<{ staging: Staging; cleanup(): Promise<void> }> {
  const t = newStagingUrl(dialect, label);
  const staging = await openStaging(t.url);
  return {
    staging,
    cleanup: async () => {
      await staging.close();
      await t.cleanup();
    },
  };
}

function readCsv(file: string): Array<Record<string, string>> {
  return parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
}

/** Load `fixtures/model/raw/<connection>__<stream>.csv` into `raw_<connection>__<stream>` (all, or the named ones). */
export async function loadRawFixtures(staging: Staging, only?: string[]): Promise<void> {
  const dir = path.join(FIXTURES, 'raw');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.csv')).sort()) {
    const base = path.basename(f, '.csv');
    if (only && !only.includes(base)) continue;
    await insertRaw(staging, `raw_${base}`, readCsv(path.join(dir, f)));
  }
}

export async function insertRaw(staging: Staging, table: string, rows: Array<Record<string, string | null>>): Promise<void> {
  const cols = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!k.startsWith('_')) cols.add(k);
  await ensureRawTable(staging.db, table, cols);
  await staging.db(table).insert(
    rows.map((r) => ({
      _hash: 'fixture',
      _extracted_at: '2024-06-01T00:00:00.000Z',
      _run_id: 'fixture',
      ...r,
      _deleted: Number(r._deleted ?? 0),
    })),
  );
}

/** The `matches` table as the matching engine writes it (the columns the plays read). */
export async function loadMatchesFixture(staging: Staging): Promise<void> {
  // Staging migrations create `matches` with the engine's full column set; the plays need only these.
  await staging.db.schema.dropTableIfExists('matches');
  await staging.db.schema.createTable('matches', (t) => {
    t.string('signal_id').primary();
    t.string('status').notNullable();
    t.string('account_id');
    t.string('rule');
    t.float('confidence');
  });
  const rows = readCsv(path.join(FIXTURES, 'matches.csv')).map((r) => ({
    ...r,
    account_id: r.account_id || null,
    rule: r.rule || null,
    confidence: Number(r.confidence),
  }));
  await staging.db('matches').insert(rows);
}

/** Rows of a table, sorted by the given columns, with numbers as numbers. */
export async function rowsOf(staging: Staging, table: string, orderBy: string[]): Promise<Array<Record<string, unknown>>> {
  const rows = await staging.db(table).select('*').orderBy(orderBy);
  return rows.map((r: Record<string, unknown>) => ({ ...r }));
}
