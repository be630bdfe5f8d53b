#!/usr/bin/env node
// Matching throughput: N generated accounts × M generated signals through the engine (from dist/), and in the
// same run the exact-domain join of the same data in SQLite (better-sqlite3), for comparison.
//
//   npx tsc -p tsconfig.build.json && node bench/match.mjs [--accounts N] [--signals M] [--rounds K] [--no-sql]
//   node bench/match.mjs --accounts 1000000 --signals 1000000
//
// Each of the K rounds (default 3) times the engine and then the SQL side on the same inputs, and the
// summary gives the median of each figure and of the per-round ratio. On a shared machine one run of
// either side swings by a third from one minute to the next (seen: the engine 7.1-10.4 s and the SQL
// side 5.4-7.7 s within ten minutes), so a single pair of figures says little about which is faster;
// rounds that alternate the two sides see the same weather.
//
// Prints figures; asserts nothing. Data is generated deterministically (seeded), never read from disk, as
// flat strings, the form a CSV reader or database driver returns (see `flat` in match-data.mjs), for both sides, and all of
// it before either side's clock starts.
// The SQL side gets pre-normalised domains (its best case: no URL parsing, no names, no hierarchy); the
// engine gets raw, messy inputs and does all of its work.
//
// What each figure includes (wall time, and CPU time of this process next to it):
//   engine index       createMatcher(accounts): policy, free-mail list, the whole account index.
//   engine match       matcher.match() on M signals, one full MatchResult each (explanation included).
//   sqlite load        inserting (account_id, domain) × N and (signal_id, domain) × M into an in-memory
//                      database in two transactions. Both sides start from rows in JS memory: the engine
//                      from record objects, SQLite from bound parameters (the same signal strings).
//   sqlite index       CREATE INDEX on accounts(domain).
//   sqlite join        stepping through every row of signals JOIN accounts ON domain.
//   index+join         the SQL side without its load (the figure compared in earlier versions).
//   load+index+join    the SQL side starting from the same in-memory data as the engine.
// Peak RSS is the process maximum: after the engine's first round (before any SQL ran), then after all
// rounds, which also counts earlier rounds' indexes not yet collected. Both include the generated inputs
// held in memory (a streaming run holds one signal at a time). The engine's first round also pays for
// compiling its code and loading the public-suffix rules (a visible share at 100k, not at 1M).
// Earlier versions generated the signals and the SQL rows inside the timed loops and subtracted the
// generation timed alone: a generator this heavy (seeded rng, template literals, a Buffer round trip per
// string) pollutes the caches and feeds the collector, so the subtraction left part of its cost in both
// sides' figures and made them swing from run to run (the SQL load by 2.0-4.2 s).
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { importDist, numberArg } from './child.mjs';
import { matchData } from './match-data.mjs';

const args = process.argv.slice(2);
const N = numberArg(args, 'accounts', 300_000);
const M = numberArg(args, 'signals', 300_000);
const withSql = !args.includes('--no-sql');
const rounds = Math.max(1, numberArg(args, 'rounds', 3));

const { createMatcher } = await importDist('matching/engine.js');

// --- deterministic generator (bench/match-data.mjs, shared with match-files.mjs and match-staged.mjs) --
const { account, signal, domainOf, flat } = matchData(N);

const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

// --- inputs ---------------------------------------------------------------------------------------
// The machine is shared: print the load average, so wall times from different runs are read with care
// (CPU time and the engine/SQL ratio of the same run are the comparable figures).
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`partnersync match bench: ${N.toLocaleString()} accounts × ${M.toLocaleString()} signals (node ${process.version}); load average ${load()}`);
let t0 = performance.now();
const accounts = new Array(N);
for (let i = 0; i < N; i++) accounts[i] = account(i);
const tGen = performance.now() - t0;

// The signals too, before the index: generated after it, they would be the engine's garbage to trace.
// The SQL side binds the same strings.
t0 = performance.now();
const signals = new Array(M);
for (let j = 0; j < M; j++) signals[j] = signal(j);
const tSigGen = performance.now() - t0;

// CPU time next to wall time: the machine is shared, and CPU time says what the engine itself cost.
const cpu = () => process.cpuUsage().user / 1000;
const { default: Database } = withSql ? await import('better-sqlite3') : { default: null };

console.log(`generated accounts in ${secs(tGen)}, signals in ${secs(tSigGen)} (not counted)`);

// The SQL side's rows, like the engine's inputs, exist before its clock starts: the account rows are
// made before its first round (after the engine's first, so they are not in the engine's peak RSS), the
// signal rows are the engine's own generated signals.
let aIds;
let aDomains;
function sqlRows() {
  aIds = new Array(N);
  aDomains = new Array(N);
  for (let i = 0; i < N; i++) {
    aIds[i] = flat(`A${i}`);
    aDomains[i] = flat(domainOf(i));
  }
}

// --- one round of each side ------------------------------------------------------------------------
function engineRound() {
  let t0 = performance.now();
  let c0 = cpu();
  const matcher = createMatcher(accounts, {});
  const tIndex = performance.now() - t0;
  const cIndex = cpu() - c0;
  const counts = { matched: 0, review: 0, unmatched: 0 };
  t0 = performance.now();
  c0 = cpu();
  for (let j = 0; j < M; j++) counts[matcher.match(signals[j].rec).status]++;
  const tMatch = performance.now() - t0;
  const cMatch = cpu() - c0;
  return { tIndex, tMatch, cIndex, cMatch, wall: tIndex + tMatch, cpu: cIndex + cMatch, counts };
}

