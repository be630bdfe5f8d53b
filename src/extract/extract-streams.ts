import type { ConnectionConfig } from '../connectors/config-schemas.js';
import { getConnector } from '../connectors/registry.js';
import type { Source, StreamDescriptor } from '../connectors/types.js';
import { RejectsOverLimitError, UsageError } from '../errors.js';
import type { Staging } from '../staging/db.js';
import type { RunLog } from '../staging/runs.js';
import type { Output } from '../ui/output.js';
import { extractStream, type StreamResult } from './extract-loop.js';
import { createRawWriter } from './raw-writer.js';

export interface ExtractStreamsOptions {
  staging: Staging;
  run: RunLog;
  /** Connection name (key under `connections:`, or `csv` for a one-off file). */
  connection: string;
  config: ConnectionConfig;
  /** Folder that relative paths in the config resolve against. */
  baseDir: string;
  /** Streams to extract; every discovered stream when omitted or empty. */
  streams?: string[];
  fullRefresh?: boolean;
  since?: Date;
  /** Share of rejected rows allowed per stream; defaults to the connection's `maxRejectRate`, else 0.01. */
  maxRejectRate?: number;
  /** When false, an over-limit reject rate is reported in the result instead of thrown. Default true. */
  throwOnRejects?: boolean;
  signal?: AbortSignal;
  out?: Output;
  batchSize?: number;
}

export interface ExtractSummary {
  connection: string;
  streams: StreamResult[];
  /** Streams whose reject rate went over the limit. */
  overLimit: string[];
  maxRejectRate: number;
}

export const DEFAULT_MAX_REJECT_RATE = 0.01;

/**
 * Extract streams of one connection into staging: the entry point for `partnersync extract` and
 * for the extract step of `partnersync run`. Streams run one after another; each commits as it
 * goes, so an error or interrupt in stream 3 keeps streams 1–2 and the committed part of 3.
 * The reject-rate check happens after every stream has run (the run goes on, then exits 3).
 *
 * @example
 *   const summary = await extractStreams({ staging, run, connection: 'crm', config: cfg.connections.crm, baseDir, signal });
 *   summary.streams[0].inserted;
 */
export async function extractStreams(opts: ExtractStreamsOptions): Promise<ExtractSummary> {
  const def = await getConnector(opts.config.type);
  if (!def.createSource) throw new UsageError(`connection "${opts.connection}" (${opts.config.type}) cannot be extracted from: it is a destination only`);
  // Before the source is set up and discovers its streams: the SQLite writer thread's start
  // (~80 ms: an isolate, better-sqlite3, a connection) then overlaps with them.
  const writer = createRawWriter(opts.staging);
  let source: Source | undefined;
  try {
    source = await def.createSource(opts.config as never, {
      connection: opts.connection,
      baseDir: opts.baseDir,
      staging: opts.staging,
      log: (level, message) => (level === 'warn' ? opts.out?.warn(message) : opts.out?.info(message)),
    });
    const configured = (opts.config as { maxRejectRate?: number }).maxRejectRate;
    const maxRejectRate = opts.maxRejectRate ?? configured ?? DEFAULT_MAX_REJECT_RATE;
    const available = await source.discover();
    const selected = selectStreams(opts.connection, available, opts.streams);
    const results: StreamResult[] = [];
    for (const stream of selected) {
      const progress = opts.out?.progress(`extract ${opts.connection}/${stream.name}`);
      try {
        const r = await extractStream({
          staging: opts.staging,
          run: opts.run,
          connection: opts.connection,
          source,
          stream,
          fullRefresh: opts.fullRefresh,
          since: opts.since,
          signal: opts.signal,
          progress,
          batchSize: opts.batchSize,
          writer,
        });
        results.push(r);
        progress?.succeed(describe(r));
      } catch (err) {
        progress?.fail(`extract ${opts.connection}/${stream.name}: ${(err as Error).message}`);
        throw err;
      }
    }
    const overLimit = results.filter((r) => r.rejectRate > maxRejectRate).map((r) => r.stream);
    const summary: ExtractSummary = { connection: opts.connection, streams: results, overLimit, maxRejectRate };
    if (overLimit.length > 0 && opts.throwOnRejects !== false) throw rejectsOverLimit(summary);
    return summary;
  } finally {
    await writer.close();
    await source?.close?.();
  }
}

export function rejectsOverLimit(summary: ExtractSummary): RejectsOverLimitError {
  const parts = summary.streams
    .filter((r) => summary.overLimit.includes(r.stream))
    .map((r) => `${summary.connection}/${r.stream}: ${r.rejected} of ${r.records + r.rejected} rows rejected (${pct(r.rejectRate)})`);
  return new RejectsOverLimitError(`Extract finished, but more rows were rejected than allowed (${pct(summary.maxRejectRate)}): ${parts.join('; ')}`, {
    hint: 'the good rows are staged; see why the others were rejected with: SELECT location, reason FROM rejects WHERE step = \'extract\' ORDER BY id DESC',
  });
}

function selectStreams(connection: string, available: StreamDescriptor[], wanted: string[] | undefined): StreamDescriptor[] {
  if (!wanted || wanted.length === 0) return available;
  const byName = new Map(available.map((s) => [s.name, s]));
  const unknown = wanted.filter((w) => !byName.has(w));
  if (unknown.length > 0) {
    throw new UsageError(`connection "${connection}" has no stream ${unknown.map((u) => `"${u}"`).join(', ')}`, {
      hint: `streams: ${available.map((s) => s.name).join(', ') || '(none configured)'}`,
    });
  }
  return wanted.map((w) => byName.get(w)!);
}

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 1)}%`;

export function describe(r: StreamResult): string {
  const parts = [`${r.records.toLocaleString('en-US')} records`, `${r.inserted} new`, `${r.updated} changed`, `${r.unchanged} unchanged`];
  if (r.deleted) parts.push(`${r.deleted} deleted`);
  if (r.rejected) parts.push(`${r.rejected} rejected`);
  if (r.deletionsSkipped) parts.push(`no deletions applied: ${r.deletionsSkipped} row(s) of the snapshot pass were rejected`);
  return `${r.connection}/${r.stream} → ${r.table}: ${parts.join(', ')} (${r.seconds.toFixed(1)}s)`;
}
