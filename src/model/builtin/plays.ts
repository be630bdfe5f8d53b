/**
 * The built-in models that derive what sales and CS act on. Shipped as SQL text (not .sql files) so they
 * work from dist/ without copying assets. Each reads canonical models with ref() and the match results
 * with table('matches'); a project model of the same name replaces the built-in.
 */
export interface BuiltinSql {
  name: string;
  description: string;
  sql: string;
}

/** One row per signal and population (`Customers;Open Opportunities` → two rows). */
const partnerSignalPopulations = `-- description: partner_signals with one row per partner population
WITH RECURSIVE split(signal_id, partner, rest, population) AS (
  SELECT signal_id, partner, population || ';', CAST(NULL AS TEXT)
  FROM {{ ref('partner_signals') }}
  WHERE population IS NOT NULL
  UNION ALL
  SELECT signal_id, partner,
         substr(rest, {{ strpos('rest', "';'") }} + 1),
         TRIM(substr(rest, 1, {{ strpos('rest', "';'") }} - 1))
  FROM split
  WHERE rest <> ''
)
SELECT DISTINCT signal_id, partner, population
FROM split
WHERE population IS NOT NULL AND population <> ''
`;

/** Play 3: partner overlap summary per account → CRM account / company fields. */
const partnerOverlapSummary = `-- description: per matched account: partners, populations, counts, first and last seen (CRM fields)
WITH matched AS (
  SELECT s.signal_id, s.partner, s.seen_at, m.account_id,
         s.partner || '|' || COALESCE(s.partner_record_id, s.partner_record_name, s.signal_id) AS overlap_key
  FROM {{ ref('partner_signals') }} s
  JOIN {{ table('matches') }} m ON m.signal_id = s.signal_id
  WHERE m.status = 'matched' AND m.account_id IS NOT NULL
),
partners AS (
  SELECT DISTINCT account_id, partner FROM matched WHERE partner IS NOT NULL
),
labels AS (
  SELECT DISTINCT matched.account_id, p.partner || ': ' || p.population AS label
  FROM matched
  JOIN {{ ref('partner_signal_populations') }} p ON p.signal_id = matched.signal_id
),
totals AS (
  -- An export lists one overlap once per pair of populations: count partner records, not rows.
  SELECT account_id, CAST(COUNT(DISTINCT overlap_key) AS INTEGER) AS overlap_count, MIN(seen_at) AS first_seen_at, MAX(seen_at) AS last_seen_at
  FROM matched
  GROUP BY account_id
),
partner_list AS (
  SELECT account_id, {{ string_agg('partner', ';') }} AS partner_names, CAST(COUNT(*) AS INTEGER) AS partner_count
  FROM partners
  GROUP BY account_id
),
label_list AS (
  SELECT account_id, {{ string_agg('label', ';') }} AS populations
  FROM labels
  GROUP BY account_id
)
SELECT t.account_id, a.name AS account_name, pl.partner_names, pl.partner_count, ll.populations,
       t.overlap_count, t.first_seen_at, t.last_seen_at
FROM totals t
LEFT JOIN {{ ref('accounts') }} a ON a.account_id = t.account_id
LEFT JOIN partner_list pl ON pl.account_id = t.account_id
LEFT JOIN label_list ll ON ll.account_id = t.account_id
`;

/** Play 1: churn-risk accounts that are customers of a strategic partner → Intercom company attributes. */
const churnRiskPartner = `-- description: churn-risk accounts that are customers of a strategic partner (Intercom company attributes)
WITH strategic AS (
  SELECT DISTINCT m.account_id, p.partner
  FROM {{ ref('partner_signal_populations') }} p
  JOIN {{ table('matches') }} m ON m.signal_id = p.signal_id
  WHERE m.status = 'matched'
    AND lower(TRIM(p.partner)) IN {{ var_list('strategicPartners') }}
    AND lower(TRIM(p.population)) IN {{ var_list('customerPopulations') }}
)
SELECT a.account_id AS company_id, a.name AS company_name, a.churn_risk,
       1 AS churn_risk_partner_customer,
       {{ string_agg('s.partner', ';') }} AS strategic_partners,
       CAST(COUNT(*) AS INTEGER) AS strategic_partner_count
FROM {{ ref('accounts') }} a
JOIN strategic s ON s.account_id = a.account_id
WHERE lower(TRIM(a.churn_risk)) IN {{ var_list('churnRiskValues') }}
GROUP BY a.account_id, a.name, a.churn_risk
`;

