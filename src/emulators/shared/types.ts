import type { RequestLogEntry } from './server.js';
import type { FaultInjector } from './faults.js';

/** Options every emulator's `start()` accepts (also the flags of `partnersync emulate <service>`). */
export interface EmulatorStartOptions {
  port?: number;
  host?: string;
  /** Path of a JSON (or, where the service documents it, CSV) seed file. */
  seed?: string;
  /** Seed data given directly (tests). */
  seedData?: unknown;
  /** Fault spec, see `faults.ts`. */
  faults?: string;
  faultSeed?: number;
}

/**
 * What every emulator's `start()` returns.
 * @example
 *   const sf = await startSalesforce({ seedData: { Account: [...] } });
 *   // point jsforce at sf.url ... then:
 *   expect(sf.calls('sobject-collections-upsert')).toBe(1);
 *   await sf.stop();
 */
export interface Emulator<State> {
  url: string;
  state: State;
  requests: RequestLogEntry[];
  calls(routeName?: string): number;
  faults: FaultInjector;
  /** A JSON-serialisable copy of the current state. */
  dump(): unknown;
  stop(): Promise<void>;
}
