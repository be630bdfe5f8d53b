import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelsConfigInput } from '../../src/model/config.js';
import { runModels } from '../../src/model/runner.js';
import type { Staging } from '../../src/staging/db.js';
import { dialects, tempDir } from '../helpers/staging.js';
import { fixtureModelsConfig, insertRaw, loadMatchesFixture, loadRawFixtures, openTestStaging, rowsOf } from './helpers.js';

const SOURCE = { accounts: 'crm_csv.accounts', signals: 'partner_csv.overlaps' };

const account = (
  account_id: string, name: string, website: string, domain: string, domains: string | null, parent_account_id: string | null,
  country: string, owner: string | null, duns: string | null, lifecycle_stage: string, churn_risk: string | null,
) => ({ account_id, name, website, domain, domains, parent_account_id, country, owner, duns, lifecycle_stage, churn_risk, source: SOURCE.accounts });

const signal = (
  signal_id: string, partner: string, population: string, company_name: string, website: string | null,
  partner_record_name: string, partner_record_website: string | null, owner_email: string | null, seen_at: string,
) => ({
  signal_id, partner, population, company_name, website, email: null, country: null, record_id: null, partner_record_id: null,
  partner_record_name, partner_record_website, owner_email, seen_at, source: SOURCE.signals,
});

