/**
 * The one error tree of partnersync. Everything that can reach the user is a PartnersyncError with a
 * stable `code`, an optional `hint` (what to do next) and the process exit code it maps to. Only
 * `src/main.ts` turns these into output and an exit status; commands throw, they never exit.
 *
 * @example
 *   throw new ConfigError(['staging.url: expected a string, got number'], { file: 'partnersync.yaml' });
 *   throw new RetriableError('HubSpot answered 429', { retryAfterMs: 10_000 });
 */

/** Exit codes, as documented in the README and ARCHITECTURE.md. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  rejectsOverLimit: 3,
  locked: 4,
  sigint: 130,
  sigterm: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface PartnersyncErrorOptions {
  code?: string;
  hint?: string;
  exitCode?: number;
  cause?: unknown;
}

export class PartnersyncError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, opts: PartnersyncErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? 'PARTNERSYNC_ERROR';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.failed;
  }
}

/** Bad command-line usage: unknown flag values, missing arguments, a command that is not built yet. */
export class UsageError extends PartnersyncError {
  constructor(message: string, opts: Omit<PartnersyncErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'USAGE', ...opts, exitCode: ExitCode.usage });
  }
}

/** Every problem of a config file at once, each as `path: message`. */
export class ConfigError extends PartnersyncError {
  readonly problems: string[];
  constructor(problems: string[], opts: { file?: string; hint?: string; cause?: unknown } = {}) {
    const where = opts.file ? ` in ${opts.file}` : '';
    super(`Invalid configuration${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      code: 'CONFIG_INVALID',
      exitCode: ExitCode.usage,
      hint: opts.hint,
      cause: opts.cause,
    });
    this.problems = problems;
  }
}

/** Bad input data (a file, a row, a record). Names where the problem is. */
export class InputError extends PartnersyncError {
  constructor(message: string, opts: Omit<PartnersyncErrorOptions, 'exitCode'> & { exitCode?: number } = {}) {
    super(message, { code: 'INPUT_INVALID', exitCode: ExitCode.usage, ...opts });
  }
}

/** Credentials refused or missing: retrying will not help. */
export class AuthError extends PartnersyncError {
  constructor(message: string, opts: Omit<PartnersyncErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'AUTH_FAILED', ...opts, exitCode: ExitCode.failed });
  }
}

/** A transient failure (429, 5xx, connection reset): the caller may retry, after `retryAfterMs` if known. */
export class RetriableError extends PartnersyncError {
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  constructor(message: string, opts: PartnersyncErrorOptions & { retryAfterMs?: number; status?: number } = {}) {
    super(message, { code: 'RETRIABLE', ...opts });
    this.retryAfterMs = opts.retryAfterMs;
    this.status = opts.status;
  }
}

/** A failure that retrying will not fix (4xx other than 401/403/408/429, a protocol violation). */
export class FatalError extends PartnersyncError {
  readonly status: number | undefined;
  constructor(message: string, opts: PartnersyncErrorOptions & { status?: number } = {}) {
    super(message, { code: 'FATAL', ...opts });
    this.status = opts.status;
  }
}

/** Another run holds the staging lock. */
export class LockedError extends PartnersyncError {
  constructor(message: string, opts: Omit<PartnersyncErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'LOCKED', ...opts, exitCode: ExitCode.locked });
  }
}

/** The run finished, but more records were rejected than `--max-reject-rate` allows. */
export class RejectsOverLimitError extends PartnersyncError {
  constructor(message: string, opts: Omit<PartnersyncErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'REJECTS_OVER_LIMIT', ...opts, exitCode: ExitCode.rejectsOverLimit });
  }
}

/** The run was stopped by a signal after checkpointing; exit 130 (SIGINT) or 143 (SIGTERM). */
export class InterruptedError extends PartnersyncError {
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`Interrupted by ${signal}; progress up to the last confirmed batch is saved. Re-run to resume.`, {
      code: 'INTERRUPTED',
      exitCode: signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm,
    });
  }
}

export function isPartnersyncError(e: unknown): e is PartnersyncError {
  return e instanceof PartnersyncError;
}
