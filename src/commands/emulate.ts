import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { emulatorIds, loadEmulator } from '../emulators/registry.js';

export interface EmulateOptions {
  args: unknown[];
  port?: number;
  host?: string;
  seed?: string;
  faults?: string;
  faultSeed?: number;
}

/** `partnersync emulate <service>`: serve until SIGINT/SIGTERM, then stop cleanly. */
export async function emulate(ctx: CommandContext, opts: EmulateOptions): Promise<void> {
  const service = String(opts.args[0] ?? '');
  if (!(emulatorIds as readonly string[]).includes(service)) {
    throw new UsageError(`unknown service "${service}" (one of ${emulatorIds.join(', ')})`);
  }
  const mod = await loadEmulator(service as (typeof emulatorIds)[number]);
  let emu;
  try {
    emu = await mod.start({ port: opts.port, host: opts.host, seed: opts.seed, faults: opts.faults, faultSeed: opts.faultSeed });
  } catch (err) {
    throw new UsageError(`cannot start the ${service} emulator: ${(err as Error).message}`, { cause: err });
  }
  ctx.out.result({ service, url: emu.url }, `${service} emulator listening on ${emu.url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await emu.stop();
  ctx.out.info(`${service} emulator stopped after ${emu.requests.length} requests`);
}
