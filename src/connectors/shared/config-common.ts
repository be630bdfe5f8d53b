import { z } from 'zod';

/**
 * Settings every HTTP connector accepts. `baseUrl` points a connection at an emulator or a proxy
 * (`partnersync emulate hubspot` prints the URL to put here).
 */
export const HttpSettings = {
  baseUrl: z.url().optional().describe('Override the API base URL (an emulator, a proxy, a sandbox).'),
  timeoutMs: z.number().int().positive().default(60_000).describe('Per-request timeout.'),
  maxRetries: z.number().int().min(0).max(20).default(6).describe('Retries for 429, 5xx and network errors.'),
};
