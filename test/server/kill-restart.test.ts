import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/staging.js';
import { crossbeamHeaders, dealEvent } from './helpers.js';

// Runs the built CLI (`npx tsc -p tsconfig.build.json` first), as a user would run the server.
const SECRET = 'kill-test-secret';

function startServer(config: string, cwd: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [binPath, 'serve', '--config', config, ...extra], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', XB_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null || child.signalCode ? r(child.exitCode) : child.once('exit', (c) => r(c))));

describe('kill -9 under load, then restart', () => {
  let dir: string;
  let sink: http.Server;
  const forwarded: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repoRoot, 'dist', 'commands', 'serve.js'))) throw new Error('build first: npx tsc -p tsconfig.build.json');
    dir = tempDir('partnersync-serve-kill-');
    // The "CRM": counts every forwarded event by its idempotency key.
    sink = http.createServer((req, res) => {
      forwarded.push(String(req.headers['idempotency-key']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/events`;
    const base = ['staging: { url: sqlite:staging.db }', 'serve:', '  port: 0', '  sources:', "    crossbeam: { scheme: crossbeam, secret: '${XB_SECRET}' }"];
    const actions = ['  worker: { pollIntervalMs: 50, backoff: { initialSeconds: 0, jitter: false } }', '  actions:', `    - { source: crossbeam, kind: http, url: '${sinkUrl}' }`];
    fs.writeFileSync(path.join(dir, 'receive.yaml'), [...base, ...actions].join('\n'));
  });

  afterAll(async () => {
    await new Promise((r) => sink.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every event that got a 2xx and processes each exactly once after the restart', async () => {
    // Phase 1: receive only (the worker runs elsewhere), hammered by 20 concurrent senders, then kill -9.
    const first = await startServer('receive.yaml', dir, ['--no-worker']);
    const acked = new Set<string>();
    const sent = new Set<string>();
    let stop = false;
    let n = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const target = new URL(`${first.url}/webhooks/crossbeam`);
    const sendOne = (id: string) =>
      new Promise<void>((resolve) => {
        const body = JSON.stringify(dealEvent(id));
        const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...crossbeamHeaders(body, SECRET), 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) acked.add(id);
            resolve();
          });
          res.on('error', () => resolve());
        });
        req.on('error', () => resolve());
        req.end(body);
      });
    const senders = Array.from({ length: 20 }, async () => {
      while (!stop) {
        const id = `evt-${n++}`;
        sent.add(id);
        await sendOne(id);
      }
    });
    await new Promise((r) => setTimeout(r, 700));
    first.child.kill('SIGKILL');
    await exited(first.child);
    stop = true;
    await Promise.all(senders);
    agent.destroy();
    expect(acked.size).toBeGreaterThan(50);

    // What the crashed server committed: a superset of what it acknowledged.
    const db = new Database(path.join(dir, 'staging.db'), { readonly: true });
    const stored = new Set((db.prepare('SELECT event_id FROM webhook_inbox').all() as Array<{ event_id: string }>).map((r) => r.event_id));
    db.close();
    for (const id of acked) expect(stored.has(id), id).toBe(true);
    for (const id of stored) expect(sent.has(id)).toBe(true);

    // Phase 2: restart with the worker; wait until the inbox is drained; SIGTERM.
    const second = await startServer('receive.yaml', dir);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      const processed = Number(/partnersync_webhook_inbox_depth\{status="processed"\} (\d+)/.exec(metrics)?.[1] ?? -1);
      if (processed === stored.size) break;
      if (Date.now() > deadline) throw new Error(`not drained: ${metrics}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);

    const counts = new Map<string, number>();
    for (const k of forwarded) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(new Set(counts.keys())).toEqual(new Set([...stored].map((id) => `crossbeam:${id}`)));
    const after = new Database(path.join(dir, 'staging.db'), { readonly: true });
    expect(after.prepare("SELECT status, attempts, COUNT(*) AS n FROM webhook_inbox GROUP BY status, attempts").all()).toEqual([{ status: 'processed', attempts: 1, n: stored.size }]);
    after.close();
  });
});