/** Play 1, contacts side: the contacts of those companies → Intercom contact attributes. */
const churnRiskPartnerContacts = `-- description: contacts of churn-risk accounts that are customers of a strategic partner (Intercom contact attributes)
SELECT c.contact_id, lower(TRIM(c.email)) AS email, p.company_id, p.churn_risk,
       p.churn_risk_partner_customer, p.strategic_partners
FROM {{ ref('contacts') }} c
JOIN {{ ref('play_churn_risk_partner') }} p ON p.company_id = c.account_id
WHERE c.email IS NOT NULL
`;

/** Play 2: prospects using an AI tool we integrate with, plus which partners know them → Salesforce account fields. */
const aiToolProspects = `-- description: prospects whose technographics show an integrated AI tool, with the partners that know them (Salesforce account fields)
WITH prospects AS (
  SELECT account_id, name, domain, domains
  FROM {{ ref('accounts') }}
  WHERE lower(TRIM(COALESCE(lifecycle_stage, ''))) IN {{ var_list('prospectStages') }}
),
tools AS (
  SELECT DISTINCT p.account_id, t.technology
  FROM prospects p
  JOIN {{ ref('technographics') }} t
    ON t.domain = p.domain OR ';' || COALESCE(p.domains, '') || ';' LIKE '%;' || t.domain || ';%'
  WHERE lower(TRIM(t.technology)) IN {{ var_list('aiTools') }}
     OR lower(TRIM(COALESCE(t.vendor, ''))) IN {{ var_list('aiTools') }}
),
partners AS (
  SELECT DISTINCT m.account_id, s.partner
  FROM {{ ref('partner_signals') }} s
  JOIN {{ table('matches') }} m ON m.signal_id = s.signal_id
  WHERE m.status = 'matched' AND s.partner IS NOT NULL
),
tool_list AS (
  SELECT account_id, {{ string_agg('technology', ';') }} AS ai_tools FROM tools GROUP BY account_id
),
partner_list AS (
  SELECT account_id, {{ string_agg('partner', ';') }} AS known_by_partners, CAST(COUNT(*) AS INTEGER) AS partner_count
  FROM partners
  GROUP BY account_id
)
SELECT p.account_id, p.name AS account_name, 1 AS uses_integrated_ai_tool, tl.ai_tools,
       pl.known_by_partners, CAST(COALESCE(pl.partner_count, 0) AS INTEGER) AS partner_count
FROM prospects p
JOIN tool_list tl ON tl.account_id = p.account_id
LEFT JOIN partner_list pl ON pl.account_id = p.account_id
`;

export const BUILTIN_SQL: readonly BuiltinSql[] = [
  { name: 'partner_signal_populations', description: 'partner_signals, one row per population', sql: partnerSignalPopulations },
  { name: 'play_partner_overlap_summary', description: 'partner overlap summary per account (CRM fields)', sql: partnerOverlapSummary },
  { name: 'play_churn_risk_partner', description: 'churn risk × strategic partner customers (Intercom companies)', sql: churnRiskPartner },
  { name: 'play_churn_risk_partner_contacts', description: 'their contacts (Intercom contacts)', sql: churnRiskPartnerContacts },
  { name: 'play_ai_tool_prospects', description: 'AI-tool prospects with partner overlap (Salesforce accounts)', sql: aiToolProspects },
];
