// Timing a child process for the benchmarks that run programs (bench/extract-csv.mjs,
// bench/match-files.mjs): wall time, CPU time and peak RSS, the last two read from /proc (Linux).
//
//   const { seconds, cpu, peak, stdout } = await timed('sqlite3', ['x.db'], { input: '.tables\n' });
//
// And what every bench script needs: numbered flags (`numberArg`) and the built code (`importDist`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** Peak resident set size (VmHWM) of a running process, in bytes; 0 once it is gone. */
export function peakOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// CPU seconds (user + system) of a running process from /proc/<pid>/stat, in clock ticks of 1/100 s
// (Linux's USER_HZ). Wall time on a shared machine mostly measures the load; CPU time is what the
// programs compared actually cost, so both are printed.
export function cpuOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Runs `cmd` to its end: resolves with its wall seconds, CPU seconds, peak RSS and stdout, rejects when
 * it exits non-zero. `opts.input`: text written to its stdin (else stdin is closed); other options go
 * to `spawn`.
 */
export function timed(cmd, args, opts = {}) {
  const { input, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { ...spawnOpts, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin.end(input);
    let peak = 0;
    let cpu = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // Sampled, so the last ≤ 50 ms of CPU before exit are not counted.
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakOf(child.pid));
      cpu = Math.max(cpu, cpuOf(child.pid));
    }, 50);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, peak, cpu, stdout });
    });
  });
}

/** `--name N` from the command line as a number, or `dflt`. */
export function numberArg(args, name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
}

/**
 * Imports a module of the built code (`dist/<rel>`, e.g. `matching/engine.js`); exits 2 with the build
 * command when dist/ is missing or stale, rather than timing nothing.
 */
export async function importDist(rel) {
  try {
    return await import(new URL(`../dist/${rel}`, import.meta.url).href);
  } catch (e) {
    console.error(`dist/${rel} is missing or stale: build first with \`npx tsc -p tsconfig.build.json\`\n${e.message}`);
    process.exit(2);
  }
}
