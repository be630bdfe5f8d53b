import { UsageError } from '../errors.js';

/**
 * The model graph: nodes are models, an edge a → b means b reads `{{ ref('a') }}`. Pure functions:
 * order, cycles and selection need no database.
 *
 * @example
 *   const g = buildGraph([{ name: 'a', refs: [] }, { name: 'b', refs: ['a'] }]);
 *   runOrder(g)                    // ['a', 'b']
 *   selectModels(g, ['+b'])        // ['a', 'b']
 */
export interface GraphNode {
  name: string;
  refs: string[];
}

export interface ModelGraph {
  names: string[];
  parents: Map<string, string[]>;
  children: Map<string, string[]>;
}

export class ModelGraphError extends UsageError {}

export function buildGraph(nodes: readonly GraphNode[], describe: (name: string) => string = (n) => n): ModelGraph {
  const names = nodes.map((n) => n.name).sort();
  const known = new Set(names);
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>(names.map((n) => [n, []]));
  const problems: string[] = [];
  for (const n of nodes) {
    for (const r of n.refs) {
      if (!known.has(r)) problems.push(`${describe(n.name)}: ref('${r}') names no model${r === 'matches' ? " (the match results are a table: use {{ table('matches') }})" : ''}`);
    }
    const refs = [...new Set(n.refs.filter((r) => known.has(r)))].sort();
    parents.set(n.name, refs);
    for (const r of refs) children.get(r)!.push(n.name);
  }
  if (problems.length) throw new ModelGraphError(problems.join('\n'), { code: 'MODEL_REF_UNKNOWN', hint: `known models: ${names.join(', ')}` });
  for (const c of children.values()) c.sort();
  const graph = { names, parents, children };
  const cycle = findCycle(graph);
  if (cycle) throw new ModelGraphError(`model graph has a cycle: ${cycle.join(' → ')}`, { code: 'MODEL_CYCLE', hint: 'remove one of these ref() calls' });
  return graph;
}

/** The first cycle found (deterministic), as a path that ends where it starts: ['a', 'b', 'a']. */
export function findCycle(graph: Pick<ModelGraph, 'names' | 'parents'>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    stack.push(n);
    // Walk downstream order (a model, then what reads it) so the path reads like the data flows.
    for (const p of graph.parents.get(n) ?? []) {
      const s = state.get(p);
      if (s === 'open') return [...stack.slice(stack.indexOf(p)), p].reverse();
      if (s === undefined) {
        const c = visit(p);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.names) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/** Every model after all the models it reads; ties broken by name so the order is stable. */
export function runOrder(graph: ModelGraph, subset?: ReadonlySet<string>): string[] {
  const indegree = new Map(graph.names.map((n) => [n, graph.parents.get(n)!.length]));
  const ready = graph.names.filter((n) => indegree.get(n) === 0);
  const order: string[] = [];
  while (ready.length) {
    ready.sort();
    const n = ready.shift()!;
    order.push(n);
    for (const c of graph.children.get(n)!) {
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) ready.push(c);
    }
  }
  return subset ? order.filter((n) => subset.has(n)) : order;
}

function walk(start: string, next: Map<string, string[]>, into: Set<string>): void {
  for (const n of next.get(start) ?? []) {
    if (into.has(n)) continue;
    into.add(n);
    walk(n, next, into);
  }
}

export const ancestors = (graph: ModelGraph, name: string): Set<string> => {
  const s = new Set<string>();
  walk(name, graph.parents, s);
  return s;
};
export const descendants = (graph: ModelGraph, name: string): Set<string> => {
  const s = new Set<string>();
  walk(name, graph.children, s);
  return s;
};

/**
 * Resolve selectors to models in run order: `name`, `name+` (and everything downstream),
 * `+name` (and everything it reads), `+name+` (both). No selectors: every model.
 */
export function selectModels(graph: ModelGraph, selectors: readonly string[] | undefined): string[] {
  if (!selectors || selectors.length === 0) return runOrder(graph);
  const chosen = new Set<string>();
  const unknown: string[] = [];
  for (const raw of selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) {
    const m = /^(\+?)([^+]+)(\+?)$/.exec(raw);
    const name = m?.[2];
    if (!m || !name || !graph.parents.has(name)) {
      unknown.push(raw);
      continue;
    }
    chosen.add(name);
    if (m[1]) for (const a of ancestors(graph, name)) chosen.add(a);
    if (m[3]) for (const d of descendants(graph, name)) chosen.add(d);
  }
  if (unknown.length) {
    throw new UsageError(`--select: no model matches ${unknown.map((u) => `"${u}"`).join(', ')}`, {
      code: 'MODEL_SELECT_UNKNOWN',
      hint: `models: ${graph.names.join(', ')} (write name, name+ or +name)`,
    });
  }
  return runOrder(graph, chosen);
}
