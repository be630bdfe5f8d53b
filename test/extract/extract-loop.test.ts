import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { extract } from '../../src/commands/extract.js';
import type { ReadMessage, Source, StreamDescriptor } from '../../src/connectors/types.js';
import { InterruptedError, RejectsOverLimitError } from '../../src/errors.js';
import { extractStream as extractLoop, type ExtractStreamOptions } from '../../src/extract/extract-loop.js';
import { createRawWriter, type RawWriter } from '../../src/extract/raw-writer.js';
import { legacyHash } from '../../src/extract/row-hash.js';
import { extractStreams } from '../../src/extract/extract-streams.js';
import { CsvConfig } from '../../src/connectors/csv/config.js';
import { openStaging } from '../../src/staging/db.js';
import { getState } from '../../src/staging/state.js';
import { commandContext, rawRows, stagingCase, startRun, tmpDir } from './helpers.js';

const fixtures = fileURLToPath(new URL('../../fixtures/csv/', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** A source over an in-memory table: checkpoint = index of the next row; deletes as tombstones. */
function memorySource(rows: () => Array<Record<string, unknown>>, opts: { every?: number; deletes?: () => Array<Record<string, unknown>>; onYield?: (n: number) => void } = {}): Source {
  return {
    async check() {},
    async discover() {
      return [{ name: 'items', primaryKey: ['id'] }];
    },
    async *read(_stream: StreamDescriptor, { state }): AsyncGenerator<ReadMessage> {
      const all = rows();
      let i = (state as { next?: number } | undefined)?.next ?? 0;
      let n = 0;
      for (; i < all.length; i++) {
        yield { type: 'record', record: all[i]! };
        opts.onYield?.(++n);
        if ((i + 1) % (opts.every ?? 10) === 0) yield { type: 'checkpoint', state: { next: i + 1 } };
      }
      for (const d of opts.deletes?.() ?? []) yield { type: 'delete', key: d };
      yield { type: 'checkpoint', state: { next: i } };
    },
  };
}
const items = (n: number, tag = 'v1') => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, tag }));

// The writer thread runs compiled code (dist/, built by test/global-setup.ts); `sqlite` runs the same
// SqliteBatchStore in-process on the knex connection.
const threadUrl = new URL('../../dist/extract/sqlite-writer-thread.js', import.meta.url);
const writerKind = { sqlite: 'in-process', 'sqlite-thread': 'thread', postgres: 'knex' } as const;

