import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvConfig } from '../../src/connectors/csv/config.js';
import { CsvSource } from '../../src/connectors/csv/csv-source.js';
import type { ReadMessage } from '../../src/connectors/types.js';
import { sourceContract } from '../contract/source-contract.js';
import { tmpDir } from './helpers.js';

const fixtures = fileURLToPath(new URL('../../fixtures/csv/', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function source(streams: Record<string, unknown>, extra: Record<string, unknown> = {}, baseDir = fixtures): CsvSource {
  const config = CsvConfig.parse({ type: 'csv', streams, ...extra });
  return new CsvSource(config, { connection: 'csv', baseDir, log: () => undefined });
}

function fileSource(content: Buffer | string, opts: { stream?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): CsvSource {
  const dir = tmpDir();
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'in.csv'), content);
  return source({ rows: { file: 'in.csv', ...opts.stream } }, opts.extra, dir);
}

async function readAll(s: CsvSource): Promise<ReadMessage[]> {
  const [stream] = await s.discover();
  const out: ReadMessage[] = [];
  for await (const m of s.read(stream!, { state: undefined })) out.push(m);
  return out;
}
const recordsOf = (ms: ReadMessage[]) => ms.flatMap((m) => (m.type === 'record' ? [m.record] : []));
const rejectsOf = (ms: ReadMessage[]) => ms.flatMap((m) => (m.type === 'reject' ? [{ location: m.location, reason: m.reason, code: m.code }] : []));

sourceContract('csv', {
  configSchema: CsvConfig,
  makeSource: async () => ({
    source: source({ accounts: { file: 'accounts.csv' }, overlaps: { file: 'crossbeam-account-mapping.csv' } }, { batchSize: 7 }),
  }),
  makeBadSource: async () => ({
    source: fileSource(Buffer.concat([Buffer.from('id,name\n1,a\n2,"b"x\n3,c\n4\n5,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n6,f\n')])),
  }),
});

describe('csv source: bad input becomes rejects with file:line and a reason', () => {
  it('ragged rows, broken quotes, unclosed quotes and undecodable bytes are each rejected; the rows around them are kept', async () => {
    const content = Buffer.concat([
      Buffer.from('id,name,city\n'), // 1
      Buffer.from('1,Acme,Berlin\n'), // 2
      Buffer.from('2,Globex\n'), // 3 ragged (too few)
      Buffer.from('3,Initech,Austin,extra\n'), // 4 ragged (too many)
      Buffer.from('4,"Umbrella"Corp,Raccoon City\n'), // 5 characters after a closing quote
      Buffer.from('5,"Multi\nline",Paris\n'), // 6-7 a valid multi-line field
      Buffer.from('6,Bad'), Buffer.from([0xff, 0xfe]), Buffer.from(',Rome\n'), // 8 not UTF-8
      Buffer.from('\n'), // 9 blank line
      Buffer.from('7,Hooli,Palo Alto\n'), // 10
      Buffer.from('8,"Never closed,Oslo\n'), // 11 unclosed quote
      Buffer.from('9,Stark,New York\n'), // 12
      Buffer.from('10,Wayne,Gotham'), // 13 no final newline
    ]);
    const ms = await readAll(fileSource(content));
    expect(recordsOf(ms).map((r) => r.id)).toEqual(['1', '5', '7', '9', '10']);
    expect(recordsOf(ms).find((r) => r.id === '5')!.name).toBe('Multi\nline');
    expect(rejectsOf(ms)).toEqual([
      { location: 'in.csv:3', code: 'RAGGED_ROW', reason: 'expected 3 fields, found 2' },
      { location: 'in.csv:4', code: 'RAGGED_ROW', reason: 'expected 3 fields, found 4' },
      { location: 'in.csv:5', code: 'CSV_INVALID_CLOSING_QUOTE', reason: expect.stringMatching(/broken quote/) },
      { location: 'in.csv:8', code: 'UNDECODABLE', reason: expect.stringMatching(/not valid UTF-8/) },
      { location: 'in.csv:11', code: 'CSV_QUOTE_NOT_CLOSED', reason: expect.stringMatching(/never closed/) },
    ]);
  });

  it('across many read chunks, non-ASCII rows are decoded or rejected wherever they fall and lines stay exact', async () => {
    // ~1 MB: several 256 KiB chunks. ASCII-only chunks skip per-field decoding, so put UTF-8,
    // broken UTF-8 and multi-line fields in different chunks, including right after ASCII runs.
    const parts: Buffer[] = [Buffer.from('id,name\n')];
    const expected = new Map<string, string>();
    const rejects: string[] = [];
    let line = 1;
    for (let i = 1; i <= 30_000; i++) {
      let row: Buffer;
      if (i % 7919 === 0) {
        row = Buffer.concat([Buffer.from(`${i},Bad`), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
        rejects.push(`in.csv:${line + 1}`);
      } else if (i % 4999 === 0) {
        row = Buffer.from(`${i},Zürich Æ ${i}\n`);
        expected.set(String(i), `Zürich Æ ${i}`);
      } else if (i % 6007 === 0) {
        row = Buffer.from(`${i},"two\nlines ${i}"\n`);
        expected.set(String(i), `two\nlines ${i}`);
      } else {
        row = Buffer.from(`${i},Company number ${i} of many\n`);
        expected.set(String(i), `Company number ${i} of many`);
      }
      parts.push(row);
      line += row.toString('latin1').split('\n').length - 1;
    }
    const content = Buffer.concat(parts);
    expect(content.length).toBeGreaterThan(3 * 256 * 1024);
    const ms = await readAll(fileSource(content, { stream: { primaryKey: ['id'] } }));
    expect(new Map(recordsOf(ms).map((r) => [r.id as string, r.name]))).toEqual(expected);
    expect(rejectsOf(ms).map((r) => `${r.location} ${r.code}`)).toEqual(rejects.map((l) => `${l} UNDECODABLE`));
    // A line-keyed read of the same file: every record's line is where it starts.
    const byLine = recordsOf(await readAll(fileSource(content, { stream: { columns: { id: 'row_id' } } })));
    const lineOf = new Map(byLine.map((r) => [r.row_id as string, Number(r.csv_line)]));
    let at = 1;
    for (let i = 1; i <= 30_000; i++) {
      at += 1;
      if (i % 7919 !== 0) expect(lineOf.get(String(i))).toBe(at);
      if (i % 7919 !== 0 && i % 4999 !== 0 && i % 6007 === 0) at += 1;
    }
  });

  it('a record longer than maxRecordBytes is rejected instead of filling memory', async () => {
    const content = `id,name\n1,"${'x'.repeat(5000)}\n2,b\n`;
    const ms = await readAll(fileSource(content, { extra: { maxRecordBytes: 1024 } }));
    expect(rejectsOf(ms)).toEqual([{ location: 'in.csv:2', code: 'RECORD_TOO_LONG', reason: expect.stringMatching(/longer than 1024 bytes/) }]);
    expect(recordsOf(ms).map((r) => r.id)).toEqual(['2']);
  });
});

describe('csv source: encodings and dialects', () => {
  const rows = 'id,name\n1,Zürich AG\n2,Société Générale\n3,Ørsted\n';
  const expected = ['Zürich AG', 'Société Générale', 'Ørsted'];

  it('reads UTF-8 with and without a BOM', async () => {
    for (const buf of [Buffer.from(rows), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rows)])]) {
      const ms = await readAll(fileSource(buf));
      expect(recordsOf(ms).map((r) => r.name)).toEqual(expected);
      expect(recordsOf(ms)[0]).toHaveProperty('id'); // the BOM is not part of the first column name
    }
  });

  it('reads UTF-16 LE and BE when a BOM says so', async () => {
    for (const enc of ['utf16le', 'utf16be'] as const) {
      const body = iconv.encode(rows, enc === 'utf16le' ? 'utf-16le' : 'utf-16be');
      const bom = enc === 'utf16le' ? [0xff, 0xfe] : [0xfe, 0xff];
      const ms = await readAll(fileSource(Buffer.concat([Buffer.from(bom), body])));
      expect(recordsOf(ms).map((r) => r.name)).toEqual(expected);
    }
  });

  it('reads Latin-1 only on request; by default its bytes are rejected as undecodable', async () => {
    const latin1 = iconv.encode(rows, 'latin1');
    expect(recordsOf(await readAll(fileSource(latin1, { extra: { encoding: 'latin1' } }))).map((r) => r.name)).toEqual(expected);
    const ms = await readAll(fileSource(latin1));
    expect(rejectsOf(ms).map((r) => r.location)).toEqual(['in.csv:2', 'in.csv:3', 'in.csv:4']);
  });

  it('honours delimiter, quote and column renames', async () => {
    const ms = await readAll(fileSource("Account Id;Name\n1;'Acme; Inc'\n", { stream: { delimiter: ';', quote: "'", columns: { 'Account Id': 'id' } } }));
    expect(recordsOf(ms)).toEqual([{ id: '1', name: 'Acme; Inc' }]);
  });

  it('keys a file without a key column by line number', async () => {
    const s = fileSource('name\nA\nB\n');
    const [stream] = await s.discover();
    expect(stream!.primaryKey).toEqual(['csv_line']);
    expect(recordsOf(await readAll(s)).map((r) => r.csv_line)).toEqual(['2', '3']);
  });
});

