import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { binPath } from '../helpers/cli.js';

/** Start `partnersync emulate …`, wait for its URL, run `fn`, then stop it with SIGINT. */
async function withEmulator(args: string[], fn: (url: string, stdout: () => string) => Promise<void>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [binPath, 'emulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setInterval(() => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m) {
        clearInterval(t);
        resolve(m[1]!);
      }
    }, 20);
    child.on('close', () => {
      clearInterval(t);
      reject(new Error(`emulator exited early: ${stderr}`));
    });
  });
  try {
    await fn(url, () => stdout);
  } finally {
    child.kill('SIGINT');
  }
  return { code: await closed, stderr };
}

async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const r = await fetch(`${url}/crm/v3/objects/companies?limit=1`, { headers: { authorization: 'Bearer pat-na1-emulator-token' } });
      out.push(r.status);
      await r.arrayBuffer();
    } catch {
      out.push(-1); // connection reset
    }
  }
  return out;
}

describe('partnersync emulate', () => {
  it('serves until SIGINT and prints the credentials to use', async () => {
    const r = await withEmulator(['hubspot', '--port', '0'], async (url, stdout) => {
      expect(await statuses(url, 3)).toEqual([200, 200, 200]);
      expect(stdout()).toContain('accessToken: pat-na1-emulator-token');
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('stopped after 3 requests');
  });

  it('injects the same faults on every run with the same --fault-seed', async () => {
    const runs: number[][] = [];
    for (let i = 0; i < 2; i++) {
      await withEmulator(['hubspot', '--port', '0', '--faults', '429:0.2,reset:0.05', '--fault-seed', '7'], async (url) => {
        runs.push(await statuses(url, 40));
      });
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]).toContain(429);
    expect(runs[0]!.filter((s) => s === 200).length).toBeGreaterThan(20);
  });

  it('names a seed file that is not valid JSON, exit 2', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-seed-'));
    const seed = path.join(dir, 'seed.json');
    fs.writeFileSync(seed, '{ "companies": [ ');
    const child = spawn(process.execPath, [binPath, 'emulate', 'hubspot', '--seed', seed], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    expect(await new Promise((r) => child.on('close', r))).toBe(2);
    expect(stderr).toContain(`seed file ${seed} is not valid JSON`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown service and a malformed fault spec with exit 2', async () => {
    const bad = spawn(process.execPath, [binPath, 'emulate', 'zendesk'], { stdio: 'ignore' });
    expect(await new Promise((r) => bad.on('close', r))).toBe(2);
    const badFaults = spawn(process.execPath, [binPath, 'emulate', 'hubspot', '--faults', '429:lots'], { stdio: 'ignore' });
    expect(await new Promise((r) => badFaults.on('close', r))).toBe(2);
  });
});
