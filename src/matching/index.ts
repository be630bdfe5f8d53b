/**
 * The account-matching engine's public surface. The core is `matchSignals` / `createMatcher` (pure, no
 * I/O); normalisers, eval and explain are exported for the commands, models and tests that need them.
 *
 * @example
 *   import { matchSignals } from './matching/index.js';
 *   const results = matchSignals(accounts, signals, { hierarchy: { resolve: 'most-specific' } });
 */
export * from './types.js';
export { createMatcher, matchSignals, RULE_CONFIDENCE, type Matcher } from './engine.js';
export { accountAt, buildAccountIndex, type AccountIndex, type IndexedAccount } from './account-index.js';
export { normalizeHost, websiteDomains, type NormalizedHost } from './domain-normalize.js';
export { freeMailChecker, parseEmails, looksLikeEmail, type FreeMailChecker } from './email-domain.js';
export { normalizeCompanyName, foldUnicode, type NormalizedName } from './name-normalize.js';
export { normalizeCountry } from './country.js';
export { jaroWinkler } from './fuzzy.js';
export { evaluateMatches, formatEvalReport, type EvalReport, type EvalMetrics, type GoldRow } from './eval.js';
export { formatExplain } from './explain.js';
