/**
 * `partnersync match` in file mode: accounts and signals from CSV files, results to CSV; `match eval`
 * against a gold file; `match explain <signal_id>`. Plain async functions: they return results or write
 * to the `out` they are given, throw PartnersyncErrors, and never print or exit.
 *
 * Input layouts (extra columns are ignored; header names are case-insensitive):
 * - accounts: `account_id,name[,website,domains,parent_account_id,country,duns,aliases,contact_emails]`
 *   (`domains`, `aliases`, `contact_emails` are `;`-separated)
 * - signals: `signal_id[,partner,population,company_name,website,email,country,duns]` (at least one of
 *   company_name, website, email)
 * - gold: `signal_id,expected_account_id[,stratum]`
 * Output: `signal_id,status,account_id,rule,confidence,candidate_account_ids,explanation`.
 *
 * @example
 *   await matchFiles({ accounts: 'accounts.csv', signals: 'signals.csv', out: 'matches.csv' });
 *   const report = await evaluateMatchFiles({ accounts: 'a.csv', signals: 's.csv', gold: 'gold.csv' });
 *   out.write(formatEvalReport(report));
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { z } from 'zod';
import { CsvConfig, CsvDialect } from '../connectors/csv/config.js';
import { csvCell } from '../connectors/csv/csv-cell.js';
import { detectEncoding, readCsvBatches } from '../connectors/csv/csv-reader.js';
import { ConfigError, InputError, UsageError } from '../errors.js';
import { createMatcher, type Matcher } from '../matching/engine.js';
import { evaluateMatches, formatEvalReport, type EvalReport, type GoldRow } from '../matching/eval.js';
import { formatExplain } from '../matching/explain.js';
import { MatchPolicy, type AccountRecord, type MatchPolicyInput, type MatchResult, type SignalRecord } from '../matching/types.js';
import {
  decideReview,
  listReview,
  readDecisions,
  readStagedAccounts,
  readStagedSignals,
  runStagedMatch,
  applyDecision,
  MATCHES_TABLE,
} from '../matching/staging-store.js';
import { loadCommandConfig, withStagedRun, type CommandContext } from './context.js';

export { formatEvalReport };
export { createMatcher };

/** Anything with `write(string)`: process.stdout, an fs.WriteStream, or a test buffer. */
export interface OutWriter {
  write(chunk: string): unknown;
}

export const MATCH_OUTPUT_COLUMNS = [
  'signal_id', 'status', 'account_id', 'rule', 'confidence', 'candidate_account_ids', 'explanation',
] as const;

/** A header's column positions, by lower-cased name. */
type Columns = ReadonlyMap<string, number>;

/** What `--encoding` accepts: the CSV connector's own list (`auto`, the default: UTF-8 unless a UTF-16 BOM says otherwise). */
const Encoding = CsvDialect.shape.encoding.unwrap();
export type MatchEncoding = z.infer<typeof Encoding>;

/** The longest record an input may have, as for CSV extracts: a broken quote cannot swallow the file. */
const MAX_RECORD_BYTES: number = CsvConfig.shape.maxRecordBytes.parse(undefined);

/**
 * Streams a CSV file's data rows a chunk at a time, as field arrays with the header's column positions,
 * after checking the required columns. Reads with the extract's CSV reader (csv-reader.ts): its fast
 * path, a UTF-8 or UTF-16 byte-order mark, and a broken record reported with its line; at a million
 * rows, csv-parse with an await per row took most of a file-mode run.
 */
async function* csvBatches(
  file: string,
  enc: MatchEncoding,
  required: readonly string[],
  oneOf: readonly string[] = [],
): AsyncGenerator<{ cols: Columns; rows: string[][] }> {
  let cols: Map<string, number> | undefined;
  try {
    const { encoding, bomLength } = detectEncoding(file, enc);
    const events = readCsvBatches({ file, displayName: file, encoding, bomLength, delimiter: ',', quote: '"', maxRecordBytes: MAX_RECORD_BYTES, offset: 0, line: 0 });
    for await (const batch of events) {
      const rows: string[][] = [];
      for (const e of batch) {
        if (e.kind === 'bad') {
          const hint = e.code === 'UNDECODABLE' ? 'name the file\'s encoding: --encoding latin1 (or windows-1252)' : `fix the record on line ${e.line} of ${file} and run again`;
          throw new InputError(`${file}:${e.line}: ${e.reason}`, { hint });
        }
        if (cols) rows.push(e.fields);
        else cols = headerColumns(file, e.fields, required, oneOf);
      }
      if (cols && rows.length > 0) yield { cols, rows };
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code ? `cannot read ${file}: ${code}` : `${file}: ${(e as Error).message}`, { cause: e });
  }
}

