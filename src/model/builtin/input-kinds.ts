import type { CanonicalModel } from '../config.js';

/**
 * THE place that says which raw columns each input kind of each canonical model reads. Raw columns are
 * lower_snake_case of the source fields (see `src/staging/raw-tables.ts`). For every canonical column
 * the first non-blank value among the listed raw columns wins (columns absent from the raw table are
 * skipped); `*` marks a column the input must have at least one of. Every canonical column is text.
 *
 * accounts          account_id*, name*, website, domain (computed from website), domains (extra, `;`-separated),
 *                   parent_account_id, country, owner, duns, lifecycle_stage, churn_risk, source
 * contacts          contact_id*, account_id, email, first_name, last_name, title, source
 * opportunities     opportunity_id*, account_id, name, stage, amount, currency, close_date, is_closed, is_won, owner, source
 * partner_signals   signal_id*, partner*, population (`;`-separated), company_name, website, email, country,
 *                   record_id, partner_record_id, partner_record_name, partner_record_website, owner_email, seen_at, source
 * technographics    domain* (computed from the listed column), technology*, vendor, category, source
 *
 * `source` is the input's `<connection>.<stream>`. Rows with `_deleted = 1` are left out. With more than
 * one input, `partner_signals.signal_id` is prefixed with `<connection>.<stream>:` so ids stay unique.
 */
export interface ColumnSpec {
  /** Raw columns, first non-blank wins. */
  from: string[];
  required?: boolean;
  /** How the value is derived from the raw columns (default: first non-blank, trimmed). */
  transform?: 'json-names' | 'domain-list';
}

export type KindSpec = Record<string, ColumnSpec>;

const c = (...from: string[]): ColumnSpec => ({ from });
const req = (...from: string[]): ColumnSpec => ({ from, required: true });

/** Canonical columns in table order (computed ones included, marked by the generator). */
export const CANONICAL_COLUMNS: Record<CanonicalModel, string[]> = {
  accounts: ['account_id', 'name', 'website', 'domain', 'domains', 'parent_account_id', 'country', 'owner', 'duns', 'lifecycle_stage', 'churn_risk', 'source'],
  contacts: ['contact_id', 'account_id', 'email', 'first_name', 'last_name', 'title', 'source'],
  opportunities: ['opportunity_id', 'account_id', 'name', 'stage', 'amount', 'currency', 'close_date', 'is_closed', 'is_won', 'owner', 'source'],
  partner_signals: [
    'signal_id', 'partner', 'population', 'company_name', 'website', 'email', 'country',
    'record_id', 'partner_record_id', 'partner_record_name', 'partner_record_website', 'owner_email', 'seen_at', 'source',
  ],
  technographics: ['domain', 'technology', 'vendor', 'category', 'source'],
};

