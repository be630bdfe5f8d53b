import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli.js';
import { attribute, attributeExplain, attributeLedger, attributeReport } from '../../src/commands/attribute.js';
import type { CommandContext } from '../../src/commands/context.js';
import { AttributionConfig } from '../../src/attribution/config.js';
import { attributeFromStaging, postResult, resolveRules } from '../../src/attribution/index.js';
import { openStaging } from '../../src/staging/db.js';
import { createOutput } from '../../src/ui/output.js';
import { createInputTables, RULES, seedStory } from './staging-fixture.js';
import { T1 } from './ledger-story.js';

const fixture = fileURLToPath(new URL('../../fixtures/attribution/partnersync.yaml', import.meta.url));
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attr-cmd-'));
  fs.copyFileSync(fixture, path.join(dir, 'partnersync.yaml'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function ctx(json = false): Promise<{ ctx: CommandContext; stdout: () => string; stderr: () => string }> {
  const o = new PassThrough();
  const e = new PassThrough();
  let out = '';
  let err = '';
  o.on('data', (c) => (out += c));
  e.on('data', (c) => (err += c));
  const output = await createOutput({ json, stdout: o, stderr: e, env: {} });
  return { ctx: { out: output, cwd: dir, env: {}, globals: { json }, signal: new AbortController().signal }, stdout: () => out, stderr: () => err };
}

async function seeded(postMay = false): Promise<void> {
  const staging = await openStaging('sqlite:staging.db', { baseDir: dir });
  try {
    await createInputTables(staging.db);
    await seedStory(staging.db);
    if (postMay) {
      const v1 = resolveRules(AttributionConfig.parse({ rules: RULES }), 'v1');
      await postResult(staging.db, (await attributeFromStaging(staging.db, { ...v1, asOf: T1 })).result);
    }
  } finally {
    await staging.close();
  }
}

describe('partnersync attribute', () => {
  it('the example config in fixtures/ is valid and matches the test rules', () => {
    const cfg = AttributionConfig.parse(parse(fs.readFileSync(fixture, 'utf8')).attribution);
    for (const r of Object.values(cfg.rules)) delete r.description;
    expect(cfg.rules).toEqual(AttributionConfig.parse({ rules: RULES }).rules);
  });

  it('--as-of --rules replays the recorded ledger of that date byte for byte', async () => {
    await seeded(true);
    const replay = await ctx();
    await attribute(replay.ctx, { asOf: '2024-05-31', rules: 'v1', format: 'csv' });
    const ledger = await ctx();
    await attributeLedger(ledger.ctx, { asOf: '2024-05-31', format: 'csv' });
    expect(replay.stdout()).toBe(ledger.stdout());
    expect(replay.stdout().split('\n')).toHaveLength(1 + 6 + 1); // header, six lines, final newline
    expect(replay.stdout()).toContain(',O1,A1,acme,sourced_credit,sourced,won,5000,1/2,100001,50001,USD,v1,2024-04-15T00:00:00.000Z,T1,');
  });

  it('posts with the active rules, then --diff shows nothing left to change', async () => {
    await seeded(true);
    const post = await ctx(true);
    await attribute(post.ctx, {});
    const summary = JSON.parse(post.stdout());
    // v2 as of now: O1 2 sourced + 1 influenced + 2 commissions; O2 (won in July) credit + commission; no churn here.
    expect(summary).toMatchObject({ ruleVersion: 'v2', reversed: 6, added: 7, unchanged: 0 });
    const diff = await ctx(true);
    await attribute(diff.ctx, { diff: true });
    expect(JSON.parse(diff.stdout()).changes).toEqual([]);
    const v1diff = await ctx();
    await attribute(v1diff.ctx, { diff: true, rules: 'v1' });
    expect(v1diff.stdout()).toMatch(/O1\s+acme\s+sourced_credit\s+changed\s+300\.00\s+500\.01\s+200\.01\s+USD\s+v2 → v1/);
  });

  it('explain shows every touch, the split and each number', async () => {
    await seeded();
    const c = await ctx();
    await attributeExplain(c.ctx, { args: ['O1'], rules: 'v1', asOf: '2024-05-31' });
    const text = c.stdout();
    expect(text).toContain('opportunity O1 (account A1): 1000.01 USD');
    expect(text).toMatch(/T1\s+acme\s+intro\s+\S+\s+sourced\s+intro 20d before the opportunity was created \(window 90d\)/);
    expect(text).toMatch(/deal:D1\s+globex\s+registered_deal/);
    expect(text).toMatch(/T3\s+initech\s+co_sell\s+\S+\s+influenced/);
    expect(text).toMatch(/acme\s+1\s+1\/2\s+5000\s+500\.01/);
    expect(text).toContain('tier silver, sourced percent: 50000 at 5%, capped at 2000 = 2000 USD');
    const missing = await ctx();
    await expect(attributeExplain(missing.ctx, { args: ['NOPE'] })).rejects.toThrow('no opportunity NOPE');
  });

  it('reports per partner and currency as table, CSV and JSON', async () => {
    await seeded(true);
    const csv = await ctx();
    await attributeReport(csv.ctx, { period: '2024-Q2', format: 'csv' });
    expect(csv.stdout()).toBe([
      'partner,currency,sourcedPipelineMinor,influencedPipelineMinor,sourcedRevenueMinor,influencedRevenueMinor,commissionsMinor,clawbacksMinor,netMinor',
      'acme,EUR,50000,0,0,0,0,0,0',
      'acme,USD,0,0,50001,0,5000,0,5000',
      'globex,USD,0,0,50000,0,2000,0,2000',
      'initech,USD,0,0,0,100001,0,0,0',
      '',
    ].join('\n'));
    const json = await ctx(true);
    await attributeReport(json.ctx, { period: '2024-Q2', format: 'json' });
    expect(JSON.parse(json.stdout()).rows).toHaveLength(4);
    const tbl = await ctx();
    await attributeReport(tbl.ctx, { period: '2024-Q1' });
    expect(tbl.stdout()).toContain('(none)');
  });

  it('says which input table is missing', async () => {
    const c = await ctx();
    await expect(attribute(c.ctx, {})).rejects.toThrow(/staging tables opportunities and partner_touches, which do not exist/);
  });

  it('is wired into the CLI: subcommands, their flags and arguments', async () => {
    await seeded(true);
    const run = async (...argv: string[]) => {
      const c = await ctx();
      const program = buildProgram({ version: '0.0.0', makeContext: async () => c.ctx });
      await program.parseAsync(['node', 'partnersync', ...argv]);
      return c.stdout();
    };
    expect(await run('attribute', 'explain', 'O2', '--rules', 'v1', '--as-of', '2024-05-31')).toContain('opportunity O2 (account A2): 500.00 EUR');
    expect(await run('attribute', '--as-of', '2024-05-31', '--rules', 'v1', '--format', 'csv')).toBe(await run('attribute', 'ledger', '--as-of', '2024-05-31', '--format', 'csv'));
    expect(await run('attribute', 'report', '--period', '2024-Q2', '--format', 'csv')).toContain('globex,USD,0,0,50000,0,2000,0,2000');
  });
});
