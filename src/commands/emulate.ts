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
  const credentials = emulatorCredentials(service, emu as unknown as Record<string, unknown>, mod as unknown as Record<string, unknown>);
  ctx.out.result({ service, url: emu.url, credentials }, [
    `${service} emulator listening on ${emu.url} (Ctrl-C to stop)`,
    ...Object.entries(credentials).map(([k, v]) => `  ${k}: ${v}`),
  ].join('\n'));
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await emu.stop();
  ctx.out.info(`${service} emulator stopped after ${emu.requests.length} requests`);
}

/**
 * The emulator's built-in test credentials, printed so a user can point a connection at it. These are
 * fixed, public test values of the emulator, not secrets of anyone's.
 */
function emulatorCredentials(service: string, emu: Record<string, unknown>, mod: Record<string, unknown>): Record<string, string> {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (service) {
    case 'salesforce': {
      const c = (mod.DEFAULT_CLIENT ?? {}) as Record<string, unknown>;
      const u = (mod.DEFAULT_USER ?? {}) as Record<string, unknown>;
      return { clientId: str(c.clientId), clientSecret: str(c.clientSecret), username: str(u.username), password: str(u.password) };
    }
    case 'hubspot':
      return { accessToken: str(mod.DEFAULT_HUBSPOT_TOKEN) };
    case 'intercom':
      return { accessToken: str(mod.DEFAULT_INTERCOM_TOKEN) };
    case 'crossbeam':
      return { organization: str(emu.orgUuid), clientId: str(emu.clientId), clientSecret: str(emu.clientSecret) };
    case 'snowflake':
      return { username: 'PARTNERSYNC', password: 'partnersync', database: 'PARTNERSYNC', schema: 'PUBLIC' };
    default:
      return {};
  }
}
