import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStaging } from '../../src/staging/db.js';
import { acquireLock } from '../../src/staging/lock.js';
import { bin, ensureBuilt, runCli, stagingRows, startWorld, writeCalls, type World } from './world.js';

/**
 * Unattended use of the built CLI (cron, CI): no prompts, plain lines without a TTY, `--json` as exactly
 * one JSON document whatever happens, `--log-format json` as one object per stderr line, NO_COLOR,
 * the documented exit codes, the staging lock; and `partnersync check` reporting every problem at once.
 */

const ANSI = /\u001b\[/;
const SGR_COLOR = /\u001b\[(?:3\d|9\d|1;3\d)m/;

/** Write a variant of the world's config next to it and return its file name. */
function variant(w: World, name: string, edit: (c: Record<string, any>) => void): string {
  const doc = parse(fs.readFileSync(w.config, 'utf8')) as Record<string, any>;
  edit(doc);
  fs.writeFileSync(path.join(w.dir, name), stringify(doc));
  return name;
}

/** Run the CLI on a pseudo-terminal (util-linux `script`), so it sees a TTY as a person's shell would. */
function onTty(w: World, args: string[], env: Record<string, string | undefined>, columns = 120): Promise<string> {
  const cmd = `stty cols ${columns} rows 40; ${[process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')}`;
  return new Promise((resolve, reject) => {
    const full: Record<string, string | undefined> = { ...process.env, ...w.env, TERM: 'xterm-256color', ...env };
    delete full.CI;
    delete full.FORCE_COLOR;
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: w.dir, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`exit ${code}: ${out}`));
      else resolve(out);
    });
  });
}

let w: World;
beforeAll(async () => {
  ensureBuilt();
  w = await startWorld({ accounts: 12 });
}, 300_000);
afterAll(async () => w?.stop());

