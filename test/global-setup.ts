import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Tests that spawn the CLI run `dist/`. Build it once, before any test file starts, when it is older
 * than the sources (`npm test` has just built it; a lone `npx vitest run test/x` may not have). Building
 * here and nowhere else means no test ever spawns the CLI while another rewrites dist/.
 */
const repo = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const main = path.join(repo, 'dist', 'main.js');
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newestMtime(path.join(repo, 'src'))) return;
  const r = spawnSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: repo, encoding: 'utf8' });
  if (!fs.existsSync(main)) throw new Error(`building dist/ failed:\n${r.stdout}${r.stderr}`);
  // tsc may leave unchanged outputs untouched: mark the build as current.
  const now = new Date();
  fs.utimesSync(main, now, now);
}