describe.each(dialects)('built-in models on %s', (dialect) => {
  let staging: Staging;
  let cleanup: () => Promise<void>;
  const baseDir = tempDir('partnersync-model-builtin-');

  beforeAll(async () => {
    ({ staging, cleanup } = await openTestStaging(dialect, 't_model_builtin'));
    await loadRawFixtures(staging);
    await loadMatchesFixture(staging);
    const r = await runModels(staging, { models: fixtureModelsConfig() }, { baseDir });
    expect(r.models.filter((m) => m.status !== 'built')).toEqual([]);
  });
  afterAll(async () => cleanup?.());

  it('accounts: canonical columns from a CSV input, deleted rows left out, domains normalised', async () => {
    expect(await rowsOf(staging, 'accounts', ['account_id'])).toEqual([
      account('A1', 'Acme Inc', 'https://www.Acme.com/en-us', 'acme.com', 'acme.io;acme.de', null, 'US', 'ann@example.com', '111111111', 'customer', 'High'),
      account('A2', 'Globex', 'globex.com', 'globex.com', null, null, 'DE', 'bob@example.com', null, 'customer', 'low'),
      account('A3', 'Initech', 'http://initech.io/about', 'initech.io', null, null, 'US', null, null, 'prospect', null),
      account('A4', 'Umbrella', 'umbrella.co:8080', 'umbrella.co', 'umbrella-ai.com', null, 'GB', null, null, 'lead', null),
      account('A6', 'Soylent', 'soylent.com', 'soylent.com', null, 'A1', 'US', null, null, 'customer', 'At Risk'),
    ]);
  });

  it('contacts and opportunities', async () => {
    const contact = (contact_id: string, account_id: string, email: string | null, first_name: string, last_name: string, title: string | null) =>
      ({ contact_id, account_id, email, first_name, last_name, title, source: 'crm_csv.contacts' });
    expect(await rowsOf(staging, 'contacts', ['contact_id'])).toEqual([
      contact('C1', 'A1', 'Jane@Acme.com', 'Jane', 'Doe', 'CTO'),
      contact('C2', 'A1', null, 'No', 'Email', null),
      contact('C3', 'A2', 'x@globex.com', 'Xavier', 'Gl', 'VP'),
      contact('C4', 'A6', 's@soylent.com', 'Sol', 'Green', 'CEO'),
    ]);
    expect(await rowsOf(staging, 'opportunities', ['opportunity_id'])).toEqual([
      { opportunity_id: 'O1', account_id: 'A3', name: 'Initech pilot', stage: 'Discovery', amount: '1200000', currency: 'USD', close_date: '2024-09-30', is_closed: 'false', is_won: 'false', owner: 'ann@example.com', source: 'crm_csv.opportunities' },
      { opportunity_id: 'O2', account_id: 'A1', name: 'Acme renewal', stage: 'Closed Won', amount: '5000000', currency: 'USD', close_date: '2024-03-31', is_closed: 'true', is_won: 'true', owner: 'ann@example.com', source: 'crm_csv.opportunities' },
    ]);
  });

  it('partner_signals from a Crossbeam account-mapping export', async () => {
    expect(await rowsOf(staging, 'partner_signals', ['signal_id'])).toEqual([
      signal('S1', 'Acme Cloud', 'Customers', 'Acme Inc', 'acme.com', 'ACME Corp', 'acme.com', 'ann@example.com', '2024-01-05T00:00:00Z'),
      signal('S2', 'Acme Cloud', 'Open Opportunities', 'Acme Inc', 'acme.com', 'ACME Corp', 'acme.com', 'ann@example.com', '2024-02-01T00:00:00Z'),
      signal('S3', 'Beta Partners', 'Customers', 'Acme Inc', 'acme.com', 'Acme', 'acme.com', null, '2024-03-10T00:00:00Z'),
      signal('S4', 'Acme Cloud', 'Customers', 'Globex', 'globex.com', 'Globex', 'globex.com', 'bob@example.com', '2024-01-20T00:00:00Z'),
      signal('S5', 'Beta Partners', 'Prospects', 'Initech', 'initech.io', 'Initech LLC', 'initech.io', null, '2024-04-01T00:00:00Z'),
      signal('S6', 'Acme Cloud', 'Customers', 'Soylent', 'soylent.com', 'Soylent Corp', 'soylent.com', null, '2024-05-01T00:00:00Z'),
      signal('S7', 'Acme Cloud', 'Customers', 'Unknown Co', 'unknown.example', 'Unknown', 'unknown.example', null, '2024-05-02T00:00:00Z'),
      signal('S8', 'Acme Cloud', 'Customers', 'Umbrella', null, 'Umbrella', null, null, '2024-05-03T00:00:00Z'),
    ]);
  });

  it('technographics: domain from a URL or host', async () => {
    const t = (domain: string, technology: string, vendor: string, category: string) => ({ domain, technology, vendor, category, source: 'techno_csv.technographics' });
    expect(await rowsOf(staging, 'technographics', ['domain', 'technology'])).toEqual([
      t('acme.com', 'OpenAI API', 'OpenAI', 'AI'),
      t('initech.io', 'ChatGPT Enterprise', 'OpenAI', 'AI'),
      t('initech.io', 'Slack', 'Salesforce', 'Collaboration'),
      t('umbrella-ai.com', 'Claude', 'Anthropic', 'AI'),
    ]);
  });

  it('play 3: partner overlap summary per matched account', async () => {
    expect(await rowsOf(staging, 'play_partner_overlap_summary', ['account_id'])).toEqual([
      {
        account_id: 'A1', account_name: 'Acme Inc', partner_names: 'Acme Cloud;Beta Partners', partner_count: 2,
        populations: 'Acme Cloud: Customers;Acme Cloud: Open Opportunities;Beta Partners: Customers',
        // S1 and S2 are the same partner record in two populations: one overlap.
        overlap_count: 2, first_seen_at: '2024-01-05T00:00:00Z', last_seen_at: '2024-03-10T00:00:00Z',
      },
      { account_id: 'A2', account_name: 'Globex', partner_names: 'Acme Cloud', partner_count: 1, populations: 'Acme Cloud: Customers', overlap_count: 1, first_seen_at: '2024-01-20T00:00:00Z', last_seen_at: '2024-01-20T00:00:00Z' },
      { account_id: 'A3', account_name: 'Initech', partner_names: 'Beta Partners', partner_count: 1, populations: 'Beta Partners: Prospects', overlap_count: 1, first_seen_at: '2024-04-01T00:00:00Z', last_seen_at: '2024-04-01T00:00:00Z' },
      { account_id: 'A6', account_name: 'Soylent', partner_names: 'Acme Cloud', partner_count: 1, populations: 'Acme Cloud: Customers', overlap_count: 1, first_seen_at: '2024-05-01T00:00:00Z', last_seen_at: '2024-05-01T00:00:00Z' },
    ]);
  });

  it('play 1: churn-risk accounts that are customers of a strategic partner, and their contacts', async () => {
    // A2 is a strategic partner's customer but not at risk; A3 is Beta Partners' (not strategic) prospect.
    expect(await rowsOf(staging, 'play_churn_risk_partner', ['company_id'])).toEqual([
      { company_id: 'A1', company_name: 'Acme Inc', churn_risk: 'High', churn_risk_partner_customer: 1, strategic_partners: 'Acme Cloud', strategic_partner_count: 1 },
      { company_id: 'A6', company_name: 'Soylent', churn_risk: 'At Risk', churn_risk_partner_customer: 1, strategic_partners: 'Acme Cloud', strategic_partner_count: 1 },
    ]);
    expect(await rowsOf(staging, 'play_churn_risk_partner_contacts', ['contact_id'])).toEqual([
      { contact_id: 'C1', email: 'jane@acme.com', company_id: 'A1', churn_risk: 'High', churn_risk_partner_customer: 1, strategic_partners: 'Acme Cloud' },
      { contact_id: 'C4', email: 's@soylent.com', company_id: 'A6', churn_risk: 'At Risk', churn_risk_partner_customer: 1, strategic_partners: 'Acme Cloud' },
    ]);
  });

  it('play 2: prospects using an integrated AI tool, with the partners that know them', async () => {
    // A1 uses OpenAI too but is a customer; A4 matches through its extra domain.
    expect(await rowsOf(staging, 'play_ai_tool_prospects', ['account_id'])).toEqual([
      { account_id: 'A3', account_name: 'Initech', uses_integrated_ai_tool: 1, ai_tools: 'ChatGPT Enterprise', known_by_partners: 'Beta Partners', partner_count: 1 },
      { account_id: 'A4', account_name: 'Umbrella', uses_integrated_ai_tool: 1, ai_tools: 'Claude', known_by_partners: null, partner_count: 0 },
    ]);
  });

  it('partner_signal_populations: one row per population', async () => {
    const rows = await rowsOf(staging, 'partner_signal_populations', ['signal_id', 'population']);
    expect(rows.map((r) => `${r.signal_id}:${r.population}`)).toEqual(['S1:Customers', 'S2:Open Opportunities', 'S3:Customers', 'S4:Customers', 'S5:Prospects', 'S6:Customers', 'S7:Customers', 'S8:Customers']);
  });
});

