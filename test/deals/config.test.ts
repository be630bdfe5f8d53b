import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { crmStage, resolveMapping } from '../../src/deals/config.js';
import { mapPartnerFields } from '../../src/deals/field-mapping.js';
import { minorToDecimal } from '../../src/deals/deal-decisions.js';

const fixture = fileURLToPath(new URL('../../fixtures/deals/partnersync.yaml', import.meta.url));
const env = { SF_CLIENT_ID: 'id', SF_CLIENT_SECRET: 'sec', SF_USERNAME: 'u', SF_PASSWORD: 'p', HUBSPOT_TOKEN: 'pat-x', PARTNERSYNC_DEALS_TOKEN_SECRET: 'x'.repeat(40) };

describe('deals config', () => {
  it('the example in fixtures/deals is valid and resolves per-partner mappings over the defaults', () => {
    const r = validateConfig(parse(fs.readFileSync(fixture, 'utf8')), env);
    expect(r.problems).toEqual([]);
    const deals = r.config!.deals;
    const nw = resolveMapping(deals, 'northwind');
    expect(nw).toMatchObject({ unknownFields: 'keep', rateLimit: { requests: 600, perSeconds: 60 } });
    expect(resolveMapping(deals, 'someone-else')).toMatchObject({ unknownFields: 'reject', fields: {}, rateLimit: { requests: 120, perSeconds: 60 } });
    expect(crmStage(deals, 'salesforce', 'closed_won')).toBe('Closed Won');
    expect(crmStage(deals, 'hubspot', 'negotiation')).toBe('contractsent');
    const m = mapPartnerFields({ opportunity: 'X', account: { domain: 'a.com', extra: 1 }, Stage: 'Stage 2 - Qualify', misc: true }, nw);
    expect(m).toEqual({ fields: { deal_name: 'X', company_website: 'a.com', stage: 'qualification' }, unknown: { misc: true }, theirName: { deal_name: 'opportunity', company_website: 'account.domain', stage: 'Stage' } });
  });

  it('reports every problem of the section at once', () => {
    const r = validateConfig({ deals: { tokenSecret: 'short', conflictWindowDays: -1, partners: { Bad_Id: {}, ok: { fields: { x: 'not_ours' }, unknownFields: 'maybe' } } } }, {});
    expect(r.problems.filter((p) => p.startsWith('deals.')).map((p) => p.split(':')[0]).sort()).toEqual([
      'deals.conflictWindowDays',
      'deals.partners.Bad_Id',
      'deals.partners.ok.fields.x',
      'deals.partners.ok.unknownFields',
      'deals.tokenSecret',
    ]);
  });

  it('turns minor units into exact decimal text in the currency\'s own exponent', () => {
    expect(minorToDecimal(1_250_000, 'USD')).toBe('12500.00');
    expect(minorToDecimal(5, 'EUR')).toBe('0.05');
    expect(minorToDecimal(1234, 'JPY')).toBe('1234');
    expect(minorToDecimal(12_345, 'KWD')).toBe('12.345');
    expect(minorToDecimal(null, 'USD')).toBeNull();
  });
});
