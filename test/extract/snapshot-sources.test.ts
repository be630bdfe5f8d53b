import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionConfig } from '../../src/connectors/config-schemas.js';
import { InterruptedError } from '../../src/errors.js';
import { start as startCrossbeam, stableUuid, type CrossbeamEmulator } from '../../src/emulators/crossbeam/index.js';
import { extractStreams, type ExtractSummary } from '../../src/extract/extract-streams.js';
import type { Staging } from '../../src/staging/db.js';
import type { Output } from '../../src/ui/output.js';
import { rawRows, recordingOutput, stagingCase, startRun, tmpDir } from './helpers.js';

/**
 * The snapshot sources through the real extract loop: CSV streams with `snapshot: true` and the
 * Crossbeam lists and records (against the Crossbeam emulator). A row gone from a complete read is
 * tombstoned; an interrupted read resumed later tombstones exactly the rows gone, none it saw before
 * the interruption; append-style CSV streams and Crossbeam feeds never tombstone.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const liveIds = (rows: Array<Record<string, unknown>>, key = 'id') => rows.filter((r) => Number(r._deleted) === 0).map((r) => String(r[key])).sort();
const deadIds = (rows: Array<Record<string, unknown>>, key = 'id') => rows.filter((r) => Number(r._deleted) === 1).map((r) => String(r[key])).sort();
const sorted = (xs: Array<string | number>) => xs.map(String).sort();

/** An Output whose progress aborts `controller` once the first batch has been committed. */
function abortAfterFirstBatch(controller: AbortController): Output {
  const out = recordingOutput();
  return { ...out, progress: () => ({ update: () => controller.abort('SIGINT'), succeed: () => undefined, fail: () => undefined }) };
}

interface Extracted {
  summary?: ExtractSummary;
  error?: unknown;
  runId: string;
  /** Counts the run logged per `<connection>/<stream>` (also when it was interrupted). */
  counts: Record<string, { records: number; deleted: number; unchanged: number; updated: number; inserted: number }>;
}

