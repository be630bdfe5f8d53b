import path from 'node:path';
import type { ConnectionConfig } from '../connectors/config-schemas.js';
import { CsvConfig } from '../connectors/csv/config.js';
import { issuesToProblems } from '../config/load.js';
import { ConfigError, UsageError } from '../errors.js';
import { describe, extractStreams, rejectsOverLimit, type ExtractSummary } from '../extract/extract-streams.js';
import { rawColumnName } from '../staging/raw-tables.js';
import { withStagedRun, type CommandContext } from './context.js';

export interface ExtractOptions {
  args?: unknown[];
  fullRefresh?: boolean;
  since?: string;
  file?: string;
  stream?: string;
  delimiter?: string;
  encoding?: string;
  maxRejectRate?: number;
}

interface Step {
  connection: string;
  config: ConnectionConfig;
  baseDir: string;
  streams?: string[];
  fullRefresh: boolean;
}

/**
 * `partnersync extract [connection] [streams...]`: pull streams into raw_<connection>__<stream>.
 * - With a connection: that connection's streams (all, or those named).
 * - Without one: every extract step of the pipeline named `default` (or the only pipeline).
 * - With `--file`: a one-off CSV load without a config file; the connection is named by the first
 *   argument (default `csv`), the stream by `--stream` (default: the file name in snake_case).
 * Rejected rows never stop the run; when their share is over `--max-reject-rate` the command exits 3
 * after every stream has been extracted.
 */
export async function extract(ctx: CommandContext, opts: ExtractOptions): Promise<void> {
  const [connArg, streamArgs] = (opts.args ?? []) as [string | undefined, string[] | undefined];
  const since = parseSince(opts.since);
  const oneOff = Boolean(opts.file);
  if (!oneOff && (opts.stream || opts.delimiter || opts.encoding)) {
    throw new UsageError('--stream, --delimiter and --encoding go with --file (a one-off CSV extract)', { hint: 'partnersync extract csv --file accounts.csv --stream crm_accounts' });
  }

  await withStagedRun(
    ctx,
    { command: 'extract', args: { connection: connArg, streams: streamArgs, ...opts, args: undefined }, configOptional: oneOff },
    async ({ config, baseDir, staging, run }) => {
      const steps: Step[] = oneOff ? [oneOffStep(ctx, connArg, opts)] : planSteps(config, baseDir, connArg, streamArgs, Boolean(opts.fullRefresh));
      const out: ExtractSummary[] = [];
      for (const step of steps) {
        out.push(await extractStreams({
          staging,
          run,
          connection: step.connection,
          config: step.config,
          baseDir: step.baseDir,
          streams: step.streams,
          fullRefresh: step.fullRefresh,
          since,
          maxRejectRate: opts.maxRejectRate,
          throwOnRejects: false,
          signal: ctx.signal,
          out: ctx.out,
        }));
      }
      const over = out.find((s) => s.overLimit.length > 0);
      // The result is printed before exit 3 so a script still sees what was staged.
      printResult(ctx, out);
      if (over) throw rejectsOverLimit(over);
      return out;
    },
  );
}

function printResult(ctx: CommandContext, summaries: ExtractSummary[]): void {
  const streams = summaries.flatMap((s) => s.streams);
  ctx.out.result(
    { streams: streams.map((r) => ({ ...r, rejectRate: Number(r.rejectRate.toFixed(6)) })), overLimit: summaries.flatMap((s) => s.overLimit.map((o) => `${s.connection}/${o}`)) },
    () => (streams.length === 0 ? 'nothing to extract' : streams.map(describe).join('\n')),
  );
}

function parseSince(since: string | undefined): Date | undefined {
  if (since === undefined) return undefined;
  const d = new Date(since);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since: not a date: "${since}"`, { hint: 'use ISO-8601, e.g. 2024-05-01 or 2024-05-01T12:00:00Z' });
  return d;
}

function oneOffStep(ctx: CommandContext, connArg: string | undefined, opts: ExtractOptions): Step {
  const file = path.resolve(ctx.cwd, opts.file!);
  const stream = opts.stream ?? rawColumnName(path.basename(file).replace(/\.[^.]+$/, ''));
  const connection = connArg ?? 'csv';
  const parsed = CsvConfig.safeParse({
    type: 'csv',
    ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
    streams: { [stream]: { file: path.relative(ctx.cwd, file) || file } },
  });
  if (!parsed.success) throw new ConfigError(issuesToProblems(parsed.error.issues).map((p) => p.replace(/^streams\.[^.]+\./, '').replace(/^encoding/, '--encoding').replace(/^delimiter/, '--delimiter').replace(/^streams/, '--stream')));
  return { connection, config: parsed.data, baseDir: ctx.cwd, fullRefresh: Boolean(opts.fullRefresh) };
}

function planSteps(
  config: { connections: Record<string, ConnectionConfig>; pipelines: Record<string, { extract: Array<{ connection: string; streams?: string[]; fullRefresh: boolean }> }> },
  baseDir: string,
  connArg: string | undefined,
  streamArgs: string[] | undefined,
  fullRefresh: boolean,
): Step[] {
  if (connArg) {
    const c = config.connections[connArg];
    if (!c) {
      throw new UsageError(`no connection named "${connArg}" in the config`, {
        hint: `connections: ${Object.keys(config.connections).join(', ') || '(none)'}; for a one-off CSV use --file`,
      });
    }
    return [{ connection: connArg, config: c, baseDir, streams: streamArgs, fullRefresh }];
  }
  const names = Object.keys(config.pipelines);
  const pipeline = config.pipelines.default ?? (names.length === 1 ? config.pipelines[names[0]!] : undefined);
  if (!pipeline || pipeline.extract.length === 0) {
    throw new UsageError('name a connection to extract (no default pipeline with extract steps)', { hint: 'partnersync extract <connection> [streams...]' });
  }
  return pipeline.extract.map((s) => ({ connection: s.connection, config: config.connections[s.connection]!, baseDir, streams: s.streams, fullRefresh: fullRefresh || s.fullRefresh }));
}
