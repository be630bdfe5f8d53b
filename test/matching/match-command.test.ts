import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { evaluateMatchFiles, explainSignal, match, matchEval, matchExplain, matchFiles, matchReview, readAccountsCsv, resultToCsvLine } from '../../src/commands/match.js';
import { InputError } from '../../src/errors.js';
import { createOutput } from '../../src/ui/output.js';
import { openStaging } from '../../src/staging/db.js';
import type { CommandContext } from '../../src/commands/context.js';

const fixtures = fileURLToPath(new URL('../../fixtures/matching/', import.meta.url));
const accounts = path.join(fixtures, 'accounts.csv');
const signals = path.join(fixtures, 'signals.csv');
const gold = path.join(fixtures, 'gold.csv');

/** A row of `match --out` CSV: its documented columns (the test below checks that they are exactly these). */
type MatchRow = Record<'signal_id' | 'status' | 'account_id' | 'rule' | 'confidence' | 'candidate_account_ids' | 'explanation', string>;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ps-match-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function buffer() {
  let text = '';
  return { write: (c: string) => ((text += c), true), get text() { return text; } };
}

async function context(cwd: string, json = true): Promise<{ ctx: CommandContext; stdout: () => string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  stderr.resume();
  const o = await createOutput({ json, stdout, stderr, env: {} });
  return { ctx: { out: o, cwd, env: {}, globals: { json }, signal: new AbortController().signal }, stdout: () => out };
}

