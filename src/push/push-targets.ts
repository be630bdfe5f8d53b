import fs from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError, ExitCode, PartnersyncError, RejectsOverLimitError, UsageError } from '../errors.js';
import type { ConnectionConfig } from '../connectors/config-schemas.js';
import { getConnector } from '../connectors/registry.js';
import type { ConnectorContext, Destination, RateGate } from '../connectors/types.js';
import type { Staging } from '../staging/db.js';
import { recordRejects } from '../staging/rejects.js';
import type { RunLog } from '../staging/runs.js';
import type { Output } from '../ui/output.js';
import { applyPlan, type PushCounts, type PushReject, type RetrySettings } from './apply.js';
import { resolveTarget, targetConfigHash, type PushMode, type ResolvedTarget } from './config.js';
import { loadLedger } from './ledger.js';
import { planPush, type Plan } from './plan.js';
import { RateGovernor } from './rate-governor.js';
import { renderPlan, renderSummary } from './render.js';
import { preflightTarget, unsupportedMode } from './target-preflight.js';

/**
 * `pushTargets`: the programmatic push used by `partnersync push` and `partnersync run`. For each
 * target: read the model from staging, preflight the destination, plan against the ledger, then
 * (unless it is a dry run) apply, keep rejects (staging + a JSONL file) and report counts that add up.
 *
 * @example
 *   const report = await pushTargets({ config, baseDir, staging, run }, ['intercom_companies'], { out, signal });
 *   throwIfRejectsOverLimit(report);   // exit 3 when a target rejected more than it may
 */

export interface PushOptions {
  dryRun?: boolean;
  /** Save the plan(s) here (implies a dry run: nothing is sent). */
  planOut?: string;
  /** Execute exactly the plan(s) saved in this file. */
  applyFile?: string;
  fullResync?: boolean;
  createMissingFields?: boolean;
  /** Overrides every target's `maxRejectRate` (default 0). */
  maxRejectRate?: number;
  out?: Output;
  signal?: AbortSignal;
  /** Relative --plan-out / --apply paths resolve against this (default: the config's folder). */
  cwd?: string;
  retry?: RetrySettings;
  governor?: RateGovernor;
  now?: () => Date;
  /** Make a target's destination (default: the connector registry). Tests pass fakes of external services. */
  createDestination?: (target: ResolvedTarget, connection: ConnectionConfig, ctx: ConnectorContext) => Destination | Promise<Destination>;
}

export interface TargetReport {
  target: string;
  mode: PushMode;
  object: string;
  planId: string;
  dryRun: boolean;
  counts: PushCounts;
  planned: Plan['counts'];
  predictedCalls: Plan['predictedCalls'];
  writeCalls: number;
  rateLimited: number;
  retries: number;
  rejectRate: number;
  maxRejectRate: number;
  overLimit: boolean;
  rejectsFile?: string;
  sampleRejects?: PushReject[];
  missingFields?: string[];
  createdFields?: string[];
  /** Dry runs: the plan without its op list. */
  preview?: PlanPreview;
}

export interface PushReport {
  runId: string;
  dryRun: boolean;
  planFile?: string;
  targets: TargetReport[];
}

export interface StagedPush {
  config: LoadedConfig;
  baseDir: string;
  staging: Staging;
  run: RunLog;
}

export interface PlanFile {
  version: 1;
  createdAt: string;
  plans: Plan[];
}

