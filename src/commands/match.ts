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
 *   const report = await matchEval({ accounts: 'a.csv', signals: 's.csv', gold: 'gold.csv' });
 *   out.write(formatEvalReport(report));
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import { InputError } from '../errors.js';
import { createMatcher, type Matcher } from '../matching/engine.js';
import { evaluateMatches, formatEvalReport, type EvalReport, type GoldRow } from '../matching/eval.js';
import { formatExplain } from '../matching/explain.js';
import type { AccountRecord, MatchPolicy, MatchPolicyInput, MatchResult, SignalRecord } from '../matching/types.js';

export { formatEvalReport };
export { createMatcher };

/** Anything with `write(string)`: process.stdout, an fs.WriteStream, or a test buffer. */
export interface OutWriter {
  write(chunk: string): unknown;
}

export const MATCH_OUTPUT_COLUMNS = [
  'signal_id', 'status', 'account_id', 'rule', 'confidence', 'candidate_account_ids', 'explanation',
] as const;

type Row = Record<string, string>;

/** Streams a CSV file's rows as objects keyed by lower-cased header; checks the required columns first. */
async function* readCsv(file: string, required: readonly string[], oneOf: readonly string[] = []): AsyncGenerator<Row> {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    columns: (header: string[]) => {
      const cols = header.map((h) => h.trim().toLowerCase());
      for (const c of required)
        if (!cols.includes(c))
          throw new InputError(`${file}: missing required column "${c}" (found: ${cols.join(', ') || 'none'})`, {
            hint: `the first line of ${file} must name the columns, including ${required.join(', ')}`,
          });
      if (oneOf.length && !oneOf.some((c) => cols.includes(c)))
        throw new InputError(`${file}: needs at least one of the columns ${oneOf.join(', ')}`);
      return cols;
    },
  });
  const input = createReadStream(file);
  const failed = new Promise<never>((_, reject) =>
    input.once('error', (e) =>
      reject(new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })),
    ),
  );
  failed.catch(() => undefined);
  input.pipe(parser);
  const it = parser[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = (await Promise.race([it.next(), failed])) as IteratorResult<Row>;
      if (next.done) return;
      yield next.value;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    input.destroy();
  }
}

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(';')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/** Reads an accounts CSV into records. */
export async function readAccountsCsv(file: string): Promise<AccountRecord[]> {
  const out: AccountRecord[] = [];
  for await (const r of readCsv(file, ['account_id', 'name'])) {
    out.push({
      accountId: (r.account_id ?? '').trim(),
      name: r.name ?? '',
      website: r.website || null,
      domains: list(r.domains),
      aliases: list(r.aliases),
      parentAccountId: r.parent_account_id?.trim() || null,
      country: r.country || null,
      duns: r.duns || null,
      contactEmails: list(r.contact_emails),
    });
  }
  return out;
}

/** Streams a signals CSV as records. */
export async function* readSignalsCsv(file: string): AsyncGenerator<SignalRecord> {
  for await (const r of readCsv(file, ['signal_id'], ['company_name', 'website', 'email'])) {
    yield {
      signalId: (r.signal_id ?? '').trim(),
      companyName: r.company_name || null,
      website: r.website || null,
      email: r.email || null,
      country: r.country || null,
      duns: r.duns || null,
    };
  }
}

/** Reads a gold CSV. */
export async function readGoldCsv(file: string): Promise<GoldRow[]> {
  const out: GoldRow[] = [];
  for await (const r of readCsv(file, ['signal_id', 'expected_account_id']))
    out.push({ signalId: (r.signal_id ?? '').trim(), expectedAccountId: r.expected_account_id?.trim() || null, stratum: r.stratum ?? null });
  return out;
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One output line (with the trailing newline) for a result. */
export function resultToCsvLine(r: MatchResult): string {
  return (
    [
      r.signalId,
      r.status,
      r.accountId ?? '',
      r.rule ?? '',
      r.confidence.toFixed(3),
      r.candidates.map((c) => c.accountId).join(';'),
      r.explanation,
    ]
      .map(csvCell)
      .join(',') + '\n'
  );
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
}

async function write(out: OutWriter, chunk: string): Promise<void> {
  // Honour back-pressure of real streams so a million rows never pile up in memory.
  const emitter = out as unknown as NodeJS.EventEmitter;
  if (out.write(chunk) === false && typeof emitter.once === 'function') await once(emitter, 'drain');
}

/** File mode: matches every signal and writes one CSV row per signal. */
export async function matchFiles(opts: MatchFilesOptions): Promise<MatchSummary> {
  const accounts = await readAccountsCsv(opts.accounts);
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
    for await (const s of readSignalsCsv(opts.signals)) {
      const r = matcher.match(s);
      summary.signals++;
      summary[r.status]++;
      if (r.status === 'matched' && r.rule) summary.byRule[r.rule] = (summary.byRule[r.rule] ?? 0) + 1;
      await write(out, resultToCsvLine(r));
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
}

/** `match eval`: runs the engine over the files and scores it against the gold file. */
export async function matchEval(opts: MatchEvalOptions): Promise<EvalReport> {
  const accounts = await readAccountsCsv(opts.accounts);
  const gold = await readGoldCsv(opts.gold);
  const matcher = createMatcher(accounts, opts.policy ?? {});
  const results: MatchResult[] = [];
  for await (const s of readSignalsCsv(opts.signals)) results.push(matcher.match(s));
  return evaluateMatches(results, gold, matcher.index);
}

export interface ExplainSignalOptions {
  accounts: string;
  signals: string;
  signalId: string;
  policy?: MatchPolicy | MatchPolicyInput;
}

/** `match explain <signal_id>` in file mode: the decision for one signal and a readable account of it. */
export async function explainSignal(opts: ExplainSignalOptions): Promise<{ result: MatchResult; text: string }> {
  const accounts = await readAccountsCsv(opts.accounts);
  let matcher: Matcher | undefined;
  for await (const s of readSignalsCsv(opts.signals)) {
    if (s.signalId !== opts.signalId) continue;
    matcher = createMatcher(accounts, opts.policy ?? {});
    const result = matcher.match(s);
    return { result, text: formatExplain(result, s, matcher.index) };
  }
  throw new InputError(`signal ${opts.signalId} is not in ${opts.signals}`, { hint: 'check the signal_id column' });
}
