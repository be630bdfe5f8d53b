/**
 * `match explain`: a person-readable account of one decision — the evidence as the engine normalised it,
 * the rule that decided, the winner, and every candidate with why it lost.
 *
 * @example
 *   formatExplain(result, signal, index)
 *   // signal SIG-1: matched → ACC-2 (Acme GmbH) by website-domain, confidence 0.980
 *   //   evidence  website: acme.com; country: DE
 *   //   why       website acme.com is the account's website; country DE picks …
 *   //   beat      ACC-1 (Acme Inc) — website acme.com is the account's website; same hierarchy, …
 */
import { accountAt, type AccountIndex } from './account-index.js';
import type { MatchResult, SignalRecord } from './types.js';

function accountLabel(index: AccountIndex | undefined, id: string): string {
  const i = index?.byId.get(id);
  if (i === undefined) return id;
  const a = accountAt(index!, i);
  const parent = a.parent >= 0 ? `, child of ${index!.ids[a.parent]}` : '';
  return `${id} (${a.name}${a.country ? `, ${a.country}` : ''}${parent})`;
}

export function formatExplain(result: MatchResult, signal?: SignalRecord, index?: AccountIndex): string {
  const e = result.evidence;
  const lines: string[] = [];
  const head =
    result.status === 'matched'
      ? `matched → ${accountLabel(index, result.accountId!)} by ${result.rule}, confidence ${result.confidence.toFixed(3)}`
      : result.status === 'review'
        ? `review (${result.rule}; best confidence ${result.confidence.toFixed(3)})`
        : 'unmatched';
  lines.push(`signal ${result.signalId}: ${head}${result.decidedBy === 'review' ? ' [decided by a reviewer]' : ''}`);
  if (signal) {
    const raw = [
      signal.companyName && `company_name=${JSON.stringify(signal.companyName)}`,
      signal.website && `website=${JSON.stringify(signal.website)}`,
      signal.email && `email=${JSON.stringify(signal.email)}`,
      signal.country && `country=${JSON.stringify(signal.country)}`,
      signal.duns && `duns=${JSON.stringify(signal.duns)}`,
    ].filter(Boolean);
    lines.push(`  input     ${raw.join('  ') || '(no evidence fields)'}`);
  }
  const ev = [
    e.websiteDomains.length && `website domains: ${e.websiteDomains.join(', ')}`,
    e.sharedHostDomains.length && `on a shared host (owned by the customer, not the host): ${e.sharedHostDomains.join(', ')}`,
    e.emailDomains.length && `work e-mail domains: ${e.emailDomains.join(', ')}`,
    e.freeMailDomains.length && `free-mail domains (no evidence): ${e.freeMailDomains.join(', ')}`,
    e.nameKey && `name key: ${e.nameKey}`,
    e.country && `country: ${e.country}`,
    e.duns && `DUNS: ${e.duns}`,
  ].filter(Boolean);
  lines.push(`  evidence  ${ev.join('; ') || 'none'}`);
  lines.push(`  decision  ${result.explanation}`);
  if (result.candidates.length) {
    lines.push(result.status === 'matched' ? '  beat' : '  candidates (best first)');
    for (const c of result.candidates)
      lines.push(`    ${accountLabel(index, c.accountId)}  [${c.rule} ${c.score.toFixed(3)}]  ${c.reason}`);
  }
  return lines.join('\n');
}
