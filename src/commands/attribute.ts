import {
  asEntry,
  attributeFromStaging,
  buildReport,
  diffEntries,
  entriesToCsv,
  entriesToJson,
  formatMinor,
  openEntries,
  parseAsOf,
  parsePeriod,
  postResult,
  readLedger,
  resolveRules,
  toCsv,
  type AttributionEntry,
} from '../attribution/index.js';
import { REPORT_COLUMNS } from '../attribution/report.js';
import { UsageError } from '../errors.js';
import { nowIso, openStaging, type Staging } from '../staging/db.js';
import { table } from '../ui/output.js';
import { loadCommandConfig, withStagedRun, type CommandContext } from './context.js';

type Format = 'table' | 'csv' | 'json';
interface AttributeOptions {
  asOf?: string;
  rules?: string;
  diff?: boolean;
  format?: Format;
  args?: unknown[];
}

/**
 * `partnersync attribute`: compute attribution now with the active rules and append the changes to
 * the ledger (reversals + new lines). With `--as-of` it replays that date and prints the result
 * without posting; with `--diff` it prints what changed against what the ledger recorded.
 */
export async function attribute(ctx: CommandContext, opts: AttributeOptions): Promise<void> {
  const format = checkFormat(opts.format);
  if (opts.asOf !== undefined || opts.diff) return replay(ctx, opts, format);
  await withStagedRun(ctx, { command: 'attribute', args: { rules: opts.rules ?? null } }, async ({ config, staging, run }) => {
    const { ruleVersion, rules } = resolveRules(config.attribution, opts.rules);
    const asOf = nowIso();
    const { result, warnings } = await attributeFromStaging(staging.db, { rules, ruleVersion, asOf });
    for (const w of warnings) ctx.out.warn(w);
    const posted = await postResult(staging.db, result, { runId: run.id });
    await run.count('attribute', { entries: result.entries.length, added: posted.added, reversed: posted.reversed, unchanged: posted.unchanged });
    const summary = { asOf, ruleVersion, entries: result.entries.length, added: posted.added, reversed: posted.reversed, unchanged: posted.unchanged, warnings };
    ctx.out.result(summary, () => {
      const lines = [`attribution as of ${asOf} with rules ${ruleVersion}: ${result.entries.length} line(s); posted ${posted.added} new, ${posted.reversed} reversal(s), ${posted.unchanged} unchanged`];
      if (posted.additions.length) lines.push('', entryTable(posted.additions));
      return lines.join('\n');
    });
  });
}

async function replay(ctx: CommandContext, opts: AttributeOptions, format: Format): Promise<void> {
  await withReadOnlyStaging(ctx, async (staging, config) => {
    const { ruleVersion, rules } = resolveRules(config.attribution, opts.rules);
    const asOf = opts.asOf !== undefined ? parseAsOf(opts.asOf) : nowIso();
    const { result, warnings } = await attributeFromStaging(staging.db, { rules, ruleVersion, asOf });
    for (const w of warnings) ctx.out.warn(w);
    if (!opts.diff) {
      emitEntries(ctx, format, result.entries, { asOf, ruleVersion, warnings });
      return;
    }
    const recorded = openEntries(await readLedger(staging.db), asOf).map(asEntry);
    const diff = diffEntries(recorded, result.entries);
    const doc = { asOf, ruleVersion, changes: diff };
    if (format === 'csv') return ctx.out.result(doc, toCsv(diff as unknown as Array<Record<string, unknown>>, ['opportunityId', 'partner', 'kind', 'creditKind', 'currency', 'change', 'recordedMinor', 'computedMinor', 'deltaMinor', 'recordedRules', 'computedRules']));
    if (format === 'json') return ctx.out.result(doc, JSON.stringify(doc, null, 2));
    ctx.out.result(doc, () =>
      diff.length === 0
        ? `no changes: rules ${ruleVersion} as of ${asOf} give exactly what the ledger recorded (${recorded.length} line(s))`
        : [
            `rules ${ruleVersion} as of ${asOf} against the ledger as of then (${recorded.length} recorded line(s)):`,
            '',
            table(diff.map((d) => ({ opportunity: d.opportunityId, partner: d.partner, kind: d.kind, change: d.change, recorded: formatMinor(d.recordedMinor), computed: formatMinor(d.computedMinor), delta: formatMinor(d.deltaMinor), currency: d.currency, rules: `${d.recordedRules ?? '-'} → ${d.computedRules ?? '-'}` }))),
          ].join('\n'),
    );
  });
}

