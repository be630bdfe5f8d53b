import type { Knex } from 'knex';
import { ConfigError } from '../errors.js';
import type { AttributionConfig, RuleSet } from './config.js';
import { computeAttribution } from './compute.js';
import { readAttributionInputs } from './inputs-read.js';
import { openEntries, planPosting, postAttribution, readLedger, type PostingPlan } from './ledger.js';
import type { AttributionResult } from './types.js';

/**
 * The thin I/O layer around the pure core: pick the rules, read staging, compute, and (only when
 * asked) append to the ledger. Commands and other steps call these; tests call the pure parts directly.
 *
 * @example
 *   const { ruleVersion, rules } = resolveRules(config.attribution, opts.rules);
 *   const { result } = await attributeFromStaging(staging.db, { rules, ruleVersion, asOf });
 *   await postResult(staging.db, result, { runId });
 */
export function resolveRules(config: AttributionConfig, version?: string): { ruleVersion: string; rules: RuleSet } {
  const versions = Object.keys(config.rules);
  const ruleVersion = version ?? config.activeRules ?? (versions.length === 1 ? versions[0] : undefined);
  if (!ruleVersion) {
    throw new ConfigError([versions.length === 0 ? 'attribution.rules: no rule versions configured' : `attribution.activeRules: required when there are several rule versions (${versions.join(', ')}), or pass --rules`], {
      hint: 'add attribution.rules.<version> and attribution.activeRules to partnersync.yaml',
    });
  }
  const rules = config.rules[ruleVersion];
  if (!rules) throw new ConfigError([`attribution.rules.${ruleVersion}: no such rule version (have: ${versions.join(', ') || 'none'})`]);
  return { ruleVersion, rules };
}

export async function attributeFromStaging(db: Knex, opts: { rules: RuleSet; ruleVersion: string; asOf: string }): Promise<{ result: AttributionResult; warnings: string[] }> {
  const { inputs, warnings } = await readAttributionInputs(db);
  const result = computeAttribution(inputs, opts.rules, { asOf: opts.asOf, ruleVersion: opts.ruleVersion });
  return { result, warnings: [...warnings, ...result.warnings] };
}

/** Reconcile the ledger with a result: reversals for lines that no longer hold, new lines for new numbers. */
export async function postResult(db: Knex, result: AttributionResult, opts: { runId?: string; computedAt?: string } = {}): Promise<PostingPlan & { reversed: number; added: number }> {
  const open = openEntries(await readLedger(db));
  const plan = planPosting(open, result.entries, result.asOf);
  const counts = await postAttribution(db, plan, opts);
  return { ...plan, ...counts };
}

export { computeAttribution, entryOrder, splitWeights, ENTRY_FIELDS } from './compute.js';
export { AttributionConfig, RuleSet } from './config.js';
export { readAttributionInputs, INPUT_TABLES } from './inputs-read.js';
export { asEntry, diffEntries, openEntries, planPosting, postAttribution, readLedger } from './ledger.js';
export type { DiffLine, LedgerEntry, PostingPlan } from './ledger.js';
export { buildReport, entriesToCsv, entriesToJson, formatMinor, parsePeriod, toCsv } from './report.js';
export type { Period, ReportRow } from './report.js';
export { parseAsOf, normalizeTimestamp } from './timestamps.js';
export type * from './types.js';
