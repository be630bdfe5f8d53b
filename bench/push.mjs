#!/usr/bin/env node
/**
 * bench/push: N changed records pushed through the real push engine (`pushTargets`: ledger diff,
 * batching, rate governor, retries) and the real SDKs to each emulator, then a no-change re-run.
 *
 *   npx tsc -p tsconfig.build.json && node bench/push.mjs [--target hubspot|salesforce|intercom|all] [--n 100000]
 *       [--hubspot-rate 100/1000] [--intercom-rate 1000/1000] [--bulk-threshold 2000]
 *
 * Prints per target: write calls (engine write() calls and the emulator's own count of write
 * requests), records/s, wall time against the rate limit's lower bound ⌈calls/limit⌉ × window, the
 * no-change re-run's write calls and time, and peak RSS. Asserts nothing. Data is generated, never
 * read from disk. The emulator runs in this process (same event loop, same RSS), which makes the
 * figures conservative. Rates are `requests/windowMs` of the emulator; the connection is configured
 * with the same allowance, as a user would configure it for their portal/workspace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const N = Number(opt('n', 100_000));
const which = opt('target', 'all');
const parseRate = (s) => {
  const [r, w] = s.split('/').map(Number);
  return { requests: r, windowMs: w };
};
const hubspotRate = parseRate(opt('hubspot-rate', '100/1000'));
const intercomRate = parseRate(opt('intercom-rate', '1000/1000'));
const bulkThreshold = Number(opt('bulk-threshold', 2000));

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const load = async (p) =>
  import(dist(p)).catch((e) => {
    console.error('dist/ is missing or stale: run `npx tsc -p tsconfig.build.json` first.\n', e.message);
    process.exit(1);
  });
const { validateConfig } = await load('config/load.js');
const { openStaging } = await load('staging/db.js');
const { RunLog } = await load('staging/runs.js');
const { pushTargets } = await load('push/push-targets.js');

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
sampler.unref();

/** Deterministic model rows; `gen` changes every value so the whole set is "changed". */
function rows(n, gen) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { account_id: `acc-${String(i).padStart(7, '0')}`, name: `Account ${i} g${gen}`, seats: (i * 7 + gen) % 10_000 };
  return out;
}

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

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function bench(name, setup) {
  peakRss = 0;
  const emu = await setup.start();
  try {
    await withStaging(async (staging, dir) => {
      const tree = { connections: { dest: setup.connection(emu.url) }, targets: { t: { connection: 'dest', model: 'accounts', ...setup.target } } };
      await setModel(staging, rows(N, 1));
      const before = emu.calls(setup.writeRoute);
      const first = await push(staging, dir, tree);
      const emuCalls = emu.calls(setup.writeRoute) - before;
      const rerunBefore = setup.writeRoutes.reduce((n, r) => n + emu.calls(r), 0);
      const again = await push(staging, dir, tree);
      const rerunCalls = setup.writeRoutes.reduce((n, r) => n + emu.calls(r), 0) - rerunBefore;
      const c = first.t.counts;
      console.log(`\n${name}: ${N} changed records`);
      console.log(`  sent ${c.sent}, created ${c.created}, updated ${c.updated}, rejected ${c.rejected}, 429s waited ${first.t.rateLimited}, retries ${first.t.retries}`);
      console.log(`  write calls: engine ${first.t.writeCalls}, emulator ${setup.writeRoute} ${emuCalls}${setup.expectedCalls ? ` (expected ${setup.expectedCalls(N)})` : ''}`);
      if (setup.extra) console.log(`  ${setup.extra(emu)}`);
      console.log(`  wall ${fmt(first.ms)}, ${Math.round((c.sent / first.ms) * 1000)} records/s`);
      if (setup.rate) {
        const calls = setup.requests ? setup.requests(emu) : emuCalls;
        const bound = Math.ceil(calls / setup.rate.requests) * setup.rate.windowMs;
        console.log(`  rate limit ${setup.rate.requests}/${setup.rate.windowMs} ms: lower bound ⌈${calls}/${setup.rate.requests}⌉ × ${setup.rate.windowMs} ms = ${fmt(bound)}; wall/bound = ${(first.ms / bound).toFixed(3)}`);
      }
      console.log(`  no-change re-run: ${again.t.counts.unchanged} unchanged, ${rerunCalls} write calls, ${fmt(again.ms)}`);
      console.log(`  peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB (emulator included)`);
    });
  } finally {
    await emu.stop();
  }
}