export async function pushTargets(staged: StagedPush, targets: string[] | undefined, options: PushOptions = {}): Promise<PushReport> {
  const { config } = staged;
  const governor = options.governor ?? new RateGovernor();
  const dryRun = Boolean(options.dryRun || options.planOut);
  const report: PushReport = { runId: staged.run.id, dryRun, targets: [] };
  const cwd = options.cwd ?? staged.baseDir;

  if (options.applyFile) {
    const file = path.resolve(cwd, options.applyFile);
    const saved = readPlanFile(file);
    const plans = targets?.length ? saved.plans.filter((p) => targets.includes(p.target)) : saved.plans;
    if (plans.length === 0) throw new UsageError(`${options.applyFile} has no plan for ${targets?.join(', ') ?? 'any target'}`);
    for (const plan of plans) report.targets.push(await pushOne(staged, plan.target, { ...options, dryRun: false }, governor, plan));
    return report;
  }

  const names = targets?.length ? targets : Object.keys(config.targets);
  const unknown = names.filter((n) => !config.targets[n]);
  if (unknown.length) {
    throw new UsageError(`no target named ${unknown.map((n) => `"${n}"`).join(', ')} in the config`, { hint: `configured targets: ${Object.keys(config.targets).join(', ') || 'none'}` });
  }
  if (names.length === 0) throw new UsageError('no targets configured', { hint: 'add a `targets:` section to partnersync.yaml (see the README)' });
  const plans: Plan[] = [];
  for (const name of names) {
    const r = await pushOne(staged, name, { ...options, dryRun }, governor, undefined, plans);
    report.targets.push(r);
  }
  if (options.planOut) {
    const file = path.resolve(cwd, options.planOut);
    const doc: PlanFile = { version: 1, createdAt: (options.now?.() ?? new Date()).toISOString(), plans };
    writeAtomic(file, `${JSON.stringify(doc, null, 2)}\n`);
    report.planFile = file;
    options.out?.info(`plan saved to ${path.relative(cwd, file) || file}; apply it with: partnersync push --apply ${options.planOut}`);
  }
  return report;
}

/** Exit 3 (after everything was written and reported) when a target rejected more than allowed. */
export function throwIfRejectsOverLimit(report: PushReport): void {
  const over = report.targets.filter((t) => t.overLimit);
  if (over.length === 0) return;
  throw new RejectsOverLimitError(
    `${over.map((t) => `${t.target}: ${t.counts.invalid + t.counts.rejected} of ${t.counts.considered} records not delivered (${(t.rejectRate * 100).toFixed(2)}% > ${(t.maxRejectRate * 100).toFixed(2)}%)`).join('; ')}`,
    { hint: `see ${over.map((t) => t.rejectsFile).filter(Boolean).join(', ') || 'the rejects table'}; rejected records are retried on the next push` },
  );
}