describe('unattended runs of the built CLI', () => {
  it('without a TTY: plain lines on stderr, the summary on stdout, nothing waits for input; --json is one document', async () => {
    const plain = await runCli(w, ['run']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toMatch(ANSI);
    expect(plain.stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(plain.stderr).toMatch(/^push: 2 target\(s\): \d+ sent, 0 unchanged, 0 rejected \([\d.]+s\)$/m);
    expect(plain.stdout).toMatch(/^pipeline default succeeded \(run \S+\)$/m);
    expect(plain.stdout).toMatch(/^ {2}✔ push\s+[\d.]+s\s+2 target\(s\)/m);

    const json = await runCli(w, ['run', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ pipeline: 'default', status: 'succeeded' });
    expect(doc.steps.every((s: any) => typeof s.seconds === 'number')).toBe(true);
  }, 60_000);

  it('--log-format json: every stderr line is one JSON object; with --json stdout stays one document', async () => {
    const r = await runCli(w, ['run', '--json', '--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    JSON.parse(r.stdout);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) {
      const o = JSON.parse(l);
      expect(typeof o.time).toBe('string');
      expect(['info', 'warn', 'error']).toContain(o.level);
      expect(typeof o.msg).toBe('string');
    }
    expect(lines.map((l) => JSON.parse(l).msg)).toContainEqual(expect.stringMatching(/^push: 2 target/));
  }, 60_000);

  it('on a terminal: colours, unless NO_COLOR is set', async () => {
    const coloured = await onTty(w, ['run', '--only', 'match'], {});
    expect(coloured).toMatch(SGR_COLOR);
    const plain = await onTty(w, ['run', '--only', 'match'], { NO_COLOR: '1' });
    expect(plain).toMatch(/match: \d+ signal\(s\)/);
    expect(plain).not.toMatch(SGR_COLOR);
    // A terminal that reports no size (some CI runners) gets plain lines, and the run still ends.
    const sizeless = await onTty(w, ['run', '--only', 'match'], { NO_COLOR: '1' }, 0);
    expect(sizeless).toMatch(/^match: \d+ signal\(s\)/m);
  }, 60_000);

  it('exit 2 for usage and config errors, with one JSON document under --json', async () => {
    const step = await runCli(w, ['run', '--from', 'nowhere', '--json']);
    expect(step.code).toBe(2);
    expect(JSON.parse(step.stdout).error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    expect(step.stderr).toMatch(/unknown step "nowhere"/);

    const missing = await runCli(w, ['run', '--json'], { INTERCOM_ACCESS_TOKEN: '' });
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.message).toMatch(/connections\.intercom\.accessToken: environment variable INTERCOM_ACCESS_TOKEN is not set/);

    const flag = await runCli(w, ['run', '--no-such-flag']);
    expect(flag.code).toBe(2);
  });

  it('exit 1 when a step fails: the summary says where, the run log keeps the error, status shows it', async () => {
    const r = await runCli(w, ['run', '--json'], { INTERCOM_ACCESS_TOKEN: 'not-a-valid-token' });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.status).toBe('failed');
    expect(doc.result.steps.map((s: any) => `${s.step}:${s.status}`)).toEqual(['extract:succeeded', 'model:succeeded', 'match:succeeded', 'model:succeeded', 'push:failed']);
    expect(doc.error.code).toBe('AUTH_FAILED');
    const run = stagingRows(w, 'SELECT * FROM runs WHERE id = ?', doc.result.runId)[0]!;
    expect([run.status, Number(run.exit_code)]).toEqual(['failed', 1]);
    expect(run.error).toMatch(/Intercom/);
    const status = await runCli(w, ['status']);
    expect(status.stdout).toMatch(new RegExp(`${doc.result.runId}\\s+run .*failed\\s+1 .*Intercom`));
    const shown = await runCli(w, ['runs', 'show', doc.result.runId]);
    expect(shown.stdout).toMatch(/\[push\] push failed after [\d.]+s: /);
    expect(shown.stdout).toMatch(/^error: .*Intercom/m);
  }, 60_000);

  it('exit 3 when more records are rejected than allowed: everything else is delivered, rejects are kept in a file', async () => {
    // partner_names is no number: every record of this target is invalid.
    const cfg = variant(w, 'rejects.yaml', (c) => {
      c.targets.intercom_companies.fields.partner_count = { source: 'partner_names', type: 'number' };
    });
    const r = await runCli(w, ['--config', cfg, 'run', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('REJECTS_OVER_LIMIT');
    const target = doc.result.steps.find((s: any) => s.step === 'push').detail.targets.find((t: any) => t.target === 'intercom_companies');
    expect(target.counts.invalid).toBeGreaterThan(0);
    const file = path.join(w.dir, target.rejectsFile);
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(target.counts.invalid);
    const run = stagingRows(w, 'SELECT * FROM runs WHERE id = ?', doc.result.runId)[0]!;
    expect([run.status, Number(run.exit_code)]).toEqual(['rejected', 3]);
    // With an allowance, the same run succeeds.
    const allowed = await runCli(w, ['--config', cfg, 'run', '--max-reject-rate', '1']);
    expect(allowed.code, allowed.stderr).toBe(0);
  }, 60_000);

  it('exit 4 while another run holds the staging lock; status names the holder', async () => {
    const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: w.dir });
    const lock = await acquireLock(staging, { runId: 'held-by-test', command: 'run' });
    try {
      const r = await runCli(w, ['run', '--json']);
      expect(r.code).toBe(4);
      expect(JSON.parse(r.stdout).error.code).toBe('LOCKED');
      expect(r.stderr).toMatch(/Another partnersync run holds the staging lock: run \(run held-by-test\)/);
      const status = await runCli(w, ['status']);
      expect(status.stdout).toMatch(/lock: held by run \(run held-by-test\)/);
    } finally {
      await lock.release();
      await staging.close();
    }
    expect((await runCli(w, ['run', '--only', 'match'])).code).toBe(0);
  }, 60_000);
});

describe('partnersync check', () => {
  it('passes on a healthy setup and changes nothing', async () => {
    const before = writeCalls(w);
    const r = await runCli(w, ['check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.connections.map((c: any) => `${c.connection}:${c.roles.join('+')}`).sort()).toEqual(['crossbeam:source', 'intercom:destination', 'salesforce:source+destination']);
    expect(writeCalls(w)).toEqual(before);
  }, 60_000);

  it('reports every problem at once: bad credentials, a wrong organization, missing fields and attributes, a missing stream', async () => {
    const cfg = variant(w, 'broken.yaml', (c) => {
      c.targets.salesforce_accounts.fields.Partner_Tier__c = 'partner_names';
      c.targets.salesforce_accounts.fields.Partner_Region__c = 'partner_names';
      c.pipelines.default.extract[0].streams = ['overlaps_accounts', 'overlaps_contacts'];
      c.connections.intercom_eu = { type: 'intercom', baseUrl: '${INTERCOM_BASE_URL}', accessToken: '${INTERCOM_EU_TOKEN}' };
      c.targets.intercom_eu_companies = { ...c.targets.intercom_companies, connection: 'intercom_eu', fields: { ...c.targets.intercom_companies.fields, partner_tier: 'partner_names' } };
    });
    // The EU workspace token is valid but that workspace lacks an attribute; the main token is revoked.
    w.ic.tokens.add('eu-workspace-token');
    const r = await runCli(w, ['--config', cfg, 'check', '--json'], { CROSSBEAM_ORGANIZATION: '00000000-0000-5000-a000-000000000000', INTERCOM_ACCESS_TOKEN: 'revoked-token', INTERCOM_EU_TOKEN: 'eu-workspace-token' });
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('CHECK_FAILED');
    const problems = doc.result.problems.map((p: any) => `${p.connection}${p.target ? `/${p.target}` : ''}:${p.kind}`).sort();
    expect(problems).toEqual(['crossbeam:auth', 'intercom:auth', 'intercom_eu/intercom_eu_companies:fields', 'salesforce/salesforce_accounts:fields']);
    const sf = doc.result.problems.find((p: any) => p.connection === 'salesforce');
    expect(sf.message).toMatch(/Partner_Tier__c, Partner_Region__c/);
    expect(sf.hint).toMatch(/Setup/);
    expect(doc.result.problems.find((p: any) => p.connection === 'intercom_eu').message).toMatch(/partner_tier/);
    expect(w.ic.calls('data-attributes-create')).toBe(0);

    // The stream problem shows once the organization is right (Crossbeam is tried first for auth).
    const streams = await runCli(w, ['--config', cfg, 'check', '--connection', 'crossbeam'], { INTERCOM_EU_TOKEN: 'eu-workspace-token' });
    expect(streams.code).toBe(1);
    expect(streams.stdout).toMatch(/✖ crossbeam has no stream "overlaps_contacts"/);
    expect(streams.stdout).toMatch(/hint: streams: .*overlaps_accounts/);
    expect(streams.stderr).toMatch(/check found 1 problem in 1 of 1 connection/);
  }, 60_000);
});
