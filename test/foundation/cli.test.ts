import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStaging } from '../../src/staging/db.js';
import { acquireLock } from '../../src/staging/lock.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/staging.js';

const COMMANDS = ['init', 'extract', 'model', 'match', 'push', 'run', 'status', 'emulate', 'serve', 'attribute'];

describe('partnersync CLI surface', () => {
  it('--help lists every command; --version prints the package version', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const v = await runCli(['--version']);
    expect(v.stdout.trim()).toBe(pkg.version);
  });

  it('each command has --help with examples or a description', async () => {
    for (const c of COMMANDS) {
      const r = await runCli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: partnersync ${c}`);
    }
  });

  it('an unknown command or flag is a usage error (exit 2)', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['status', '--no-such-flag'])).code).toBe(2);
    const bad = await runCli(['push', '--max-reject-rate', '7']);
    expect(bad.code).toBe(2);
  });
});

describe('partnersync init', () => {
  it('scaffolds a config that loads, and refuses to overwrite', async () => {
    const dir = tempDir();
    const r = await runCli(['init', 'proj'], { cwd: dir });
    expect(r.code).toBe(0);
    for (const f of ['partnersync.yaml', '.env.example', '.gitignore', 'models', 'data']) expect(fs.existsSync(path.join(dir, 'proj', f))).toBe(true);
    const status = await runCli(['status', '--json'], { cwd: path.join(dir, 'proj') });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ lock: null, runs: [] });
    // The scaffold is a working pipeline once the two exports are in data/.
    const qs = new URL('../../fixtures/quickstart/', import.meta.url);
    fs.copyFileSync(new URL('crossbeam-account-mapping.csv', qs), path.join(dir, 'proj', 'data', 'crossbeam-account-mapping.csv'));
    fs.copyFileSync(new URL('crm-accounts.csv', qs), path.join(dir, 'proj', 'data', 'crm-accounts.csv'));
    const run = await runCli(['run', '--json'], { cwd: path.join(dir, 'proj') });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).status).toBe('succeeded');
    const out = fs.readFileSync(path.join(dir, 'proj', 'out', 'matched-partner-signals.jsonl'), 'utf8').trim().split('\n');
    expect(out.length).toBeGreaterThan(10);
    const before = fs.readFileSync(path.join(dir, 'proj', 'partnersync.yaml'), 'utf8');
    fs.appendFileSync(path.join(dir, 'proj', 'partnersync.yaml'), '# my edit\n');
    const again = await runCli(['init', 'proj'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('refusing to overwrite');
    expect(fs.readFileSync(path.join(dir, 'proj', 'partnersync.yaml'), 'utf8')).toBe(`${before}# my edit\n`);
  });
});

describe('the staging lock from the CLI', () => {
  it('exits 4 naming the holder, and records the refused run', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), 'staging:\n  url: sqlite:.partnersync/staging.db\n');
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: dir });
    const held = await acquireLock(staging, { runId: 'holder-run', command: 'push' });
    try {
      const r = await runCli(['state', 'reset', 'crm'], { cwd: dir });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(r.stderr).toContain('holder-run');
    } finally {
      await held.release();
    }
    const ok = await runCli(['state', 'reset', 'crm', '--json'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ connection: 'crm', stream: null, removed: 0 });
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: dir })).stdout);
    expect(status.runs.map((r: { status: string; exitCode: number }) => [r.status, r.exitCode])).toEqual([['succeeded', 0], ['failed', 4]]);
    await staging.close();
  });
});