async function extract(staging: Staging, connection: string, config: unknown, baseDir: string, opts: { streams?: string[]; batchSize?: number; interrupt?: boolean } = {}): Promise<Extracted> {
  const run = await startRun(staging);
  const controller = new AbortController();
  try {
    const summary = await extractStreams({
      staging,
      run,
      connection,
      config: ConnectionConfig.parse(config),
      baseDir,
      streams: opts.streams,
      batchSize: opts.batchSize,
      signal: controller.signal,
      out: opts.interrupt ? abortAfterFirstBatch(controller) : undefined,
    });
    return { summary, runId: run.id, counts: run.counts.extract as Extracted['counts'] };
  } catch (error) {
    return { error, runId: run.id, counts: (run.counts.extract ?? {}) as Extracted['counts'] };
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`CSV snapshot streams on ${kind} staging`, () => {
    const sc = stagingCase(kind, 'snapcsv');
    cleanups.push(sc.cleanup);

    const project = () => {
      const dir = tmpDir('ps-snap-csv-');
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const write = (ids: number[], tag: (id: number) => string = () => 'v1') =>
        fs.writeFileSync(path.join(dir, 'items.csv'), `id,name,tag\n${ids.map((id) => `${id},item ${id},${tag(id)}`).join('\n')}\n`);
      return { dir, write };
    };
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const config = (snapshot?: boolean) => ({ type: 'csv', batchSize: 10, streams: { items: { file: 'items.csv', ...(snapshot === undefined ? {} : { snapshot }) } } });

    it('without snapshot (the default) rows removed from the file stay live', async () => {
      const staging = await sc.open();
      try {
        const { dir, write } = project();
        write(range(1, 30));
        await extract(staging, 'append', config(), dir);
        write(range(11, 30));
        const second = await extract(staging, 'append', config(), dir);
        expect(second.summary!.streams[0]).toMatchObject({ records: 20, unchanged: 20, deleted: 0 });
        expect(liveIds(await rawRows(staging, 'raw_append__items'))).toEqual(sorted(range(1, 30)));
      } finally {
        await staging.close();
      }
    });

    it('a pass with rejected rows tombstones nothing (the unreadable row stays live); the next clean pass does', async () => {
      const staging = await sc.open();
      try {
        const { dir, write } = project();
        write(range(1, 30));
        await extract(staging, 'guard', config(true), dir);
        // Row 5 is removed; row 12's line is broken (an unclosed quote) and row 25 lost its key.
        const lines = range(1, 30).filter((id) => id !== 5).map((id) => (id === 12 ? '12,"item 12,v1' : id === 25 ? ',item 25,v1' : `${id},item ${id},v1`));
        fs.writeFileSync(path.join(dir, 'items.csv'), `id,name,tag\n${lines.join('\n')}\n`);
        const second = await extract(staging, 'guard', { ...config(true), maxRejectRate: 0.5 }, dir);
        expect(second.summary!.streams[0]).toMatchObject({ rejected: 2, deleted: 0, deletionsSkipped: 2 });
        expect(deadIds(await rawRows(staging, 'raw_guard__items'))).toEqual([]);

        write(range(1, 30).filter((id) => id !== 5));
        const third = await extract(staging, 'guard', config(true), dir);
        expect(third.summary!.streams[0]).toMatchObject({ rejected: 0, deleted: 1, deletionsSkipped: 0 });
        const rows = await rawRows(staging, 'raw_guard__items');
        expect(deadIds(rows)).toEqual(['5']);
        expect(liveIds(rows)).toEqual(sorted(range(1, 30).filter((id) => id !== 5)));
      } finally {
        await staging.close();
      }
    });

    it('with snapshot: true rows not in the re-read file are tombstoned; an unchanged file deletes nothing; a re-added row comes back live', async () => {
      const staging = await sc.open();
      try {
        const { dir, write } = project();
        write(range(1, 30));
        const first = await extract(staging, 'snap', config(true), dir);
        expect(first.summary!.streams[0]).toMatchObject({ records: 30, inserted: 30, deleted: 0 });

        write(range(1, 30).filter((id) => id !== 7 && id !== 22), (id) => (id === 9 ? 'v2' : 'v1'));
        const second = await extract(staging, 'snap', config(true), dir);
        expect(second.summary!.streams[0]).toMatchObject({ records: 28, inserted: 0, updated: 1, unchanged: 27, deleted: 2 });
        let rows = await rawRows(staging, 'raw_snap__items');
        expect(deadIds(rows)).toEqual(['22', '7']);
        expect(rows.find((r) => r.id === '7')).toMatchObject({ _hash: 'tombstone', _run_id: second.runId });
        // Unchanged rows kept the run that wrote them.
        expect(rows.find((r) => r.id === '1')).toMatchObject({ _run_id: first.runId });

        // The file did not change: it is not read again, and nothing is deleted.
        const third = await extract(staging, 'snap', config(true), dir);
        expect(third.summary!.streams[0]).toMatchObject({ records: 0, deleted: 0 });
        expect(deadIds(await rawRows(staging, 'raw_snap__items'))).toEqual(['22', '7']);

        write(range(1, 30).filter((id) => id !== 22), (id) => (id === 9 ? 'v2' : 'v1'));
        const fourth = await extract(staging, 'snap', config(true), dir);
        expect(fourth.summary!.streams[0]).toMatchObject({ records: 29, updated: 1, deleted: 0 });
        rows = await rawRows(staging, 'raw_snap__items');
        expect(deadIds(rows)).toEqual(['22']);
        expect(rows.find((r) => r.id === '7')).toMatchObject({ _run_id: fourth.runId, name: 'item 7' });
      } finally {
        await staging.close();
      }
    });

    it('an interrupted read resumed at its byte offset tombstones exactly the removed rows', async () => {
      const staging = await sc.open();
      try {
        const { dir, write } = project();
        write(range(1, 100));
        const first = await extract(staging, 'cut', config(true), dir);
        expect(first.summary!.streams[0]).toMatchObject({ inserted: 100 });
        // Removed: one row in each part of the file (before and after where the read is cut).
        const removed = [3, 48, 97];
        write(range(1, 100).filter((id) => !removed.includes(id)));
        const cut = await extract(staging, 'cut', config(true), dir, { batchSize: 10, interrupt: true });
        expect(cut.error).toBeInstanceOf(InterruptedError);
        const readBefore = cut.counts['cut/items']!.records;
        expect(readBefore).toBeGreaterThan(3);
        expect(readBefore).toBeLessThan(97);
        expect(deadIds(await rawRows(staging, 'raw_cut__items'))).toEqual([]);

        const resumed = await extract(staging, 'cut', config(true), dir, { batchSize: 10 });
        const s = resumed.summary!.streams[0]!;
        expect(readBefore + s.records).toBe(97);
        expect(s).toMatchObject({ inserted: 0, updated: 0, deleted: 3 });
        const rows = await rawRows(staging, 'raw_cut__items');
        expect(deadIds(rows)).toEqual(sorted(removed));
        expect(liveIds(rows)).toEqual(sorted(range(1, 100).filter((id) => !removed.includes(id))));
        // Nothing seen was rewritten, before or after the interruption.
        expect(rows.filter((r) => Number(r._deleted) === 0).every((r) => r._run_id === first.runId)).toBe(true);
      } finally {
        await staging.close();
      }
    });

    it('a file that changes while its read is interrupted is read again from the start, and only the newest file counts', async () => {
      const staging = await sc.open();
      try {
        const { dir, write } = project();
        write(range(1, 60));
        await extract(staging, 'moved', config(true), dir);
        write(range(1, 60).filter((id) => id !== 50));
        const cut = await extract(staging, 'moved', config(true), dir, { batchSize: 10, interrupt: true });
        expect(cut.error).toBeInstanceOf(InterruptedError);
        // Rows 1.. were seen by the interrupted read; the newest file has lost 2 and 50 (and 61 is new).
        write([...range(1, 61).filter((id) => id !== 2 && id !== 50)]);
        const again = await extract(staging, 'moved', config(true), dir, { batchSize: 10 });
        expect(again.summary!.streams[0]).toMatchObject({ records: 59, inserted: 1, deleted: 2 });
        const rows = await rawRows(staging, 'raw_moved__items');
        expect(deadIds(rows)).toEqual(['2', '50']);
        expect(liveIds(rows)).toHaveLength(59);
      } finally {
        await staging.close();
      }
    });
  });

  describe(`Crossbeam lists and records as snapshots on ${kind} staging`, () => {
    const sc = stagingCase(kind, 'snapxb');
    cleanups.push(sc.cleanup);

    async function emulator(): Promise<CrossbeamEmulator> {
      const xb = await startCrossbeam({
        seedData: {
          partners: [{ name: 'Northwind' }, { name: 'Contoso' }, { name: 'Globex' }],
          populations: [{ id: 1, name: 'Customers' }, { id: 2, name: 'Prospects' }],
          partner_populations: [{ id: 11, name: 'NW Customers' }, { id: 12, name: 'CO Customers' }],
          records: Array.from({ length: 30 }, (_, i) => ({ record_id: `001R${i}`, crossbeam_record_id: stableUuid(`rec${i}`), record_name: `Record ${i}`, populations: [1] })),
          overlaps: Array.from({ length: 6 }, (_, i) => ({ record_id: `001R${i}`, partner_crossbeam_record_id: stableUuid(`prec${i}`) })),
        },
        rateLimit: { limit: 100_000, windowMs: 1000 },
      });
      cleanups.push(() => xb.stop());
      return xb;
    }
    const config = (xb: CrossbeamEmulator) => ({ type: 'crossbeam', baseUrl: xb.url, organization: xb.orgUuid, clientId: xb.clientId, clientSecret: xb.clientSecret, pageSize: 3 });
    const stream = (e: Extracted, name: string) => e.summary!.streams.find((s) => s.stream === name)!;

    it('partners and populations gone from the API are tombstoned; overlaps (a feed) never are', async () => {
      const xb = await emulator();
      const staging = await sc.open();
      try {
        const streams = ['partners', 'populations', 'partner_populations', 'overlaps_accounts'];
        const first = await extract(staging, 'xb', config(xb), process.cwd(), { streams });
        expect(stream(first, 'partners')).toMatchObject({ inserted: 3, deleted: 0 });
        const contoso = xb.state.partners.find((p) => p.name === 'Contoso')!;
        xb.state.partners = xb.state.partners.filter((p) => p !== contoso);
        xb.state.populations = xb.state.populations.filter((p) => p.id !== 2);

        const second = await extract(staging, 'xb', config(xb), process.cwd(), { streams });
        expect(stream(second, 'partners')).toMatchObject({ records: 2, unchanged: 2, deleted: 1 });
        expect(stream(second, 'populations')).toMatchObject({ records: 1, unchanged: 1, deleted: 1 });
        expect(stream(second, 'partner_populations')).toMatchObject({ records: 2, deleted: 0 });
        // The overlaps feed returned nothing new: its rows are not "missing".
        expect(stream(second, 'overlaps_accounts')).toMatchObject({ records: 0, deleted: 0 });
        const partners = await rawRows(staging, 'raw_xb__partners');
        expect(deadIds(partners, 'uuid')).toEqual([contoso.uuid]);
        expect(partners.find((p) => p.uuid === contoso.uuid)).toMatchObject({ _hash: 'tombstone', _run_id: second.runId });
        expect(deadIds(await rawRows(staging, 'raw_xb__populations'))).toEqual(['2']);
        expect(deadIds(await rawRows(staging, 'raw_xb__overlaps_accounts'), 'partner_crossbeam_record_id')).toEqual([]);

        xb.state.partners.push(contoso);
        const third = await extract(staging, 'xb', config(xb), process.cwd(), { streams: ['partners'] });
        expect(stream(third, 'partners')).toMatchObject({ records: 3, updated: 1, deleted: 0 });
        expect(deadIds(await rawRows(staging, 'raw_xb__partners'), 'uuid')).toEqual([]);
      } finally {
        await staging.close();
      }
    });

    it('records_accounts: a pass interrupted and resumed at its cursor tombstones exactly the deleted records', async () => {
      const xb = await emulator();
      const staging = await sc.open();
      try {
        const streams = ['records_accounts'];
        const first = await extract(staging, 'xbr', config(xb), process.cwd(), { streams });
        expect(stream(first, 'records_accounts')).toMatchObject({ inserted: 30, deleted: 0 });
        // The API pages by crossbeam_record_id: delete one record from the first pages, one from the last.
        const ids = xb.state.records.map((r) => r.crossbeam_record_id).sort();
        const gone = [ids[1]!, ids[ids.length - 2]!];
        for (const id of gone) xb.state.deleteRecord({ crossbeam_record_id: id });

        const cut = await extract(staging, 'xbr', config(xb), process.cwd(), { streams, batchSize: 3, interrupt: true });
        expect(cut.error).toBeInstanceOf(InterruptedError);
        const readBefore = cut.counts['xbr/records_accounts']!.records;
        expect(readBefore).toBeGreaterThan(1);
        expect(readBefore).toBeLessThan(27);
        expect(deadIds(await rawRows(staging, 'raw_xbr__records_accounts'), 'crossbeam_record_id')).toEqual([]);

        const resumed = await extract(staging, 'xbr', config(xb), process.cwd(), { streams, batchSize: 3 });
        const s = stream(resumed, 'records_accounts');
        expect(readBefore + s.records).toBe(28);
        expect(s).toMatchObject({ inserted: 0, updated: 0, deleted: 2 });
        const rows = await rawRows(staging, 'raw_xbr__records_accounts');
        expect(deadIds(rows, 'crossbeam_record_id')).toEqual(sorted(gone));
        expect(liveIds(rows, 'crossbeam_record_id')).toEqual(sorted(xb.state.records.map((r) => r.crossbeam_record_id)));
        expect(rows.filter((r) => Number(r._deleted) === 0).every((r) => r._run_id === first.runId)).toBe(true);

        // The next pass finds nothing more to delete.
        const next = await extract(staging, 'xbr', config(xb), process.cwd(), { streams });
        expect(stream(next, 'records_accounts')).toMatchObject({ records: 28, unchanged: 28, deleted: 0 });
      } finally {
        await staging.close();
      }
    });
  });
}
