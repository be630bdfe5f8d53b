/**
 * The CSV reader's fast path: plain RFC 4180 records scanned with `indexOf` and `split` over a chunk
 * read as a Latin-1 string (one char per byte), instead of csv-parse's char-by-char state machine,
 * which cost ~7 of the ~16 CPU seconds of a 1M-row extract.
 *
 * It only takes what it can read exactly as csv-parse would (with the reader's options: one-char
 * delimiter and quote, `"` escaped as `""`, skip_empty_lines, relax_column_count, no trimming):
 * unquoted fields without the quote char, quoted fields closed before a delimiter or a line end, and
 * a line ending of the kind the parser settled on (`\n` or `\r\n`, the first one met outside quotes,
 * as csv-parse's auto-discovery does). At anything else (a stray quote, characters after a closing
 * quote, a lone `\r`, a record over `maxRecordBytes`) it stops at the start of that record and the
 * reader hands the record to csv-parse, whose result (a row, or a reject with its reason) stands; the
 * differential tests in test/connectors/csv-fast-scan.test.ts hold the two paths to the same output.
 *
 * Line numbers follow csv-parse's count too (see countLines).
 */
export enum LineEnding {
  Unknown = 0,
  Lf = 1,
  CrLf = 2,
}

export interface ScanBatch {
  fields: string[][];
  /** Index in the scanned text just past each record (after its line ending). */
  ends: number[];
  /**
   * Lines each record adds to the count, from the end of the previous record (blank lines before it,
   * newlines inside its quoted fields and its own line ending; 1 for a last record without one).
   */
  lines: number[];
  /** Newlines inside each record's fields (its first line is `endLine - inner`). */
  inner: number[];
}

export interface ScanResult {
  /** Where the unconsumed text starts: after the last record taken. */
  next: number;
  /** The record at `next` is one for csv-parse; otherwise the text from `next` on is incomplete (or blank). */
  stop: boolean;
}

const NL = 0x0a;
const CR = 0x0d;

/**
 * Line breaks in quoted text `s[from, to)`: CR LF, LF and a lone CR are one line each, as an editor
 * shows them. (csv-parse counts a CR LF inside quotes twice; csv-reader.ts corrects its count, so
 * both paths number a file's lines alike, and rightly.)
 */
function countLines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  for (let i = s.indexOf('\r', from); i >= 0 && i < to; i = s.indexOf('\r', i + 1)) if (i + 1 >= to || s.charCodeAt(i + 1) !== NL) n++;
  return n;
}

export class FastCsvScanner {
  /** The line ending this parser run settled on; reset (with a new scanner) when csv-parse's would be. */
  ending: LineEnding = LineEnding.Unknown;
  private readonly d: number;
  private readonly q: number;

  constructor(
    private readonly delimiter: string,
    private readonly quote: string,
    private readonly maxRecordBytes: number,
  ) {
    this.d = delimiter.charCodeAt(0);
    this.q = quote.charCodeAt(0);
  }

  /** Whether these dialect options can be scanned at all (else the reader uses csv-parse throughout). */
  static supports(delimiter: string, quote: string): boolean {
    const special = (c: string) => c === '\n' || c === '\r';
    return delimiter.length === 1 && quote.length === 1 && delimiter !== quote && !special(delimiter) && !special(quote);
  }

