import { loadConfig, type ConfigResult } from '../config/load.js';
import { ExitCode, InterruptedError, isPartnersyncError, RejectsOverLimitError } from '../errors.js';
import { openStaging, type Staging } from '../staging/db.js';
import { acquireLock } from '../staging/lock.js';
import { RunLog, type RunStatus } from '../staging/runs.js';
import type { Output } from '../ui/output.js';

/** Options every command accepts (declared once on the root program in cli.ts). */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logFormat?: 'text' | 'json';
  quiet?: boolean;
  color?: boolean;
}

/**
 * What a command handler is given. Handlers are plain async functions of (ctx, options): tests call
 * them directly with their own Output and AbortSignal.
 */
export interface CommandContext {
  out: Output;
  cwd: string;
  env: Record<string, string | undefined>;
  globals: GlobalOptions;
  /** Aborted on SIGINT/SIGTERM: finish or checkpoint the current batch, then throw `interrupted(ctx)`. */
  signal: AbortSignal;
}

export interface StagedRun extends ConfigResult {
  staging: Staging;
  run: RunLog;
}

export function interrupted(ctx: CommandContext): InterruptedError {
  return new InterruptedError(ctx.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}

export function throwIfAborted(ctx: CommandContext): void {
  if (ctx.signal.aborted) throw interrupted(ctx);
}

export function loadCommandConfig(ctx: CommandContext, optional = false): ConfigResult {
  const loaded = loadConfig({ file: ctx.globals.config, cwd: ctx.cwd, env: ctx.env, optional });
  for (const w of loaded.warnings) ctx.out.warn(w);
  return loaded;
}

/**
 * Load config, open staging, take the lock, record the run, run `fn`, record how it ended. The run
 * log is written even when `fn` throws, so `partnersync status` shows failed and interrupted runs too.
 */
export async function withStagedRun<T>(
  ctx: CommandContext,
  opts: { command: string; args: unknown; lock?: boolean; configOptional?: boolean; stagingUrl?: string },
  fn: (s: StagedRun) => Promise<T>,
): Promise<T> {
  const loaded = loadCommandConfig(ctx, opts.configOptional);
  const staging = await openStaging(opts.stagingUrl ?? loaded.config.staging.url, { baseDir: loaded.baseDir });
  let run: RunLog | undefined;
  let lock: Awaited<ReturnType<typeof acquireLock>> | undefined;
  try {
    run = await RunLog.start(staging, opts.command, opts.args);
    if (opts.lock !== false) {
      try {
        lock = await acquireLock(staging, { runId: run.id, command: opts.command }, { staleAfterMs: loaded.config.staging.lockStaleAfterSeconds * 1000 });
      } catch (err) {
        await run.finish('failed', ExitCode.locked, (err as Error).message);
        throw err;
      }
      if (lock.tookOverFrom) {
        const h = lock.tookOverFrom;
        const msg = `took over a stale staging lock from ${h.command} (run ${h.runId}, pid ${h.pid} on ${h.host})`;
        ctx.out.warn(msg);
        await run.event('warn', msg);
      }
    }
    const result = await fn({ ...loaded, staging, run });
    await run.finish('succeeded', ExitCode.ok);
    return result;
  } catch (err) {
    if (run) {
      const status: RunStatus = err instanceof InterruptedError ? 'interrupted' : err instanceof RejectsOverLimitError ? 'rejected' : 'failed';
      const code = isPartnersyncError(err) ? err.exitCode : ExitCode.failed;
      await run.finish(status, code, (err as Error)?.message ?? String(err)).catch(() => undefined);
    }
    throw err;
  } finally {
    await lock?.release().catch(() => undefined);
    await staging.close();
  }
}