function headerColumns(file: string, header: readonly string[], required: readonly string[], oneOf: readonly string[]): Map<string, number> {
  const names = header.map((h) => h.trim().toLowerCase());
  for (const c of required)
    if (!names.includes(c))
      throw new InputError(`${file}: missing required column "${c}" (found: ${names.join(', ') || 'none'})`, {
        hint: `the first line of ${file} must name the columns, including ${required.join(', ')}`,
      });
  if (oneOf.length && !oneOf.some((c) => names.includes(c))) throw new InputError(`${file}: needs at least one of the columns ${oneOf.join(', ')}`);
  // A name given twice: the last column of that name counts.
  return new Map(names.map((n, i) => [n, i]));
}

/** The row's value in the named column; undefined when the file has no such column or the row is short. */
function cell(row: readonly string[], at: number | undefined): string | undefined {
  return at === undefined ? undefined : row[at];
}

/** A `;`-separated list cell (domains, aliases, contact e-mails): most are empty. */
function list(v: string | undefined): string[] {
  if (!v) return [];
  const out: string[] = [];
  for (const part of v.split(';')) {
    const x = part.trim();
    if (x !== '') out.push(x);
  }
  return out;
}

/** Reads an accounts CSV into records. */
export async function readAccountsCsv(file: string, encoding: MatchEncoding = 'auto'): Promise<AccountRecord[]> {
  const out: AccountRecord[] = [];
  for await (const { cols, rows } of csvBatches(file, encoding, ['account_id', 'name'])) {
    const [id, name, website, domains, aliases, parent, country, duns, contacts] = [
      'account_id', 'name', 'website', 'domains', 'aliases', 'parent_account_id', 'country', 'duns', 'contact_emails',
    ].map((c) => cols.get(c));
    for (const r of rows)
      out.push({
        accountId: (cell(r, id) ?? '').trim(),
        name: cell(r, name) ?? '',
        website: cell(r, website) || null,
        domains: list(cell(r, domains)),
        aliases: list(cell(r, aliases)),
        parentAccountId: cell(r, parent)?.trim() || null,
        country: cell(r, country) || null,
        duns: cell(r, duns) || null,
        contactEmails: list(cell(r, contacts)),
      });
  }
  return out;
}

/** Streams a signals CSV as records, a chunk of the file at a time. */
export async function* readSignalBatches(file: string, encoding: MatchEncoding = 'auto'): AsyncGenerator<SignalRecord[]> {
  for await (const { cols, rows } of csvBatches(file, encoding, ['signal_id'], ['company_name', 'website', 'email'])) {
    const [id, name, website, email, country, duns] = ['signal_id', 'company_name', 'website', 'email', 'country', 'duns'].map((c) => cols.get(c));
    yield rows.map((r) => ({
      signalId: (cell(r, id) ?? '').trim(),
      companyName: cell(r, name) || null,
      website: cell(r, website) || null,
      email: cell(r, email) || null,
      country: cell(r, country) || null,
      duns: cell(r, duns) || null,
    }));
  }
}

/** Streams a signals CSV as records. */
export async function* readSignalsCsv(file: string, encoding: MatchEncoding = 'auto'): AsyncGenerator<SignalRecord> {
  for await (const batch of readSignalBatches(file, encoding)) yield* batch;
}

/** Reads a gold CSV. */
export async function readGoldCsv(file: string, encoding: MatchEncoding = 'auto'): Promise<GoldRow[]> {
  const out: GoldRow[] = [];
  for await (const { cols, rows } of csvBatches(file, encoding, ['signal_id', 'expected_account_id'])) {
    const [id, expected, stratum] = ['signal_id', 'expected_account_id', 'stratum'].map((c) => cols.get(c));
    for (const r of rows) out.push({ signalId: (cell(r, id) ?? '').trim(), expectedAccountId: cell(r, expected)?.trim() || null, stratum: cell(r, stratum) ?? null });
  }
  return out;
}

