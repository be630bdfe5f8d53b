#!/usr/bin/env node
// `npm run quickstart`: run the quickstart pipeline (fixtures/quickstart) on the embedded SQLite staging
// and show where the results are. Re-running it is incremental: the second run reports unchanged rows.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin', 'partnersync.js');
const config = path.join('fixtures', 'quickstart', 'partnersync.yaml');

const r = spawnSync(process.execPath, [bin, 'run', '--config', config, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

const outDir = path.join(root, 'out', 'quickstart');
const files = fs.existsSync(outDir) ? fs.readdirSync(outDir).sort() : [];
console.log(`\nResults in ${path.relative(process.cwd(), outDir) || '.'}/: ${files.join(', ')}`);
const jsonl = path.join(outDir, 'matched-partner-signals.jsonl');
if (fs.existsSync(jsonl)) {
  const rows = fs.readFileSync(jsonl, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  console.log(`${rows.length} matched partner signals, e.g.:`);
  for (const row of rows.slice(0, 3)) console.log(`  ${row.partner} (${row.population}): ${row.partner_record_name} → ${row.account_id} ${row.account_name} [${row.matched_by}]`);
}
console.log('Inspect the run: npx partnersync status --config fixtures/quickstart/partnersync.yaml');
