import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectEncoding, readCsvBatches, type CsvEvent, type CsvReadOptions } from '../../src/connectors/csv/csv-reader.js';
import { seededRandom } from '../../src/emulators/shared/faults.js';

/**
 * The reader's fast path must read every file exactly as csv-parse alone does: the same rows, the same
 * rejects with the same reasons, the same byte offsets and line numbers. Generated files mix what the
 * fast path takes with everything it hands to csv-parse, and are read with chunk sizes that cut
 * records, quotes and line endings at every kind of place (csv-parse reading the whole file at once
 * is the reference).
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-csv-fast-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Dialect {
  delimiter: string;
  quote: string;
}

/** A random file: mostly well-formed rows, with every kind of oddity sprinkled in at `oddity` rate. */
function generate(seed: number, dialect: Dialect, crlf: boolean, oddity: number): Buffer {
  const r = seededRandom(seed);
  const { delimiter: d, quote: q } = dialect;
  const eol = crlf ? '\r\n' : '\n';
  const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const plain = () => pick(['acme', 'Globex Corp', '', '42', 'x y', 'café', 'Zürich GmbH', '東京', 'a-b_c', 'https://acme.com/?a=1']);
  const quoted = () => {
    const inner = pick(['hello', `a${d}b`, `say ${q}${q}hi${q}${q}`, `two${eol}lines`, `mixed\nend`, `cr\r\nlf`, '', `${q}${q}`, 'naïve']);
    return `${q}${inner}${q}`;
  };
  const bytes: Buffer[] = [];
  const rows = 40 + Math.floor(r() * 120);
  bytes.push(Buffer.from(`id${d}name${d}note${eol}`));
  for (let i = 0; i < rows; i++) {
    const roll = r();
    let row: string | Buffer;
    if (roll < oddity) {
      row = pick<string | Buffer>([
        `${i}${d}bad ${q}quote${q} here${d}x`, // a quote inside an unquoted field
        `${i}${d}${q}closed${q}trailing${d}x`, // characters after a closing quote
        `${i}${d}lone\rcr${d}x`, // a lone CR
        `${i}${d}${q}unclosed${d}x`, // a quote that runs on (closed by a later row's quote, or never)
        crlf ? `${i}${d}lf only\n${i}b${d}x${d}y` : `${i}${d}crlf\r\n${i}b${d}x${d}y`, // the other line ending
        `${i}${d}ragged`,
        `${i}${d}a${d}b${d}c${d}d`,
        Buffer.concat([Buffer.from(`${i}${d}`), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from(`${d}x`)]), // not UTF-8
        Buffer.concat([Buffer.from(`${i}${d}${q}`), Buffer.from([0xc3, 0x28]), Buffer.from(`${q}${d}x`)]), // not UTF-8, quoted
        '', // a blank line
        `${i}${d}${d}`,
      ]);
    } else {
      row = [String(i), r() < 0.4 ? quoted() : plain(), r() < 0.3 ? quoted() : plain()].join(d);
    }
    bytes.push(typeof row === 'string' ? Buffer.from(row) : row);
    if (i < rows - 1 || r() < 0.5) bytes.push(Buffer.from(eol));
    if (r() < 0.03) bytes.push(Buffer.from(eol + eol));
  }
  return Buffer.concat(bytes);
}

async function readAll(opts: CsvReadOptions): Promise<CsvEvent[]> {
  const out: CsvEvent[] = [];
  for await (const batch of readCsvBatches(opts)) out.push(...batch);
  return out;
}

let files = 0;
async function bothPaths(content: Buffer, dialect: Dialect, extra: Partial<CsvReadOptions> = {}): Promise<{ fast: CsvEvent[]; slow: CsvEvent[] }> {
  const file = path.join(dir, `f${files++}.csv`);
  fs.writeFileSync(file, content);
  const base: CsvReadOptions = {
    file,
    displayName: path.basename(file),
    ...detectEncoding(file, 'auto'),
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    maxRecordBytes: 4096,
    offset: 0,
    line: 0,
    ...extra,
  };
  // The reference: csv-parse reading the file as one chunk (a test below shows that chunking changes nothing there).
  return { fast: await readAll({ ...base, fastPath: true }), slow: await readAll({ ...base, fastPath: false, highWaterMark: 1 << 24 }) };
}

