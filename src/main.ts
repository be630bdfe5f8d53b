import { createRequire } from 'node:module';
import { CommanderError } from 'commander';
import { buildProgram } from './cli.js';
import type { CommandContext, GlobalOptions } from './commands/context.js';
import { ExitCode, isPartnersyncError } from './errors.js';
import { redact, redactDeep } from './config/secrets.js';

/**
 * The one error boundary. Commands throw; this turns a PartnersyncError into `✖ message` + `hint:`
 * and its exit code, commander's usage errors into exit 2, and anything unexpected into a redacted
 * stack with a request to report it.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    signals += 1;
    // Second signal: the user means it. Exit without waiting for the batch in flight.
    if (signals > 1) process.exit(sig === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
    process.stderr.write(`\n${sig}: finishing the current batch, then stopping (press again to force)…\n`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let json = false;
  const program = buildProgram({
    version,
    async makeContext(globals: GlobalOptions): Promise<CommandContext> {
      json = Boolean(globals.json);
      const { createOutput } = await import('./ui/output.js');
      const out = await createOutput({ json: globals.json, logFormat: globals.logFormat, quiet: globals.quiet, color: globals.color });
      return { out, cwd: process.cwd(), env: process.env, globals, signal: controller.signal };
    },
  });

  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with a CommanderError of exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (isPartnersyncError(err)) {
      // A command that finished but failed its bar (exit 3) attaches its result: still ONE JSON document.
      const result = (err as { result?: unknown }).result;
      if (json) process.stdout.write(`${JSON.stringify({ ...(result !== undefined ? { result: redactDeep(result) } : {}), error: { code: err.code, message: redact(err.message), hint: err.hint ?? null, exitCode: err.exitCode } }, null, 2)}\n`);
      process.stderr.write(`✖ ${redact(err.message)}\n`);
      if (err.hint) process.stderr.write(`  hint: ${redact(err.hint)}\n`);
      if (process.env.PARTNERSYNC_DEBUG && err.cause) process.stderr.write(`${redact(String((err.cause as Error)?.stack ?? err.cause))}\n`);
      return err.exitCode;
    }
    const stack = String((err as Error)?.stack ?? err).split(process.cwd()).join('.');
    // --json promises one document on stdout, failures included.
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'UNEXPECTED', message: redact(String((err as Error)?.message ?? err)), hint: 'this is a bug in partnersync; please report it', exitCode: ExitCode.failed } }, null, 2)}\n`);
    process.stderr.write(`✖ Unexpected error: ${redact(stack)}\n  This is a bug in partnersync; please report it with the command you ran.\n`);
    return ExitCode.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
