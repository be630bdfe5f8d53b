import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, stagingRows, startWorld, type World } from './world.js';

/**
 * A pipeline whose config holds secrets only as ${ENV} references: none of the values may show up in
 * stdout, stderr, JSON logs, the run log (`runs`, `run_events`), the rejects table and files, or error
 * messages — including the error of a service that echoes the bearer token back in its 401 body.
 */

let w: World;
let echo: http.Server;
let echoUrl: string;
let echoed = 0;
const echoToken = `echo-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  ensureBuilt();
  w = await startWorld({ accounts: 12 });
  // An "Intercom" that refuses every token and quotes it back, as some APIs and proxies do.
  echo = http.createServer((req, res) => {
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (token) echoed += 1;
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'error.list', request_id: 'r1', errors: [{ code: 'unauthorized', message: `Access Token Invalid: ${token} (Authorization: Bearer ${token})` }] }));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
}, 300_000);
afterAll(async () => {
  await new Promise((r) => echo?.close(r));
  await w?.stop();
});

describe('secrets never leave the process', () => {
  it('appear in no output, log, run log, rejects file or error message', async () => {
    const doc = parse(fs.readFileSync(w.config, 'utf8')) as Record<string, any>;
    // Rejected records (a non-number mapped as a number) so rejects are written too.
    doc.targets.intercom_companies.fields.partner_count = { source: 'partner_names', type: 'number' };
    fs.writeFileSync(path.join(w.dir, 'with-rejects.yaml'), stringify(doc));
    doc.connections.intercom_echo = { type: 'intercom', baseUrl: '${ECHO_BASE_URL}', accessToken: '${ECHO_ACCESS_TOKEN}', maxRetries: 0 };
    doc.targets.echo_companies = { ...doc.targets.intercom_companies, connection: 'intercom_echo' };
    fs.writeFileSync(path.join(w.dir, 'with-echo.yaml'), stringify(doc));
    const env = { ECHO_BASE_URL: echoUrl, ECHO_ACCESS_TOKEN: echoToken };

    const outputs: string[] = [];
    const keep = <R extends { stdout: string; stderr: string }>(r: R): R => {
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const ok = keep(await runCli(w, ['--config', 'with-rejects.yaml', 'run', '--log-format', 'json', '--max-reject-rate', '1'], env));
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.readdirSync(path.join(w.dir, '.partnersync', 'rejects')).length).toBeGreaterThan(0);

    const failed = keep(await runCli(w, ['--config', 'with-echo.yaml', 'run', '--json', '--max-reject-rate', '1'], env));
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).error.message).toMatch(/Access Token Invalid: \[redacted\]/);
    const failedJsonLogs = keep(await runCli(w, ['--config', 'with-echo.yaml', 'run', '--log-format', 'json', '--from', 'push', '--max-reject-rate', '1'], { ...env, PARTNERSYNC_DEBUG: '1' }));
    expect(failedJsonLogs.code).toBe(1);

    const check = keep(await runCli(w, ['--config', 'with-echo.yaml', 'check', '--json'], env));
    expect(check.code).toBe(1);
    const problem = JSON.parse(check.stdout).result.problems.find((p: any) => p.connection === 'intercom_echo');
    expect(problem.kind).toBe('auth');
    expect(problem.message).toMatch(/\[redacted\]/);
    keep(await runCli(w, ['--config', 'with-echo.yaml', 'check'], env));
    // The service did get the token and did quote it: the redaction above is what hid it.
    expect(echoed).toBeGreaterThan(0);

    keep(await runCli(w, ['--config', 'with-echo.yaml', 'status', '--json'], env));
    keep(await runCli(w, ['--config', 'with-echo.yaml', 'status'], env));
    for (const { id } of stagingRows(w, 'SELECT id FROM runs')) {
      keep(await runCli(w, ['--config', 'with-echo.yaml', 'runs', 'show', id], env));
      keep(await runCli(w, ['--config', 'with-echo.yaml', 'runs', 'show', id, '--json'], env));
    }

    const stored = [
      JSON.stringify(stagingRows(w, 'SELECT * FROM runs')),
      JSON.stringify(stagingRows(w, 'SELECT * FROM run_events')),
      JSON.stringify(stagingRows(w, 'SELECT * FROM rejects')),
      JSON.stringify(stagingRows(w, 'SELECT * FROM sync_ledger')),
    ];
    const rejectsDir = path.join(w.dir, '.partnersync', 'rejects');
    const files = fs.readdirSync(rejectsDir).map((f) => fs.readFileSync(path.join(rejectsDir, f), 'utf8'));
    expect(stored[1]).toMatch(/\[redacted\]/);

    const secrets = [...Object.values(w.secrets), echoToken];
    const haystack = [...outputs, ...stored, ...files];
    for (const s of secrets) {
      for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]) {
        const where = haystack.findIndex((h) => h.includes(form));
        expect(where, `secret found in ${where < outputs.length ? `output #${where}` : where < outputs.length + stored.length ? 'the staging tables' : 'a rejects file'}`).toBe(-1);
      }
    }
  }, 150_000);
});
