import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { model, modelList } from '../../src/commands/model.js';
import type { CommandContext } from '../../src/commands/context.js';
import { validateConfig } from '../../src/config/load.js';
import { openStaging } from '../../src/staging/db.js';
import { listRuns } from '../../src/staging/runs.js';
import { createOutput } from '../../src/ui/output.js';
import { tempDir } from '../helpers/staging.js';
import { loadRawFixtures } from './helpers.js';

async function context(cwd: string): Promise<{ ctx: CommandContext; stdout: () => string; stderr: () => string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const o = await createOutput({ json: true, stdout, stderr, env: {} });
  return { ctx: { out: o, cwd, env: {}, globals: { json: true }, signal: new AbortController().signal }, stdout: () => out, stderr: () => err };
}

const CONFIG = `version: 1
staging:
  url: sqlite:.partnersync/staging.db
models:
  dir: sql
  inputs:
    accounts: [{ source: crm_csv.accounts, kind: csv }]
    partner_signals: [{ source: partner_csv.overlaps, kind: crossbeam-export }]
  strategicPartners: [Acme Cloud]
`;

describe('partnersync model (command)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('partnersync-model-cmd-');
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), CONFIG);
    fs.mkdirSync(path.join(dir, 'sql'));
    fs.writeFileSync(path.join(dir, 'sql', 'partner_counts.sql'), "SELECT partner, CAST(COUNT(*) AS INTEGER) AS n FROM {{ ref('partner_signals') }} GROUP BY partner\n");
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    await loadRawFixtures(staging, ['crm_csv__accounts', 'partner_csv__overlaps']);
    await staging.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('model list shows the graph in run order, built-ins and project models', async () => {
    const { ctx, stdout } = await context(dir);
    await modelList(ctx);
    const { models } = JSON.parse(stdout()) as { models: Array<{ name: string; order: number; refs: string[]; sources: string[]; file: string }> };
    const pos = (n: string) => models.findIndex((m) => m.name === n);
    expect(models.find((m) => m.name === 'partner_counts')).toMatchObject({ file: 'sql/partner_counts.sql', refs: ['partner_signals'] });
    expect(models.find((m) => m.name === 'accounts')).toMatchObject({ file: 'builtin:accounts', sources: ['crm_csv.accounts'] });
    expect(pos('partner_signals')).toBeLessThan(pos('partner_counts'));
    expect(pos('partner_signal_populations')).toBeLessThan(pos('play_churn_risk_partner'));
    expect(pos('play_churn_risk_partner')).toBeLessThan(pos('play_churn_risk_partner_contacts'));
    expect(models.map((m) => m.order)).toEqual(models.map((_, i) => i + 1));
  });

  it('model --select builds the selection and records the run', async () => {
    const { ctx, stdout } = await context(dir);
    await model(ctx, { select: ['+partner_counts'] });
    const result = JSON.parse(stdout()) as { models: Array<{ name: string; status: string; rows: number | null }> };
    expect(result.models.map((m) => [m.name, m.status, m.rows])).toEqual([
      ['partner_signals', 'built', 8],
      ['partner_counts', 'built', 2],
    ]);
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    try {
      const [run] = await listRuns(staging, 1);
      expect(run).toMatchObject({ command: 'model', status: 'succeeded', counts: { model: { partner_signals: { rows: 8 }, partner_counts: { rows: 2 } } } });
    } finally {
      await staging.close();
    }
  });

  it('a selected play before `partnersync match` fails with that hint, and the run says so', async () => {
    const { ctx } = await context(dir);
    // Migrations create `matches`; a staging database from before them (or one where it was dropped) has none.
    const pre = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    await pre.db.schema.dropTableIfExists('matches');
    await pre.close();
    await expect(model(ctx, { select: ['play_partner_overlap_summary'] })).rejects.toThrow(/reads table matches, which is not in staging: run `partnersync match` first/);
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    try {
      const [run] = await listRuns(staging, 1);
      expect(run).toMatchObject({ command: 'model', status: 'failed' });
    } finally {
      await staging.close();
    }
  });
});

describe('models config', () => {
  it('reports unknown kinds and malformed sources as path: message', () => {
    const r = validateConfig({ models: { inputs: { accounts: [{ source: 'nodot', kind: 'csv' }], partner_signals: [{ source: 'x.y', kind: 'salesforce' }] } } });
    expect(r.problems.some((p) => p.startsWith('models.inputs.accounts.0.source:'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('models.inputs.partner_signals.0.kind:'))).toBe(true);
  });

  it('fills defaults', () => {
    const r = validateConfig({});
    expect(r.problems).toEqual([]);
    expect(r.config!.models).toMatchObject({ dir: 'models', strategicPartners: [], customerPopulations: ['customers'], inputs: { accounts: [] } });
  });
});
