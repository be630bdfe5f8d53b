import { pushTargets, renderPlan, renderSummary, throwIfRejectsOverLimit } from '../push/push-targets.js';
import { UsageError } from '../errors.js';
import { withStagedRun, type CommandContext } from './context.js';

export interface PushCommandOptions {
  target?: string[];
  dryRun?: boolean;
  planOut?: string;
  apply?: string;
  fullResync?: boolean;
  createMissingFields?: boolean;
  maxRejectRate?: number;
}

/**
 * `partnersync push`: plan each target against the sync ledger and send only what changed.
 * `--dry-run` prints the plan, `--plan-out` saves it (and sends nothing), `--apply` executes a
 * saved plan exactly. Exit 3 when a target's rejects exceed the allowed rate (after reporting).
 */
export async function push(ctx: CommandContext, options: PushCommandOptions): Promise<void> {
  if (options.apply && (options.dryRun || options.planOut || options.fullResync)) {
    throw new UsageError('--apply executes a saved plan as it is; it cannot be combined with --dry-run, --plan-out or --full-resync');
  }
  await withStagedRun(ctx, { command: 'push', args: options }, async (staged) => {
    const report = await pushTargets(staged, options.target, {
      dryRun: options.dryRun,
      planOut: options.planOut,
      applyFile: options.apply,
      fullResync: options.fullResync,
      createMissingFields: options.createMissingFields,
      maxRejectRate: options.maxRejectRate,
      out: ctx.out,
      signal: ctx.signal,
      cwd: ctx.cwd,
    });
    const human = () => report.targets.map((t) => (t.preview ? renderPlan(t.preview) : renderSummary(t))).join('\n');
    try {
      throwIfRejectsOverLimit(report);
    } catch (err) {
      // With --json the report travels inside the error document (one JSON document on stdout).
      if (ctx.out.json) throw Object.assign(err as object, { result: report });
      ctx.out.result(report, human);
      throw err;
    }
    ctx.out.result(report, human);
  });
}
