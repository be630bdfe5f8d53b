import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/model/sql-error.js';
import { planProject, runModels } from '../../src/model/runner.js';
import type { Staging } from '../../src/staging/db.js';
import { getRun, RunLog } from '../../src/staging/runs.js';
import { dialects, tempDir } from '../helpers/staging.js';
import { loadRawFixtures, openTestStaging } from './helpers.js';

function writeModel(dir: string, file: string, sql: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, 'models', file)), { recursive: true });
  fs.writeFileSync(path.join(dir, 'models', file), sql);
}

/** A small project over the fixture raw accounts: stg_accounts → country_counts → top_country, plus a view. */
function project(): string {
  const dir = tempDir('partnersync-model-project-');
  writeModel(dir, 'stg_accounts.sql', `-- description: live accounts
SELECT id AS account_id, name, country
FROM {{ source('crm_csv', 'accounts') }}
WHERE _deleted = 0;
`);
  writeModel(dir, 'marts/country_counts.sql', `SELECT country, CAST(COUNT(*) AS INTEGER) AS n
FROM {{ ref('stg_accounts') }}
GROUP BY country
`);
  writeModel(dir, 'top_country.sql', `SELECT country FROM {{ ref('country_counts') }} WHERE n = (SELECT MAX(n) FROM {{ ref('country_counts') }})`);
  writeModel(dir, 'us_accounts.sql', `-- materialized: view
SELECT account_id, name FROM {{ ref('stg_accounts') }} WHERE country = 'US'
`);
  return dir;
}

const names = (r: { models: Array<{ name: string; status: string }> }) => r.models.filter((m) => m.status === 'built').map((m) => m.name);
const userModels = ['stg_accounts', 'country_counts', 'top_country', 'us_accounts'];