function sqlRound() {
  if (!aIds) sqlRows();
  const db = new Database(':memory:');
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.exec('CREATE TABLE accounts (account_id TEXT, domain TEXT); CREATE TABLE signals (signal_id TEXT, domain TEXT);');
  const insA = db.prepare('INSERT INTO accounts VALUES (?, ?)');
  const insS = db.prepare('INSERT INTO signals VALUES (?, ?)');
  let t0 = performance.now();
  let c0 = cpu();
  db.transaction(() => {
    for (let i = 0; i < N; i++) insA.run(aIds[i], aDomains[i]);
  })();
  db.transaction(() => {
    for (let j = 0; j < M; j++) insS.run(signals[j].rec.signalId, signals[j].sqlDomain);
  })();
  const tLoad = performance.now() - t0;
  const cLoad = cpu() - c0;
  t0 = performance.now();
  c0 = cpu();
  db.exec('CREATE INDEX accounts_domain ON accounts(domain)');
  const tIdx = performance.now() - t0;
  t0 = performance.now();
  let joined = 0;
  for (const _ of db.prepare('SELECT s.signal_id, a.account_id FROM signals s JOIN accounts a ON a.domain = s.domain').iterate()) joined++;
  const tJoin = performance.now() - t0;
  const cSql = cpu() - c0;
  db.close();
  return { tLoad, tIdx, tJoin, cLoad, cSql, joined, wall: tLoad + tIdx + tJoin, cpu: cLoad + cSql, joinWall: tIdx + tJoin };
}

const ratio = (engine, sql) => `${(engine / sql).toFixed(2)}×`;
const engineRuns = [];
const sqlRuns = [];
let rssEngine = 0;
for (let r = 1; r <= rounds; r++) {
  const e = engineRound();
  engineRuns.push(e);
  // The engine's own peak: after its first round, before any SQL ran (later rounds add the garbage of
  // earlier indexes not collected yet).
  if (r === 1) rssEngine = process.resourceUsage().maxRSS;
  let line = `round ${r}/${rounds}  engine ${secs(e.wall)} (index ${secs(e.tIndex)}, match ${secs(e.tMatch)}; CPU ${secs(e.cpu)})`;
  if (withSql) {
    const q = sqlRound();
    sqlRuns.push(q);
    line += `  sqlite load+index+join ${secs(q.wall)} (load ${secs(q.tLoad)}, index ${secs(q.tIdx)}, join ${secs(q.tJoin)}; CPU ${secs(q.cpu)})  → engine ${ratio(e.wall, q.wall)}`;
  }
  console.log(line);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = (runs, f) => median(runs.map(f));
const range = (runs, f) => `${secs(Math.min(...runs.map(f)))}–${secs(Math.max(...runs.map(f)))}`;
const e0 = engineRuns[0];
const engineMs = med(engineRuns, (e) => e.wall);
const tMatch = med(engineRuns, (e) => e.tMatch);
console.log(`medians of ${rounds} round(s):`);
console.log(`engine  index ${secs(med(engineRuns, (e) => e.tIndex))}  match ${secs(tMatch)}  (total ${range(engineRuns, (e) => e.wall)} over the rounds)`);
console.log(`engine  total ${secs(engineMs)}  → ${Math.round(M / (tMatch / 1000)).toLocaleString()} signals/s matching, ${Math.round(M / (engineMs / 1000)).toLocaleString()} signals/s incl. index`);
console.log(`engine  CPU time: index ${secs(med(engineRuns, (e) => e.cIndex))}  match ${secs(med(engineRuns, (e) => e.cMatch))}  total ${secs(med(engineRuns, (e) => e.cpu))}`);
console.log(`engine  matched ${e0.counts.matched}  review ${e0.counts.review}  unmatched ${e0.counts.unmatched}`);
console.log(`engine  peak RSS ${mb(rssEngine)} (first round, before any SQL)`);
if (withSql) {
  const q0 = sqlRuns[0];
  const pair = (f) => engineRuns.map((e, i) => f(e, sqlRuns[i]));
  console.log(`sqlite  load ${secs(med(sqlRuns, (q) => q.tLoad))}  index ${secs(med(sqlRuns, (q) => q.tIdx))}  join ${secs(med(sqlRuns, (q) => q.tJoin))} (${q0.joined} rows)`);
  console.log(`sqlite  CPU time: load ${secs(med(sqlRuns, (q) => q.cLoad))}  index+join ${secs(med(sqlRuns, (q) => q.cSql))}`);
  console.log(
    `sqlite  index+join       ${secs(med(sqlRuns, (q) => q.joinWall))} wall, ${secs(med(sqlRuns, (q) => q.cSql))} CPU  → engine is ${median(pair((e, q) => e.wall / q.joinWall)).toFixed(2)}× the SQL wall, ${median(pair((e, q) => e.cpu / q.cSql)).toFixed(2)}× CPU (median of the rounds' ratios)`,
  );
  console.log(
    `sqlite  load+index+join  ${secs(med(sqlRuns, (q) => q.wall))} wall, ${secs(med(sqlRuns, (q) => q.cpu))} CPU  → engine is ${median(pair((e, q) => e.wall / q.wall)).toFixed(2)}× the SQL wall, ${median(pair((e, q) => e.cpu / q.cpu)).toFixed(2)}× CPU (median of the rounds' ratios; rounds ${pair((e, q) => (e.wall / q.wall).toFixed(2)).join(', ')})`,
  );
  console.log(`engine  index+match      ${secs(engineMs)} wall, ${secs(med(engineRuns, (e) => e.cpu))} CPU`);
  console.log(`process peak RSS ${mb(process.resourceUsage().maxRSS)} (after both)`);
}
console.log(`load average at the end ${load()}`);
