import { z } from 'zod';
import { AttributionConfig } from '../attribution/config.js';
import { DealsConfig } from '../deals/config.js';
import { ModelsConfig } from '../model/config.js';
import { TargetConfig } from '../push/config.js';
import { ServeConfig } from '../server/config.js';

/**
 * The schema of `partnersync.yaml`. Connection settings are validated per type afterwards
 * (see `load.ts`), so an unknown type gets a precise message instead of a union dump.
 * Sections owned by later steps (models, match, targets, serve, attribution) are typed by their own
 * modules' schemas as those steps are built; here they are the outer shape only.
 */
export const STAGING_URL_HINT = 'use sqlite:<file> (e.g. sqlite:.partnersync/staging.db) or postgres://user@host:5432/db';

export const StagingConfig = z.object({
  url: z
    .string({ error: (i) => (i.input === undefined ? 'required' : `expected a string (${STAGING_URL_HINT}), got ${typeof i.input}`) })
    .refine((u) => /^sqlite:/.test(u) || /^postgres(ql)?:\/\//.test(u), { message: STAGING_URL_HINT })
    .default('sqlite:.partnersync/staging.db'),
  /** A stale lock (holder gone) on another host is taken over after this long without a heartbeat. */
  lockStaleAfterSeconds: z.number().int().positive().default(600),
});

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'names use letters, digits, _ and -');

export const ExtractStep = z.object({
  connection: z.string().min(1),
  streams: z.array(z.string().min(1)).optional().describe('Streams to extract; all when omitted.'),
  fullRefresh: z.boolean().default(false),
});

export const PipelineConfig = z.object({
  steps: z.array(z.enum(['extract', 'model', 'match', 'push'])).default(['extract', 'model', 'match', 'push']),
  extract: z.array(ExtractStep).default([]),
  models: z.array(z.string()).optional().describe('Model selectors (`name`, `name+`, `+name`); all when omitted.'),
  push: z.array(z.string()).optional().describe('Targets to push; all when omitted.'),
});

export const RootConfig = z.object({
  version: z.literal(1).default(1),
  staging: StagingConfig.default({ url: 'sqlite:.partnersync/staging.db', lockStaleAfterSeconds: 600 }),
  connections: z.record(name, z.looseObject({ type: z.string({ error: 'required: the connector type' }) })).default({}),
  pipelines: z.record(name, PipelineConfig).default({}),
  models: ModelsConfig.prefault({}),
  match: z.looseObject({}).default({}),
  targets: z.record(name, TargetConfig).default({}),
  serve: ServeConfig.prefault({}),
  attribution: AttributionConfig.prefault({}),
  deals: DealsConfig.prefault({}),
});
export type RootConfig = z.infer<typeof RootConfig>;
