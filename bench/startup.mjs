#!/usr/bin/env node
// Median start time of `partnersync --help` against bare `node -e ''` in the same run.
// Run: npm run build && node bench/startup.mjs [runs]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 21);
const bin = fileURLToPath(new URL('../bin/partnersync.js', import.meta.url));

function time(args) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  return { median: q(0.5), p90: q(0.9), min: samples[0] };
}

const baseline = time(['-e', '']);
const help = time([bin, '--help']);
const fmt = (x) => `median ${x.median.toFixed(1)} ms  p90 ${x.p90.toFixed(1)} ms  min ${x.min.toFixed(1)} ms`;
console.log(`runs: ${runs}`);
console.log(`baseline  node -e ''            ${fmt(baseline)}`);
console.log(`partnersync --help              ${fmt(help)}`);
console.log(`overhead over bare node (median) ${(help.median - baseline.median).toFixed(1)} ms`);
console.log(`target: median under 300 ms → ${help.median < 300 ? 'met' : 'NOT met'}`);
