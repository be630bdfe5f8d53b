import { stableUuid, type CrossbeamSeed } from './crossbeam-state.js';

/**
 * The seed used when none is given: one organisation, two partners, our three standard populations,
 * each partner's shared populations, eight of our accounts, seven account overlaps, one lead overlap
 * and three signals. Ids are derived from names, so every run sees the same data.
 */
const p1 = stableUuid('partner:Northwind Cloud');
const p2 = stableUuid('partner:Contoso Data');
const rec = (name: string): string => stableUuid('record:' + name);
const prec = (partner: string, name: string): string => stableUuid(`partner-record:${partner}:${name}`);

const accounts: [string, string, string, number[]][] = [
  ['001ACME00000001', 'Globex Corporation', 'globex.com', [17059]],
  ['001ACME00000002', 'Initech', 'initech.com', [17060]],
  ['001ACME00000003', 'Umbrella Group', 'umbrella-group.com', [17086]],
  ['001ACME00000004', 'Hooli', 'hooli.xyz', [17059]],
  ['001ACME00000005', 'Stark Industries', 'starkindustries.com', [17060, 17086]],
  ['001ACME00000006', 'Wayne Enterprises', 'wayne.enterprises', [17059]],
  ['001ACME00000007', 'Soylent Foods', 'soylent.example', [17060]],
  ['001ACME00000008', 'Tyrell Systems', 'tyrell.example', [17086]],
];

export const defaultCrossbeamSeed: CrossbeamSeed = {
  organization: { uuid: stableUuid('org:Acme Analytics'), id: 1001, name: 'Acme Analytics', domain: 'acme-analytics.example' },
  user: { id: 12345, email: 'ops@acme-analytics.example', first_name: 'Avery', last_name: 'Ops' },
  partners: [
    { uuid: p1, id: 501, name: 'Northwind Cloud', domain: 'northwind.example', tags: [{ id: stableUuid('tag:Cloud'), label: 'Cloud' }] },
    { uuid: p2, id: 502, name: 'Contoso Data', domain: 'contoso.example', tags: [] },
  ],
  populations: [
    { id: 17059, name: 'Customers', population_type: 'companies', standard_type: 'customers' },
    { id: 17060, name: 'Prospects', population_type: 'companies', standard_type: 'prospects' },
    { id: 17086, name: 'Open Opportunities', population_type: 'companies', standard_type: 'open_opportunities' },
    { id: 17087, name: 'Leads', population_type: 'people', standard_type: null },
  ],
  partner_populations: [
    { id: 11113, name: 'Customers', population_type: 'companies', standard_type: 'customers', partner_id: p1 },
    { id: 11114, name: 'Open Opportunities', population_type: 'companies', standard_type: 'open_opportunities', partner_id: p1 },
    { id: 11115, name: 'Prospects', population_type: 'companies', standard_type: 'prospects', partner_id: p1 },
    { id: 11213, name: 'Customers', population_type: 'companies', standard_type: 'customers', partner_id: p2 },
    { id: 11214, name: 'Open Opportunities', population_type: 'companies', standard_type: 'open_opportunities', partner_id: p2 },
  ],
  records: [
    ...accounts.map(([id, name, website, pops]) => ({
      record_type: 'account' as const,
      record_id: id,
      crossbeam_record_id: rec(name),
      record_name: name,
      record_website: website,
      populations: pops,
      crm_data: [
        { field_name: 'Account Name', field_value: name },
        { field_name: 'Account Website', field_value: website },
      ],
      owner: { owner_name: 'Dana Seller', owner_email: 'dana@acme-analytics.example', owner_phone: null },
      updated_at: '2025-01-15T10:00:00.000Z',
    })),
    {
      record_type: 'lead',
      record_id: '00QACME00000001',
      crossbeam_record_id: rec('lead:jo@globex.com'),
      record_name: 'Jo Buyer',
      record_website: null,
      record_email: 'jo@globex.com',
      populations: [17087],
      owner: { owner_name: 'Dana Seller', owner_email: 'dana@acme-analytics.example', owner_phone: null },
      updated_at: '2025-01-15T10:00:00.000Z',
    },
  ],
  overlaps: [
    ...[
    ['Globex Corporation', p1, [11113], 'Customer'],
    ['Initech', p1, [11114], 'Open Opportunity'],
    ['Umbrella Group', p1, [11115], 'Prospect'],
    ['Hooli', p2, [11213], 'Customer'],
    ['Stark Industries', p2, [11214], 'Open Opportunity'],
    ['Wayne Enterprises', p1, [11113], 'Customer'],
    ['Wayne Enterprises', p2, [11213], 'Customer'],
  ].map(([name, partner, pops, type], i) => {
    const account = accounts.find((a) => a[1] === name)!;
    return {
      crossbeam_record_id: rec(name as string),
      partner_id: partner as string,
      partner_crossbeam_record_id: prec(partner as string, name as string),
      partner_record_type: 'account' as const,
      partner_record_id: `001PRTN${String(i + 1).padStart(8, '0')}`,
      partner_record_name: name as string,
      partner_record_website: account[2],
      partner_record_company_type: type as string,
      partner_record_country: 'USA',
      partner_record_industry: 'Software',
      partner_record_employees: 250 * (i + 1),
      partner_populations: pops as number[],
      partner_owner: {
        owner_name: partner === p1 ? 'Nia Northwind' : 'Cal Contoso',
        owner_email: partner === p1 ? 'nia@northwind.example' : 'cal@contoso.example',
        owner_phone: null,
        crossbeam_owner_id: stableUuid('owner:' + String(partner)),
      },
      partner_source_data: [{ field_name: 'Customer Status', field_value: type }],
    };
  }),
    {
      crossbeam_record_id: rec('lead:jo@globex.com'),
      partner_id: p1,
      partner_crossbeam_record_id: prec(p1, 'lead:jo@globex.com'),
      partner_record_type: 'lead' as const,
      partner_record_id: '00QPRTN00000001',
      partner_record_name: 'Jo Buyer',
      partner_record_website: null,
      partner_record_email: 'jo@globex.com',
      partner_populations: [11113],
    },
  ],
  signals: [
    {
      event_id: stableUuid('event:1'),
      event_type: 'partner_deal_opened',
      triggered_at: '2025-01-10T09:00:00.000+00:00',
      record_id: '001ACME00000002',
      partner_id: p1,
      partner_populations: [11114],
      partner_data: { deal: { name: 'Initech expansion', stage: 'Discovery', is_closed: false, is_won: false, open_date: '2025-01-10T00:00:00.000+00:00', close_date: null } },
    },
    {
      event_id: stableUuid('event:2'),
      event_type: 'partner_deal_closed_won',
      triggered_at: '2025-01-12T15:30:00.000+00:00',
      record_id: '001ACME00000001',
      partner_id: p1,
      partner_populations: [11113],
      partner_data: { deal: { name: 'Globex renewal', stage: 'Closed Won', is_closed: true, is_won: true, open_date: '2024-11-02T00:00:00.000+00:00', close_date: '2025-01-12T00:00:00.000+00:00' } },
    },
    {
      event_id: stableUuid('event:3'),
      event_type: 'partner_deal_opened',
      triggered_at: '2025-01-14T11:45:00.000+00:00',
      record_id: '001ACME00000005',
      partner_id: p2,
      partner_populations: [11214],
      partner_data: { deal: { name: 'Stark pilot', stage: 'Qualification', is_closed: false, is_won: false, open_date: '2025-01-14T00:00:00.000+00:00', close_date: null } },
    },
  ],
};
