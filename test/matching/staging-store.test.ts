import { afterEach, describe, expect, it } from 'vitest';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { decideReview, FETCH_ROWS, listReview, runStagedMatch, UNNEST_ROWS } from '../../src/matching/staging-store.js';
import { MatchPolicy } from '../../src/matching/types.js';
import { dialects, newStagingUrl, type TestStaging } from '../helpers/staging.js';
import { InputError } from '../../src/errors.js';

const policy = MatchPolicy.parse({});

async function seed(staging: Staging, extraSignals = 0): Promise<void> {
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
  const signals = [
    { signal_id: 'S1', partner: 'P', company_name: 'Apollo' }, // two unrelated Apollos: review
    { signal_id: 'S2', partner: 'P', website: 'https://eu.acme.com/x' }, // A3 by website
    { signal_id: 'S3', partner: 'P', email: 'x@gmail.com' }, // free-mail only: unmatched
  ];
  // Extra signals, enough for several INSERT batches where the write is batched.
  for (let i = 0; i < extraSignals; i++) signals.push({ signal_id: `X${String(i).padStart(5, '0')}`, partner: 'P', email: `jo${i}@acme.com` } as never);
  for (let i = 0; i < signals.length; i += 100) await staging.db('partner_signals').insert(signals.slice(i, i + 100));
}

/** The index definitions on `matches`, sorted (SQLite's include the statement that made each). */
async function matchIndexes(staging: Staging): Promise<string[]> {
  const rows =
    staging.dialect === 'sqlite'
      ? ((await staging.db.raw("SELECT name || ': ' || coalesce(sql, '(key)') AS d FROM sqlite_master WHERE type = 'index' AND tbl_name = 'matches'")) as { d: string }[])
      : (((await staging.db.raw("SELECT indexname || ': ' || indexdef AS d FROM pg_indexes WHERE tablename = 'matches' AND schemaname = current_schema()")) as { rows: { d: string }[] }).rows);
  return rows.map((r) => r.d).sort();
}

