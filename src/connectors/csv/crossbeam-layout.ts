import { rawColumnName } from '../../staging/raw-tables.js';

/**
 * Crossbeam's account-mapping export (Account Mapping → Export, one row per overlap of one of our
 * records with one partner record, per pair of populations). Headers are matched case- and
 * punctuation-insensitively; the aliases cover the variants seen in exports over time.
 *
 *   Record ID, Record Name, Record Website, Population, Owner Name, Owner Email,
 *   Partner, Partner Population, Partner Record ID, Partner Record Name, Partner Record Website,
 *   Partner Owner Name, Partner Owner Email, Overlap Start Date
 *
 * A file is recognised when it has Record Name, Partner and Partner Record Name. Columns not listed
 * here are kept under their snake_case names.
 *
 * Key: one overlap is (our record, population, partner, partner population, partner record):
 *   record_ref          = Record ID when present, else "<Record Name>|<Record Website>"
 *   partner_record_ref  = Partner Record ID when present, else "<Partner Record Name>|<Partner Record Website>"
 * Populations are part of the key when their columns exist: the same pair of accounts appears once per
 * pair of populations (Customers × Opportunities and Prospects × Customers are different signals).
 *
 * @example
 *   crossbeamColumnMap(['Record Name', 'Partner', 'Partner Record Name'])
 *   // → ['record_name', 'partner', 'partner_record_name']
 */
const ALIASES: Record<string, string[]> = {
  record_id: ['record_id', 'record_crm_id', 'crm_record_id'],
  record_name: ['record_name', 'account_name', 'your_record_name'],
  record_website: ['record_website', 'record_domain', 'website', 'your_record_website'],
  population: ['population', 'your_population', 'record_population'],
  owner_name: ['owner_name', 'record_owner_name', 'account_owner_name', 'your_owner_name'],
  owner_email: ['owner_email', 'record_owner_email', 'account_owner_email', 'your_owner_email'],
  partner: ['partner', 'partner_name', 'partner_organization', 'partner_org'],
  partner_population: ['partner_population', 'partner_population_name'],
  partner_record_id: ['partner_record_id', 'partner_crm_id'],
  partner_record_name: ['partner_record_name', 'partner_account_name'],
  partner_record_website: ['partner_record_website', 'partner_record_domain', 'partner_website'],
  partner_owner_name: ['partner_owner_name', 'partner_record_owner_name', 'partner_account_owner_name'],
  partner_owner_email: ['partner_owner_email', 'partner_record_owner_email', 'partner_account_owner_email'],
  overlap_started_at: ['overlap_start_date', 'date_overlap_started', 'overlap_started_at', 'overlap_time'],
};

const LOOKUP = new Map<string, string>(Object.entries(ALIASES).flatMap(([canonical, names]) => names.map((n) => [n, canonical] as const)));

export const CROSSBEAM_REQUIRED = ['record_name', 'partner', 'partner_record_name'] as const;

/** Canonical column name per header, or undefined when the header is not a Crossbeam account-mapping export. */
export function crossbeamColumnMap(header: string[]): string[] | undefined {
  const mapped = header.map((h) => LOOKUP.get(rawColumnName(h)) ?? rawColumnName(h));
  return CROSSBEAM_REQUIRED.every((c) => mapped.includes(c)) ? mapped : undefined;
}

/** The key columns for a mapped Crossbeam header (computed `*_ref` columns plus populations when present). */
export function crossbeamKey(mapped: string[]): string[] {
  const key = ['record_ref'];
  if (mapped.includes('population')) key.push('population');
  key.push('partner');
  if (mapped.includes('partner_population')) key.push('partner_population');
  key.push('partner_record_ref');
  return key;
}

/** Add the computed reference columns the key uses. */
export function addCrossbeamRefs(rec: Record<string, string | null>): void {
  rec.record_ref = rec.record_id || (rec.record_name ? `${rec.record_name}|${rec.record_website ?? ''}` : null);
  rec.partner_record_ref = rec.partner_record_id || (rec.partner_record_name ? `${rec.partner_record_name}|${rec.partner_record_website ?? ''}` : null);
}
