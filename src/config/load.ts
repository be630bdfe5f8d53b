import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { connectionSchemas, connectionTypes, type ConnectionConfig, type ConnectionType } from '../connectors/config-schemas.js';
import { RootConfig } from './schema.js';
import { interpolate, loadDotenv } from './env.js';
import { registerSecretsIn, SECRET_KEY } from './secrets.js';

export interface LoadedConfig extends Omit<RootConfig, 'connections'> {
  connections: Record<string, ConnectionConfig>;
}

export interface ConfigResult {
  config: LoadedConfig;
  /** Absolute path of the file, or undefined when running without one. */
  file: string | undefined;
  /** Folder that relative paths in the config are resolved against. */
  baseDir: string;
  warnings: string[];
}

export function issuesToProblems(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): string[] {
  return issues.map((i) => {
    const p = [...prefix, ...i.path].map(String).join('.');
    return `${p || '(root)'}: ${i.message}`;
  });
}

/**
 * Environment variables are text, but `pageSize: ${PAGE_SIZE}` should read as a number. Only where the
 * schema asks for a number or boolean and the value came from the environment is the text converted, so
 * a numeric-looking password or id stays a string.
 */
function parseWithEnvTypes<S extends z.ZodType>(schema: S, value: unknown, fromEnv: Set<string>, prefix: string[] = []): ReturnType<S['safeParse']> {
  let r = schema.safeParse(value) as ReturnType<S['safeParse']>;
  if (r.success) return r;
  let changed = false;
  for (const issue of r.error!.issues) {
    if (issue.code !== 'invalid_type' || (issue.expected !== 'number' && issue.expected !== 'boolean')) continue;
    if (!fromEnv.has([...prefix, ...issue.path].map(String).join('.'))) continue;
    let parent = value as Record<string | number, unknown>;
    for (const k of issue.path.slice(0, -1)) parent = parent?.[k as string] as Record<string | number, unknown>;
    const key = issue.path[issue.path.length - 1] as string;
    const text = parent?.[key];
    if (typeof text !== 'string') continue;
    if (issue.expected === 'number' && /^-?\d+(\.\d+)?$/.test(text.trim())) parent[key] = Number(text);
    else if (issue.expected === 'boolean' && /^(true|false)$/i.test(text.trim())) parent[key] = text.trim().toLowerCase() === 'true';
    else continue;
    changed = true;
  }
  if (changed) r = schema.safeParse(value) as ReturnType<S['safeParse']>;
  return r;
}

/**
 * Validate an already-parsed config tree. Returns every problem at once, each as `path: message`.
 * Secrets are registered for redaction before anything can print them.
 */
export function validateConfig(tree: unknown, env: Record<string, string | undefined> = process.env): { config?: LoadedConfig; problems: string[]; warnings: string[] } {
  const { value, missing, fromEnv } = interpolate(tree ?? {}, env);
  registerSecretsIn(value);
  const problems = [...missing];
  const warnings: string[] = [];
  const parsed = parseWithEnvTypes(RootConfig, value, fromEnv);
  if (!parsed.success) problems.push(...issuesToProblems(parsed.error.issues));

  const connections: Record<string, ConnectionConfig> = {};
  const rawConnections = (value as { connections?: Record<string, unknown> })?.connections;
  if (rawConnections && typeof rawConnections === 'object') {
    for (const [connName, raw] of Object.entries(rawConnections)) {
      const type = (raw as { type?: unknown })?.type;
      if (typeof type !== 'string') continue; // reported by RootConfig
      if (!(connectionTypes as string[]).includes(type)) {
        problems.push(`connections.${connName}.type: unknown connection type "${type}" (one of ${connectionTypes.join(', ')})`);
        continue;
      }
      const r = parseWithEnvTypes(connectionSchemas[type as ConnectionType], raw, fromEnv, ['connections', connName]);
      if (r.success) connections[connName] = r.data as ConnectionConfig;
      else problems.push(...issuesToProblems(r.error.issues, ['connections', connName]));
      // Secrets belong in the environment, not in a file that gets committed.
      for (const [k, v] of Object.entries(raw as object)) {
        if (SECRET_KEY.test(k) && typeof v === 'string' && v && !fromEnv.has(`connections.${connName}.${k}`)) {
          warnings.push(`connections.${connName}.${k}: write secrets as \${ENV_VAR} (from the environment or .env), not in the file`);
        }
      }
    }
  }
  if (parsed.success) {
    const cfg = parsed.data;
    for (const [pName, p] of Object.entries(cfg.pipelines)) {
      p.extract.forEach((s, i) => {
        if (!cfg.connections[s.connection]) problems.push(`pipelines.${pName}.extract[${i}].connection: no connection named "${s.connection}"`);
      });
      p.push?.forEach((t, i) => {
        if (!cfg.targets[t]) problems.push(`pipelines.${pName}.push[${i}]: no target named "${t}"`);
      });
    }
    for (const [tName, t] of Object.entries(cfg.targets)) {
      if (!cfg.connections[t.connection]) problems.push(`targets.${tName}.connection: no connection named "${t.connection}"`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    // A missing variable explains any other complaint about the same field; say it once.
    const missingPaths = new Set(missing.map((m) => m.slice(0, m.indexOf(': '))));
    const deduped = problems.filter((p, i) => i < missing.length || !missingPaths.has(p.slice(0, p.indexOf(': '))));
    return { problems: deduped, warnings };
  }
  return { config: { ...parsed.data, connections }, problems, warnings };
}

/**
 * Find and load the config: `--config`, else `PARTNERSYNC_CONFIG`, else `./partnersync.yaml`.
 * With `optional`, a missing default file yields the built-in defaults (one-off commands work without one).
 */
export function loadConfig(opts: { file?: string; cwd?: string; env?: Record<string, string | undefined>; optional?: boolean } = {}): ConfigResult {
  const cwd = opts.cwd ?? process.cwd();
  const baseEnv = opts.env ?? process.env;
  const explicit = opts.file ?? baseEnv.PARTNERSYNC_CONFIG;
  const file = path.resolve(cwd, explicit ?? 'partnersync.yaml');
  if (!fs.existsSync(file)) {
    if (explicit || !opts.optional) {
      throw new ConfigError([`${path.relative(cwd, file) || file}: file not found`], {
        hint: explicit ? 'check --config / PARTNERSYNC_CONFIG' : 'run `partnersync init` to create one, or pass --config <file>',
      });
    }
    const env = loadDotenv(cwd, baseEnv);
    const r = validateConfig({}, env);
    return { config: r.config!, file: undefined, baseDir: cwd, warnings: r.warnings };
  }
  const text = fs.readFileSync(file, 'utf8');
  const doc = parseDocument(text, { prettyErrors: true });
  const rel = path.relative(cwd, file) || file;
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${rel}:${e.linePos?.[0]?.line ?? '?'}:${e.linePos?.[0]?.col ?? '?'}: ${e.message.split('\n')[0]}`), { file: rel });
  }
  const env = loadDotenv(path.dirname(file), baseEnv);
  const r = validateConfig(doc.toJS(), env);
  if (!r.config) throw new ConfigError(r.problems, { file: rel, hint: 'see the configuration reference in the README' });
  return { config: r.config, file, baseDir: path.dirname(file), warnings: r.warnings };
}