export const INPUT_COLUMNS: { [M in CanonicalModel]: Record<string, KindSpec> } = {
  accounts: {
    csv: {
      account_id: req('account_id', 'id'),
      name: req('name', 'account_name', 'company_name'),
      website: c('website', 'domain'),
      domains: { from: ['domains', 'extra_domains'], transform: 'domain-list' },
      parent_account_id: c('parent_account_id', 'parent_id'),
      country: c('country', 'billing_country'),
      owner: c('owner', 'owner_email', 'owner_name'),
      duns: c('duns', 'duns_number'),
      lifecycle_stage: c('lifecycle_stage', 'lifecycle', 'stage', 'type'),
      churn_risk: c('churn_risk'),
    },
    // Salesforce Account (custom fields keep their `__c`).
    salesforce: {
      account_id: req('id'),
      name: req('name'),
      website: c('website'),
      domains: { from: ['domains__c', 'extra_domains__c'], transform: 'domain-list' },
      parent_account_id: c('parentid'),
      country: c('billingcountrycode', 'billingcountry', 'shippingcountrycode', 'shippingcountry'),
      owner: c('owner_email', 'ownerid'),
      duns: c('dunsnumber', 'duns__c'),
      lifecycle_stage: c('lifecycle_stage__c', 'type'),
      churn_risk: c('churn_risk__c'),
    },
    // HubSpot companies: properties as columns.
    hubspot: {
      account_id: req('id', 'hs_object_id'),
      name: req('name'),
      website: c('website', 'domain'),
      domains: { from: ['hs_additional_domains'], transform: 'domain-list' },
      parent_account_id: c('hs_parent_company_id'),
      country: c('country'),
      owner: c('hubspot_owner_id'),
      duns: c('duns'),
      lifecycle_stage: c('lifecyclestage'),
      churn_risk: c('churn_risk'),
    },
  },
  contacts: {
    csv: {
      contact_id: req('contact_id', 'id'),
      account_id: c('account_id', 'company_id'),
      email: c('email'),
      first_name: c('first_name', 'firstname'),
      last_name: c('last_name', 'lastname'),
      title: c('title', 'job_title'),
    },
    salesforce: {
      contact_id: req('id'),
      account_id: c('accountid'),
      email: c('email'),
      first_name: c('firstname'),
      last_name: c('lastname'),
      title: c('title'),
    },
    hubspot: {
      contact_id: req('id', 'hs_object_id'),
      account_id: c('associatedcompanyid'),
      email: c('email'),
      first_name: c('firstname'),
      last_name: c('lastname'),
      title: c('jobtitle'),
    },
  },
  opportunities: {
    csv: {
      opportunity_id: req('opportunity_id', 'id'),
      account_id: c('account_id'),
      name: c('name', 'opportunity_name'),
      stage: c('stage'),
      amount: c('amount'),
      currency: c('currency'),
      close_date: c('close_date'),
      is_closed: c('is_closed'),
      is_won: c('is_won'),
      owner: c('owner'),
    },
    salesforce: {
      opportunity_id: req('id'),
      account_id: c('accountid'),
      name: c('name'),
      stage: c('stagename'),
      amount: c('amount'),
      currency: c('currencyisocode'),
      close_date: c('closedate'),
      is_closed: c('isclosed'),
      is_won: c('iswon'),
      owner: c('ownerid'),
    },
    hubspot: {
      opportunity_id: req('id', 'hs_object_id'),
      account_id: c('associatedcompanyid', 'company_id'),
      name: c('dealname'),
      stage: c('dealstage'),
      amount: c('amount'),
      currency: c('deal_currency_code'),
      close_date: c('closedate'),
      is_closed: c('hs_is_closed'),
      is_won: c('hs_is_closed_won'),
      owner: c('hubspot_owner_id'),
    },
  },
  partner_signals: {
    // Crossbeam API overlaps (`/v1/overlaps/accounts|leads`): our record's evidence first, the partner's as fallback.
    'crossbeam-api': {
      signal_id: req('_key'),
      partner: req('partner_name'),
      population: { from: ['partner_populations'], transform: 'json-names' },
      company_name: c('record_name', 'partner_record_name'),
      website: c('record_website', 'partner_record_website'),
      email: c('record_email', 'partner_record_email'),
      country: c('partner_record_country'),
      record_id: c('record_id'),
      partner_record_id: c('partner_crossbeam_record_id', 'partner_record_id'),
      partner_record_name: c('partner_record_name'),
      partner_record_website: c('partner_record_website'),
      owner_email: c('owner_email'),
      seen_at: c('_extracted_at'),
    },
    // Crossbeam account-mapping CSV export, as the csv connector's crossbeam-account-mapping layout
    // names its columns (src/connectors/csv/crossbeam-layout.ts).
    'crossbeam-export': {
      signal_id: req('_key'),
      partner: req('partner', 'partner_name'),
      population: c('partner_population', 'partner_populations'),
      company_name: c('record_name', 'partner_record_name'),
      website: c('record_website', 'partner_record_website'),
      email: c('record_email', 'partner_record_email'),
      country: c('partner_record_country', 'country'),
      record_id: c('record_id'),
      partner_record_id: c('partner_record_id', 'partner_record_ref'),
      partner_record_name: c('partner_record_name'),
      partner_record_website: c('partner_record_website'),
      owner_email: c('owner_email'),
      seen_at: c('overlap_started_at', '_extracted_at'),
    },
    csv: {
      signal_id: req('signal_id', 'id', '_key'),
      partner: req('partner', 'partner_name'),
      population: c('population', 'partner_population'),
      company_name: c('company_name', 'name', 'record_name'),
      website: c('website', 'domain'),
      email: c('email'),
      country: c('country'),
      record_id: c('record_id', 'account_id'),
      partner_record_id: c('partner_record_id'),
      partner_record_name: c('partner_record_name'),
      partner_record_website: c('partner_record_website'),
      owner_email: c('owner_email'),
      seen_at: c('seen_at', 'first_seen', 'created_at', '_extracted_at'),
    },
  },
  technographics: {
    csv: {
      domain: req('domain', 'website', 'company_domain'),
      technology: req('technology', 'tech', 'product', 'technology_name'),
      vendor: c('vendor'),
      category: c('category'),
    },
  },
};
