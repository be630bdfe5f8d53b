import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FatalError } from '../../errors.js';
import { csvCell } from '../csv/csv-cell.js';
import type { ConnectorContext, Destination, DestinationCapabilities, FieldCheck, WriteBatch, WriteResult } from '../types.js';
import type { FileConfig } from './config.js';

/**
 * The file destination: one file per target object (`<dir>/<object>.jsonl` and/or `.csv`) that holds
 * the object's CURRENT state, keyed by the sync key — like a table. A write applies its records to
 * that state and rewrites the file(s) through a temp file + rename before it reports success, so a
 * reader (or a crash) never sees half a file and what the ledger calls delivered is on disk.
 *
 * Why a keyed state rather than a fresh dump each run: the engine only sends what changed, so a
 * dump would contain only the changes. With `mode: mirror` (every row was created by partnersync,
 * so rows leaving the model are deleted) the file equals the model after each push; with `upsert`
 * it accumulates. A file deleted by hand is recreated by `push --full-resync`.
 *
 * @example
 *   connections: { out: { type: file, dir: exports, formats: [jsonl, csv] } }
 *   targets: { signals: { connection: out, model: partner_signals, key: signal_id, mode: mirror } }
 */
export class FileDestination implements Destination {
  readonly capabilities: DestinationCapabilities = { maxBatch: 5000, operations: ['upsert', 'update', 'create', 'delete'], concurrency: 1 };
  private readonly dir: string;
  private readonly states = new Map<string, { keyField: string; rows: Map<string, Record<string, unknown>> }>();

  constructor(private readonly config: FileConfig, ctx: Pick<ConnectorContext, 'baseDir'>) {
    this.dir = path.resolve(ctx.baseDir, config.dir);
  }

  async check(): Promise<void> {
    // Nothing is created here (a dry run only checks): the nearest existing folder must be writable.
    let dir = this.dir;
    while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      throw new FatalError(`cannot write to ${this.dir}: ${(err as Error).message}`, { cause: err, hint: 'check the `dir` of this file connection' });
    }
  }

  /** Files have no schema: every field "exists". */
  async preflight(): Promise<FieldCheck> {
    return { missing: [], created: [] };
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    const state = this.load(batch.object, batch.keyField);
    const rows = state.rows;
    const results: WriteResult[] = batch.records.map((r) => {
      const existing = rows.get(r.key);
      switch (batch.operation) {
        case 'upsert':
        case 'update': {
          if (!existing && batch.operation === 'update') return { key: r.key, ok: false, code: 'NOT_FOUND', message: 'no row with this key in the file' };
          const merged: Record<string, unknown> = existing ? { ...existing } : { [batch.keyField]: r.key };
          for (const [f, v] of Object.entries(r.fields)) {
            const mode = batch.fieldModes?.[f];
            if (existing && mode === 'onCreate') continue;
            if (existing && mode === 'ifEmpty' && existing[f] !== null && existing[f] !== undefined && existing[f] !== '') continue;
            merged[f] = v;
          }
          rows.set(r.key, merged);
          return { key: r.key, ok: true, destinationId: r.key, created: !existing };
        }
        case 'create':
          if (existing) return { key: r.key, ok: false, code: 'DUPLICATE', message: 'a row with this key is already in the file' };
          rows.set(r.key, { [batch.keyField]: r.key, ...r.fields });
          return { key: r.key, ok: true, destinationId: r.key, created: true };
        case 'delete':
          if (!existing) return { key: r.key, ok: false, code: 'NOT_FOUND', message: 'no row with this key in the file' };
          rows.delete(r.key);
          return { key: r.key, ok: true };
        default:
          return { key: r.key, ok: false, code: 'UNSUPPORTED', message: `files cannot ${batch.operation}` };
      }
    });
    this.persist(batch.object, state.keyField, rows);
    return results;
  }

  private fileOf(object: string, ext: 'jsonl' | 'csv'): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(object) || object.startsWith('.')) throw new FatalError(`"${object}" is not a usable file name (letters, digits, _ . -)`);
    return path.join(this.dir, `${object}.${ext}`);
  }

  private load(object: string, keyField: string) {
    let state = this.states.get(object);
    if (state) return state;
    const rows = new Map<string, Record<string, unknown>>();
    const jsonl = this.fileOf(object, 'jsonl');
    const csv = this.fileOf(object, 'csv');
    // JSONL keeps types, so it is the state of record when both formats are written.
    if (this.config.formats.includes('jsonl') && fs.existsSync(jsonl)) {
      for (const line of fs.readFileSync(jsonl, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const rec = JSON.parse(line) as Record<string, unknown>;
        rows.set(String(rec[keyField]), rec);
      }
    } else if (this.config.formats.includes('csv') && fs.existsSync(csv)) {
      const recs = parse(fs.readFileSync(csv, 'utf8'), { columns: true, skip_empty_lines: true, bom: true }) as Array<Record<string, string>>;
      for (const rec of recs) rows.set(String(rec[keyField]), Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, v === '' ? null : v])));
    }
    state = { keyField, rows };
    this.states.set(object, state);
    return state;
  }

  private persist(object: string, keyField: string, rows: Map<string, Record<string, unknown>>): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const sorted = [...rows.values()];
    if (this.config.formats.includes('jsonl')) {
      writeAtomic(this.fileOf(object, 'jsonl'), sorted.map((r) => JSON.stringify(r)).join('\n') + (sorted.length ? '\n' : ''));
    }
    if (this.config.formats.includes('csv')) {
      const columns = [keyField];
      const seen = new Set(columns);
      for (const r of sorted) for (const c of Object.keys(r)) if (!seen.has(c)) (seen.add(c), columns.push(c));
      const lines = [columns.map(csvCell).join(','), ...sorted.map((r) => columns.map((c) => valueCell(r[c])).join(','))];
      writeAtomic(this.fileOf(object, 'csv'), `${lines.join('\r\n')}\r\n`);
    }
  }
}

/** A record value as a CSV field: empty for none, JSON for an object. */
function valueCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return csvCell(typeof v === 'object' ? JSON.stringify(v) : String(v));
}

function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    // Durable before the rename and before the ledger records the batch as delivered.
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
