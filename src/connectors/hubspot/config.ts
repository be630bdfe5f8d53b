import { z } from 'zod';
import { secret } from '../../config/secrets.js';
import { HttpSettings } from '../shared/config-common.js';

const PropertyList = z.array(z.string().min(1)).optional();

export const HubspotConfig = z.object({
  type: z.literal('hubspot'),
  ...HttpSettings,
  accessToken: secret(z.string().min(1)).describe('Private-app access token.'),
  requestsPerTenSeconds: z.number().int().positive().default(100),
  searchRequestsPerSecond: z.number().int().positive().default(4).describe("The search endpoints' own allowance (HubSpot: 5/s per account)."),
  /** Properties read on top of the built-in ones; a property the portal does not have is an error. */
  properties: z
    .object({ companies: PropertyList, contacts: PropertyList, deals: PropertyList })
    .strict()
    .default({})
    .describe('Extra properties per object type.'),
  pageSize: z.number().int().min(1).max(100).default(100),
  overlapMinutes: z
    .number()
    .min(0)
    .default(5)
    .describe('Incremental reads start this many minutes before the last run (the search index lags writes by seconds).'),
});
export type HubspotConfig = z.infer<typeof HubspotConfig>;
