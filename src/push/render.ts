import type { Plan } from './plan.js';
import type { TargetReport } from './push-targets.js';

/** Human renderings of plans and push summaries (the JSON forms are the objects themselves). */

const show = (v: unknown): string => (v === null || v === undefined ? '∅' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v));

export function renderPlan(plan: Omit<Plan, 'ops' | 'skipped'>): string {
  const c = plan.counts;
  const lines = [
    `target ${plan.target} → ${plan.connection} (${plan.object}, ${plan.mode} by ${plan.keyField})${plan.fullResync ? ' [full resync]' : ''}`,
    `  considered ${c.considered}: create ${c.create}, update ${c.update}, delete ${c.delete}, archive ${c.archive}, clear ${c.clear}, unchanged ${c.unchanged}, invalid ${c.invalid}, skipped ${c.skipped}`,
    `  predicted write calls: ${plan.predictedCalls.total}${
      Object.keys(plan.predictedCalls.byOperation).length
        ? ` (${Object.entries(plan.predictedCalls.byOperation).map(([op, n]) => `${op} ${n}`).join(', ')}; ≤${plan.predictedCalls.batchSize} records each)`
        : ''
    }`,
  ];
  if (plan.removal.count > 0) {
    lines.push(
      `  removes ${plan.removal.count} of ${plan.removal.base} records partnersync wrote (${pct(plan.removal.share)}; limit ${pct(plan.removal.limit)})${plan.removal.exceeded ? ' — OVER THE SAFETY LIMIT, will not apply' : ''}`,
    );
  }
  if (plan.missingFields?.length) lines.push(`  missing destination fields: ${plan.missingFields.join(', ')} (use --create-missing-fields)`);
  for (const s of plan.samples) {
    lines.push(`  ${s.action} ${s.key}`);
    for (const ch of s.changes.slice(0, 12)) lines.push(`      ${ch.field}: ${show(ch.before)} → ${show(ch.after)}`);
  }
  for (const i of plan.invalid.slice(0, 10)) lines.push(`  invalid row ${i.row + 1}${i.key ? ` (${i.key})` : ''}: ${i.code}: ${i.reason}`);
  if (plan.invalid.length > 10) lines.push(`  … and ${plan.invalid.length - 10} more invalid rows`);
  return lines.join('\n');
}

export function renderSummary(r: TargetReport): string {
  const c = r.counts;
  const lines = [
    `${r.target}: considered ${c.considered} = unchanged ${c.unchanged} + sent ${c.sent} (created ${c.created}, updated ${c.updated}, deleted ${c.deleted}, archived ${c.archived}, cleared ${c.cleared}) + invalid ${c.invalid} + rejected ${c.rejected} + skipped ${c.skipped}`,
    `  ${r.writeCalls} write call${r.writeCalls === 1 ? '' : 's'}${r.rateLimited ? `, ${r.rateLimited} rate-limit waits` : ''}${r.retries ? `, ${r.retries} retries` : ''}${r.createdFields?.length ? `; created fields ${r.createdFields.join(', ')}` : ''}`,
  ];
  if (r.rejectsFile) lines.push(`  rejects: ${r.rejectsFile} (reject rate ${pct(r.rejectRate)}, allowed ${pct(r.maxRejectRate)})`);
  for (const x of r.sampleRejects ?? []) lines.push(`    ${x.kind} ${x.key ?? '(no key)'}: ${x.code}${x.httpStatus ? ` (HTTP ${x.httpStatus})` : ''}: ${x.message}`);
  return lines.join('\n');
}

function pct(x: number): string {
  return `${Math.round(x * 10_000) / 100}%`;
}
