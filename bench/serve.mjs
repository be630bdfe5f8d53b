#!/usr/bin/env node
/**
 * bench/serve: how many signed webhook events per second `partnersync serve` accepts on loopback
 * with durable inbox writes (SQLite WAL staging, group commit), against a bare node:http server
 * answering 200 as the ceiling, both driven by the same load generator in this process.
 *
 *   npx tsc -p tsconfig.build.json && node bench/serve.mjs [--events 20000] [--seconds 10] [--concurrency 50] [--group-commit-ms 2] [--rounds 3] [--worker]
 *
 * Prints figures; asserts nothing about time. Each server runs in its own process (as in
 * production), events are pre-signed before the clock starts (signing is the sender's cost), and
 * each run stops at --events or --seconds, whichever comes first.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin', 'partnersync.js');
if (!fs.existsSync(path.join(root, 'dist', 'commands', 'serve.js'))) {
  console.error('build first: npx tsc -p tsconfig.build.json');
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1000' },
    worker: { type: 'boolean', default: false },
    'group-commit-ms': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const EVENTS = Number(args.events);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const SECRET = 'bench-webhook-secret';

function dealEvent(id) {
  return JSON.stringify({
    event_id: id,
    event_type: 'partner_deal_opened',
    triggered_at: new Date().toISOString(),
    record_type: 'account',
    record_id: `001${String(id).padStart(15, '0')}`,
    record_name: 'Acme Corporation',
    partner_id: 'c0ffee00-0000-4000-a000-000000000001',
    partner_name: 'Globex',
    populations: [{ id: 1, name: 'Customers', segment: 'customers' }],
    partner_populations: [{ id: 7, name: 'Open Opportunities', segment: 'opportunities' }],
    partner_data: { deal: { stage: 'Negotiation', is_closed: false, is_won: false, name: 'Acme renewal' } },
  });
}

/** Pre-signed requests: Crossbeam's scheme, base64(HMAC-SHA256(secret, body + timestamp)). */
function presign(n, prefix) {
  const ts = String(Math.floor(Date.now() / 1000));
  return Array.from({ length: n }, (_, i) => {
    const body = dealEvent(`${prefix}-${i}`);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-crossbeam-timestamp': ts,
        'x-crossbeam-signature-256': crypto.createHmac('sha256', SECRET).update(body + ts).digest('base64'),
      },
    };
  });
}

function spawnServer(argv, env = {}) {
  const child = spawn(process.execPath, argv, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], output: () => out });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

/** Send `requests` to `url` with `concurrency` keep-alive connections; returns throughput and latencies. */
async function load(url, requests, { concurrency, seconds }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  const statuses = new Map();
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  const one = (r) =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: r.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          resolve();
        });
      });
      req.on('error', () => {
        statuses.set('error', (statuses.get('error') ?? 0) + 1);
        resolve();
      });
      req.end(r.body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length && Date.now() < deadline) await one(requests[next++]);
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const ok = statuses.get(200) ?? 0;
  return { sent: latencies.length, ok, statuses: Object.fromEntries(statuses), seconds: elapsed, perSecond: ok / elapsed, p50: pct(50), p99: pct(99) };
}

/** CPU seconds a process has used (Linux /proc; undefined elsewhere): contention-proof cost per event. */
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

