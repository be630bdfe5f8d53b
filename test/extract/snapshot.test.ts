import { afterAll, describe, expect, it } from 'vitest';
import type { ReadMessage, Source, StreamDescriptor } from '../../src/connectors/types.js';
import { InterruptedError } from '../../src/errors.js';
import { extractStream as extractLoop, type ExtractStreamOptions, type StreamCounts } from '../../src/extract/extract-loop.js';
import { createRawWriter } from '../../src/extract/raw-writer.js';
import { nowIso, type Staging } from '../../src/staging/db.js';
import { getState } from '../../src/staging/state.js';
import { rawRows, stagingCase, startRun } from './helpers.js';

/**
 * Snapshot streams in the extract loop: a completed pass tombstones the rows it did not see, in the
 * transaction of its last checkpoint; a pass interrupted and resumed keeps what it saw before the
 * interruption; a stream that is not a snapshot never tombstones. On SQLite in-process, SQLite in
 * the writer thread and Postgres.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

type Row = { id: number; name: string; tag: string };
const items = (ids: number[], tag = 'v1'): Row[] => ids.map((id) => ({ id, name: `item ${id}`, tag }));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A source over an in-memory table read in id order, like a cursor-paged API: a checkpoint every
 * `every` rows holds the last id; a pass starts from the beginning when the state holds none and
 * ends with a `snapshotEnd` checkpoint whose state `{}` makes the next read start over.
 */
function snapshotSource(rows: () => Row[], opts: { every?: number; onYield?: (n: number) => void } = {}): Source {
  return {
    async check() {},
    async discover() {
      return [{ name: 'items', primaryKey: ['id'], snapshot: true }];
    },
    async *read(_stream: StreamDescriptor, { state }): AsyncGenerator<ReadMessage> {
      const after = (state as { after?: number } | undefined)?.after;
      if (after === undefined) yield { type: 'snapshot-start' };
      const todo = [...rows()].sort((a, b) => a.id - b.id).filter((r) => after === undefined || r.id > after);
      let n = 0;
      for (const r of todo) {
        yield { type: 'record', record: r };
        opts.onYield?.(++n);
        if (n % (opts.every ?? 5) === 0) yield { type: 'checkpoint', state: { after: r.id } };
      }
      yield { type: 'checkpoint', state: {}, snapshotEnd: true };
    },
  };
}

const threadUrl = new URL('../../dist/extract/sqlite-writer-thread.js', import.meta.url);
const writerKind = { sqlite: 'in-process', 'sqlite-thread': 'thread', postgres: 'knex' } as const;
const SNAPSHOT: StreamDescriptor = { name: 'items', primaryKey: ['id'], snapshot: true };

const live = (rows: Array<Record<string, unknown>>) => rows.filter((r) => Number(r._deleted) === 0).map((r) => Number(r.id)).sort((a, b) => a - b);
const dead = (rows: Array<Record<string, unknown>>) => rows.filter((r) => Number(r._deleted) === 1).map((r) => Number(r.id)).sort((a, b) => a - b);
const byId = (rows: Array<Record<string, unknown>>) => new Map(rows.map((r) => [Number(r.id), r]));

