import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attributeFromStaging } from '../../src/attribution/index.js';
import { RuleSet } from '../../src/attribution/config.js';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { ledgerStory } from './ledger-story.js';
import { createInputTables } from './staging-fixture.js';

let staging: Staging | undefined;
let dir: string | undefined;
afterEach(async () => {
  await staging?.close();
  staging = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
const open = async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attr-ledger-'));
  staging = await openStaging(`sqlite:${path.join(dir, 'staging.db')}`);
  return staging;
};

describe('attribution ledger (SQLite)', () => {
  it('posts, reverses on recomputation, and replays an earlier as-of byte for byte', async () => {
    await ledgerStory(await open());
  });

  it('names the missing input tables', async () => {
    const s = await open();
    const args = { rules: RuleSet.parse({}), ruleVersion: 'v1', asOf: '2024-01-01T00:00:00.000Z' };
    await expect(attributeFromStaging(s.db, args)).rejects.toThrow('attribution needs the staging tables opportunities and partner_touches, which do not exist');
    await createInputTables(s.db, { deals: false, churn: false });
    const r = await attributeFromStaging(s.db, args);
    expect(r.warnings).toEqual(['staging table deals does not exist: no deal registrations considered', 'staging table churn_events does not exist: no clawbacks can be computed']);
  });

  it('rejects decimal amounts instead of guessing units', async () => {
    const s = await open();
    await createInputTables(s.db);
    await s.db('opportunities').insert({ opportunity_id: 'O1', account_id: 'A', amount_minor: '10.50', currency: 'USD', created_at: '2024-01-01', is_won: false });
    await expect(attributeFromStaging(s.db, { rules: RuleSet.parse({}), ruleVersion: 'v1', asOf: '2024-02-01T00:00:00.000Z' })).rejects.toThrow('opportunities row O1: amount_minor: "10.5" is not an integer amount in minor units (cents)');
  });
});