/** One output line (with the trailing newline) for a result. */
export function resultToCsvLine(r: MatchResult): string {
  const ids = r.candidates.map((c) => c.accountId).join(';');
  // status, rule and the fixed-point confidence are the engine's own tokens: nothing to quote.
  return `${csvCell(r.signalId)},${r.status},${csvCell(r.accountId ?? '')},${r.rule ?? ''},${r.confidence.toFixed(3)},${csvCell(ids)},${csvCell(r.explanation)}\n`;
}

export interface MatchSummary {
  signals: number;
  matched: number;
  review: number;
  unmatched: number;
  byRule: Record<string, number>;
  /** Parent-link cycles found among the accounts (reported, not followed). */
  cycles: string[][];
  danglingParents: number;
  duplicateAccountIds: string[];
}

export interface MatchFilesOptions {
  accounts: string;
  signals: string;
  /** A file path (created/overwritten) or a writer. */
  out: string | OutWriter;
  policy?: MatchPolicy | MatchPolicyInput;
  /** The input files' encoding (default `auto`). */
  encoding?: MatchEncoding;
}

async function write(out: OutWriter, chunk: string): Promise<void> {
  if (out.write(chunk) === false) await drained(out);
}

/** Waits for a stream that asked the writer to stop (a write returned false) to drain; a plain writer never asks. */
async function drained(out: OutWriter): Promise<void> {
  // Honour back-pressure of real streams so a million rows never pile up in memory.
  const emitter = out as unknown as NodeJS.EventEmitter;
  if (typeof emitter.once === 'function') await once(emitter, 'drain');
}

/** Output rows per write in file mode: a string of ~16k characters, well inside V8's young generation. */
const LINES_PER_WRITE = 64;

/** File mode: matches every signal and writes one CSV row per signal. */
export async function matchFiles(opts: MatchFilesOptions): Promise<MatchSummary> {
  const accounts = await readAccountsCsv(opts.accounts, opts.encoding);
  const matcher = createMatcher(accounts, opts.policy ?? {});
  const file = typeof opts.out === 'string' ? createWriteStream(opts.out) : null;
  const out: OutWriter = file ?? (opts.out as OutWriter);
  const summary: MatchSummary = {
    signals: 0, matched: 0, review: 0, unmatched: 0, byRule: {},
    cycles: matcher.index.cycles, danglingParents: matcher.index.danglingParents.length,
    duplicateAccountIds: matcher.index.duplicateIds,
  };
  try {
    await write(out, MATCH_OUTPUT_COLUMNS.join(',') + '\n');
    // Rows are written LINES_PER_WRITE at a time, joined into one flat string (one grown by `+=` is a tree
    // the write must flatten), and the only await is for back-pressure, once per chunk of the signals file:
    // an await per row cost more than matching it. Not a chunk's rows at once: their ~200 KB string went to
    // V8's large-object space, mapped and unmapped by the kernel for every chunk (~1 s of system time
    // at a million rows).
    for await (const batch of readSignalBatches(opts.signals, opts.encoding)) {
      let lines: string[] = [];
      let full = false;
      for (let i = 0; i < batch.length; i++) {
        const r = matcher.match(batch[i]!);
        summary.signals++;
        summary[r.status]++;
        if (r.status === 'matched' && r.rule) summary.byRule[r.rule] = (summary.byRule[r.rule] ?? 0) + 1;
        lines.push(resultToCsvLine(r));
        if (lines.length === LINES_PER_WRITE) {
          full = out.write(lines.join('')) === false || full;
          lines = [];
        }
      }
      if (lines.length > 0) full = out.write(lines.join('')) === false || full;
      if (full) await drained(out);
    }
  } finally {
    if (file) {
      file.end();
      await once(file, 'close');
    }
  }
  return summary;
}

export interface MatchEvalOptions {
  accounts: string;
  signals: string;
  gold: string;
  policy?: MatchPolicy | MatchPolicyInput;
  encoding?: MatchEncoding;
}

