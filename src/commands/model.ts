import { planProject, runModels } from '../model/runner.js';
import { runOrder } from '../model/graph.js';
import { table } from '../ui/output.js';
import { loadCommandConfig, withStagedRun, type CommandContext } from './context.js';

/** `partnersync model [--select …]`: build models in staging, in graph order. */
export async function model(ctx: CommandContext, options: { select?: string[] }): Promise<void> {
  const select = options.select ?? [];
  const result = await withStagedRun(ctx, { command: 'model', args: { select } }, async ({ config, staging, run, baseDir }) => {
    const progress = ctx.out.progress('models');
    try {
      const r = await runModels(staging, config, {
        select,
        run,
        baseDir,
        signal: ctx.signal,
        onModel: (m) => {
          if (m.status === 'skipped') ctx.out.warn(`model ${m.name} skipped: ${m.reason}`);
          progress.update(m.name);
        },
      });
      const built = r.models.filter((m) => m.status === 'built').length;
      progress.succeed(`${built} model${built === 1 ? '' : 's'} built`);
      return r;
    } catch (err) {
      progress.fail('models failed');
      throw err;
    }
  });
  ctx.out.result(result, () =>
    table(
      result.models.map((m) => ({ model: m.name, as: m.materialized, status: m.status, rows: m.rows, ms: m.ms, file: m.file })),
    ),
  );
}

/** `partnersync model list`: the graph in run order, with what each model reads. */
export async function modelList(ctx: CommandContext): Promise<void> {
  const { config, baseDir } = loadCommandConfig(ctx, true);
  const { project, graph } = planProject(config.models, baseDir);
  const rows = runOrder(graph).map((name, i) => {
    const d = project.models.get(name)!;
    return {
      order: i + 1,
      name,
      materialized: d.materialized,
      origin: d.origin,
      file: d.file,
      refs: graph.parents.get(name)!,
      sources: d.deps.sources.map((s) => `${s.connection}.${s.stream}`),
      tables: d.deps.tables,
      description: d.description ?? null,
    };
  });
  ctx.out.result({ models: rows }, () =>
    table(
      rows.map((r) => ({
        '#': r.order,
        model: r.name,
        as: r.materialized,
        reads: [...r.refs, ...r.sources.map((s) => `source:${s}`), ...r.tables.map((t) => `table:${t}`)].join(', '),
        file: r.file,
      })),
    ),
  );
}
