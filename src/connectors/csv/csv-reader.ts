import { isAscii, isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';

/**
 * A streaming CSV reader that knows where it is in the file: every row carries the byte offset
 * just past it and the line it started on, so a checkpoint can say "resume at byte N, line L" and a
 * reject can say `file:line`. Parsing is csv-parse's; what this adds:
 *
 * - Recovery. csv-parse cannot resynchronise after a broken quote (it swallows the rows after it),
 *   so on a parse error we reject the physical line where the bad record starts and start a fresh
 *   parser on the next line. Rows after a broken quote are kept, not lost.
 * - Encodings. The parser reads bytes as Latin-1 (one char per byte: cheap, lossless); fields with
 *   bytes ≥ 0x80 are then decoded as UTF-8 (invalid sequences → a reject, never U+FFFD in staging),
 *   Latin-1 or Windows-1252. UTF-16 is transcoded to UTF-8 first; its offsets count transcoded bytes,
 *   so resuming a UTF-16 file re-reads (without re-emitting) the part before the offset.
 * - Bounded memory: file chunks are parsed synchronously one at a time and a record longer than
 *   `maxRecordBytes` is rejected, so an unclosed quote cannot pull a multi-GB file into memory.
 */
export type CsvEncoding = 'utf8' | 'latin1' | 'windows-1252' | 'utf16le' | 'utf16be';

export interface CsvReadOptions {
  file: string;
  /** How the file is named in reject locations (`accounts.csv:17`). */
  displayName: string;
  encoding: CsvEncoding;
  /** Bytes of the byte-order mark to skip (0 when none). */
  bomLength: number;
  delimiter: string;
  quote: string;
  maxRecordBytes: number;
  /** Logical byte offset (after the BOM) to start at, and the number of lines before it. */
  offset: number;
  line: number;
  highWaterMark?: number;
}

export type CsvEvent =
  | { kind: 'row'; fields: string[]; line: number; end: number; endLine: number }
  | { kind: 'bad'; line: number; end: number; endLine: number; code: string; reason: string; raw: string };

/** Which encoding and BOM a file has, given the configured encoding (`auto` looks at the BOM). */
export function detectEncoding(file: string, configured: string): { encoding: CsvEncoding; bomLength: number } {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  let n = 0;
  try {
    n = fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  const b = head.subarray(0, n);
  const utf8Bom = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
  const le = b.length >= 2 && b[0] === 0xff && b[1] === 0xfe;
  const be = b.length >= 2 && b[0] === 0xfe && b[1] === 0xff;
  switch (configured) {
    case 'latin1':
      return { encoding: 'latin1', bomLength: 0 };
    case 'windows-1252':
      return { encoding: 'windows-1252', bomLength: 0 };
    case 'utf16le':
      return { encoding: 'utf16le', bomLength: le ? 2 : 0 };
    case 'utf-16':
      return be ? { encoding: 'utf16be', bomLength: 2 } : { encoding: 'utf16le', bomLength: le ? 2 : 0 };
    default:
      // utf8, utf-8 and auto: a UTF-16 BOM overrides, a UTF-8 BOM is skipped.
      if (le) return { encoding: 'utf16le', bomLength: 2 };
      if (be) return { encoding: 'utf16be', bomLength: 2 };
      return { encoding: 'utf8', bomLength: utf8Bom ? 3 : 0 };
  }
}

/** The file's bytes from a logical offset, as UTF-8-compatible bytes (UTF-16 is transcoded). */
async function* logicalChunks(opts: CsvReadOptions, from: number): AsyncGenerator<Buffer> {
  // 256 KiB: each chunk is parsed at once, so its rows (~2,000 here) are held together; bigger
  // chunks only raise peak memory.
  const hwm = opts.highWaterMark ?? 1 << 18;
  if (opts.encoding !== 'utf16le' && opts.encoding !== 'utf16be') {
    yield* fs.createReadStream(opts.file, { start: opts.bomLength + from, highWaterMark: hwm }) as AsyncIterable<Buffer>;
    return;
  }
  const decoder = iconv.getDecoder(opts.encoding === 'utf16le' ? 'utf16le' : 'utf16be', { stripBOM: false });
  let skip = from;
  const emit = function* (s: string): Generator<Buffer> {
    if (!s) return;
    let buf = Buffer.from(s, 'utf8');
    if (skip > 0) {
      const cut = Math.min(skip, buf.length);
      skip -= cut;
      buf = buf.subarray(cut);
    }
    if (buf.length > 0) yield buf;
  };
  for await (const chunk of fs.createReadStream(opts.file, { start: opts.bomLength, highWaterMark: hwm }) as AsyncIterable<Buffer>) {
    yield* emit(decoder.write(chunk));
  }
  yield* emit(decoder.end() ?? '');
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Decode one field read as Latin-1 chars (= bytes) into its real text; undefined when undecodable. */
function decodeField(s: string, encoding: CsvEncoding): string | undefined {
  if (encoding === 'latin1' || !NON_ASCII.test(s)) return s;
  const bytes = Buffer.from(s, 'latin1');
  if (encoding === 'windows-1252') return iconv.decode(bytes, 'win1252');
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

const REASONS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'broken quote: a quoted field is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'broken quote: characters follow a closing quote',
  CSV_INVALID_OPENING_QUOTE: 'broken quote: a quote inside an unquoted field',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'broken quote: characters follow a closing quote',
};

interface CsvParseApi {
  api: {
    parse(buf: Buffer | undefined, end: boolean, push: (r: string[]) => void, close: () => void): Error | undefined;
    /** Bytes and lines consumed so far; read at push time (on_record would copy it for every row). */
    info: { bytes: number; lines: number };
  };
}

/** `readCsvBatches` one event at a time (the header row, tests). */
export async function* readCsv(opts: CsvReadOptions): AsyncGenerator<CsvEvent> {
  for await (const batch of readCsvBatches(opts)) yield* batch;
}

/**
 * The file's events a chunk at a time: one await per 256 KiB chunk rather than one per row, which at
 * a million rows is most of what reading costs besides csv-parse itself.
 */
export async function* readCsvBatches(opts: CsvReadOptions): AsyncGenerator<CsvEvent[]> {
  let offset = opts.offset;
  let line = opts.line;
  const decode = opts.encoding !== 'latin1';
  for (;;) {
    // Per record csv-parse pushed: its fields, and bytes/lines consumed when it was pushed.
    const recs: string[][] = [];
    const ends: number[] = [];
    const lineCounts: number[] = [];
    let failure: { index: number; code: string; message: string } | undefined;
    const parser = parse({
      delimiter: opts.delimiter,
      quote: opts.quote,
      escape: opts.quote,
      encoding: 'latin1',
      bom: false,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: opts.maxRecordBytes,
      on_skip: (err: Error & { code?: string }) => {
        failure ??= { index: recs.length, code: err?.code ?? 'CSV_PARSE_ERROR', message: err?.message ?? String(err) };
      },
    } as unknown as Parameters<typeof parse>[0]) as unknown as CsvParseApi;
    const noop = () => undefined;
    const push = (rec: string[]) => {
      if (failure) return;
      recs.push(rec);
      ends.push(parser.api.info.bytes);
      lineCounts.push(parser.api.info.lines);
    };
    // Offsets/lines of the last good record of this parser, relative to where it started.
    let lastBytes = 0;
    let lastLines = 0;
    // Bytes given to this parser, and the offset after the last chunk that had a byte ≥ 0x80: a
    // record starting at or after it is pure ASCII and needs no decoding (most files, most rows).
    let parsed = 0;
    let asciiFrom = 0;

    const drain = (): CsvEvent[] => {
      const upto = failure ? failure.index : recs.length;
      const out: CsvEvent[] = new Array(upto);
      for (let i = 0; i < upto; i++) {
        const fields = recs[i]!;
        const endLine = line + lineCounts[i]!;
        // A record that ended one line after the previous one has no line breaks inside its fields.
        let inner = 0;
        if (lineCounts[i]! - lastLines > 1) {
          for (let f = 0; f < fields.length; f++) {
            const s = fields[f]!;
            if (s.includes('\n')) inner += s.split('\n').length - 1;
          }
        }
        const startLine = endLine - inner;
        const ascii = lastBytes >= asciiFrom;
        lastBytes = ends[i]!;
        lastLines = lineCounts[i]!;
        let bad = -1;
        if (decode && !ascii) {
          for (let f = 0; f < fields.length; f++) {
            const d = decodeField(fields[f]!, opts.encoding);
            if (d === undefined) {
              bad = f;
              break;
            }
            fields[f] = d;
          }
        }
        out[i] = bad >= 0
          ? {
              kind: 'bad', line: startLine, end: offset + lastBytes, endLine, code: 'UNDECODABLE',
              reason: `undecodable bytes in field ${bad + 1}: not valid UTF-8 (for a Latin-1 file, set encoding: latin1)`,
              raw: fields.join(opts.delimiter).slice(0, 2000),
            }
          : { kind: 'row', fields, line: startLine, end: offset + lastBytes, endLine };
      }
      recs.length = 0;
      ends.length = 0;
      lineCounts.length = 0;
      if (failure) failure.index = 0;
      return out;
    };

    for await (const chunk of logicalChunks(opts, offset)) {
      if (decode && !isAscii(chunk)) asciiFrom = parsed + chunk.length;
      parsed += chunk.length;
      parser.api.parse(chunk, false, push, noop);
      const events = drain();
      if (events.length > 0) yield events;
      if (failure) break;
    }
    if (!failure) {
      parser.api.parse(undefined, true, push, noop);
      const events = drain();
      if (events.length > 0) yield events;
    }
    if (!failure) return;

    // Reject the first physical line of the bad record and start over on the next line.
    const badStart = offset + lastBytes;
    const scan = await findLineEnd(opts, badStart);
    const badLine = line + lastLines + scan.blankLines + 1;
    const code = failure.code === 'CSV_MAX_RECORD_SIZE' ? 'RECORD_TOO_LONG' : failure.code;
    const reason = failure.code === 'CSV_MAX_RECORD_SIZE'
      ? `record longer than ${opts.maxRecordBytes} bytes (an unclosed quote?)`
      : (REASONS[failure.code] ?? failure.message);
    offset = scan.next;
    line = badLine;
    yield [{ kind: 'bad', line: badLine, end: offset, endLine: line, code, reason, raw: scan.raw }];
  }
}

/** From `from`, skip blank lines, then find where that line ends; returns the offset after its newline. */
async function findLineEnd(opts: CsvReadOptions, from: number): Promise<{ next: number; blankLines: number; raw: string }> {
  let pos = from;
  let blankLines = 0;
  let inLine = false;
  const rawParts: Buffer[] = [];
  let rawLen = 0;
  for await (const chunk of logicalChunks(opts, from)) {
    let i = 0;
    if (!inLine) {
      while (i < chunk.length && (chunk[i] === 0x0a || chunk[i] === 0x0d)) {
        if (chunk[i] === 0x0a) blankLines++;
        i++;
      }
      if (i < chunk.length) inLine = true;
    }
    if (inLine) {
      const nl = chunk.indexOf(0x0a, i);
      const part = chunk.subarray(i, nl < 0 ? chunk.length : nl);
      if (rawLen < 2000) {
        rawParts.push(part.subarray(0, 2000 - rawLen));
        rawLen += Math.min(part.length, 2000 - rawLen);
      }
      if (nl >= 0) {
        const raw = Buffer.concat(rawParts).toString(opts.encoding === 'latin1' || opts.encoding === 'windows-1252' ? 'latin1' : 'utf8').replace(/\r$/, '');
        return { next: pos + nl + 1, blankLines, raw };
      }
    }
    pos += chunk.length;
  }
  return { next: pos, blankLines, raw: Buffer.concat(rawParts).toString('utf8') };
}