describe('matchFiles (file mode)', () => {
  it('writes one row per signal with the documented columns; extra input columns are ignored', async () => {
    const out = buffer();
    const summary = await matchFiles({ accounts, signals, out });
    const rows = parse(out.text, { columns: true }) as MatchRow[];
    expect(Object.keys(rows[0]!)).toEqual(['signal_id', 'status', 'account_id', 'rule', 'confidence', 'candidate_account_ids', 'explanation']);
    expect(rows).toHaveLength(20);
    expect(summary.signals).toBe(20);
    expect(summary.matched + summary.review + summary.unmatched).toBe(20);
    const byId = new Map(rows.map((r) => [r.signal_id, r]));
    expect(byId.get('S-08')).toMatchObject({ status: 'matched', account_id: 'A-ACME-DE', rule: 'website-domain' });
    expect(byId.get('S-08')!.candidate_account_ids.split(';')).toContain('A-ACME');
    expect(byId.get('S-12')).toMatchObject({ status: 'review', account_id: '' });
    expect(summary.cycles).toHaveLength(1);
  });

  it('writes to a file path', async () => {
    const file = path.join(dir, 'matches.csv');
    await matchFiles({ accounts, signals, out: file });
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe('signal_id,status,account_id,rule,confidence,candidate_account_ids,explanation');
  });

  it('a missing required column is an InputError naming the file and the column', async () => {
    const bad = path.join(dir, 'bad-accounts.csv');
    await writeFile(bad, 'id,name,website\n1,Acme,acme.com\n');
    const err = await matchFiles({ accounts: bad, signals, out: buffer() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('bad-accounts.csv');
    expect((err as Error).message).toContain('account_id');

    const badSignals = path.join(dir, 'bad-signals.csv');
    await writeFile(badSignals, 'signal_id,partner\nS1,P\n');
    await expect(matchFiles({ accounts, signals: badSignals, out: buffer() })).rejects.toThrow(/company_name, website, email/);
    await expect(matchFiles({ accounts: path.join(dir, 'nope.csv'), signals, out: buffer() })).rejects.toBeInstanceOf(InputError);
  });

  it('reads a byte-order mark, UTF-8 names, quoted fields, short rows and columns in any order', async () => {
    const acc = path.join(dir, 'bom-accounts.csv');
    // Header with a UTF-8 BOM, columns in another order and in upper case, a quoted field with a comma
    // and a doubled quote, a row shorter than the header.
    await writeFile(acc, '\ufeffName,ACCOUNT_ID,website\n"Müller ""Bau"", GmbH",A-M,mueller-bau.de\nZeta AG,A-Z\n');
    const sig = path.join(dir, 'bom-signals.csv');
    await writeFile(sig, '\ufeffsignal_id,company_name,website\r\nS1,,https://www.mueller-bau.de/impressum\r\nS2,"Zeta AG",\r\nS3,"Müller ""Bau"", GmbH",\r\n');
    const read = await readAccountsCsv(acc);
    expect(read.map((a) => [a.accountId, a.name, a.website])).toEqual([
      ['A-M', 'Müller "Bau", GmbH', 'mueller-bau.de'],
      ['A-Z', 'Zeta AG', null],
    ]);
    const out = buffer();
    const summary = await matchFiles({ accounts: acc, signals: sig, out });
    expect(summary.signals).toBe(3);
    const rows = parse(out.text, { columns: true }) as MatchRow[];
    expect(rows.map((r) => [r.signal_id, r.status, r.account_id])).toEqual([
      ['S1', 'matched', 'A-M'],
      ['S2', 'matched', 'A-Z'],
      ['S3', 'matched', 'A-M'],
    ]);
  });

  it('writes every row once and in order through a writer that keeps asking it to wait', async () => {
    // Many chunks of the signals file (64 KiB each), each many writes; the writer takes one write at a time, later.
    const n = 20_000;
    const acc = path.join(dir, 'many-accounts.csv');
    const sig = path.join(dir, 'many-signals.csv');
    await writeFile(acc, 'account_id,name,website\n' + Array.from({ length: n }, (_, i) => `A${i},Company ${i},c${i}.example`).join('\n') + '\n');
    await writeFile(sig, 'signal_id,company_name,website\n' + Array.from({ length: n }, (_, i) => `S${i},,https://www.c${n - 1 - i}.example/x`).join('\n') + '\n');
    const slow = new PassThrough({ highWaterMark: 1024, decodeStrings: false, encoding: 'utf8' });
    let text = '';
    let drains = 0;
    slow.on('drain', () => drains++);
    // Reads one chunk per macrotask, so the writer's buffer fills and it must wait for 'drain'.
    const reader = (async () => {
      for (;;) {
        const c = slow.read() as string | null;
        if (c !== null) text += c;
        else if (slow.readableEnded || slow.writableFinished) break;
        await new Promise((r) => setImmediate(r));
      }
    })();
    // What the writer holds unread when each write arrives: bounded by about a chunk of the signals file
    // when the writer waits for 'drain', the whole output when it does not.
    let held = 0;
    const write = slow.write.bind(slow) as (c: string) => boolean;
    slow.write = ((c: string) => ((held = Math.max(held, slow.writableLength + slow.readableLength)), write(c))) as typeof slow.write;
    const summary = await matchFiles({ accounts: acc, signals: sig, out: slow });
    slow.end();
    await reader;
    text += slow.read() ?? '';
    expect(summary).toMatchObject({ signals: n, matched: n });
    expect(drains).toBeGreaterThan(0);
    const rows = parse(text, { columns: true }) as MatchRow[];
    expect(rows.map((r) => r.signal_id)).toEqual(Array.from({ length: n }, (_, i) => `S${i}`));
    expect(rows.every((r, i) => r.status === 'matched' && r.account_id === `A${n - 1 - i}`)).toBe(true);
    expect(held).toBeLessThan(text.length / 4);
  });

  it('quotes output fields that need it, so any CSV reader gets every value back', () => {
    const awkward = ['S,1', ' lead', 'trail\t', 'say "hi"', 'two\nlines', 'cr\rhere', 'plain', ''];
    for (const v of awkward) {
      const line = resultToCsvLine({
        signalId: v, status: 'review', accountId: null, rule: 'name-exact', confidence: 0.9,
        candidates: [{ accountId: 'A,1', rule: 'name-exact', score: 0.9, reason: 'r' }, { accountId: 'A2', rule: 'name-exact', score: 0.8, reason: 'r' }],
        explanation: v, evidence: { websiteDomains: [], sharedHostDomains: [], emailDomains: [], freeMailDomains: [], nameKey: '', country: null, duns: null },
      });
      const [row] = parse(line, { relax_quotes: false }) as string[][];
      expect(row).toEqual([v, 'review', '', 'name-exact', '0.900', 'A,1;A2', v]);
    }
  });

  it('a broken record is an InputError naming the file and its line', async () => {
    const sig = path.join(dir, 'broken-signals.csv');
    await writeFile(sig, 'signal_id,company_name\nS1,Acme\nS2,"Acme\nS3,Zeta\n');
    const err = await matchFiles({ accounts, signals: sig, out: buffer() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/broken-signals\.csv:3: broken quote/);
    // Latin-1 bytes in a file read as UTF-8: an error naming the line, never mangled names.
    const latin1 = path.join(dir, 'latin1-accounts.csv');
    await writeFile(latin1, Buffer.concat([Buffer.from('account_id,name\nA1,Acme\nA2,M'), Buffer.from([0xfc]), Buffer.from('ller GmbH\n')]));
    const bad = await matchFiles({ accounts: latin1, signals, out: buffer() }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InputError);
    expect((bad as Error).message).toBe(`${latin1}:3: undecodable bytes in field 2: not valid UTF-8 (a Latin-1 file needs its encoding named: latin1)`);
    expect((bad as InputError).hint).toContain('--encoding latin1');
    // Named, the same file reads as what it says.
    expect((await readAccountsCsv(latin1, 'latin1')).map((a) => a.name)).toEqual(['Acme', 'Müller GmbH']);
  });
});

describe('evaluateMatchFiles and explain', () => {
  it('scores the fixture set: no wrong matches, per stratum', async () => {
    const report = await evaluateMatchFiles({ accounts, signals, gold });
    expect(report.overall.signals).toBe(20);
    expect(report.errors).toEqual([]);
    expect(report.overall.precision).toBe(1);
    expect(report.overall.hierarchyFalseMerges).toBe(0);
    expect(report.byStratum['shared-hosting']!.matched).toBe(0);
    expect(report.byStratum['hierarchy']!.correct).toBe(4);
    expect(report.overall.review).toBe(2); // same-name APOLLO, free-mail on yahoo.com
  });

  it('explains a decision: evidence, rule, and the candidates it beat', async () => {
    const { result, text } = await explainSignal({ accounts, signals, signalId: 'S-10' });
    expect(result.accountId).toBe('A-ACME-GB');
    expect(text).toContain('country GB');
    expect(text).toContain('A-ACME (Acme Inc.');
    await expect(explainSignal({ accounts, signals, signalId: 'NOPE' })).rejects.toBeInstanceOf(InputError);
  });
});

describe('CLI handlers', () => {
  it('file mode through the handlers, with --json results', async () => {
    const { ctx, stdout } = await context(dir);
    await match(ctx, { accounts, signals, out: path.join(dir, 'm.csv') });
    expect(JSON.parse(stdout())).toMatchObject({ signals: 20 });
    const e = await context(dir);
    await matchEval(e.ctx, { accounts, signals, gold });
    expect(JSON.parse(e.stdout()).overall.precision).toBe(1);
    const x = await context(dir, false);
    await matchExplain(x.ctx, { accounts, signals, args: ['S-07'] });
    expect(x.stdout()).toContain('shared host');
    await expect(match(ctx, { accounts })).rejects.toThrow(/--accounts and --signals/);
  });

  it('pipeline mode: staging tables in, matches and review out; review decisions win on later runs', async () => {
    const cwd = await mkdtemp(path.join(dir, 'pipe-'));
    await writeFile(path.join(cwd, 'partnersync.yaml'), 'version: 1\nstaging:\n  url: sqlite:staging.db\n');
    const staging = await openStaging('sqlite:staging.db', { baseDir: cwd });
    await staging.db.schema.createTable('accounts', (t) => {
      for (const c of ['account_id', 'name', 'website', 'domains', 'parent_account_id', 'country', 'duns']) t.text(c);
    });
    await staging.db.schema.createTable('partner_signals', (t) => {
      for (const c of ['signal_id', 'partner', 'company_name', 'website', 'email', 'country']) t.text(c);
    });
    await staging.db('accounts').insert([
      { account_id: 'A1', name: 'Apollo Inc', website: 'apollo-tyres.example' },
      { account_id: 'A2', name: 'Apollo GmbH', website: 'apollo-optik.example' },
      { account_id: 'A3', name: 'Acme', website: 'acme.com' },
    ]);
    await staging.db('partner_signals').insert([
      { signal_id: 'S1', partner: 'P', company_name: 'Apollo' },
      { signal_id: 'S2', partner: 'P', website: 'www.acme.com' },
      { signal_id: 'S3', partner: 'P', email: 'x@gmail.com' },
    ]);
    await staging.close();

    const run = async (fn: typeof match, opts: Parameters<typeof match>[1]) => {
      const c = await context(cwd);
      await fn(c.ctx, opts);
      return JSON.parse(c.stdout());
    };
    expect(await run(match, {})).toMatchObject({ signals: 3, matched: 1, review: 1, unmatched: 1 });
    const queue = await run(matchReview, { args: ['list'] });
    expect(queue.map((q: { signalId: string }) => q.signalId)).toEqual(['S1']);
    expect(queue[0].candidates.map((c: { accountId: string }) => c.accountId).sort()).toEqual(['A1', 'A2']);

    expect(await run(matchReview, { args: ['accept', 'S1', 'A2'] })).toMatchObject({ status: 'accepted', accountId: 'A2' });
    expect(await run(matchReview, { args: ['reject', 'S2'] })).toMatchObject({ status: 'rejected' });
    await expect(run(matchReview, { args: ['accept', 'S1', 'NOPE'] })).rejects.toThrow(/NOPE/);

    // A later run: the stored decisions win over the engine.
    expect(await run(match, {})).toMatchObject({ matched: 1, review: 0, unmatched: 2, decidedByReview: 2 });
    const s2 = await openStaging('sqlite:staging.db', { baseDir: cwd });
    const rows = await s2.db('matches').orderBy('signal_id').select('signal_id', 'status', 'account_id', 'decided_by');
    await s2.close();
    expect(rows).toEqual([
      { signal_id: 'S1', status: 'matched', account_id: 'A2', decided_by: 'review' },
      { signal_id: 'S2', status: 'unmatched', account_id: null, decided_by: 'review' },
      { signal_id: 'S3', status: 'unmatched', account_id: null, decided_by: 'engine' },
    ]);
    expect(await run(matchReview, { args: ['list'] })).toEqual([]);
    const ex = await context(cwd, false);
    await matchExplain(ex.ctx, { args: ['S1'] });
    expect(ex.stdout()).toContain('decided by a reviewer');
  });
});