/** `match eval` in file mode: runs the engine over the files and scores it against the gold file. */
export async function evaluateMatchFiles(opts: MatchEvalOptions): Promise<EvalReport> {
  const accounts = await readAccountsCsv(opts.accounts, opts.encoding);
  const gold = await readGoldCsv(opts.gold, opts.encoding);
  const matcher = createMatcher(accounts, opts.policy ?? {});
  const results: MatchResult[] = [];
  for await (const batch of readSignalBatches(opts.signals, opts.encoding)) for (const s of batch) results.push(matcher.match(s));
  return evaluateMatches(results, gold, matcher.index);
}

export interface ExplainSignalOptions {
  accounts: string;
  signals: string;
  signalId: string;
  policy?: MatchPolicy | MatchPolicyInput;
  encoding?: MatchEncoding;
}

/** `match explain <signal_id>` in file mode: the decision for one signal and a readable account of it. */
export async function explainSignal(opts: ExplainSignalOptions): Promise<{ result: MatchResult; text: string }> {
  const accounts = await readAccountsCsv(opts.accounts, opts.encoding);
  let matcher: Matcher | undefined;
  for await (const s of readSignalsCsv(opts.signals, opts.encoding)) {
    if (s.signalId !== opts.signalId) continue;
    matcher = createMatcher(accounts, opts.policy ?? {});
    const result = matcher.match(s);
    return { result, text: formatExplain(result, s, matcher.index) };
  }
  throw new InputError(`signal ${opts.signalId} is not in ${opts.signals}`, { hint: 'check the signal_id column' });
}

// --- CLI handlers (wired in src/cli.ts) -------------------------------------------------------------

interface MatchCliOptions {
  accounts?: string;
  signals?: string;
  out?: string;
  gold?: string;
  encoding?: string;
  args?: unknown[];
}

/** The `match:` section of partnersync.yaml as a policy; file mode works without a config file. */
function policyFromConfig(ctx: CommandContext): { policy: MatchPolicy; hasConfig: boolean } {
  const loaded = loadCommandConfig(ctx, true);
  const parsed = MatchPolicy.safeParse(loaded.config.match ?? {});
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((i) => `match.${i.path.join('.')}: ${i.message}`), { file: loaded.file ?? undefined });
  return { policy: parsed.data, hasConfig: Boolean(loaded.file) };
}

function fileMode(opts: MatchCliOptions, command: string): { accounts: string; signals: string; encoding: MatchEncoding } | null {
  const encoding = inputEncoding(opts);
  if (!opts.accounts && !opts.signals) return null;
  if (!opts.accounts || !opts.signals)
    throw new UsageError(`${command} in file mode needs both --accounts and --signals`, { hint: `e.g. ${command} --accounts accounts.csv --signals signals.csv` });
  return { accounts: opts.accounts, signals: opts.signals, encoding };
}

function inputEncoding(opts: MatchCliOptions): MatchEncoding {
  const parsed = Encoding.safeParse(opts.encoding ?? 'auto');
  if (!parsed.success) throw new UsageError(`--encoding ${opts.encoding}: not one of ${Encoding.options.join(', ')}`);
  return parsed.data;
}

function summaryText(s: { signals: number; matched: number; review: number; unmatched: number }, where: string): string {
  const pc = (n: number) => (s.signals ? ((100 * n) / s.signals).toFixed(1) : '0.0') + '%';
  return `${s.signals} signals: ${s.matched} matched (${pc(s.matched)}), ${s.review} to review (${pc(s.review)}), ${s.unmatched} unmatched → ${where}`;
}

