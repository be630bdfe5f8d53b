import { isAscii, isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { FastCsvScanner, LineEnding, type ScanBatch } from './csv-fast-scan.js';

/**
 * A streaming CSV reader that knows where it is in the file: every row carries the byte offset
 * just past it and the line it started on, so a checkpoint can say "resume at byte N, line L" and a
 * reject can say `file:line`. Records are parsed by csv-parse, or by a fast path that reads plain
 * records exactly as csv-parse would (csv-fast-scan.ts); what this adds:
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
  /** false: csv-parse reads every record (tests compare the two paths). */
  fastPath?: boolean;
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
  // 64 KiB: each chunk is parsed at once, so its rows are held together. The fast path turns a
  // chunk into one string; under V8's 128 KiB limit for regular objects that string (and every field
  // sliced from it) lives in the young generation, where 256 KiB chunks went to large-object space:
  // a 1M-row extract then spent ~3 s more CPU (allocation, GC, copying fields for the writer thread).
  const hwm = opts.highWaterMark ?? 1 << 16;
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
  // csv-parse 6 names this one without the CSV_ prefix; its own message counts lines from where
  // that parser started, not from the top of the file.
  INVALID_OPENING_QUOTE: 'broken quote: a quote inside an unquoted field',
  CSV_INVALID_OPENING_QUOTE: 'broken quote: a quote inside an unquoted field',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'broken quote: characters follow a closing quote',
};

interface CsvParseApi {
  api: {
    parse(buf: Buffer | undefined, end: boolean, push: (r: string[]) => void, close: () => void): Error | undefined;
    /** Bytes and lines consumed so far; read at push time (on_record would copy it for every row). */
    info: { bytes: number; lines: number };
    /** Normalised options; `record_delimiter` is filled in by csv-parse's discovery. */
    options: { record_delimiter: Buffer[] };
  };
}

/** `readCsvBatches` one event at a time (the header row, tests). */
export async function* readCsv(opts: CsvReadOptions): AsyncGenerator<CsvEvent> {
  for await (const batch of readCsvBatches(opts)) yield* batch;
}

/** A record's event: its fields decoded when the text they came from was not all ASCII. */
function recordEvent(fields: string[], line: number, end: number, endLine: number, decode: CsvEncoding | undefined, delimiter: string): CsvEvent {
  if (decode) {
    for (let f = 0; f < fields.length; f++) {
      const d = decodeField(fields[f]!, decode);
      if (d === undefined) {
        return {
          kind: 'bad', line, end, endLine, code: 'UNDECODABLE',
          reason: `undecodable bytes in field ${f + 1}: not valid UTF-8 (a Latin-1 file needs its encoding named: latin1)`,
          raw: fields.join(delimiter).slice(0, 2000),
        };
      }
      fields[f] = d;
    }
  }
  return { kind: 'row', fields, line, end, endLine };
}

/** Where a part of the file's reading stopped: the offset and line after its last record. */
interface Position {
  offset: number;
  line: number;
}

/**
 * The file's events a chunk at a time: one await per 64 KiB chunk rather than one per row, which at
 * a million rows is most of what reading costs besides parsing itself.
 *
 * Records are scanned by the fast path (csv-fast-scan.ts) where it applies; a record it does not take
 * is parsed by csv-parse, from that record to the end of the chunk it ends in, and the fast path goes
 * on after it. The line ending csv-parse would have settled on is passed along both ways, so the
 * file reads as if one csv-parse parser had read it.
 */
export async function* readCsvBatches(opts: CsvReadOptions): AsyncGenerator<CsvEvent[]> {
  let at: Position = { offset: opts.offset, line: opts.line };
  const utf16 = opts.encoding === 'utf16le' || opts.encoding === 'utf16be';
  // UTF-16 is transcoded from the file's start at every re-read (see logicalChunks), so switching
  // between the paths would cost quadratic time there: such files are read by csv-parse alone.
  const fast = opts.fastPath !== false && !utf16 && FastCsvScanner.supports(opts.delimiter, opts.quote);
  let scanner = fast ? new FastCsvScanner(opts.delimiter, opts.quote, opts.maxRecordBytes) : undefined;
  for (;;) {
    if (scanner) {
      const stopped = yield* scanFast(opts, at, scanner);
      if (!stopped) return;
      at = stopped;
    }
    const parsed = yield* parseSlow(opts, at, scanner?.ending ?? LineEnding.Unknown, Boolean(scanner));
    if (parsed.kind === 'end') return;
    at = parsed.at;
    if (parsed.kind === 'handback') scanner!.ending = parsed.ending;
    // After a broken record csv-parse's successor starts afresh, line-ending discovery included.
    if (parsed.kind === 'rejected' && fast) scanner = new FastCsvScanner(opts.delimiter, opts.quote, opts.maxRecordBytes);
  }
}

