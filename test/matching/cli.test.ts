import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// The built CLI (dist/), spawned as a user runs it: flags typed after `match eval` / `match explain` reach
// the subcommand, and exit codes follow the documented contract.
const fixtures = fileURLToPath(new URL('../../fixtures/matching/', import.meta.url));
const accounts = path.join(fixtures, 'accounts.csv');
const signals = path.join(fixtures, 'signals.csv');
const gold = path.join(fixtures, 'gold.csv');

let dir: string;
beforeAll(async () => {
  // An empty directory: no partnersync.yaml, so only file mode can succeed.
  dir = await mkdtemp(path.join(tmpdir(), 'ps-match-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('partnersync match (CLI)', () => {
  it('match eval --accounts --signals --gold --json: the subcommand gets its flags, exit 0', async () => {
    const r = await runCli(['match', 'eval', '--accounts', accounts, '--signals', signals, '--gold', gold, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.overall).toMatchObject({ signals: 20, wrong: 0, hierarchyFalseMerges: 0 });
    expect(report.byStratum.hierarchy.correct).toBe(4);
  });

  it('flags before the subcommand name reach it too; match explain takes them', async () => {
    const e = await runCli(['--json', 'match', '--accounts', accounts, '--signals', signals, 'eval', '--gold', gold], { cwd: dir });
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).overall.signals).toBe(20);
    const x = await runCli(['match', 'explain', 'S-10', '--accounts', accounts, '--signals', signals, '--json'], { cwd: dir });
    expect(x.code, x.stderr).toBe(0);
    expect(JSON.parse(x.stdout)).toMatchObject({ signalId: 'S-10', status: 'matched', accountId: 'A-ACME-GB' });
  });

  it('a missing required column exits 2, naming the file and the column', async () => {
    const bad = path.join(dir, 'no-id-accounts.csv');
    await writeFile(bad, 'id,name,website\n1,Acme,acme.com\n');
    const r = await runCli(['match', 'eval', '--accounts', bad, '--signals', signals, '--gold', gold, '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('no-id-accounts.csv');
    expect(r.stdout + r.stderr).toContain('missing required column "account_id"');
  });

  it('--encoding reads Latin-1 files in file mode; an unknown encoding is a usage error (exit 2)', async () => {
    const acc = path.join(dir, 'latin1-acc.csv');
    const sig = path.join(dir, 'latin1-sig.csv');
    await writeFile(acc, Buffer.from('account_id,name,website\nA1,Société Générale SA,societegenerale.fr\n', 'latin1'));
    await writeFile(sig, Buffer.from('signal_id,company_name\nS1,SOCIÉTÉ GÉNÉRALE\n', 'latin1'));
    const out = path.join(dir, 'latin1-out.csv');
    const r = await runCli(['match', '--accounts', acc, '--signals', sig, '--out', out, '--encoding', 'latin1', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ signals: 1, matched: 1 });
    expect(await readFile(out, 'utf8')).toContain('A1 (Société Générale SA)');
    const e = await runCli(['match', 'explain', 'S1', '--accounts', acc, '--signals', sig, '--encoding', 'latin1', '--json'], { cwd: dir });
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ signalId: 'S1', accountId: 'A1' });
    const u = await runCli(['match', '--accounts', acc, '--signals', sig, '--out', out, '--encoding', 'ebcdic'], { cwd: dir });
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--encoding ebcdic');
  });

  it('a match.ignoredWebsiteDomains entry that is no domain is a config error naming it (exit 2); a URL is its domain', async () => {
    const cfgDir = await mkdtemp(path.join(dir, 'cfg-'));
    const out = path.join(cfgDir, 'm.csv');
    await writeFile(path.join(cfgDir, 'partnersync.yaml'), 'match:\n  ignoredWebsiteDomains: [www.google.com, localhost]\n');
    const bad = await runCli(['match', '--accounts', accounts, '--signals', signals, '--out', out], { cwd: cfgDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('match.ignoredWebsiteDomains.1');
    expect(bad.stderr).toContain('"localhost" has no registrable domain');
    await writeFile(path.join(cfgDir, 'partnersync.yaml'), 'match:\n  ignoredWebsiteDomains: ["https://www.google.com/"]\n');
    const ok = await runCli(['match', '--accounts', accounts, '--signals', signals, '--out', out, '--json'], { cwd: cfgDir });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('file mode with only one of --accounts/--signals is a usage error (exit 2)', async () => {
    const r = await runCli(['match', 'eval', '--accounts', accounts, '--gold', gold], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--accounts and --signals');
  });
});
