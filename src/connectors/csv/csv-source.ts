import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../../errors.js';
import { rawColumnName } from '../../staging/raw-tables.js';
import type { ConnectorContext, ReadMessage, ReadOptions, Source, StreamDescriptor } from '../types.js';
import type { CsvConfig, CsvStream } from './config.js';
import { addCrossbeamRefs, crossbeamColumnMap, crossbeamKey } from './crossbeam-layout.js';
import { detectEncoding, readCsv, readCsvBatches, type CsvReadOptions } from './csv-reader.js';

/**
 * CSV files as streams. Checkpoint state is the byte offset and line after the last committed row,
 * plus a fingerprint of the file (size, mtime, hash of its first 64 KiB): an unchanged file resumes
 * where it stopped (or is skipped once complete), a changed one is read again from the start.
 *
 * With `snapshot: true` the file is the whole table: a read from the start is a snapshot pass
 * (StreamDescriptor.snapshot), and when it reaches the end, staged rows not in the file are
 * tombstoned. A resumed read continues its pass; an unchanged, completely read file is not re-read,
 * so nothing is deleted either.
 *
 * Keys: `primaryKey` from the config; else the Crossbeam account-mapping key when the header is
 * recognised (see crossbeam-layout.ts); else an `id` column; else the row's line number
 * (`csv_line`), which suits a file replaced as a whole (with `snapshot: true` when it can shrink).
 */
export interface CsvState {
  v: 1;
  fingerprint: { size: number; mtimeMs: number; head: string };
  header: string[];
  offset: number;
  line: number;
  done: boolean;
}

interface Layout {
  header: string[];
  /** Column name per field position (mapped, snake_case, unique). */
  names: string[];
  crossbeam: boolean;
  primaryKey: string[];
  lineKey: boolean;
}

export class CsvSource implements Source {
  constructor(
    private config: CsvConfig,
    private ctx: ConnectorContext,
  ) {}

  private filePath(s: CsvStream): string {
    return path.resolve(this.ctx.baseDir, s.file);
  }

  private readOptions(name: string, offset: number, line: number): CsvReadOptions {
    const s = this.streamConfig(name);
    const file = this.filePath(s);
    const enc = detectEncoding(file, s.encoding ?? this.config.encoding);
    return {
      file,
      displayName: s.file,
      ...enc,
      delimiter: unescapeDelimiter(s.delimiter ?? this.config.delimiter),
      quote: s.quote ?? this.config.quote,
      maxRecordBytes: this.config.maxRecordBytes,
      offset,
      line,
    };
  }

  private streamConfig(name: string): CsvStream {
    const s = this.config.streams[name];
    if (!s) throw new InputError(`connection "${this.ctx.connection}" has no CSV stream "${name}"`);
    return s;
  }

  async check(): Promise<void> {
    for (const [name, s] of Object.entries(this.config.streams)) {
      const file = this.filePath(s);
      try {
        fs.accessSync(file, fs.constants.R_OK);
      } catch {
        throw new InputError(`${s.file}: cannot read the file of stream "${name}"`, { hint: `paths are relative to ${this.ctx.baseDir === process.cwd() ? 'the current folder' : 'the config file'}` });
      }
    }
  }

  private async readHeader(name: string): Promise<string[]> {
    await this.check();
    for await (const ev of readCsv(this.readOptions(name, 0, 0))) {
      if (ev.kind === 'row') return ev.fields;
      throw new InputError(`${this.streamConfig(name).file}:${ev.line}: cannot read the header row: ${ev.reason}`);
    }
    throw new InputError(`${this.streamConfig(name).file}: the file is empty (a header row is needed)`);
  }

  private layout(name: string, header: string[]): Layout {
    const s = this.streamConfig(name);
    const renamed = header.map((h) => s.columns?.[h] ?? h);
    const cb = s.layout === 'plain' ? undefined : crossbeamColumnMap(renamed);
    if (s.layout === 'crossbeam-account-mapping' && !cb) {
      throw new InputError(`${s.file}: not a Crossbeam account-mapping export (needs the columns Record Name, Partner, Partner Record Name)`, { hint: 'set layout: plain for other files' });
    }
    const names = unique(cb ?? renamed.map(rawColumnName));
    let primaryKey: string[];
    let lineKey = false;
    if (s.primaryKey?.length) {
      primaryKey = s.primaryKey.map(rawColumnName);
      const missing = primaryKey.filter((k) => !names.includes(k));
      if (missing.length) throw new InputError(`${s.file}: primaryKey column(s) ${missing.join(', ')} not in the header (${names.join(', ')})`);
    } else if (cb) {
      primaryKey = crossbeamKey(names);
    } else if (names.includes('id')) {
      primaryKey = ['id'];
    } else {
      primaryKey = ['csv_line'];
      lineKey = true;
    }
    return { header, names, crossbeam: Boolean(cb), primaryKey, lineKey };
  }