describe('csv source: Crossbeam account-mapping export', () => {
  it('is recognised by its header, mapped to snake_case and keyed on (record, population, partner, partner population, partner record)', async () => {
    const s = source({ overlaps: { file: 'crossbeam-account-mapping.csv' } });
    const [stream] = await s.discover();
    expect(stream!.primaryKey).toEqual(['record_ref', 'population', 'partner', 'partner_population', 'partner_record_ref']);
    const recs = recordsOf(await readAll(s));
    expect(recs).toHaveLength(22);
    expect(recs[0]).toMatchObject({
      record_name: 'Acme Corp', record_website: 'acmecorp.com', population: 'Customers', owner_email: 'ae0@ourco.com',
      partner: 'Northwind', partner_population: 'Open Opportunities', partner_record_name: 'ACME CORP',
      partner_record_website: 'www.acmecorp.com', overlap_started_at: '2024-01-15',
      record_ref: 'Acme Corp|acmecorp.com', partner_record_ref: 'ACME CORP|www.acmecorp.com',
    });
  });

  it('uses Record ID over name+website when the export has it, and rejects a file that is not an export when the layout is forced', async () => {
    const s = fileSource('Record ID,Record Name,Partner,Partner Record Name\n001X,Acme,Northwind,Acme Inc\n');
    const [stream] = await s.discover();
    expect(stream!.primaryKey).toEqual(['record_ref', 'partner', 'partner_record_ref']);
    expect(recordsOf(await readAll(s))[0]).toMatchObject({ record_ref: '001X', partner_record_ref: 'Acme Inc|' });
    await expect(fileSource('a,b\n1,2\n', { stream: { layout: 'crossbeam-account-mapping' } }).discover()).rejects.toThrow(/not a Crossbeam account-mapping export/);
  });
});