/** `partnersync match`: file mode with --accounts/--signals/--out, pipeline mode (staging) otherwise. */
export async function match(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  const { policy } = policyFromConfig(ctx);
  const files = fileMode(opts, 'partnersync match');
  if (files) {
    if (!opts.out) throw new UsageError('file mode needs --out <file> for the matches CSV', { hint: 'partnersync match --accounts a.csv --signals s.csv --out matches.csv' });
    const summary = await matchFiles({ ...files, out: opts.out, policy });
    for (const c of summary.cycles) ctx.out.warn(`parent links form a cycle: ${c.join(' → ')} (treated as one hierarchy)`);
    ctx.out.result(summary, () => summaryText(summary, opts.out!));
    return;
  }
  await withStagedRun(ctx, { command: 'match', args: {} }, async ({ staging, run }) => {
    const summary = await runStagedMatch(staging.db, policy, run.id);
    for (const c of summary.cycles) ctx.out.warn(`parent links form a cycle: ${c.join(' → ')} (treated as one hierarchy)`);
    ctx.out.result(summary, () => summaryText(summary, `${MATCHES_TABLE} (${summary.decidedByReview} decided in review)`));
  });
}

/** `partnersync match eval --gold gold.csv [--accounts a.csv --signals s.csv]`. */
export async function matchEval(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  if (!opts.gold) throw new UsageError('match eval needs --gold <file>');
  const { policy } = policyFromConfig(ctx);
  const files = fileMode(opts, 'partnersync match eval');
  let report: EvalReport;
  if (files) report = await evaluateMatchFiles({ ...files, gold: opts.gold, policy });
  else {
    const gold = await readGoldCsv(opts.gold, inputEncoding(opts));
    report = await withStagedRun(ctx, { command: 'match eval', args: { gold: opts.gold }, lock: false }, async ({ staging }) => {
      const matcher = createMatcher(await readStagedAccounts(staging.db, policy), policy);
      const decisions = await readDecisions(staging.db);
      const results = (await readStagedSignals(staging.db)).map((s) => applyDecision(matcher.match(s), decisions.get(s.signalId)));
      return evaluateMatches(results, gold, matcher.index);
    });
  }
  ctx.out.result(report, () => formatEvalReport(report));
}

/** `partnersync match explain <signalId> [--accounts a.csv --signals s.csv]`. */
export async function matchExplain(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  const signalId = String(opts.args?.[0] ?? '');
  if (!signalId) throw new UsageError('match explain needs a signal id');
  const { policy } = policyFromConfig(ctx);
  const files = fileMode(opts, 'partnersync match explain');
  if (files) {
    const { result, text } = await explainSignal({ ...files, signalId, policy });
    ctx.out.result(result, text);
    return;
  }
  await withStagedRun(ctx, { command: 'match explain', args: { signalId }, lock: false }, async ({ staging }) => {
    const signal = (await readStagedSignals(staging.db)).find((s) => s.signalId === signalId);
    if (!signal) throw new InputError(`signal ${signalId} is not in partner_signals`);
    const matcher = createMatcher(await readStagedAccounts(staging.db, policy), policy);
    const result = applyDecision(matcher.match(signal), (await readDecisions(staging.db)).get(signalId));
    ctx.out.result(result, formatExplain(result, signal, matcher.index));
  });
}

/** `partnersync match review list|accept|reject [signalId] [accountId]`. */
export async function matchReview(ctx: CommandContext, opts: MatchCliOptions): Promise<void> {
  const [action, signalId, accountId] = (opts.args ?? []).map((a) => (a === undefined ? undefined : String(a)));
  if (action !== 'list' && action !== 'accept' && action !== 'reject')
    throw new UsageError(`unknown review action "${action ?? ''}"`, { hint: 'use: match review list | accept <signalId> [accountId] | reject <signalId>' });
  await withStagedRun(ctx, { command: `match review ${action}`, args: { signalId, accountId }, lock: action !== 'list' }, async ({ staging }) => {
    if (action === 'list') {
      const items = await listReview(staging.db, 'open');
      ctx.out.result(items, () =>
        items.length === 0
          ? 'the review queue is empty'
          : items
              .map((i) => `${i.signalId}\n${i.candidates.map((c, n) => `  ${n + 1}. ${c.accountId}  [${c.rule} ${c.score.toFixed(3)}]  ${c.reason}`).join('\n')}`)
              .join('\n'),
      );
      return;
    }
    if (!signalId) throw new UsageError(`match review ${action} needs a signal id`);
    const d = await decideReview(staging.db, signalId, action, accountId);
    ctx.out.result(d, d.status === 'accepted' ? `${signalId} → ${d.accountId} (stored; wins over the engine from now on)` : `${signalId} rejected: stays unmatched (stored)`);
  });
}
