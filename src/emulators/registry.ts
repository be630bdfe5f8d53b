import type { Emulator, EmulatorStartOptions } from './shared/types.js';

/** Emulators by service id, loaded lazily so starting one never loads the others. */
export const emulatorIds = ['salesforce', 'hubspot', 'intercom', 'crossbeam', 'snowflake'] as const;
export type EmulatorId = (typeof emulatorIds)[number];

type EmulatorModule = { start(opts: EmulatorStartOptions): Promise<Emulator<unknown>> };

const loaders: Readonly<Record<EmulatorId, () => Promise<unknown>>> = Object.freeze({
  salesforce: () => import('./salesforce/index.js'),
  hubspot: () => import('./hubspot/index.js'),
  intercom: () => import('./intercom/index.js'),
  crossbeam: () => import('./crossbeam/index.js'),
  snowflake: () => import('./snowflake/index.js'),
});

export async function loadEmulator(id: EmulatorId): Promise<EmulatorModule> {
  return (await loaders[id]()) as EmulatorModule;
}