describe.each(dialects)('pipeline mode on %s staging', (dialect) => {
  let t: TestStaging | undefined;
  let staging: Staging | undefined;
  afterEach(async () => {
    await staging?.close();
    await t?.cleanup();
    staging = undefined;
    t = undefined;
  });

  it('the migration creates matches and match_review; runStagedMatch writes every signal in batches', async () => {
    t = newStagingUrl(dialect, 't_match');
    staging = await openStaging(t.url);
    expect(await staging.db.schema.hasTable('matches')).toBe(true);
    expect(await staging.db.schema.hasTable('match_review')).toBe(true);
    // Several Postgres INSERT batches and a part-filled last one (SQLite writes row by row), and signals
    // read from the Postgres cursor in more than one FETCH, the last one part-filled.
    const extra = Math.max(UNNEST_ROWS * 2, FETCH_ROWS) + 7;
    await seed(staging, extra);
    const indexes = await matchIndexes(staging);
    const summary = await runStagedMatch(staging.db, policy, 'run-1', '2024-01-01T00:00:00.000Z');
    expect(summary).toMatchObject({ signals: extra + 3, matched: extra + 1, review: 1, unmatched: 1, decidedByReview: 0 });
    expect(await matchIndexes(staging)).toEqual(indexes);
    const n = ((await staging.db('matches').count({ n: '*' })) as { n: number | string }[])[0]?.n;
    expect(Number(n)).toBe(extra + 3);
    const m = ((await staging.db('matches').where({ account_id: 'A3', rule: 'email-domain', run_id: 'run-1' }).count({ m: '*' })) as { m: number | string }[])[0]?.m;
    expect(Number(m)).toBe(extra);
    expect((await listReview(staging.db)).map((r) => r.signalId)).toEqual(['S1']);
  });

  it('a run that fails while writing leaves the previous run\'s matches as they were', async () => {
    t = newStagingUrl(dialect, 't_match');
    staging = await openStaging(t.url);
    await seed(staging);
    await runStagedMatch(staging.db, policy, 'run-1');
    const before = await staging.db('matches').orderBy('signal_id').select('signal_id', 'status', 'run_id');
    expect(before).toHaveLength(3);
    // A signal id staged twice, found only after the other rows of the run are written.
    await staging.db('partner_signals').insert({ signal_id: 'S2', partner: 'P', email: 'jo@acme.com' } as never);
    const indexesBefore = await matchIndexes(staging);
    expect(indexesBefore.length).toBeGreaterThanOrEqual(3); // the key, account_id, status
    const err = await runStagedMatch(staging.db, policy, 'run-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('signal_id "S2" appears more than once');
    expect(await staging.db('matches').orderBy('signal_id').select('signal_id', 'status', 'run_id')).toEqual(before);
    // The writer drops and rebuilds the table's indexes around its inserts: all back after a failure.
    expect(await matchIndexes(staging)).toEqual(indexesBefore);
    expect((await listReview(staging.db)).map((r) => r.signalId)).toEqual(['S1']);
  });

  it('stores every result exactly as the engine made it, awkward characters included', async () => {
    t = newStagingUrl(dialect, 't_match');
    staging = await openStaging(t.url);
    await seed(staging);
    // Characters with a meaning in SQL, CSV or a Postgres array literal, in an account name that ends
    // up in the explanation; and a review item (S1) with its candidates as JSON.
    const awkward = 'Q {Brace}, "Quote" \\ Back\'s NULL, Ltd';
    await staging.db('accounts').where({ account_id: 'A3' }).update({ name: awkward });
    const summary = await runStagedMatch(staging.db, policy, null);
    expect(summary.signals).toBe(3);
    const rows = (await staging.db('matches').orderBy('signal_id').select('*')) as Record<string, unknown>[];
    const s2 = rows.find((r) => r.signal_id === 'S2')!;
    expect(s2).toMatchObject({ status: 'matched', account_id: 'A3', rule: 'website-domain', decided_by: 'engine', run_id: null, candidate_account_ids: '' });
    expect(Number(s2.confidence)).toBeCloseTo(0.98, 5);
    expect(String(s2.explanation)).toContain(`A3 (${awkward})`);
    const s1 = rows.find((r) => r.signal_id === 'S1')!;
    expect(s1).toMatchObject({ status: 'review', account_id: null, candidate_account_ids: 'A1;A2' });
    expect(JSON.parse(String(s1.candidates)).map((c: { accountId: string }) => c.accountId)).toEqual(['A1', 'A2']);
    const [item] = await listReview(staging.db);
    expect(item).toMatchObject({ signalId: 'S1', status: 'open', explanation: s1.explanation });
  });

  it('review decisions win over the engine on the next run', async () => {
    t = newStagingUrl(dialect, 't_match');
    staging = await openStaging(t.url);
    await seed(staging);
    await runStagedMatch(staging.db, policy, 'run-1');
    const [open] = await listReview(staging.db);
    expect(open!.candidates.map((c) => c.accountId).sort()).toEqual(['A1', 'A2']);

    expect(await decideReview(staging.db, 'S1', 'accept', 'A2')).toMatchObject({ status: 'accepted', accountId: 'A2' });
    // An automatic match someone disputes can be rejected too.
    expect(await decideReview(staging.db, 'S2', 'reject')).toMatchObject({ status: 'rejected', accountId: null });
    await expect(decideReview(staging.db, 'S1', 'accept', 'NOPE')).rejects.toThrow(/NOPE/);

    const summary = await runStagedMatch(staging.db, policy, 'run-2');
    expect(summary).toMatchObject({ signals: 3, matched: 1, review: 0, unmatched: 2, decidedByReview: 2 });
    const rows = await staging.db('matches').orderBy('signal_id').select('signal_id', 'status', 'account_id', 'decided_by', 'run_id');
    expect(rows).toEqual([
      { signal_id: 'S1', status: 'matched', account_id: 'A2', decided_by: 'review', run_id: 'run-2' },
      { signal_id: 'S2', status: 'unmatched', account_id: null, decided_by: 'review', run_id: 'run-2' },
      { signal_id: 'S3', status: 'unmatched', account_id: null, decided_by: 'engine', run_id: 'run-2' },
    ]);
    expect(await listReview(staging.db, 'open')).toEqual([]);
    expect((await listReview(staging.db, 'all')).map((r) => [r.signalId, r.status])).toEqual([
      ['S1', 'accepted'],
      ['S2', 'rejected'],
    ]);
  });

  it('a database whose match tables predate the migration keeps them and their rows', async () => {
    t = newStagingUrl(dialect, 't_match');
    const old = await openStaging(t.url, { migrate: false });
    // As the matcher used to create it on first use.
    await old.db.schema.createTable('match_review', (tb) => {
      tb.string('signal_id', 255).primary();
      tb.string('status', 16).notNullable();
      tb.string('account_id', 255);
      tb.text('candidates').notNullable();
      tb.text('explanation').notNullable();
      tb.string('created_at', 32).notNullable();
      tb.string('decided_at', 32);
    });
    await old.db('match_review').insert({ signal_id: 'S9', status: 'rejected', candidates: '[]', explanation: '', created_at: 'x' });
    await old.close();
    staging = await openStaging(t.url);
    expect(await staging.db.schema.hasTable('matches')).toBe(true);
    expect((await listReview(staging.db, 'all')).map((r) => r.signalId)).toEqual(['S9']);
  });
});