async function measured(child, url, requests) {
  const before = cpuSeconds(child.pid);
  const r = await load(url, requests, { concurrency: CONCURRENCY, seconds: SECONDS });
  const after = cpuSeconds(child.pid);
  r.cpu = before === undefined || after === undefined ? undefined : after - before;
  r.perCpuSecond = r.cpu ? r.ok / r.cpu : undefined;
  return r;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-bench-serve-'));
const children = [];
try {
  // Ceiling: a bare node:http server that reads the body and answers 200.
  const bareCode = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, {'content-type': 'application/json'}); s.end('{}'); }); }).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });`;
  const bare = await spawnServer(['-e', bareCode]);
  children.push(bare.child);

  // partnersync serve: verify, dedupe, commit to the SQLite WAL inbox before answering.
  fs.writeFileSync(
    path.join(dir, 'partnersync.yaml'),
    [
      'staging: { url: sqlite:staging.db }',
      'serve:',
      '  port: 0',
      `  groupCommitMs: ${Number(args['group-commit-ms'])}`,
      '  sources:',
      "    crossbeam: { scheme: crossbeam, secret: '${BENCH_SECRET}' }",
      `  worker: { enabled: ${args.worker ? 'true' : 'false'} }`,
    ].join('\n'),
  );
  const ps = await spawnServer([bin, 'serve', '--config', path.join(dir, 'partnersync.yaml')], { BENCH_SECRET: SECRET });
  children.push(ps.child);

  await load(`${bare.url}/`, presign(WARMUP, 'warm-bare'), { concurrency: CONCURRENCY, seconds: SECONDS });
  await load(`${ps.url}/webhooks/crossbeam`, presign(WARMUP, 'warm'), { concurrency: CONCURRENCY, seconds: SECONDS });
  // Other processes share this machine: alternate the two servers round by round and compare medians.
  const ceilings = [];
  const serves = [];
  for (let round = 0; round < ROUNDS; round++) {
    ceilings.push(await measured(bare.child, `${bare.url}/`, presign(EVENTS, `bare-${round}`)));
    serves.push(await measured(ps.child, `${ps.url}/webhooks/crossbeam`, presign(EVENTS, `evt-${round}`)));
  }
  await stopServer(bare.child);
  await stopServer(ps.child);

  const Database = (await import('better-sqlite3')).default;
  const db = new Database(path.join(dir, 'staging.db'), { readonly: true });
  const stored = db.prepare("SELECT COUNT(*) AS n FROM webhook_inbox WHERE event_id LIKE 'evt-%'").get().n;
  const journal = db.pragma('journal_mode', { simple: true });
  db.close();

  const fmt = (r) => `${r.perSecond.toFixed(0).padStart(7)} events/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   (${r.ok}/${r.sent} ok in ${r.seconds.toFixed(2)} s)`;
  const pick = (runs) => runs.find((r) => r.perSecond === median(runs.map((x) => x.perSecond)));
  const c = pick(ceilings);
  const s = pick(serves);
  const acked = serves.reduce((n, r) => n + r.ok, 0);
  console.log(`bench/serve — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}, node ${process.version}, concurrency ${CONCURRENCY}, ${ROUNDS} rounds of up to ${EVENTS} events or ${SECONDS} s`);
  const cpu = (r) => (r.perCpuSecond ? `, ${r.perCpuSecond.toFixed(0)} per server CPU-second` : '');
  for (let i = 0; i < ROUNDS; i++) {
    console.log(`  round ${i + 1}: bare ${ceilings[i].perSecond.toFixed(0)}/s${cpu(ceilings[i])}; serve ${serves[i].perSecond.toFixed(0)}/s${cpu(serves[i])} (${((serves[i].perSecond / ceilings[i].perSecond) * 100).toFixed(0)}% of bare)`);
  }
  console.log(`bare node:http 200 (ceiling, median):  ${fmt(c)}`);
  console.log(`partnersync serve (durable, median):   ${fmt(s)}`);
  console.log(`  verified + committed to the SQLite inbox (journal ${journal}, group commit ${Number(args['group-commit-ms'])} ms): ${stored} of ${acked} acknowledged events found after stop`);
  console.log(`  share of ceiling (medians): ${((s.perSecond / c.perSecond) * 100).toFixed(0)}%   statuses: ${JSON.stringify(s.statuses)}`);
  const cpuMed = (runs) => median(runs.map((r) => r.perCpuSecond ?? NaN));
  if (serves[0].perCpuSecond) {
    console.log(`  server CPU cost (medians): bare ${cpuMed(ceilings).toFixed(0)} requests per CPU-second, serve ${cpuMed(serves).toFixed(0)} events per CPU-second (${((cpuMed(serves) / cpuMed(ceilings)) * 100).toFixed(0)}%)`);
  }
} finally {
  for (const ch of children) if (ch.exitCode === null) ch.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
