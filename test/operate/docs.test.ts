import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { validateConfig } from '../../src/config/load.js';

/**
 * docs/github-actions.yml and docs/crontab.example must work as written: the YAML parses into a
 * workflow with the documented steps, the shell in both is valid, every `partnersync …` invocation is a
 * command line this version's CLI accepts, and the workflow provides what the example config needs.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => fs.readFileSync(path.join(repo, p), 'utf8');

/** The arguments after `partnersync` up to the first shell operator or redirection. */
function invocations(shell: string): string[][] {
  const out: string[][] = [];
  for (const m of shell.matchAll(/(?:^|\s)partnersync((?:\s+[^\s]+)*)/g)) {
    const args: string[] = [];
    for (const raw of m[1]!.trim().split(/\s+/)) {
      if (!raw || /^(\d?>>?|<|\||\|\||&&|;)/.test(raw)) break;
      const end = raw.endsWith(';');
      args.push(end ? raw.slice(0, -1) : raw);
      if (end) break;
    }
    out.push(args);
  }
  return out;
}

const SENTINEL = new Error('reached the command handler');

/** Parse with the real program; reaching a handler means commander accepted the command and its flags. */
async function accepted(args: string[]): Promise<true | string> {
  const program = buildProgram({
    version: '0.0.0',
    makeContext: async () => {
      throw SENTINEL;
    },
  });
  // Commander prints its complaints itself; the returned message is enough here.
  const quiet = (c: typeof program) => {
    c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    c.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'partnersync', ...args]);
    return 'the command ran without reaching a handler';
  } catch (err) {
    if (err === SENTINEL) return true;
    return err instanceof CommanderError ? `${err.code}: ${err.message}` : String(err);
  }
}

const shellOk = (shell: string, sh = 'sh') => spawnSync(sh, ['-n', '-c', shell], { encoding: 'utf8' });

describe('docs/crontab.example', () => {
  const entries = read('docs/crontab.example')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !/^[A-Z_]+=/.test(l));

  it('has schedule lines whose commands are valid sh and valid partnersync command lines', async () => {
    // The check itself tells a wrong command line from a right one.
    expect(await accepted(['run', '--no-such-flag'])).not.toBe(true);
    expect(await accepted(['sync'])).not.toBe(true);
    expect(invocations('cd x && npx partnersync run --json >out 2>>log; rc=$?')).toEqual([['run', '--json']]);
    expect(entries.length).toBeGreaterThanOrEqual(2);
    const seen = new Set<string>();
    for (const line of entries) {
      const fields = line.split(/\s+/);
      expect(fields.slice(0, 5).every((f) => /^[\d*,/-]+$/.test(f)), line).toBe(true);
      const command = fields.slice(5).join(' ');
      // cron treats % as a newline: a command must not contain one.
      expect(command).not.toMatch(/%/);
      const sh = shellOk(command);
      expect(sh.status, sh.stderr).toBe(0);
      for (const args of invocations(command)) {
        expect(await accepted(args), args.join(' ')).toBe(true);
        seen.add(args[0]!);
      }
    }
    expect([...seen].sort()).toEqual(['check', 'run']);
  });

  it('appends JSON log lines and relies on the staging lock (exit 4), not flock', () => {
    const hourly = entries[0]!;
    expect(hourly).toMatch(/partnersync run .*--log-format json .*2>>\S+\.jsonl/);
    expect(hourly).toMatch(/case \$rc in 0\|4\)/);
    expect(read('docs/crontab.example')).not.toMatch(/^[^#]*flock/m);
  });
});

describe('docs/github-actions.yml', () => {
  const wf = parse(read('docs/github-actions.yml')) as Record<string, any>;
  const job = wf.jobs.sync;
  const steps: Array<Record<string, any>> = job.steps;

  it('parses into a scheduled workflow: checkout, Node 20, npm ci, check, run --json, rejects as an artifact', async () => {
    expect(wf.on.schedule[0].cron.split(' ')).toHaveLength(5);
    expect(steps[0]!.uses).toMatch(/^actions\/checkout@v\d+$/);
    const node = steps.find((s) => String(s.uses).startsWith('actions/setup-node@'))!;
    expect(String(node.with['node-version'])).toBe('20');
    const runs = steps.filter((s) => s.run).map((s) => String(s.run));
    expect(runs).toContain('npm ci');
    expect(runs.some((r) => /^npx partnersync run --json\b/.test(r))).toBe(true);
    for (const r of runs) {
      const sh = shellOk(r, 'bash');
      expect(sh.status, sh.stderr).toBe(0);
      for (const args of invocations(r)) expect(await accepted(args), args.join(' ')).toBe(true);
    }
    const upload = steps.find((s) => String(s.uses).startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toBe('always()');
    expect(String(upload.with.path)).toMatch(/^\.partnersync\/rejects\/$/m);
  });

  it('caches nothing that breaks: only npm downloads, never .partnersync', () => {
    for (const s of steps) expect(String(s.uses ?? '')).not.toMatch(/^actions\/cache/);
    const node = steps.find((s) => String(s.uses).startsWith('actions/setup-node@'))!;
    expect(node.with.cache).toBe('npm');
    expect(JSON.stringify(wf)).not.toMatch(/cache[^"]*":\s*"[^"]*\.partnersync/);
  });

  it('passes secrets only as ${{ secrets.* }} env vars, covering every variable the example config needs', () => {
    const env: Record<string, string> = job.env;
    for (const [k, v] of Object.entries(env)) expect(v, k).toBe(`\${{ secrets.${k} }}`);
    const config = read('fixtures/operate/partnersync.yaml');
    const required = [...config.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!);
    for (const v of required) expect(Object.keys(env), v).toContain(v);
    // Staging must outlive the runner: the workflow sets the URL the config reads.
    expect(config).toMatch(/url: \$\{PARTNERSYNC_STAGING_URL:-/);
    expect(Object.keys(env)).toContain('PARTNERSYNC_STAGING_URL');
    // With those variables set, the example config is valid as it stands.
    const values = Object.fromEntries(Object.keys(env).map((k) => [k, k === 'PARTNERSYNC_STAGING_URL' ? 'postgres://ci@db.example.com:5432/partnersync' : `value-of-${k}`]));
    const r = validateConfig(parse(config), values);
    expect(r.problems).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  it('links both files and documents every exit code', () => {
    const md = read('docs/operations.md');
    expect(md).toMatch(/\(github-actions\.yml\)/);
    expect(md).toMatch(/\(crontab\.example\)/);
    for (const code of ['0', '1', '2', '3', '4', '130 / 143']) expect(md).toMatch(new RegExp(`^\\| ${code.replace('/', '\\/')} \\|`, 'm'));
  });
});
