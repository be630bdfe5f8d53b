#!/usr/bin/env node
/**
 * bench/push: N changed records pushed through the real push engine (`pushTargets`: ledger diff,
 * batching, rate governor, retries) and the real SDKs to each emulator, then a no-change re-run of
 * the same N rows.
 *
 *   npx tsc -p tsconfig.build.json && node bench/push.mjs [--target hubspot|salesforce|intercom|all] [--n 100000]
 *       [--hubspot-rate 100/1000] [--intercom-rate 1000/1000] [--bulk-threshold 2000] [--in-process]
 *
 * Prints per target: write calls (engine write() calls and the emulator's own count of write
 * requests), records/s, wall time against the rate limit's lower bound (⌈requests/limit⌉ − 1) × window
 * (every request the emulator served during the push counts, since the limit covers them all),
 * the no-change re-run's write calls and time, and peak RSS, then one verdict line per acceptance
 * figure of issue 7. Data is generated, never read from disk.
 *
 * The emulator runs in a child process (so the engine's RSS and CPU are measured apart from the
 * emulator's); `--in-process` runs it in this process as before. Rates are `requests/windowMs` of
 * the emulator; the connection is configured with the same allowance, as a user would configure
 * it for their portal/workspace. The emulators' own defaults (the real services' limits) are
 * HubSpot 100/10000 and Intercom 83/10000.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { importDist } from './child.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const flag = (name) => args.includes(`--${name}`);

const N = Number(opt('n', 100_000));
const which = opt('target', 'all');
const parseRate = (s) => {
  const [r, w] = s.split('/').map(Number);
  return { requests: r, windowMs: w };
};
const hubspotRate = parseRate(opt('hubspot-rate', '100/1000'));
const intercomRate = parseRate(opt('intercom-rate', '1000/1000'));
const bulkThreshold = Number(opt('bulk-threshold', 2000));
const inProcess = flag('in-process');

/** Peak RSS since the last reset, sampled every 50 ms (`memoryUsage.rss()` is the cheap form). */
function rssSampler() {
  let peak = 0;
  const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()));
  setInterval(sample, 50).unref();
  return { reset: () => ((peak = 0), sample()), peak: () => (sample(), peak) };
}

const EMULATOR_MODULES = { hubspot: 'emulators/hubspot/index.js', salesforce: 'emulators/salesforce/index.js', intercom: 'emulators/intercom/index.js' };

/**
 * The emulator behind one interface whether it runs in a child process or here:
 * `calls(routes)` → counts (undefined route = every request), `state(keys)`, `rssPeak()`.
 */