describe('csv reader: the fast path reads as csv-parse does', () => {
  const dialects: Dialect[] = [
    { delimiter: ',', quote: '"' },
    { delimiter: ';', quote: "'" },
    { delimiter: '\t', quote: '"' },
  ];

  it('well-formed files, LF and CRLF, every chunk size: same rows, offsets and lines', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const dialect = dialects[seed % dialects.length]!;
      const content = generate(seed, dialect, seed % 2 === 0, 0);
      for (const highWaterMark of [1, 7, 64, 1000, undefined]) {
        const { fast, slow } = await bothPaths(content, dialect, { highWaterMark });
        expect(fast.length).toBeGreaterThan(40);
        expect(fast, `seed ${seed}, chunks of ${highWaterMark ?? 'default'}`).toEqual(slow);
      }
    }
  });

  it('files with stray quotes, lone CRs, mixed line endings, bad bytes, blank and ragged lines: same rows and rejects', async () => {
    let rejects = 0;
    for (let seed = 100; seed < 140; seed++) {
      const dialect = dialects[seed % dialects.length]!;
      const content = generate(seed, dialect, seed % 3 === 0, 0.12);
      for (const highWaterMark of [13, 97, undefined]) {
        const { fast, slow } = await bothPaths(content, dialect, { highWaterMark });
        expect(fast, `seed ${seed}, chunks of ${highWaterMark ?? 'default'}`).toEqual(slow);
        rejects += fast.filter((e) => e.kind === 'bad').length;
      }
    }
    // The generator does produce the cases the fast path hands over.
    expect(rejects).toBeGreaterThan(40);
  });

  it('names a stray quote in a reason of its own, without csv-parse\'s parser-relative line', async () => {
    const { fast, slow } = await bothPaths(Buffer.from('id,name\n1,a\n2,bad "quote"\n3,c\n'), dialects[0]!);
    expect(fast).toEqual(slow);
    expect(fast.filter((e) => e.kind === 'bad')).toEqual([
      { kind: 'bad', line: 3, end: 26, endLine: 3, code: 'INVALID_OPENING_QUOTE', reason: 'broken quote: a quote inside an unquoted field', raw: '2,bad "quote"' },
    ]);
  });

  it('numbers lines as an editor shows them when quoted fields hold line breaks: CR LF, LF and a lone CR are one line each', async () => {
    // Lines: 1 header; 2-3 Acme; 4 Beta; 5 Gamma (ragged); 6-8 Delta; 9 Eps (ragged); 10-11 Zeta; 12 Eta (ragged).
    const file = 'id,name,note\r\n1,Acme,"two\r\nlines"\r\n2,Beta,ok\r\n3,Gamma\r\n4,Delta,"a\r\nb\r\nc"\r\n5,Eps,x,extra\r\n6,Zeta,"lone\rcr"\r\n7,Eta\r\n';
    for (const highWaterMark of [5, 64, undefined]) {
      const { fast, slow } = await bothPaths(Buffer.from(file), dialects[0]!, { highWaterMark });
      for (const events of [fast, slow]) {
        const where = (id: string) => events.find((e) => (e.kind === 'row' ? e.fields[0] === id : e.raw.startsWith(`${id},`)))!;
        expect([where('1').line, where('1').endLine]).toEqual([2, 3]);
        expect(where('2')).toMatchObject({ kind: 'row', line: 4, endLine: 4 });
        expect([where('4').line, where('4').endLine]).toEqual([6, 8]);
        expect([where('6').line, where('6').endLine]).toEqual([10, 11]);
        expect(where('7')).toMatchObject({ line: 12 });
      }
    }
  });

  it('csv-parse alone (UTF-16 files, dialects the scanner does not take) reads a file alike whatever the chunk size', async () => {
    // CRLF files: a line ending, a quoted field or a non-ASCII character split between two chunks.
    for (let seed = 200; seed < 206; seed++) {
      const dialect = dialects[seed % dialects.length]!;
      const content = generate(seed, dialect, true, 0.05);
      const file = path.join(dir, `crlf${seed}.csv`);
      fs.writeFileSync(file, content);
      const base: CsvReadOptions = { file, displayName: 'f.csv', ...detectEncoding(file, 'auto'), ...dialect, maxRecordBytes: 4096, offset: 0, line: 0, fastPath: false };
      const whole = await readAll({ ...base, highWaterMark: 1 << 24 });
      for (const highWaterMark of [1, 2, 9, 64]) expect(await readAll({ ...base, highWaterMark }), `seed ${seed}, chunks of ${highWaterMark}`).toEqual(whole);
    }
  });

  it('resumes from a saved offset and line the same way', async () => {
    const dialect = dialects[0]!;
    const content = generate(7, dialect, false, 0.05);
    const { fast: all } = await bothPaths(content, dialect);
    const mid = all[Math.floor(all.length / 2)]!;
    const { fast, slow } = await bothPaths(content, dialect, { offset: mid.end, line: mid.endLine, highWaterMark: 33 });
    expect(fast).toEqual(slow);
    expect(fast).toEqual(all.slice(all.indexOf(mid) + 1));
  });

  it('an unclosed quote is rejected as too long without reading the rest of the file into one record', async () => {
    const dialect = dialects[0]!;
    const rows = ['id,name', '1,"never closed', ...Array.from({ length: 2000 }, (_, i) => `${i + 2},row ${i + 2}`)].join('\n');
    const { fast, slow } = await bothPaths(Buffer.from(rows), dialect, { maxRecordBytes: 1024, highWaterMark: 256 });
    expect(fast).toEqual(slow);
    const bad = fast.filter((e) => e.kind === 'bad');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ line: 2, code: 'RECORD_TOO_LONG' });
    expect(fast.filter((e) => e.kind === 'row')).toHaveLength(2001);
  });
});