const targets = which === 'all' ? ['hubspot', 'salesforce', 'intercom'] : which.split(',');

if (targets.includes('hubspot')) {
  const { start, DEFAULT_HUBSPOT_TOKEN } = await load('emulators/hubspot/index.js');
  await bench('HubSpot (batch upsert by a unique property)', {
    start: () =>
      start({
        seedData: { properties: { companies: [{ name: 'partnersync_account_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation', label: 'id' }] } },
        rateLimit: { max: hubspotRate.requests, intervalMs: hubspotRate.windowMs, daily: 10_000_000 },
      }),
    connection: (url) => ({ type: 'hubspot', baseUrl: url, accessToken: DEFAULT_HUBSPOT_TOKEN, requestsPerTenSeconds: Math.floor((hubspotRate.requests * 10_000) / hubspotRate.windowMs) }),
    target: { object: 'companies', key: { source: 'account_id', destination: 'partnersync_account_id' }, fields: { name: 'name', numberofemployees: { source: 'seats', type: 'number' } } },
    writeRoute: 'companies-batch-upsert',
    writeRoutes: ['companies-batch-upsert', 'companies-batch-create', 'companies-batch-update'],
    expectedCalls: (n) => Math.ceil(n / 100),
    rate: hubspotRate,
  });
}

if (targets.includes('salesforce')) {
  const { start, DEFAULT_CLIENT, DEFAULT_USER } = await load('emulators/salesforce/index.js');
  await bench(`Salesforce (Bulk API 2.0 above ${bulkThreshold} records)`, {
    start: async () => {
      const emu = await start({
        seedData: { fields: { Account: [{ name: 'Account_Id__c', type: 'string', externalId: true, unique: true }, { name: 'Seats__c', type: 'double' }] } },
        dailyApiLimit: 10_000_000,
      });
      emu.state.bulkPollsToComplete = 1;
      return emu;
    },
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
    target: { object: 'Account', key: { source: 'account_id', destination: 'Account_Id__c' }, fields: { Name: 'name', Seats__c: { source: 'seats', type: 'number' } } },
    writeRoute: N > bulkThreshold ? 'bulk2-ingest-create' : 'collections-upsert',
    writeRoutes: ['bulk2-ingest-create', 'collections-upsert', 'collections-update', 'collections-create'],
    expectedCalls: (n) => (n > bulkThreshold ? Math.ceil(n / 100_000) : Math.ceil(n / 200)),
    extra: (emu) => `bulk jobs ${emu.calls('bulk2-ingest-create')}, collections ${emu.calls('collections-upsert')}, all API requests ${emu.state.apiUsed}`,
  });
}

if (targets.includes('intercom')) {
  const { start, DEFAULT_INTERCOM_TOKEN } = await load('emulators/intercom/index.js');
  await bench('Intercom (companies upsert by company_id, one request per record)', {
    start: () => start({ rateLimit: { limit: intercomRate.requests, windowMs: intercomRate.windowMs } }),
    connection: (url) => ({
      type: 'intercom',
      baseUrl: url,
      accessToken: DEFAULT_INTERCOM_TOKEN,
      requestsPerTenSeconds: Math.floor((intercomRate.requests * 10_000) / intercomRate.windowMs),
      concurrency: 8,
    }),
    target: { object: 'companies', key: { source: 'account_id', destination: 'company_id' }, fields: { name: 'name', size: { source: 'seats', type: 'number' } } },
    writeRoute: 'companies-create-or-update',
    writeRoutes: ['companies-create-or-update', 'companies-update', 'contacts-create', 'contacts-update'],
    expectedCalls: (n) => n,
    rate: intercomRate,
  });
}