  private params(name: string): Record<string, unknown> {
    const s = this.streamConfig(name);
    return {
      file: s.file,
      delimiter: s.delimiter ?? this.config.delimiter,
      quote: s.quote ?? this.config.quote,
      encoding: s.encoding ?? this.config.encoding,
      columns: s.columns ?? null,
      layout: s.layout,
      primaryKey: s.primaryKey ?? null,
    };
  }

  async discover(): Promise<StreamDescriptor[]> {
    const out: StreamDescriptor[] = [];
    for (const name of Object.keys(this.config.streams)) {
      const layout = this.layout(name, await this.readHeader(name));
      out.push({ name, primaryKey: layout.primaryKey, params: this.params(name), ...(this.config.streams[name]!.snapshot ? { snapshot: true } : {}) });
    }
    return out;
  }

  async *read(stream: StreamDescriptor, opts: ReadOptions): AsyncGenerator<ReadMessage> {
    const s = this.streamConfig(stream.name);
    const file = this.filePath(s);
    const fingerprint = fingerprintOf(file);
    let state = opts.state as CsvState | undefined;
    if (state && (state.v !== 1 || !sameFingerprint(state.fingerprint, fingerprint))) {
      this.ctx.log('info', `${s.file} changed since the last extract; reading it from the start`);
      state = undefined;
    }
    if (state?.done) {
      yield { type: 'checkpoint', state };
      return;
    }
    const header = state?.header ?? (await this.readHeader(stream.name));
    const layout = this.layout(stream.name, header);
    const { names } = layout;
    const batch = this.config.batchSize;
    let offset = state?.offset ?? 0;
    let line = state?.line ?? 0;
    let sinceCheckpoint = 0;
    let first = !state;
    const cp = (done: boolean): ReadMessage => ({
      type: 'checkpoint',
      state: { v: 1, fingerprint, header, offset, line, done } satisfies CsvState,
      ...(done && s.snapshot ? { snapshotEnd: true } : {}),
    });
    if (first && s.snapshot) yield { type: 'snapshot-start' };

    for await (const events of readCsvBatches(this.readOptions(stream.name, offset, line))) {
      for (const ev of events) {
        if (first) {
          // The header row itself: already read.
          first = false;
          offset = ev.end;
          line = ev.endLine;
          continue;
        }
        if (ev.kind === 'bad') {
          yield { type: 'reject', location: `${s.file}:${ev.line}`, reason: ev.reason, code: ev.code, raw: ev.raw };
        } else if (ev.fields.length !== names.length) {
          yield {
            type: 'reject',
            location: `${s.file}:${ev.line}`,
            code: 'RAGGED_ROW',
            reason: `expected ${names.length} fields, found ${ev.fields.length}`,
            raw: ev.fields.join(s.delimiter ?? this.config.delimiter).slice(0, 2000),
          };
        } else {
          const rec: Record<string, string | null> = {};
          for (let i = 0; i < names.length; i++) {
            const v = ev.fields[i]!;
            rec[names[i]!] = v === '' ? null : v;
          }
          if (layout.crossbeam) addCrossbeamRefs(rec);
          if (layout.lineKey) rec.csv_line = String(ev.line);
          yield { type: 'record', record: rec };
        }
        offset = ev.end;
        line = ev.endLine;
        if (++sinceCheckpoint >= batch) {
          sinceCheckpoint = 0;
          yield cp(false);
          if (opts.signal?.aborted) return;
        }
      }
    }
    yield cp(true);
  }
}

function unique(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = seen.get(n) ?? 0;
    seen.set(n, k + 1);
    return k === 0 ? n : `${n}_${k + 1}`;
  });
}

/** `\t` and `tab` on the command line mean a tab. */
export function unescapeDelimiter(d: string): string {
  return d === '\\t' || d.toLowerCase() === 'tab' ? '\t' : d;
}

export function fingerprintOf(file: string): CsvState['fingerprint'] {
  const st = fs.statSync(file);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(65_536, st.size));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return { size: st.size, mtimeMs: Math.trunc(st.mtimeMs), head: crypto.createHash('sha256').update(buf.subarray(0, n)).digest('hex').slice(0, 32) };
  } finally {
    fs.closeSync(fd);
  }
}

function sameFingerprint(a: CsvState['fingerprint'], b: CsvState['fingerprint']): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.head === b.head;
}