/** `partnersync attribute ledger`: what the ledger holds (open lines as of a date, or every row with --all). */
export async function attributeLedger(ctx: CommandContext, opts: AttributeOptions & { all?: boolean }): Promise<void> {
  const format = checkFormat(opts.format);
  await withReadOnlyStaging(ctx, async (staging) => {
    const ledger = await readLedger(staging.db);
    if (opts.all) {
      const cols = ['seq', 'entryId', 'asOf', 'kind', 'reversesEntryId', 'opportunityId', 'partner', 'creditKind', 'stage', 'shareBps', 'amountMinor', 'currency', 'ruleVersion', 'effectiveAt', 'evidence', 'computedAt', 'runId'];
      const rows = ledger as unknown as Array<Record<string, unknown>>;
      if (format === 'csv') return ctx.out.result(ledger, toCsv(rows, cols));
      if (format === 'json') return ctx.out.result(ledger, JSON.stringify(ledger, null, 2));
      return ctx.out.result(ledger, () => table(rows, cols));
    }
    const asOf = opts.asOf !== undefined ? parseAsOf(opts.asOf) : undefined;
    emitEntries(ctx, format, openEntries(ledger, asOf).map(asEntry), { asOf: asOf ?? null });
  });
}

/** `partnersync attribute explain <opportunity>`: each touch and how it was classified, each split and number. */
export async function attributeExplain(ctx: CommandContext, opts: AttributeOptions): Promise<void> {
  const id = String(opts.args?.[0] ?? '');
  await withReadOnlyStaging(ctx, async (staging, config) => {
    const { ruleVersion, rules } = resolveRules(config.attribution, opts.rules);
    const asOf = opts.asOf !== undefined ? parseAsOf(opts.asOf) : nowIso();
    const { result } = await attributeFromStaging(staging.db, { rules, ruleVersion, asOf });
    const ex = result.explanations.find((e) => e.opportunity.opportunityId === id);
    if (!ex) throw new UsageError(`no opportunity ${id} in staging as of ${asOf}`, { hint: 'check the id in the opportunities table, or pass a later --as-of' });
    const recorded = openEntries(await readLedger(staging.db), asOf).filter((e) => e.opportunityId === id).map(asEntry);
    ctx.out.result({ asOf, ruleVersion, ...ex, recorded }, () => {
      const o = ex.opportunity;
      const lines = [
        `opportunity ${o.opportunityId} (account ${o.accountId}): ${formatMinor(o.amountMinor)} ${o.currency}, created ${o.createdAt}, ${ex.stage}${o.closedAt && ex.stage !== 'open' ? ` ${o.closedAt}` : ''}`,
        `rules ${ruleVersion}, as of ${asOf}`,
        '',
        'touches:',
        ex.touches.length ? table(ex.touches.map((t) => ({ evidence: t.touchId, partner: t.partner, kind: t.kind, at: t.touchedAt, counts_as: t.decision, why: t.reason }))) : '(none)',
      ];
      for (const s of ex.splits) {
        lines.push('', `${s.creditKind} split (${s.policy}):`, table(s.partners.map((p) => ({ partner: p.partner, weight: p.weight, share: p.share, bps: p.shareBps, amount: formatMinor(p.amountMinor) }))));
      }
      // One line each, never truncated: the arithmetic is the point of explain.
      lines.push('', 'lines:', ...(ex.entries.length ? ex.entries.map((e) => `  ${e.kind} ${e.partner} ${formatMinor(e.amountMinor)} ${e.currency} [${e.evidence.join(' ')}]: ${e.note}`) : ['  (none)']));
      const same = recorded.map((e) => e.positionId).sort().join() === ex.entries.map((e) => e.positionId).sort().join();
      lines.push('', recorded.length === 0 ? 'the ledger has no lines for this opportunity as of then' : same ? 'the ledger records exactly these lines' : `the ledger records ${recorded.length} line(s) that differ; see \`partnersync attribute --diff\``);
      return lines.join('\n');
    });
  });
}