/** The fast path from `at`: its events, and where it stopped for csv-parse (undefined at the end of the file). */
async function* scanFast(opts: CsvReadOptions, at: Position, scanner: FastCsvScanner): AsyncGenerator<CsvEvent[], Position | undefined> {
  const decode = opts.encoding === 'latin1' ? undefined : opts.encoding;
  let { offset, line } = at;
  // Text of an incomplete record carried into the next chunk, and whether it is all ASCII.
  let rest = '';
  let restAscii = true;
  const out: ScanBatch = { fields: [], ends: [], lines: [], inner: [] };
  // The events of the last scan, if it found records.
  let batch: CsvEvent[] | undefined;
  const take = (final: boolean, s: string, ascii: boolean): boolean => {
    const r = scanner.scan(s, final, out);
    const n = out.fields.length;
    if (n > 0) {
      const events: CsvEvent[] = new Array(n);
      const dec = ascii ? undefined : decode;
      for (let i = 0; i < n; i++) {
        const endLine = line + out.lines[i]!;
        events[i] = recordEvent(out.fields[i]!, endLine - out.inner[i]!, offset + out.ends[i]!, endLine, dec, opts.delimiter);
        line = endLine;
      }
      batch = events;
      out.fields.length = out.ends.length = out.lines.length = out.inner.length = 0;
    }
    offset += r.next;
    rest = s.slice(r.next);
    restAscii = rest.length === 0 || ascii;
    return r.stop;
  };
  for await (const chunk of logicalChunks(opts, offset)) {
    const ascii = restAscii && (decode === undefined || isAscii(chunk));
    const stop = take(false, rest + chunk.toString('latin1'), ascii);
    if (batch) yield batch;
    batch = undefined;
    if (stop) return { offset, line };
  }
  const stop = take(true, rest, restAscii);
  if (batch) yield batch;
  return stop ? { offset, line } : undefined;
}

type SlowOutcome = { kind: 'end' } | { kind: 'rejected'; at: Position } | { kind: 'handback'; at: Position; ending: LineEnding };

/**
 * csv-parse from `at`. With `handBack`, only up to the end of the first chunk in which it completed a
 * record (the fast path takes over after that record); otherwise to the end of the file. A broken
 * record ends this parser: its first physical line is rejected and reading restarts on the next line.
 */
async function* parseSlow(opts: CsvReadOptions, at: Position, ending: LineEnding, handBack: boolean): AsyncGenerator<CsvEvent[], SlowOutcome> {
  const { offset, line } = at;
  const decode = opts.encoding === 'latin1' ? undefined : opts.encoding;
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
    ...(ending === LineEnding.Lf ? { record_delimiter: '\n' } : ending === LineEnding.CrLf ? { record_delimiter: '\r\n' } : {}),
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
  // csv-parse's own count at that record. It counts a CR LF inside a quoted field as two lines (each
  // of CR and LF ends one there; only a record delimiter is taken whole), so its count runs ahead of
  // the file's lines by the CR LF pairs inside fields so far: `drift`.
  let lastCounted = 0;
  let drift = 0;
  // Bytes given to this parser, and the offset after the last chunk that had a byte ≥ 0x80: a
  // record starting at or after it is pure ASCII and needs no decoding (most files, most rows).
  let parsed = 0;
  let asciiFrom = 0;

  const drain = (): CsvEvent[] => {
    const upto = failure ? failure.index : recs.length;
    const out: CsvEvent[] = new Array(upto);
    for (let i = 0; i < upto; i++) {
      const fields = recs[i]!;
      // A record that ended one line after the previous one has no line breaks inside its fields.
      // Otherwise its line breaks (CR LF, LF or a lone CR, each one line) say on which line it began.
      let inner = 0;
      if (lineCounts[i]! - lastCounted > 1) {
        for (let f = 0; f < fields.length; f++) {
          const breaks = lineBreaks(fields[f]!);
          inner += breaks.lines;
          drift += breaks.crlf;
        }
      }
      const endLine = line + lineCounts[i]! - drift;
      const ascii = lastBytes >= asciiFrom;
      lastBytes = ends[i]!;
      lastCounted = lineCounts[i]!;
      lastLines = lastCounted - drift;
      out[i] = recordEvent(fields, endLine - inner, offset + lastBytes, endLine, ascii ? undefined : decode, opts.delimiter);
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
    if (handBack && lastBytes > 0) {
      // The line ending csv-parse settled on goes back to the fast path; one it cannot take (a lone
      // `\r`, old Mac files) keeps this parser reading.
      const ending = endingOf(parser);
      if (ending !== undefined) return { kind: 'handback', at: { offset: offset + lastBytes, line: line + lastLines }, ending };
    }
  }
  if (!failure) {
    parser.api.parse(undefined, true, push, noop);
    const events = drain();
    if (events.length > 0) yield events;
  }
  if (!failure) return { kind: 'end' };

  // Reject the first physical line of the bad record and start over on the next line.
  const badStart = offset + lastBytes;
  const scan = await findLineEnd(opts, badStart);
  const badLine = line + lastLines + scan.blankLines + 1;
  const code = failure.code === 'CSV_MAX_RECORD_SIZE' ? 'RECORD_TOO_LONG' : failure.code;
  const reason = failure.code === 'CSV_MAX_RECORD_SIZE'
    ? `record longer than ${opts.maxRecordBytes} bytes (an unclosed quote?)`
    : (REASONS[failure.code] ?? failure.message);
  yield [{ kind: 'bad', line: badLine, end: scan.next, endLine: badLine, code, reason, raw: scan.raw }];
  return { kind: 'rejected', at: { offset: scan.next, line: badLine } };
}

/** Line breaks inside a field: CR LF, LF and a lone CR are one each; `crlf` counts the CR LF pairs. */
function lineBreaks(s: string): { lines: number; crlf: number } {
  let lines = 0;
  let crlf = 0;
  for (let i = s.indexOf('\r'); i >= 0; i = s.indexOf('\r', i + 1)) {
    lines++;
    if (s.charCodeAt(i + 1) === 10) crlf++;
  }
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
  return { lines: lines - crlf, crlf };
}

/** The record delimiter a parser uses (its own discovery or the option); undefined for one the fast path cannot take. */
function endingOf(parser: CsvParseApi): LineEnding | undefined {
  const rd = parser.api.options.record_delimiter;
  if (rd.length === 0) return LineEnding.Unknown;
  if (rd.length !== 1) return undefined;
  const d = rd[0]!.toString('latin1');
  return d === '\n' ? LineEnding.Lf : d === '\r\n' ? LineEnding.CrLf : undefined;
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