async function startEmulator(target, options, statePatch) {
  if (inProcess) {
    const { start } = await importDist(EMULATOR_MODULES[target]);
    const emu = await start(options);
    Object.assign(emu.state, statePatch ?? {});
    return {
      url: emu.url,
      calls: async (routes) => routes.map((r) => emu.calls(r)),
      state: async (keys) => Object.fromEntries(keys.map((k) => [k, emu.state[k]])),
      rssReset: async () => {},
      rssPeak: async () => undefined,
      stop: () => emu.stop(),
    };
  }
  const child = fork(fileURLToPath(import.meta.url), ['--emulator-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map();
  child.on('message', (m) => waiting.get(m.id)?.(m.value));
  const ask = (msg) =>
    new Promise((resolve) => {
      const id = ++next;
      waiting.set(id, (v) => (waiting.delete(id), resolve(v)));
      child.send({ ...msg, id });
    });
  const { url } = await ask({ op: 'start', target, options, statePatch });
  return {
    url,
    calls: (routes) => ask({ op: 'calls', routes: routes.map((r) => r ?? null) }),
    state: (keys) => ask({ op: 'state', keys }),
    rssReset: () => ask({ op: 'rss-reset' }),
    rssPeak: () => ask({ op: 'rss-peak' }),
    stop: async () => {
      await ask({ op: 'stop' });
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

/** Deterministic model rows; `gen` changes every value so the whole set is "changed". */
function rows(n, gen) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { account_id: `acc-${String(i).padStart(7, '0')}`, name: `Account ${i} g${gen}`, seats: (i * 7 + gen) % 10_000 };
  return out;
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mb = (b) => (b === undefined ? 'n/a' : `${(b / 1024 / 1024).toFixed(0)} MB`);
const verdict = (ok, text) => console.log(`  ${ok ? 'ok     ' : 'NOT OK '} ${text}`);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

async function main() {
  const { validateConfig } = await importDist('config/load.js');
  const { openStaging } = await importDist('staging/db.js');
  const { RunLog } = await importDist('staging/runs.js');
  const { pushTargets } = await importDist('push/push-targets.js');
  const rss = rssSampler();

  async function withStaging(fn) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-bench-push-'));
    const staging = await openStaging(`sqlite:${path.join(dir, 'staging.db')}`);
    try {
      return await fn(staging, dir);
    } finally {
      await staging.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  async function setModel(staging, data) {
    await staging.db.schema.dropTableIfExists('accounts');
    await staging.db.raw('create table accounts (account_id text primary key, name text, seats integer)');
    await staging.db.transaction(async (trx) => {
      for (let i = 0; i < data.length; i += 200) await trx('accounts').insert(data.slice(i, i + 200));
    });
  }

  async function push(staging, dir, tree) {
    const r = validateConfig(tree, {});
    if (r.problems.length) throw new Error(r.problems.join('\n'));
    const run = await RunLog.start(staging, 'push', {});
    const t0 = performance.now();
    const report = await pushTargets({ config: r.config, baseDir: dir, staging, run }, ['t'], { maxRejectRate: 0 });
    const ms = performance.now() - t0;
    await run.finish('succeeded', 0);
    return { t: report.targets[0], ms };
  }

  async function bench(name, setup) {
    const emu = await startEmulator(setup.target, setup.options, setup.statePatch);
    try {
      await withStaging(async (staging, dir) => {
        const tree = { connections: { dest: setup.connection(emu.url) }, targets: { t: { connection: 'dest', model: 'accounts', ...setup.targetConfig } } };
        await setModel(staging, rows(N, 1));
        const routes = [setup.writeRoute, ...setup.writeRoutes, undefined];
        const [w0, ...rest0] = await emu.calls(routes);
        const load0 = os.loadavg();
        rss.reset();
        await emu.rssReset();
        const first = await push(staging, dir, tree);
        const firstRss = rss.peak();
        const firstEmuRss = await emu.rssPeak();
        const [w1, ...rest1] = await emu.calls(routes);
        const emuCalls = w1 - w0;
        const firstRequests = rest1.at(-1) - rest0.at(-1);
        rss.reset();
        const again = await push(staging, dir, tree);
        const againRss = rss.peak();
        const [, ...rest2] = await emu.calls(routes);
        const rerunCalls = sum(rest2.slice(0, -1)) - sum(rest1.slice(0, -1));
        const c = first.t.counts;
        console.log(`\n${name}: ${N} changed records (load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${os.cpus().length} CPUs)`);
        console.log(`  sent ${c.sent}, created ${c.created}, updated ${c.updated}, rejected ${c.rejected}, 429s waited ${first.t.rateLimited}, retries ${first.t.retries}`);
        const expected = setup.expectedCalls?.(N);
        console.log(`  write calls: engine ${first.t.writeCalls}, emulator ${setup.writeRoute} ${emuCalls}${expected !== undefined ? ` (expected ${expected})` : ''}; all requests to the emulator ${firstRequests}`);
        if (setup.extra) console.log(`  ${await setup.extra(emu)}`);
        console.log(`  wall ${fmt(first.ms)}, ${Math.round((c.sent / first.ms) * 1000)} records/s`);
        let ratio;
        if (setup.rate) {
          // The emulators' limiters are fixed windows opened by the first request: R requests need
          // ⌈R/L⌉ windows, and the last one can be sent as soon as the last window opens.
          const windows = Math.ceil(firstRequests / setup.rate.requests);
          const bound = Math.max(1, windows - 1) * setup.rate.windowMs;
          ratio = first.ms / bound;
          console.log(
            `  rate limit ${setup.rate.requests}/${setup.rate.windowMs} ms: lower bound (⌈${firstRequests}/${setup.rate.requests}⌉ − 1) × ${setup.rate.windowMs} ms = ${fmt(bound)}; wall/bound = ${ratio.toFixed(3)}`,
          );
        }
        console.log(`  no-change re-run: ${again.t.counts.unchanged} unchanged, ${rerunCalls} write calls, ${fmt(again.ms)}`);
        console.log(`  peak RSS: engine ${mb(firstRss)} (push), ${mb(againRss)} (re-run); emulator ${inProcess ? 'in this process' : mb(firstEmuRss)}`);
        if (expected !== undefined) verdict(emuCalls === expected, `emulator write calls ${emuCalls} = expected ${expected}`);
        if (c.sent !== N) verdict(false, `sent ${c.sent} of ${N}`);
        if (ratio !== undefined) verdict(ratio <= 1.15, `wall/bound ${ratio.toFixed(3)} ≤ 1.15 (meaningful only when the rate limit, not CPU, is the bottleneck)`);
        verdict(rerunCalls === 0 && again.t.counts.unchanged === N, `no-change re-run: ${rerunCalls} write calls, ${again.t.counts.unchanged}/${N} unchanged`);
        verdict(again.ms < 10_000, `no-change re-run ${fmt(again.ms)} < 10 s`);
      });
    } finally {
      await emu.stop();
    }
  }

  const targets = which === 'all' ? ['hubspot', 'salesforce', 'intercom'] : which.split(',');

  if (targets.includes('hubspot')) {
    const { DEFAULT_HUBSPOT_TOKEN } = await importDist('emulators/hubspot/index.js');
    await bench('HubSpot (batch upsert by a unique property)', {
      target: 'hubspot',
      options: {
        seedData: { properties: { companies: [{ name: 'partnersync_account_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation', label: 'id' }] } },
        rateLimit: { max: hubspotRate.requests, intervalMs: hubspotRate.windowMs, daily: 10_000_000 },
      },
      connection: (url) => ({ type: 'hubspot', baseUrl: url, accessToken: DEFAULT_HUBSPOT_TOKEN, requestsPerTenSeconds: Math.floor((hubspotRate.requests * 10_000) / hubspotRate.windowMs) }),
      targetConfig: { object: 'companies', key: { source: 'account_id', destination: 'partnersync_account_id' }, fields: { name: 'name', numberofemployees: { source: 'seats', type: 'number' } } },
      writeRoute: 'companies-batch-upsert',
      writeRoutes: ['companies-batch-upsert', 'companies-batch-create', 'companies-batch-update'],
      expectedCalls: (n) => Math.ceil(n / 100),
      rate: hubspotRate,
    });
  }

  if (targets.includes('salesforce')) {
    const { DEFAULT_CLIENT, DEFAULT_USER } = await importDist('emulators/salesforce/index.js');
    await bench(`Salesforce (Bulk API 2.0 above ${bulkThreshold} records)`, {
      target: 'salesforce',
      options: {
        seedData: { fields: { Account: [{ name: 'Account_Id__c', type: 'string', externalId: true, unique: true }, { name: 'Seats__c', type: 'double' }] } },
        dailyApiLimit: 10_000_000,
      },
      statePatch: { bulkPollsToComplete: 1 },
      connection: (url) => ({
        type: 'salesforce',
        baseUrl: url,
        clientId: DEFAULT_CLIENT.clientId,
        clientSecret: DEFAULT_CLIENT.clientSecret,
        username: DEFAULT_USER.username,
        password: DEFAULT_USER.password,
        bulkThreshold,
        bulkPollIntervalMs: 200,
      }),
      targetConfig: { object: 'Account', key: { source: 'account_id', destination: 'Account_Id__c' }, fields: { Name: 'name', Seats__c: { source: 'seats', type: 'number' } } },
      writeRoute: N > bulkThreshold ? 'bulk2-ingest-create' : 'collections-upsert',
      writeRoutes: ['bulk2-ingest-create', 'collections-upsert', 'collections-update', 'collections-create'],
      expectedCalls: (n) => (n > bulkThreshold ? Math.ceil(n / 100_000) : Math.ceil(n / 200)),
      extra: async (emu) => {
        const [jobs, collections] = await emu.calls(['bulk2-ingest-create', 'collections-upsert']);
        const { apiUsed } = await emu.state(['apiUsed']);
        return `bulk jobs ${jobs}, collections ${collections}, all API requests ${apiUsed}`;
      },
    });
  }

  if (targets.includes('intercom')) {
    const { DEFAULT_INTERCOM_TOKEN } = await importDist('emulators/intercom/index.js');
    await bench('Intercom (companies upsert by company_id, one request per record)', {
      target: 'intercom',
      options: { rateLimit: { limit: intercomRate.requests, windowMs: intercomRate.windowMs } },
      connection: (url) => ({
        type: 'intercom',
        baseUrl: url,
        accessToken: DEFAULT_INTERCOM_TOKEN,
        requestsPerTenSeconds: Math.floor((intercomRate.requests * 10_000) / intercomRate.windowMs),
        concurrency: 8,
      }),
      targetConfig: { object: 'companies', key: { source: 'account_id', destination: 'company_id' }, fields: { name: 'name', size: { source: 'seats', type: 'number' } } },
      writeRoute: 'companies-create-or-update',
      writeRoutes: ['companies-create-or-update', 'companies-update', 'contacts-create', 'contacts-update'],
      expectedCalls: (n) => n,
      rate: intercomRate,
    });
  }
}

/** Child mode: start one emulator, answer the parent's questions about it over IPC. */
if (flag('emulator-child')) {
  const rss = rssSampler();
  let emu;
  process.on('message', async (m) => {
    const reply = (value) => process.send({ id: m.id, value });
    if (m.op === 'start') {
      const { start } = await importDist(EMULATOR_MODULES[m.target]);
      emu = await start(m.options);
      Object.assign(emu.state, m.statePatch ?? {});
      reply({ url: emu.url });
    } else if (m.op === 'calls') reply(m.routes.map((r) => emu.calls(r ?? undefined)));
    else if (m.op === 'state') reply(Object.fromEntries(m.keys.map((k) => [k, emu.state[k]])));
    else if (m.op === 'rss-reset') reply(rss.reset());
    else if (m.op === 'rss-peak') reply(rss.peak());
    else if (m.op === 'stop') {
      await emu.stop();
      reply(true);
      process.disconnect();
    }
  });
} else {
  await main();
}
