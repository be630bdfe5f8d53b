import { sourceContract } from '../contract/source-contract.js';
import { start as startCrossbeam, stableUuid } from '../../src/emulators/crossbeam/index.js';
import { start as startSalesforce, DEFAULT_CLIENT, DEFAULT_USER } from '../../src/emulators/salesforce/index.js';
import { start as startHubspot, DEFAULT_HUBSPOT_TOKEN } from '../../src/emulators/hubspot/index.js';
import { CrossbeamConfig } from '../../src/connectors/crossbeam/config.js';
import { SalesforceConfig } from '../../src/connectors/salesforce/config.js';
import { HubspotConfig } from '../../src/connectors/hubspot/config.js';
import { createCrossbeamClient } from '../../src/connectors/crossbeam/client.js';
import { CrossbeamSource } from '../../src/connectors/crossbeam/source.js';
import { connectSalesforce, type SalesforceClient } from '../../src/connectors/salesforce/client.js';
import { SalesforceSource } from '../../src/connectors/salesforce/source.js';
import { createHubspotClient } from '../../src/connectors/hubspot/client.js';
import { HubspotSource } from '../../src/connectors/hubspot/source.js';
import type { Source } from '../../src/connectors/types.js';

/** The shared source contract for the API sources, each over its emulator with several pages per stream. */

/** Crossbeam data with several pages in every paged stream (pageSize 2). */
function crossbeamSeed() {
  const partners = Array.from({ length: 5 }, (_, i) => ({ uuid: stableUuid(`p${i}`), id: 600 + i, name: `Partner ${i}`, domain: `p${i}.example` }));
  const records = Array.from({ length: 10 }, (_, i) => ({
    record_id: `001R${i}`,
    crossbeam_record_id: stableUuid(`r${i}`),
    record_name: `Rec ${i}`,
    record_type: (i < 5 ? 'account' : 'lead') as 'account' | 'lead',
    populations: [1],
  }));
  return {
    partners,
    populations: [{ id: 1, name: 'Customers', standard_type: 'customers' as const }],
    partner_populations: [{ id: 2, name: 'Partner customers', partner_id: partners[0]!.uuid }],
    records,
    overlaps: [
      ...records.slice(0, 5).flatMap((r, i) => [{ crossbeam_record_id: r.crossbeam_record_id, partner_id: partners[i % 5]!.uuid, partner_record_type: 'account' as const }]),
      ...records.slice(0, 4).map((r) => ({ crossbeam_record_id: r.crossbeam_record_id, partner_id: partners[4]!.uuid, partner_record_type: 'lead' as const })),
    ],
    signals: [
      ...Array.from({ length: 5 }, (_, i) => ({ record_id: `001R${i}`, event_type: 'partner_deal_opened' })),
      ...Array.from({ length: 3 }, () => ({ record_id: '001R5', record_type: 'lead' as const, event_type: 'partner_deal_opened' })),
      ...Array.from({ length: 3 }, () => ({ record_id: '001R1', event_type: 'own_deal_opened' })),
    ],
  };
}

/** Only the streams whose endpoints page: populations and partner populations come in one response. */
function pagedOnly(source: Source, skip: string[]): Source {
  return {
    check: () => source.check(),
    discover: async () => (await source.discover()).filter((s) => !skip.includes(s.name)),
    read: (s, o) => source.read(s, o),
  };
}

sourceContract('crossbeam', {
  configSchema: CrossbeamConfig,
  async makeSource() {
    const xb = await startCrossbeam({ seedData: crossbeamSeed() });
    const config = CrossbeamConfig.parse({ type: 'crossbeam', baseUrl: xb.url, organization: xb.orgUuid, clientId: xb.clientId, clientSecret: xb.clientSecret, pageSize: 2 });
    const source = new CrossbeamSource(createCrossbeamClient(config), config);
    return { source: pagedOnly(source, ['populations', 'partner_populations']), cleanup: () => xb.stop() };
  },
});

sourceContract('salesforce', {
  configSchema: SalesforceConfig,
  async makeSource() {
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    // Pairs of rows share a SystemModstamp, so resuming must order by (SystemModstamp, Id).
    const stamp = (i: number) => new Date(t0 + Math.floor(i / 2) * 1000).toISOString().replace('Z', '+0000');
    const sf = await startSalesforce({
      seedData: {
        Account: Array.from({ length: 450 }, (_, i) => ({ Name: `A${i}`, SystemModstamp: stamp(i) })),
        Contact: Array.from({ length: 230 }, (_, i) => ({ LastName: `C${i}`, SystemModstamp: stamp(i) })),
        Opportunity: Array.from({ length: 210 }, (_, i) => ({ Name: `O${i}`, StageName: 'Prospecting', CloseDate: '2024-06-30', SystemModstamp: stamp(i) })),
      },
    });
    const config = SalesforceConfig.parse({
      type: 'salesforce', loginUrl: sf.url, ...DEFAULT_CLIENT, username: DEFAULT_USER.username, password: DEFAULT_USER.password, queryBatchSize: 200, overlapMinutes: 0,
    });
    let client: Promise<SalesforceClient> | undefined;
    return { source: new SalesforceSource(() => (client ??= connectSalesforce(config)), config), cleanup: () => sf.stop() };
  },
});

sourceContract('hubspot', {
  configSchema: HubspotConfig,
  async makeSource() {
    const hs = await startHubspot({
      rateLimit: { max: 100_000, intervalMs: 1000 },
      seedData: {
        companies: Array.from({ length: 25 }, (_, i) => ({ name: `Co ${i}` })),
        contacts: Array.from({ length: 25 }, (_, i) => ({ email: `p${i}@x.example` })),
        deals: Array.from({ length: 25 }, (_, i) => ({ dealname: `D${i}` })),
      },
    });
    const companies = hs.state.list('companies');
    const contacts = hs.state.list('contacts');
    companies.forEach((c, i) => hs.state.associate('companies', c.id, 'contacts', contacts[i]!.id));
    const config = HubspotConfig.parse({ type: 'hubspot', baseUrl: hs.url, accessToken: DEFAULT_HUBSPOT_TOKEN, pageSize: 10 });
    return { source: new HubspotSource(createHubspotClient(config), config), cleanup: () => hs.stop() };
  },
});