describe.each(dialects)('canonical inputs on %s', (dialect) => {
  let staging: Staging;
  let cleanup: () => Promise<void>;
  const baseDir = tempDir('partnersync-model-inputs-');
  beforeAll(async () => {
    ({ staging, cleanup } = await openTestStaging(dialect, 't_model_inputs'));
  });
  afterAll(async () => cleanup?.());

  it('Crossbeam API overlaps plus a CSV: populations from JSON, signal ids prefixed per input', async () => {
    await insertRaw(staging, 'raw_crossbeam__overlaps_accounts', [
      {
        _key: 'xb-1', partner_name: 'Acme Cloud', record_id: '001A', record_name: 'Initech', record_website: 'initech.io',
        partner_crossbeam_record_id: 'p-9', partner_record_name: 'Initech LLC', partner_record_website: 'https://initech.io', partner_record_country: 'US',
        partner_populations: JSON.stringify([{ id: 7, name: 'Customers' }, { id: 8, name: 'Open Opportunities' }]),
      },
      { _key: 'xb-2', _deleted: '1', partner_name: 'Acme Cloud', record_name: 'Gone', partner_record_name: 'Gone', partner_populations: '[]' },
    ]);
    await insertRaw(staging, 'raw_partner_csv__signals', [
      { _key: '1', signal_id: 'S-10', partner: 'Beta', population: 'Prospects', company_name: 'Globex', website: 'globex.com', email: 'a@globex.com', country: 'DE', seen_at: '2024-02-02' },
    ]);
    const models: ModelsConfigInput = {
      inputs: {
        partner_signals: [
          { source: 'crossbeam.overlaps_accounts', kind: 'crossbeam-api' },
          { source: 'partner_csv.signals', kind: 'csv' },
        ],
      },
    };
    await runModels(staging, { models }, { baseDir, select: ['partner_signals+'], missingTables: 'skip' });
    expect(await rowsOf(staging, 'partner_signals', ['signal_id'])).toEqual([
      {
        signal_id: 'crossbeam.overlaps_accounts:xb-1', partner: 'Acme Cloud', population: 'Customers;Open Opportunities', company_name: 'Initech',
        website: 'initech.io', email: null, country: 'US', record_id: '001A', partner_record_id: 'p-9', partner_record_name: 'Initech LLC',
        partner_record_website: 'https://initech.io', owner_email: null, seen_at: '2024-06-01T00:00:00.000Z', source: 'crossbeam.overlaps_accounts',
      },
      {
        signal_id: 'partner_csv.signals:S-10', partner: 'Beta', population: 'Prospects', company_name: 'Globex', website: 'globex.com',
        email: 'a@globex.com', country: 'DE', record_id: null, partner_record_id: null, partner_record_name: null, partner_record_website: null,
        owner_email: null, seen_at: '2024-02-02', source: 'partner_csv.signals',
      },
    ]);
    const pops = await rowsOf(staging, 'partner_signal_populations', ['signal_id', 'population']);
    expect(pops).toEqual([
      { signal_id: 'crossbeam.overlaps_accounts:xb-1', partner: 'Acme Cloud', population: 'Customers' },
      { signal_id: 'crossbeam.overlaps_accounts:xb-1', partner: 'Acme Cloud', population: 'Open Opportunities' },
      { signal_id: 'partner_csv.signals:S-10', partner: 'Beta', population: 'Prospects' },
    ]);
  });

  it('accounts from Salesforce and HubSpot raw tables together', async () => {
    await insertRaw(staging, 'raw_sf__account', [
      { _key: '001', id: '001', name: 'Acme', website: 'acme.com', parentid: '', billingcountry: 'US', ownerid: '005X', dunsnumber: '123', type: 'Customer', churn_risk__c: 'High', isdeleted: 'false' },
    ]);
    await insertRaw(staging, 'raw_hs__companies', [
      { _key: '9', id: '9', name: 'Globex', domain: 'globex.com', hs_additional_domains: 'globex.de;globex.fr', country: 'Germany', hubspot_owner_id: '77', lifecyclestage: 'lead', hs_parent_company_id: '8' },
    ]);
    const models: ModelsConfigInput = { inputs: { accounts: [{ source: 'sf.Account', kind: 'salesforce' }, { source: 'hs.companies', kind: 'hubspot' }] } };
    await runModels(staging, { models }, { baseDir, select: ['accounts'] });
    expect(await rowsOf(staging, 'accounts', ['account_id'])).toEqual([
      { account_id: '001', name: 'Acme', website: 'acme.com', domain: 'acme.com', domains: null, parent_account_id: null, country: 'US', owner: '005X', duns: '123', lifecycle_stage: 'Customer', churn_risk: 'High', source: 'sf.Account' },
      { account_id: '9', name: 'Globex', website: 'globex.com', domain: 'globex.com', domains: 'globex.de;globex.fr', parent_account_id: '8', country: 'Germany', owner: '77', duns: null, lifecycle_stage: 'lead', churn_risk: null, source: 'hs.companies' },
    ]);
  });

  it('a missing required input names the model and the table; an optional one gives an empty table', async () => {
    const models: ModelsConfigInput = { inputs: { accounts: [{ source: 'nowhere.accounts', kind: 'csv' }] } };
    await expect(runModels(staging, { models }, { baseDir, select: ['accounts'] })).rejects.toThrow(/model accounts: input table raw_nowhere__accounts .*not in staging/);
    const optional: ModelsConfigInput = { inputs: { accounts: [{ source: 'nowhere.accounts', kind: 'csv', optional: true }] } };
    const r = await runModels(staging, { models: optional }, { baseDir, select: ['accounts'] });
    expect(r.models).toMatchObject([{ name: 'accounts', status: 'built', rows: 0 }]);
    expect(Object.keys(await staging.db('accounts').columnInfo()).sort()).toEqual(
      ['account_id', 'name', 'website', 'domain', 'domains', 'parent_account_id', 'country', 'owner', 'duns', 'lifecycle_stage', 'churn_risk', 'source'].sort(),
    );
  });

  it('an input without a required column says which columns would do', async () => {
    await insertRaw(staging, 'raw_bad__accounts', [{ _key: '1', id: '1', website: 'x.com' }]);
    const models: ModelsConfigInput = { inputs: { accounts: [{ source: 'bad.accounts', kind: 'csv' }] } };
    await expect(runModels(staging, { models }, { baseDir, select: ['accounts'] })).rejects.toThrow(/has no column for name \(expected one of: name, account_name, company_name\)/);
  });

  it('plays fail with "run partnersync match first" when selected before matches exist, and are skipped in a full run', async () => {
    // Migrations create `matches`; a staging database from before them (or one where it was dropped) has none.
    await staging.db.schema.dropTableIfExists('matches');
    await expect(runModels(staging, { models: {} }, { baseDir, select: ['play_partner_overlap_summary'] })).rejects.toThrow(/reads table matches.*run `partnersync match` first/);
    const r = await runModels(staging, { models: {} }, { baseDir });
    const byName = Object.fromEntries(r.models.map((m) => [m.name, m.status]));
    expect(byName).toMatchObject({
      accounts: 'built', partner_signals: 'built', play_partner_overlap_summary: 'skipped', play_churn_risk_partner: 'skipped',
      play_churn_risk_partner_contacts: 'skipped', play_ai_tool_prospects: 'skipped',
    });
  });
});