async function pushOne(staged: StagedPush, name: string, options: PushOptions, governor: RateGovernor, saved?: Plan, collect?: Plan[]): Promise<TargetReport> {
  const { config, staging, run } = staged;
  const raw = config.targets[name];
  if (!raw) throw new UsageError(`the plan is for target "${name}", which is not in the config any more`);
  const connection = config.connections[raw.connection];
  if (!connection) throw new ConfigError([`targets.${name}.connection: no connection named "${raw.connection}"`]);
  const model = raw.model ?? name;
  if (!(await staging.db.schema.hasTable(model))) {
    throw new PartnersyncError(`target ${name}: the model "${model}" is not in staging`, { code: 'MODEL_MISSING', exitCode: ExitCode.usage, hint: 'run `partnersync model` (or `partnersync run`) first, or fix targets.' + name + '.model' });
  }
  const columns = Object.keys(await staging.db(model).columnInfo());
  let target: ResolvedTarget;
  try {
    target = resolveTarget(name, raw, columns);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  const configHash = targetConfigHash(target, connection.type);
  if (saved && saved.configHash !== configHash) {
    throw new UsageError(`the saved plan for ${name} was made with a different configuration of that target (or another connection type)`, {
      hint: 'plan again: partnersync push --target ' + name + ' --plan-out <file>',
    });
  }

  // The gate is created once the destination's capabilities are known; the destination gets it lazily.
  let gate: RateGate | undefined;
  const lazyGate: RateGate = {
    take: (endpoint, signal) => gate!.take(endpoint, signal),
    pause: (ms, endpoint) => gate!.pause(ms, endpoint),
  };
  const ctx: ConnectorContext = {
    connection: raw.connection,
    baseDir: staged.baseDir,
    staging,
    log: (level, m) => (level === 'warn' ? options.out?.warn(m) : options.out?.info(m)),
    rate: lazyGate,
  };
  const destination = await makeDestination(target, connection, ctx, options);
  gate = governor.gate(raw.connection, destination.capabilities);
  const progress = options.out?.progress(`push ${name}`);
  try {
    const caps = destination.capabilities;
    const modeProblem = unsupportedMode(target, connection.type, caps);
    if (modeProblem) throw new ConfigError([modeProblem]);
    await destination.check();
    const pre = await preflightTarget(destination, target, Boolean(options.createMissingFields) && !options.dryRun);
    if (pre.missing.length && !options.dryRun) {
      throw new PartnersyncError(`target ${name}: ${target.object} has no field${pre.missing.length > 1 ? 's' : ''} ${pre.missing.join(', ')}`, {
        code: 'FIELDS_MISSING',
        exitCode: ExitCode.usage,
        hint: pre.hints?.join('; ') || 'create them, or re-run with --create-missing-fields',
      });
    }
    if (pre.created.length) await run.event('info', `${name}: created fields ${pre.created.join(', ')}`, undefined, 'push');

    let plan: Plan;
    if (saved) {
      plan = saved;
    } else {
      const rows = await staging.db(model).select('*');
      const ledger = await loadLedger(staging, name);
      plan = planPush({
        rows,
        ledger,
        target,
        capabilities: caps,
        connectionType: connection.type,
        configHash,
        now: (options.now?.() ?? new Date()).toISOString(),
        fullResync: options.fullResync,
      });
      if (pre.missing.length) plan.missingFields = pre.missing;
    }
    const maxRejectRate = options.maxRejectRate ?? target.maxRejectRate ?? 0;
    const base: Omit<TargetReport, 'counts' | 'writeCalls' | 'rateLimited' | 'retries' | 'rejectRate' | 'overLimit'> = {
      target: name,
      mode: target.mode,
      object: target.object,
      planId: plan.id,
      dryRun: Boolean(options.dryRun),
      planned: plan.counts,
      predictedCalls: plan.predictedCalls,
      maxRejectRate,
      ...(pre.missing.length ? { missingFields: pre.missing } : {}),
      ...(pre.created.length ? { createdFields: pre.created } : {}),
    };

    if (options.dryRun) {
      collect?.push(plan);
      progress?.succeed(`push ${name}: planned (dry run)`);
      const c = plan.counts;
      const rejectRate = c.considered ? c.invalid / c.considered : 0;
      return {
        ...base,
        counts: { considered: c.considered, unchanged: c.unchanged, sent: 0, invalid: c.invalid, rejected: 0, skipped: c.skipped, created: 0, updated: 0, deleted: 0, archived: 0, cleared: 0 },
        writeCalls: 0,
        rateLimited: 0,
        retries: 0,
        rejectRate,
        overLimit: false,
        preview: previewOf(plan),
      };
    }

    if (plan.removal.exceeded) {
      throw new PartnersyncError(
        `target ${name}: ${target.mode} would remove ${plan.removal.count} of the ${plan.removal.base} records partnersync wrote (${(plan.removal.share * 100).toFixed(1)}%), over the safety limit of ${(plan.removal.limit * 100).toFixed(1)}%; nothing was sent`,
        { code: 'MIRROR_SAFETY_LIMIT', hint: `check the model (did an upstream step produce too few rows?); if the removals are intended, raise targets.${name}.mirror.maxRemoveShare` },
      );
    }

    const result = await applyPlan(plan, {
      destination,
      staging,
      runId: run.id,
      gate: gate!,
      signal: options.signal,
      retry: options.retry,
      batchSize: target.batchSize,
      concurrency: target.concurrency,
      onProgress: (p) => progress?.update(`${p.done}/${p.total}${p.rejected ? `, ${p.rejected} rejected` : ''}`),
      log: ctx.log,
    });

    let rejectsFile: string | undefined;
    if (result.rejects.length) {
      await recordRejects(
        staging,
        result.rejects.map((r) => ({
          runId: run.id,
          step: 'push' as const,
          source: name,
          recordKey: r.key,
          location: r.field,
          kind: r.kind,
          code: r.code,
          reason: r.message,
          httpStatus: r.httpStatus,
          record: r.record,
        })),
      );
      rejectsFile = writeRejectsFile(staged.baseDir, target, run.id, result.rejects);
    }
    const c = result.counts;
    const rejectRate = c.considered ? (c.invalid + c.rejected) / c.considered : 0;
    const tr: TargetReport = {
      ...base,
      counts: c,
      writeCalls: result.writeCalls,
      rateLimited: result.rateLimited,
      retries: result.retries,
      rejectRate,
      overLimit: rejectRate > maxRejectRate,
      ...(rejectsFile ? { rejectsFile: path.relative(staged.baseDir, rejectsFile) || rejectsFile, sampleRejects: result.rejects.slice(0, 5).map(({ record: _r, ...x }) => x) } : {}),
    };
    await run.count(`push:${name}`, { ...c, writeCalls: result.writeCalls, rateLimited: result.rateLimited });
    // One short line here (stderr); the full summary is the command's result (stdout).
    const line = `push ${name}: sent ${c.sent}, unchanged ${c.unchanged}, invalid ${c.invalid}, rejected ${c.rejected}, skipped ${c.skipped}`;
    if (tr.overLimit) progress?.fail(line);
    else progress?.succeed(line);
    return tr;
  } catch (err) {
    progress?.fail(`push ${name}: failed`);
    throw err;
  } finally {
    await destination.close?.().catch(() => undefined);
  }
}

async function makeDestination(target: ResolvedTarget, connection: ConnectionConfig, ctx: ConnectorContext, options: PushOptions): Promise<Destination> {
  if (options.createDestination) return options.createDestination(target, connection, ctx);
  const def = await getConnector(connection.type);
  if (!def.createDestination) throw new ConfigError([`targets.${target.name}.connection: ${connection.type} connections cannot be pushed to (source only)`]);
  return def.createDestination(connection as never, ctx);
}

function readPlanFile(file: string): PlanFile {
  let doc: PlanFile;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as PlanFile;
  } catch (err) {
    throw new UsageError(`cannot read the plan ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (doc?.version !== 1 || !Array.isArray(doc.plans)) throw new UsageError(`${file} is not a partnersync plan (version 1)`);
  return doc;
}

function writeRejectsFile(baseDir: string, target: ResolvedTarget, runId: string, rejects: PushReject[]): string {
  const rel = (target.rejectsFile ?? '.partnersync/rejects/{run}-{target}.jsonl').replaceAll('{run}', runId).replaceAll('{target}', target.name);
  const file = path.resolve(baseDir, rel);
  const lines = rejects.map((r) =>
    JSON.stringify({ run_id: runId, target: target.name, kind: r.kind, key: r.key ?? null, op: r.op ?? null, code: r.code, message: r.message, http_status: r.httpStatus ?? null, field: r.field ?? null, record: r.record ?? null }),
  );
  writeAtomic(file, `${lines.join('\n')}\n`);
  return file;
}

/** Write to a temp file in the same folder, then rename: readers never see half a file. */
export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** A plan without its op list, for dry-run output (the full plan goes to --plan-out). */
export type PlanPreview = Omit<Plan, 'ops' | 'skipped'>;

function previewOf(plan: Plan): PlanPreview {
  const { ops: _o, skipped: _s, ...rest } = plan;
  return { ...rest, invalid: plan.invalid.slice(0, 20) };
}

export { renderPlan, renderSummary };