  /**
   * Scan the complete records of `s` into `out`. `final`: `s` ends at the end of the file, so a last
   * record without a line ending is complete.
   */
  scan(s: string, final: boolean, out: ScanBatch): ScanResult {
    const { d, q, delimiter, quote, maxRecordBytes } = this;
    const len = s.length;
    let next = 0;
    // First quote / CR at or after the current position (or -1): most records contain neither, and
    // one search serves many records.
    let qPos = s.indexOf(quote);
    let crPos = s.indexOf('\r');
    let nlPos = s.indexOf('\n');
    const stop = (): ScanResult => ({ next, stop: true });
    // More text is needed, unless the record is already too long to be one: an unclosed quote must
    // not pull the rest of the file into memory (csv-parse then rejects the record).
    const incomplete = (): ScanResult => ({ next, stop: len - next > maxRecordBytes });

    for (;;) {
      let p = next;
      let lines = 0;
      // Blank lines: skipped, counted.
      for (;;) {
        if (p >= len) return { next, stop: false };
        const c = s.charCodeAt(p);
        if (c !== NL && c !== CR) break;
        const end = this.lineEnd(s, p, final);
        if (end === -2) return incomplete();
        if (end < 0) return stop();
        p = end;
        lines++;
      }
      const start = p;
      if (nlPos >= 0 && nlPos < p) nlPos = s.indexOf('\n', p);
      if (qPos >= 0 && qPos < p) qPos = s.indexOf(quote, p);
      if (crPos >= 0 && crPos < p) crPos = s.indexOf('\r', p);

      // The common case: a whole line without quotes, ending the way the file's lines end.
      if (nlPos >= 0 && (qPos < 0 || qPos > nlPos) && nlPos - start <= maxRecordBytes) {
        const noCr = crPos < 0 || crPos > nlPos;
        if (noCr && this.ending === LineEnding.Lf) {
          out.fields.push(s.slice(start, nlPos).split(delimiter));
          this.take(out, (next = nlPos + 1), lines + 1, 0);
          continue;
        }
        if (crPos === nlPos - 1 && this.ending === LineEnding.CrLf) {
          out.fields.push(s.slice(start, crPos).split(delimiter));
          this.take(out, (next = nlPos + 1), lines + 1, 0);
          continue;
        }
      }

      // Field by field: quoted fields, a line ending still to be settled, or a record at the end.
      const fields: string[] = [];
      let inner = 0;
      let i = start;
      for (;;) {
        if (i - start > maxRecordBytes) return stop();
        if (i >= len) {
          // After a delimiter, at the end of the text: an empty last field if the file ends here.
          if (!final) return incomplete();
          fields.push('');
          out.fields.push(fields);
          this.take(out, (next = len), lines + 1, inner);
          return { next, stop: false };
        }
        if (s.charCodeAt(i) === q) {
          let from = i + 1;
          let value = '';
          let close: number;
          for (;;) {
            close = s.indexOf(quote, from);
            if (close < 0) return final ? stop() : incomplete();
            if (close + 1 >= len && !final) return incomplete();
            if (s.charCodeAt(close + 1) !== q) break;
            value += s.slice(from, close + 1);
            from = close + 2;
          }
          value += s.slice(from, close);
          // Line breaks inside the quotes? The cached positions answer without searching the chunk.
          if (nlPos >= 0 && nlPos <= i) nlPos = s.indexOf('\n', i + 1);
          if (crPos >= 0 && crPos <= i) crPos = s.indexOf('\r', i + 1);
          if ((nlPos >= 0 && nlPos < close) || (crPos >= 0 && crPos < close)) {
            // The record's first line is its last minus the breaks inside its fields.
            const breaks = countLines(s, i + 1, close);
            lines += breaks;
            inner += breaks;
          }
          fields.push(value);
          i = close + 1;
          if (i >= len) {
            // final (checked above): the last record, closed by the end of the file.
            out.fields.push(fields);
            this.take(out, (next = len), lines + 1, inner);
            return { next, stop: false };
          }
          const c = s.charCodeAt(i);
          if (c === d) {
            i++;
            continue;
          }
          const end = this.lineEnd(s, i, final);
          if (end === -2) return incomplete();
          if (end < 0) return stop();
          if (end - start > maxRecordBytes) return stop();
          out.fields.push(fields);
          this.take(out, (next = end), lines + 1, inner);
          break;
        }
        // An unquoted field: up to the next delimiter or line end, with no quote in it.
        if (nlPos >= 0 && nlPos < i) nlPos = s.indexOf('\n', i);
        if (qPos >= 0 && qPos < i) qPos = s.indexOf(quote, i);
        if (crPos >= 0 && crPos < i) crPos = s.indexOf('\r', i);
        const dPos = s.indexOf(delimiter, i);
        const stopAt = Math.min(dPos < 0 ? len : dPos, nlPos < 0 ? len : nlPos, crPos < 0 ? len : crPos);
        if (qPos >= 0 && qPos < stopAt) return stop();
        fields.push(s.slice(i, stopAt));
        if (stopAt === dPos) {
          i = dPos + 1;
          continue;
        }
        if (stopAt === len) {
          if (!final) return incomplete();
          out.fields.push(fields);
          this.take(out, (next = len), lines + 1, inner);
          return { next, stop: false };
        }
        const end = this.lineEnd(s, stopAt, final);
        if (end === -2) return incomplete();
        if (end < 0 || end - start > maxRecordBytes) return stop();
        out.fields.push(fields);
        this.take(out, (next = end), lines + 1, inner);
        break;
      }
    }
  }

  /**
   * The index after the line ending at `i`, settling the file's line ending if not yet known; -1 when
   * `i` is not one this scanner takes (csv-parse decides), -2 when the text ends before it is known.
   */
  private lineEnd(s: string, i: number, final: boolean): number {
    const c = s.charCodeAt(i);
    if (c === NL) {
      if (this.ending === LineEnding.CrLf) return -1;
      this.ending = LineEnding.Lf;
      return i + 1;
    }
    if (c === CR) {
      if (i + 1 >= s.length) return final ? -1 : -2;
      if (s.charCodeAt(i + 1) !== NL || this.ending === LineEnding.Lf) return -1;
      this.ending = LineEnding.CrLf;
      return i + 2;
    }
    return -1;
  }

  private take(out: ScanBatch, end: number, lines: number, inner: number): void {
    out.ends.push(end);
    out.lines.push(lines);
    out.inner.push(inner);
  }
}
