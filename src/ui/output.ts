import { redact, redactDeep } from '../config/secrets.js';

/**
 * All user-facing output goes through here, redacted. Three audiences:
 * - a person at a terminal: ora spinners and counts on stderr, a readable result on stdout;
 * - a script or CI log: plain lines, no spinners, no colour (also when NO_COLOR is set);
 * - a machine: `--json` puts exactly one JSON document on stdout; `--log-format json` makes every
 *   log line on stderr a JSON object.
 */
export interface Progress {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
}

export interface Output {
  readonly json: boolean;
  readonly tty: boolean;
  readonly color: boolean;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
  progress(label: string): Progress;
  /** The command's result: the JSON document with --json, the human rendering otherwise. */
  result(data: unknown, human?: string | (() => string)): void;
}

export interface OutputOptions {
  json?: boolean;
  logFormat?: 'text' | 'json';
  quiet?: boolean;
  color?: boolean;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  env?: Record<string, string | undefined>;
}

type OraFactory = (opts: { text: string; stream: NodeJS.WritableStream; color?: string | false }) => {
  start(): { text: string; succeed(t?: string): void; fail(t?: string): void };
};

export async function createOutput(opts: OutputOptions = {}): Promise<Output> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const env = opts.env ?? process.env;
  const json = Boolean(opts.json);
  const jsonLogs = opts.logFormat === 'json';
  const tty = Boolean(stderr.isTTY) && !env.CI;
  const color = opts.color !== false && !('NO_COLOR' in env) && tty && !jsonLogs;
  // A pseudo-terminal without a size (`script`, `docker run -t` in some CI) reports 0 columns: ora
  // would try to clear an infinite number of wrapped lines and spin forever. Plain lines there.
  const spinners = tty && !json && !jsonLogs && !opts.quiet && ((stderr as { columns?: number }).columns ?? 0) > 0;
  // ora is only loaded for an interactive terminal; scripts and CI never pay for it.
  const ora: OraFactory | undefined = spinners ? ((await import('ora')).default as unknown as OraFactory) : undefined;

  const paint = (code: number, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const line = (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => {
    if (opts.quiet && level === 'info') return;
    const msg = redact(message);
    if (jsonLogs) {
      stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...(data ? redactDeep(data) : {}) })}\n`);
      return;
    }
    const prefix = level === 'warn' ? paint(33, 'warning: ') : level === 'error' ? paint(31, 'error: ') : '';
    stderr.write(`${prefix}${msg}\n`);
  };

  return {
    json,
    tty,
    color,
    info: (m, d) => line('info', m, d),
    warn: (m, d) => line('warn', m, d),
    error: (m, d) => line('error', m, d),
    progress(label) {
      if (ora) {
        // ora colours its spinner itself: tell it when colour is off (NO_COLOR, --no-color).
        const s = ora({ text: redact(label), stream: stderr, color: color ? 'cyan' : false }).start();
        return {
          update: (t) => (s.text = redact(`${label} ${t}`)),
          succeed: (t) => s.succeed(redact(t ?? label)),
          fail: (t) => s.fail(redact(t ?? label)),
        };
      }
      // Non-interactive: no per-update noise, one line when the step ends.
      return {
        update: () => undefined,
        succeed: (t) => line('info', t ?? label),
        fail: (t) => line('error', t ?? label),
      };
    },
    result(data, human) {
      if (json) {
        stdout.write(`${JSON.stringify(redactDeep(data), null, 2)}\n`);
        return;
      }
      const text = typeof human === 'function' ? human() : (human ?? (typeof data === 'string' ? data : JSON.stringify(data, null, 2)));
      if (text) stdout.write(`${redact(text)}${text.endsWith('\n') ? '' : '\n'}`);
    },
  };
}

/** A fixed-width text table for terminal results. */
export function table(rows: Array<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const fmt = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(cols), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => fmt(cols.map((c) => cell(r[c]))))].join('\n');
}
