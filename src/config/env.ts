import fs from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';

/**
 * `${VAR}` and `${VAR:-default}` interpolation in config string values. `$${` escapes a literal `${`.
 * Interpolation happens on the parsed YAML tree (never on the raw text), so a value containing quotes
 * or newlines cannot change the structure of the document.
 */
export interface InterpolationResult {
  value: unknown;
  /** `path: message` for each variable that is not set and has no default. */
  missing: string[];
  /** Paths whose string came (at least partly) from the environment. */
  fromEnv: Set<string>;
}

const VAR = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolate(tree: unknown, env: Record<string, string | undefined>): InterpolationResult {
  const missing: string[] = [];
  const fromEnv = new Set<string>();
  const walk = (v: unknown, at: string): unknown => {
    if (typeof v === 'string') {
      let touched = false;
      const out = v.replace(VAR, (whole, escaped: string | undefined, name: string, dflt: string | undefined) => {
        if (escaped) return whole.slice(1);
        touched = true;
        const val = env[name];
        if (val !== undefined && val !== '') return val;
        if (dflt !== undefined) return dflt;
        missing.push(`${at || '(root)'}: environment variable ${name} is not set`);
        return '';
      });
      if (touched) fromEnv.add(at);
      return out;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, at ? `${at}.${k}` : k)]));
    }
    return v;
  };
  return { value: walk(tree, ''), missing, fromEnv };
}

/**
 * Variables from `.env` next to the config file. Real environment variables win, as with dotenv
 * and docker-compose, so CI can override a developer's file.
 */
export function loadDotenv(dir: string, env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  const file = path.join(dir, '.env');
  if (!fs.existsSync(file)) return { ...env };
  const parsed = parseDotenv(fs.readFileSync(file));
  return { ...parsed, ...env };
}