for (const kind of ['sqlite', 'sqlite-thread', 'postgres'] as const) {
  describe(`extract loop on ${kind} staging`, () => {
    const sc = stagingCase(kind === 'postgres' ? 'postgres' : 'sqlite', 'loop');
    cleanups.push(sc.cleanup);
    const writerFor = (o: ExtractStreamOptions): RawWriter => {
      const w = createRawWriter(o.staging, kind === 'sqlite-thread' ? { threadUrl } : { thread: 'never' });
      expect(w.kind).toBe(writerKind[kind]);
      return w;
    };
    const extractStream = async (o: ExtractStreamOptions) => {
      const writer = writerFor(o);
      try {
        return await extractLoop({ ...o, writer });
      } finally {
        await writer.close();
      }
    };

    it('stages records with bookkeeping columns, rewrites only changed ones, and saves state with them', async () => {
      const staging = await sc.open();
      try {
        let data = items(25);
        const source = memorySource(() => data);
        const stream = { name: 'items', primaryKey: ['id'] };
        const run1 = await startRun(staging);
        const r1 = await extractStream({ staging, run: run1, connection: 'mem', source, stream, batchSize: 5 });
        expect(r1).toMatchObject({ records: 25, inserted: 25, updated: 0, unchanged: 0, table: 'raw_mem__items' });
        const rows = await rawRows(staging, 'raw_mem__items');
        expect(rows).toHaveLength(25);
        expect(rows[0]).toMatchObject({ _run_id: run1.id, _deleted: 0, id: '1', name: 'item 1' });
        expect(rows[0]!._hash).toMatch(/^[A-Za-z0-9_-]{24}$/);
        expect(rows[0]!._extracted_at).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(await getState(staging, { connection: 'mem', stream: 'items' })).toEqual({ next: 25 });

        // Re-read everything (state reset by full refresh off, so read from a fresh state key): two rows changed.
        data = items(25).map((r) => (r.id === 3 || r.id === 7 ? { ...r, tag: 'v2' } : r));
        const run2 = await startRun(staging);
        const r2 = await extractStream({ staging, run: run2, connection: 'mem', source: memorySource(() => data), stream: { ...stream, params: { again: true } } });
        expect(r2).toMatchObject({ records: 25, inserted: 0, updated: 2, unchanged: 23 });
        const after = await rawRows(staging, 'raw_mem__items');
        expect(after.filter((r) => r._run_id === run2.id).map((r) => r.id).sort()).toEqual(['3', '7']);
      } finally {
        await staging.close();
      }
    });

    it('counts and writes correctly in large batches where new, changed, unchanged and deleted keys are mixed', async () => {
      const staging = await sc.open();
      try {
        const stream = { name: 'items', primaryKey: ['id'] };
        const go = async (data: Array<Record<string, unknown>>, deletes: Array<Record<string, unknown>> = [], params?: Record<string, unknown>) => {
          const run = await startRun(staging);
          const r = await extractStream({ staging, run, connection: 'big', source: memorySource(() => data, { every: 100, deletes: () => deletes }), stream: { ...stream, params }, batchSize: 300 });
          return { r, run };
        };
        // 700 new keys in batches of 300: several multi-row statements and a remainder per batch.
        const first = await go(items(700));
        expect(first.r).toMatchObject({ records: 700, inserted: 700, updated: 0, unchanged: 0 });
        // Re-read: new keys (701..830) come first in a batch that also holds existing ones, so a
        // write that assumes only new keys must find out mid-batch (after two full statements); every 50th row changed; a tombstone for a key never seen.
        const again = [...items(830).slice(700), ...items(700).map((r) => (r.id % 50 === 0 ? { ...r, tag: 'v2' } : r))];
        const second = await go(again, [{ id: 9999 }], { again: true });
        expect(second.r).toMatchObject({ records: 830, inserted: 130, updated: 14, unchanged: 686, deleted: 1 });
        const rows = await rawRows(staging, 'raw_big__items');
        expect(rows).toHaveLength(831);
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        expect(byId.get(50)).toMatchObject({ tag: 'v2', _run_id: second.run.id });
        expect(byId.get(51)).toMatchObject({ tag: 'v1', _run_id: first.run.id });
        expect(byId.get(720)).toMatchObject({ tag: 'v1', _run_id: second.run.id });
        expect(Number(byId.get(9999)!._deleted)).toBe(1);
        // Third read of the same data: nothing is rewritten.
        const third = await go(again, [{ id: 9999 }], { third: true });
        expect(third.r).toMatchObject({ inserted: 0, updated: 0, unchanged: 830, deleted: 0 });
        expect((await rawRows(staging, 'raw_big__items')).filter((r) => r._run_id === third.run.id)).toHaveLength(0);
      } finally {
        await staging.close();
      }
    });

    it('rows staged with the earlier (sha1) hash are not rewritten when unchanged, and are when changed', async () => {
      const staging = await sc.open();
      try {
        const stream = { name: 'items', primaryKey: ['id'] };
        const first = await startRun(staging);
        await extractStream({ staging, run: first, connection: 'old', source: memorySource(() => items(25)), stream });
        // As an earlier version staged them: the same rows with the old hash of their values.
        for (const r of await rawRows(staging, 'raw_old__items')) {
          await staging.db('raw_old__items').where({ _key: r._key }).update({ _hash: legacyHash(['id', 'name', 'tag'], [String(r.id), String(r.name), String(r.tag)]) });
        }
        const data = items(25).map((r) => (r.id === 4 ? { ...r, tag: 'v2' } : r));
        const second = await startRun(staging);
        const r = await extractStream({ staging, run: second, connection: 'old', source: memorySource(() => data), stream: { ...stream, params: { again: true } } });
        expect(r).toMatchObject({ records: 25, inserted: 0, updated: 1, unchanged: 24 });
        const after = await rawRows(staging, 'raw_old__items');
        expect(after.filter((x) => x._run_id === second.id).map((x) => x.id)).toEqual(['4']);
        expect(after.find((x) => x.id === '4')!._hash).toMatch(/^[A-Za-z0-9_-]{24}$/);
        expect(after.find((x) => x.id === '5')!._hash).toMatch(/^[0-9a-f]{32}$/);
      } finally {
        await staging.close();
      }
    });

    it('stops at the next checkpoint on abort, and a re-run finishes with nothing lost or doubled', async () => {
      const staging = await sc.open();
      try {
        const controller = new AbortController();
        const data = items(100);
        const source = memorySource(() => data, { every: 10, onYield: (n) => n === 25 && controller.abort('SIGINT') });
        const stream = { name: 'items', primaryKey: ['id'] };
        const err = await extractStream({ staging, run: await startRun(staging), connection: 'abort', source, stream, batchSize: 10, signal: controller.signal }).catch((e) => e);
        expect(err).toBeInstanceOf(InterruptedError);
        const partial = await rawRows(staging, 'raw_abort__items');
        expect(partial.length).toBe(30); // up to the checkpoint after the abort
        expect(await getState(staging, { connection: 'abort', stream: 'items' })).toEqual({ next: 30 });
        const r = await extractStream({ staging, run: await startRun(staging), connection: 'abort', source: memorySource(() => data), stream, batchSize: 10 });
        expect(r).toMatchObject({ records: 70, inserted: 70 });
        const all = await rawRows(staging, 'raw_abort__items');
        expect(all.map((x) => Number(x.id)).sort((a, b) => a - b)).toEqual(data.map((d) => d.id));
      } finally {
        await staging.close();
      }
    });

    it('applies tombstones, brings a deleted key back when it reappears, and --full-refresh replaces the rows', async () => {
      const staging = await sc.open();
      try {
        const stream = { name: 'items', primaryKey: ['id'] };
        let deletes = [{ id: 2 }, { id: 99 }];
        const src = () => memorySource(() => items(3), { deletes: () => deletes });
        const r1 = await extractStream({ staging, run: await startRun(staging), connection: 'tomb', source: src(), stream, fullRefresh: true });
        expect(r1.deleted).toBe(2);
        let rows = await rawRows(staging, 'raw_tomb__items');
        expect(rows.map((r) => [r.id, Number(r._deleted)])).toEqual([['1', 0], ['2', 1], ['3', 0], ['99', 1]]);
        deletes = [];
        const r2 = await extractStream({ staging, run: await startRun(staging), connection: 'tomb', source: src(), stream, fullRefresh: true });
        expect(r2).toMatchObject({ inserted: 3, deleted: 0 });
        rows = await rawRows(staging, 'raw_tomb__items');
        // Full refresh: key 99 (not in the source any more) is gone, 2 is live again.
        expect(rows.map((r) => [r.id, Number(r._deleted)])).toEqual([['1', 0], ['2', 0], ['3', 0]]);
      } finally {
        await staging.close();
      }
    });

    if (kind !== 'postgres') {
      it('a batch that fails in staging commits nothing of itself or after it, and surfaces SQLite\'s error', async () => {
        const staging = await sc.open();
        try {
          const stream = { name: 'items', primaryKey: ['id'] };
          await extractStream({ staging, run: await startRun(staging), connection: 'boom', source: memorySource(() => items(5), { every: 5 }), stream, batchSize: 5 });
          await staging.db.raw("CREATE TRIGGER boom BEFORE INSERT ON raw_boom__items WHEN NEW.name = 'item 17' BEGIN SELECT RAISE(ABORT, 'item 17 refused'); END");
          const params = { second: true };
          const err = await extractStream({ staging, run: await startRun(staging), connection: 'boom', source: memorySource(() => items(30), { every: 5 }), stream: { ...stream, params }, batchSize: 5 }).catch((e) => e);
          expect(err).toBeInstanceOf(Error);
          expect(err.message).toContain('item 17 refused');
          expect(err.code).toBe('SQLITE_CONSTRAINT_TRIGGER');
          // The batch of rows 16–20 failed; the one after it (read while it was committing) never started.
          expect((await rawRows(staging, 'raw_boom__items')).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(items(15).map((r) => r.id));
          expect(await getState(staging, { connection: 'boom', stream: 'items', params })).toEqual({ next: 15 });
          await staging.db.raw('DROP TRIGGER boom');
          const r = await extractStream({ staging, run: await startRun(staging), connection: 'boom', source: memorySource(() => items(30), { every: 5 }), stream: { ...stream, params }, batchSize: 5 });
          expect(r).toMatchObject({ records: 15, inserted: 15 });
          expect((await rawRows(staging, 'raw_boom__items')).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(items(30).map((r) => r.id));
        } finally {
          await staging.close();
        }
      });
    }

    it('extracts CSV streams by connection config; an unchanged file is skipped, a changed one re-read', async () => {
      const staging = await sc.open();
      const dir = tmpDir();
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      try {
        fs.copyFileSync(path.join(fixtures, 'crossbeam-account-mapping.csv'), path.join(dir, 'overlaps.csv'));
        const config = CsvConfig.parse({ type: 'csv', batchSize: 5, streams: { overlaps: { file: 'overlaps.csv' } } });
        const go = async () => (await extractStreams({ staging, run: await startRun(staging), connection: 'xb_csv', config, baseDir: dir })).streams[0]!;
        expect(await go()).toMatchObject({ records: 22, inserted: 22 });
        expect(await go()).toMatchObject({ records: 0, inserted: 0 });
        const text = fs.readFileSync(path.join(dir, 'overlaps.csv'), 'utf8').replace('AE 0,', 'AE 9,');
        fs.writeFileSync(path.join(dir, 'overlaps.csv'), `${text}Zeta,zeta.io,Customers,AE 1,ae1@ourco.com,Contoso,Customers,Zeta,zeta.io,Contoso Rep,rep@contoso.com,2024-03-01\n`);
        expect(await go()).toMatchObject({ records: 23, inserted: 1, updated: 1, unchanged: 21 });
        const rows = await rawRows(staging, 'raw_xb_csv__overlaps');
        expect(rows).toHaveLength(23);
        expect(rows.find((r) => r.record_name === 'Zeta')).toMatchObject({ partner: 'Contoso', partner_record_ref: 'Zeta|zeta.io' });
      } finally {
        await staging.close();
      }
    });
  });
}

describe('partnersync extract (command)', () => {
  it('loads a one-off CSV without a config file into raw_csv__<stream>', async () => {
    const dir = tmpDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.copyFileSync(path.join(fixtures, 'accounts.csv'), path.join(dir, 'accounts.csv'));
    const ctx = commandContext(dir);
    await extract(ctx, { args: ['csv', []], file: 'accounts.csv', stream: 'crm_accounts' });
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    try {
      const rows = await rawRows(staging, 'raw_csv__crm_accounts');
      expect(rows).toHaveLength(25);
      expect(rows[0]).toMatchObject({ id: '001A00000', name: 'Acme Corp', owner_email: 'ae0@ourco.com', updated_at: '2024-05-01T10:00:00Z' });
      const run = await staging.db('runs').orderBy('started_at', 'desc').first();
      expect(run).toMatchObject({ command: 'extract', status: 'succeeded' });
      expect(JSON.parse(run.counts).extract['csv/crm_accounts']).toMatchObject({ records: 25, inserted: 25 });
      expect(ctx.out.results[0]).toMatchObject({ streams: [{ stream: 'crm_accounts', records: 25 }] });
    } finally {
      await staging.close();
    }
  });

  it('finishes the run, then exits 3 when more rows were rejected than --max-reject-rate allows', async () => {
    const dir = tmpDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'x.csv'), 'id,name\n1,a\n2\n3,c\n4,d\n');
    const ctx = commandContext(dir);
    const err = await extract(ctx, { args: [undefined, []], file: 'x.csv', maxRejectRate: 0.2 }).catch((e) => e);
    expect(err).toBeInstanceOf(RejectsOverLimitError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/csv\/x: 1 of 4 rows rejected \(25\.0%\)/);
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    try {
      expect((await rawRows(staging, 'raw_csv__x')).map((r) => r.id)).toEqual(['1', '3', '4']);
      expect(await staging.db('rejects').select('location', 'reason', 'source')).toEqual([{ location: 'x.csv:3', reason: 'expected 2 fields, found 1', source: 'csv/x' }]);
      expect(await staging.db('runs').first()).toMatchObject({ status: 'rejected', exit_code: 3 });
    } finally {
      await staging.close();
    }
    // Under the limit the same file is fine.
    await extract(commandContext(dir), { args: [undefined, []], file: 'x.csv', maxRejectRate: 0.3, fullRefresh: true });
  });
});