/** `partnersync attribute report --period 2024-Q2`: per partner and currency, from the ledger. */
export async function attributeReport(ctx: CommandContext, opts: AttributeOptions & { period?: string }): Promise<void> {
  const format = checkFormat(opts.format);
  if (!opts.period) throw new UsageError('attribute report needs --period', { hint: 'e.g. --period 2024-Q2, 2024-03, 2024 or 2024-01-01..2024-06-30' });
  const period = parsePeriod(opts.period);
  await withReadOnlyStaging(ctx, async (staging) => {
    const asOf = opts.asOf !== undefined ? parseAsOf(opts.asOf) : undefined;
    const rows = buildReport(openEntries(await readLedger(staging.db), asOf).map(asEntry), period);
    const doc = { period, asOf: asOf ?? null, rows };
    if (format === 'csv') return ctx.out.result(doc, toCsv(rows as unknown as Array<Record<string, unknown>>, REPORT_COLUMNS));
    if (format === 'json') return ctx.out.result(doc, JSON.stringify(doc, null, 2));
    ctx.out.result(doc, () => [
      `partner attribution ${period.label} (${period.from} – ${period.to}), amounts in major units per currency`,
      '',
      table(rows.map((r) => ({
        partner: r.partner,
        currency: r.currency,
        'sourced pipeline': formatMinor(r.sourcedPipelineMinor),
        'influenced pipeline': formatMinor(r.influencedPipelineMinor),
        'sourced revenue': formatMinor(r.sourcedRevenueMinor),
        'influenced revenue': formatMinor(r.influencedRevenueMinor),
        commissions: formatMinor(r.commissionsMinor),
        clawbacks: formatMinor(r.clawbacksMinor),
        net: formatMinor(r.netMinor),
      }))),
    ].join('\n'));
  });
}

function emitEntries(ctx: CommandContext, format: Format, entries: AttributionEntry[], meta: Record<string, unknown>): void {
  // csv/json are the canonical serialisations: a replay and `attribute ledger` compare byte for byte.
  if (format === 'csv') return ctx.out.result({ ...meta, entries }, entriesToCsv(entries));
  if (format === 'json') return ctx.out.result({ ...meta, entries }, entriesToJson(entries));
  ctx.out.result({ ...meta, entries }, () => entryTable(entries));
}

function entryTable(entries: AttributionEntry[]): string {
  return table(entries.map((e) => ({ opportunity: e.opportunityId, kind: e.kind, partner: e.partner, stage: e.stage, share: e.share, amount: formatMinor(e.amountMinor), currency: e.currency, rules: e.ruleVersion, evidence: e.evidence.join(' ') })));
}

function checkFormat(f: string | undefined): Format {
  const v = f ?? 'table';
  if (v !== 'table' && v !== 'csv' && v !== 'json') throw new UsageError(`--format: expected table, csv or json, got "${v}"`);
  return v;
}

async function withReadOnlyStaging<T>(ctx: CommandContext, fn: (s: Staging, config: ReturnType<typeof loadCommandConfig>['config']) => Promise<T>): Promise<T> {
  // Replays, diffs, explanations and reports only read: no lock, so they work while a run is going.
  const { config, baseDir } = loadCommandConfig(ctx, true);
  const staging = await openStaging(config.staging.url, { baseDir });
  try {
    return await fn(staging, config);
  } finally {
    await staging.close();
  }
}
