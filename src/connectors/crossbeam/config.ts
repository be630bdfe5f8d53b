import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

/** Filters of an overlap or signal feed; a bookmark is only valid for the filters it was issued with. */
const OverlapFilters = z
  .object({
    partnerId: z.string().min(1).optional().describe('Only overlaps with this partner (uuid or numeric id).'),
    populationIds: z.array(z.number().int()).optional().describe('Only overlaps of our records in these populations.'),
    partnerPopulationIds: z.array(z.number().int()).optional().describe("Only overlaps in these of the partners' populations."),
  })
  .strict();

const SignalFilters = z
  .object({
    eventTypes: z.array(z.string().min(1)).optional().describe('e.g. partner_deal_opened, partner_deal_closed_won.'),
    partnerIds: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const CrossbeamConfig = z.object({
  type: z.literal('crossbeam'),
  ...HttpSettings,
  baseUrl: z.url().default('https://api.crossbeam.com'),
  /** Defaults to Crossbeam's auth server for the real API, or `<baseUrl>/oauth/token` for an emulator or proxy. */
  tokenUrl: z.url().optional().describe('OAuth token endpoint (default https://auth.crossbeam.com/oauth/token).'),
  organization: z.string().min(1).describe('Crossbeam organization UUID (sent as Xbeam-Organization).'),
  clientId: z.string().optional(),
  clientSecret: secret(z.string()).optional(),
  refreshToken: secret(z.string()).optional(),
  accessToken: secret(z.string()).optional(),
  pageSize: z.number().int().min(1).max(1000).default(100),
  overlaps: OverlapFilters.default({}).describe('Filters for overlaps_accounts / overlaps_leads.'),
  signals: SignalFilters.default({}).describe('Filters for the signals_* streams.'),
});
export type CrossbeamConfig = z.infer<typeof CrossbeamConfig>;