describe.each(dialects)('model runner on %s', (dialect) => {
  let staging: Staging;
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    ({ staging, cleanup } = await openTestStaging(dialect, 't_model_runner'));
    await loadRawFixtures(staging, ['crm_csv__accounts']);
    dir = project();
  });
  afterAll(async () => {
    await cleanup?.();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('resolves ref() and source(), runs in graph order, and logs time and rows per model', async () => {
    const run = await RunLog.start(staging, 'model', {});
    const r = await runModels(staging, { models: {} }, { baseDir: dir, select: ['+top_country', 'us_accounts'], run });
    expect(r.models.map((m) => [m.name, m.materialized, m.rows])).toEqual([
      ['stg_accounts', 'table', 5],
      ['country_counts', 'table', 3],
      ['top_country', 'table', 1],
      ['us_accounts', 'view', null],
    ]);
    expect(await staging.db('top_country').select('*')).toEqual([{ country: 'US' }]);
    expect(await staging.db('us_accounts').select('*').orderBy('account_id')).toEqual([
      { account_id: 'A1', name: 'Acme Inc' },
      { account_id: 'A3', name: 'Initech' },
      { account_id: 'A6', name: 'Soylent' },
    ]);
    await run.finish('succeeded', 0);
    const logged = (await getRun(staging, run.id))!;
    expect((logged.run.counts.model as Record<string, { rows: number }>).country_counts!.rows).toBe(3);
    expect(logged.events.map((e) => e.step)).toEqual(['model:stg_accounts', 'model:country_counts', 'model:top_country', 'model:us_accounts']);
    expect(logged.events[0]!.message).toMatch(/^model stg_accounts: table built, 5 rows in \d+ ms$/);
    expect(logged.events[0]!.data).toMatchObject({ name: 'stg_accounts', rows: 5, file: 'models/stg_accounts.sql' });
  });

  it('lists the graph in run order with what each model reads', () => {
    const { graph, project: p } = planProject({}, dir);
    expect(graph.parents.get('top_country')).toEqual(['country_counts']);
    expect(p.models.get('country_counts')!.file).toBe('models/marts/country_counts.sql');
    expect(p.models.get('stg_accounts')!.deps.sources).toEqual([{ connection: 'crm_csv', stream: 'accounts', table: 'raw_crm_csv__accounts' }]);
    expect(p.models.get('us_accounts')!.materialized).toBe('view');
  });

  it('runs name, name+ and +name selections', async () => {
    expect(names(await runModels(staging, { models: {} }, { baseDir: dir, select: ['country_counts'] }))).toEqual(['country_counts']);
    // A rebuilt table re-creates the views that read it (Postgres drops them with it).
    expect(names(await runModels(staging, { models: {} }, { baseDir: dir, select: ['stg_accounts+'] }))).toEqual(['stg_accounts', 'country_counts', 'top_country', 'us_accounts']);
    expect(names(await runModels(staging, { models: {} }, { baseDir: dir, select: ['+country_counts'] }))).toEqual(['stg_accounts', 'country_counts', 'us_accounts']);
    expect(names(await runModels(staging, { models: {} }, { baseDir: dir, select: ['+top_country'] }))).toEqual(['stg_accounts', 'country_counts', 'top_country', 'us_accounts']);
    expect(names(await runModels(staging, { models: {} }, { baseDir: dir, select: ['us_accounts'] }))).toEqual(['us_accounts']);
    expect(await staging.db('us_accounts').count({ n: '*' })).toEqual([{ n: dialect === 'postgres' ? '3' : 3 }]);
  });

  it('a SQL error names the model file and line, and the previous table stays', async () => {
    const broken = project();
    try {
      writeModel(broken, 'marts/country_counts.sql', `-- a comment line
SELECT country,
       CAST(COUNT(*) AS INTEGER) AS n,
       MAX(nme) AS longest
FROM {{ ref('stg_accounts') }}
GROUP BY country
`);
      const err = await runModels(staging, { models: {} }, { baseDir: broken, select: ['country_counts'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelSqlError);
      expect((err as Error).message).toMatch(/^models\/marts\/country_counts\.sql:4: model country_counts failed: .*nme/);
      expect(await staging.db('country_counts').select('*').orderBy('country')).toEqual([
        { country: 'DE', n: 1 },
        { country: 'GB', n: 1 },
        { country: 'US', n: 3 },
      ]);

      writeModel(broken, 'top_country.sql', `SELECT country\n\nFROM {{ ref('country_counts') }}\nWHERE n >\n`);
      const syntax = await runModels(staging, { models: {} }, { baseDir: broken, select: ['top_country'] }).catch((e: unknown) => e);
      expect((syntax as Error).message).toMatch(/^models\/top_country\.sql:4: model top_country failed: /);
      expect(await staging.db('top_country').select('*')).toEqual([{ country: 'US' }]);
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });

  it('a missing source table names the model and the table', async () => {
    const p = tempDir('partnersync-model-missing-');
    try {
      writeModel(p, 'x.sql', "SELECT * FROM {{ source('hubspot', 'companies') }}");
      await expect(runModels(staging, { models: {} }, { baseDir: p, select: ['x'] })).rejects.toThrow(
        'model x (models/x.sql) reads source hubspot.companies: table raw_hubspot__companies is not in staging',
      );
    } finally {
      fs.rmSync(p, { recursive: true, force: true });
    }
  });

  it('a cycle among project files is reported with its path, before anything runs', async () => {
    const p = tempDir('partnersync-model-cycle-');
    try {
      writeModel(p, 'a.sql', "SELECT * FROM {{ ref('c') }}");
      writeModel(p, 'b.sql', "SELECT * FROM {{ ref('a') }}");
      writeModel(p, 'c.sql', "SELECT * FROM {{ ref('b') }}");
      await expect(runModels(staging, { models: {} }, { baseDir: p })).rejects.toThrow('model graph has a cycle: a → b → c → a');
    } finally {
      fs.rmSync(p, { recursive: true, force: true });
    }
  });

  it('a project model replaces the built-in of the same name; `?` in SQL is not a parameter', async () => {
    const p = tempDir('partnersync-model-override-');
    try {
      writeModel(p, 'accounts.sql', "SELECT id AS account_id, name, 'why?' AS note FROM {{ source('crm_csv', 'accounts') }} WHERE _deleted = 0 AND id = 'A2'");
      const r = await runModels(staging, { models: {} }, { baseDir: p, select: ['accounts'] });
      expect(r.models).toMatchObject([{ name: 'accounts', file: 'models/accounts.sql', rows: 1 }]);
      expect(await staging.db('accounts').select('*')).toEqual([{ account_id: 'A2', name: 'Globex', note: 'why?' }]);
    } finally {
      fs.rmSync(p, { recursive: true, force: true });
    }
  });
});