for (const kind of ['sqlite', 'sqlite-thread', 'postgres'] as const) {
  describe(`snapshot streams on ${kind} staging`, () => {
    const sc = stagingCase(kind === 'postgres' ? 'postgres' : 'sqlite', 'snap');
    cleanups.push(sc.cleanup);
    const extractStream = async (o: ExtractStreamOptions) => {
      const writer = createRawWriter(o.staging, kind === 'sqlite-thread' ? { threadUrl } : { thread: 'never' });
      expect(writer.kind).toBe(writerKind[kind]);
      try {
        return await extractLoop({ ...o, writer });
      } finally {
        await writer.close();
      }
    };
    /** One extract run; an interrupted one returns its error and the counts it logged. */
    const go = async (staging: Staging, connection: string, source: Source, extra: Partial<ExtractStreamOptions> = {}) => {
      const run = await startRun(staging);
      const before = nowIso();
      const result = await extractStream({ staging, run, connection, source, stream: SNAPSHOT, batchSize: 5, ...extra }).catch((e: unknown) => e);
      const counts = (run.counts.extract as Record<string, Pick<StreamCounts, 'records' | 'inserted' | 'updated' | 'unchanged' | 'deleted' | 'rejected'>>)[`${connection}/items`]!;
      return { run, before, result, counts };
    };

    it('tombstones a removed row after the next complete pass and only then, across an interruption; a re-added row comes back live', async () => {
      const staging = await sc.open();
      try {
        let data = items(range(1, 30));
        const first = await go(staging, 'snap', snapshotSource(() => data));
        expect(first.result).toMatchObject({ records: 30, inserted: 30, deleted: 0 });

        // Removed at the source: 4 (before the interruption below) and 17, 29 (after it); 10 changed.
        data = items(range(1, 30).filter((id) => ![4, 17, 29].includes(id))).map((r) => (r.id === 10 ? { ...r, tag: 'v2' } : r));
        const controller = new AbortController();
        const cut = await go(staging, 'snap', snapshotSource(() => data, { onYield: (n) => n === 12 && controller.abort('SIGINT') }), { signal: controller.signal });
        expect(cut.result).toBeInstanceOf(InterruptedError);
        expect(cut.counts.records).toBeGreaterThan(0);
        expect(cut.counts.records).toBeLessThan(data.length);
        expect(cut.counts.deleted).toBe(0);
        let rows = await rawRows(staging, 'raw_snap__items');
        // An incomplete pass deletes nothing.
        expect(dead(rows)).toEqual([]);
        expect(live(rows)).toEqual(range(1, 30));

        const resumed = await go(staging, 'snap', snapshotSource(() => data));
        // It went on from the checkpoint: together the two runs read the file once.
        expect(cut.counts.records + resumed.counts.records).toBe(data.length);
        expect(resumed.result).toMatchObject({ inserted: 0, deleted: 3 });
        rows = await rawRows(staging, 'raw_snap__items');
        expect(dead(rows)).toEqual([4, 17, 29]);
        expect(live(rows)).toEqual(data.map((r) => r.id));
        const after = nowIso();
        for (const id of [4, 17, 29]) {
          const r = byId(rows).get(id)!;
          expect(r).toMatchObject({ _hash: 'tombstone', _run_id: resumed.run.id, name: `item ${id}` });
          expect(String(r._extracted_at) >= resumed.before && String(r._extracted_at) <= after).toBe(true);
        }
        // Unchanged rows, seen before and after the interruption, were not rewritten.
        expect(byId(rows).get(1)).toMatchObject({ _run_id: first.run.id });
        expect(byId(rows).get(30)).toMatchObject({ _run_id: first.run.id });
        expect(byId(rows).get(10)).toMatchObject({ tag: 'v2', _run_id: cut.run.id });

        // The next pass over the same data: nothing to delete, nothing rewritten.
        const again = await go(staging, 'snap', snapshotSource(() => data));
        expect(again.result).toMatchObject({ records: 27, inserted: 0, updated: 0, unchanged: 27, deleted: 0 });
        expect((await rawRows(staging, 'raw_snap__items')).filter((r) => r._run_id === again.run.id)).toEqual([]);

        // 17 re-appears: live again, counted as an update of its tombstone.
        data = items(range(1, 30).filter((id) => ![4, 29].includes(id))).map((r) => (r.id === 10 ? { ...r, tag: 'v2' } : r));
        const back = await go(staging, 'snap', snapshotSource(() => data));
        expect(back.result).toMatchObject({ records: 28, inserted: 0, updated: 1, unchanged: 27, deleted: 0 });
        rows = await rawRows(staging, 'raw_snap__items');
        expect(byId(rows).get(17)).toMatchObject({ _run_id: back.run.id, name: 'item 17' });
        expect(Number(byId(rows).get(17)!._deleted)).toBe(0);
        expect(byId(rows).get(17)!._hash).not.toBe('tombstone');
        expect(dead(rows)).toEqual([4, 29]);
      } finally {
        await staging.close();
      }
    });

    it('a pass that starts over abandons the interrupted one: what only the old pass saw is tombstoned', async () => {
      const staging = await sc.open();
      try {
        let data = items(range(1, 20));
        await go(staging, 'restart', snapshotSource(() => data));
        const controller = new AbortController();
        const cut = await go(staging, 'restart', snapshotSource(() => data, { onYield: (n) => n === 7 && controller.abort('SIGINT') }), { signal: controller.signal });
        expect(cut.result).toBeInstanceOf(InterruptedError);
        // Rows 1..10 were seen by the interrupted pass; now 3 and 15 are gone and the source starts
        // over (a changed file does): its pass must not count the old pass's marks.
        data = items(range(1, 20).filter((id) => id !== 3 && id !== 15));
        const restarted = await go(staging, 'restart', restartingSource(() => data));
        expect(restarted.result).toMatchObject({ records: 18, deleted: 2 });
        const rows = await rawRows(staging, 'raw_restart__items');
        expect(dead(rows)).toEqual([3, 15]);
        expect(live(rows)).toEqual(data.map((r) => r.id));
      } finally {
        await staging.close();
      }
    });

    it('a complete pass with no rows tombstones every live row, and counts them', async () => {
      const staging = await sc.open();
      try {
        let data = items(range(1, 12));
        await go(staging, 'empty', snapshotSource(() => data));
        data = [];
        const r = await go(staging, 'empty', snapshotSource(() => data));
        expect(r.result).toMatchObject({ records: 0, deleted: 12 });
        const rows = await rawRows(staging, 'raw_empty__items');
        expect(dead(rows)).toEqual(range(1, 12));
        expect(r.counts.deleted).toBe(12);
      } finally {
        await staging.close();
      }
    });

    it('a stream that is not a snapshot never tombstones, whatever the source marks', async () => {
      const staging = await sc.open();
      try {
        const plain: StreamDescriptor = { name: 'items', primaryKey: ['id'] };
        let data = items(range(1, 15));
        const first = await go(staging, 'plain', snapshotSource(() => data), { stream: plain });
        expect(first.result).toMatchObject({ inserted: 15 });
        data = items([2, 5]);
        const second = await go(staging, 'plain', snapshotSource(() => data), { stream: plain });
        expect(second.result).toMatchObject({ records: 2, unchanged: 2, deleted: 0 });
        const rows = await rawRows(staging, 'raw_plain__items');
        expect(live(rows)).toEqual(range(1, 15));
        // Its state is the source's own, as before snapshots existed.
        expect(await getState(staging, { connection: 'plain', stream: 'items' })).toEqual({});
      } finally {
        await staging.close();
      }
    });

    it('a stream that becomes a snapshot in the middle of a pass deletes nothing at its end; the next full pass does', async () => {
      const staging = await sc.open();
      try {
        const plain: StreamDescriptor = { name: 'items', primaryKey: ['id'] };
        let data = items(range(1, 20));
        await go(staging, 'late', snapshotSource(() => data), { stream: plain });
        const controller = new AbortController();
        const cut = await go(staging, 'late', snapshotSource(() => data, { onYield: (n) => n === 3 && controller.abort('SIGINT') }), { stream: plain, signal: controller.signal });
        expect(cut.result).toBeInstanceOf(InterruptedError);
        // The raw table was made before snapshots: `_seen` is added when a snapshot batch comes.
        data = items(range(1, 20).filter((id) => id !== 2 && id !== 18));
        const resumed = await go(staging, 'late', snapshotSource(() => data));
        expect(resumed.result).toMatchObject({ deleted: 0 });
        expect(live(await rawRows(staging, 'raw_late__items'))).toEqual(range(1, 20));
        const full = await go(staging, 'late', snapshotSource(() => data));
        expect(full.result).toMatchObject({ records: 18, deleted: 2 });
        const rows = await rawRows(staging, 'raw_late__items');
        expect(dead(rows)).toEqual([2, 18]);
        expect(rows[0]).toHaveProperty('_seen');
      } finally {
        await staging.close();
      }
    });
  });
}

/** Like snapshotSource, but every read starts a new pass from the beginning, whatever the state. */
function restartingSource(rows: () => Row[]): Source {
  const inner = snapshotSource(rows);
  return { ...inner, read: (stream, opts) => inner.read(stream, { ...opts, state: undefined }) };
}
