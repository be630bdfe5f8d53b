import { startServer, json, WindowLimiter, type EmulatorRequest, type EmulatorResponse, type Route } from '../shared/server.js';
import type { Emulator, EmulatorStartOptions } from '../shared/types.js';
import { readSeed } from '../shared/seed.js';
import {
  HubSpotState,
  HUBSPOT_OBJECT_TYPES,
  OBJECT_TYPE_IDS,
  DEFAULT_READ_PROPERTIES,
  ALWAYS_RETURNED,
  PROPERTY_TYPES,
  FIELD_TYPES,
  normalizeObjectType,
  stringifyProps,
  defaultAssociationTypes,
  v3TypeName,
  v3TypeIdFromName,
  type HubSpotObjectType,
  type HubSpotRecord,
  type HubSpotSeed,
  type HubSpotPropertyDef,
  type HubSpotAssociation,
} from './hubspot-state.js';
import { matches, matchesQuery, parseSorts, sortRecords, SEARCH_LIMITS, SEARCH_OPERATORS, type SearchFilterGroup } from './hubspot-search.js';
import {
  hsError,
  validationError,
  propertyProblemsMessage,
  recordPropertyError,
  recordError,
  tenSecondlyBody,
  secondlyBody,
  dailyBody,
  AUTH_MISSING_MESSAGE,
  type StandardError,
} from './hubspot-errors.js';

export { HubSpotState } from './hubspot-state.js';
export type { HubSpotSeed, HubSpotRecord, HubSpotPropertyDef, HubSpotAssociation, HubSpotObjectType } from './hubspot-state.js';

/**
 * HubSpot CRM v3/v4 emulator for `@hubspot/api-client` 13.
 *
 * Point the real client at it with `new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url })`.
 *
 * Route names (for `faults` rules like `500:x2@companies-batch-upsert` and `emu.calls(name)`):
 *   `<type>-list | -get | -create | -update | -archive | -search | -batch-read | -batch-create |
 *   -batch-update | -batch-upsert | -batch-archive` for type in companies, contacts, deals;
 *   `properties-list | -get | -create | -update | -archive`;
 *   `associations-v4-list | -create | -create-default | -archive | -batch-create | -batch-default |
 *   -batch-read | -batch-archive`; `associations-v3-batch-create | -batch-read | -batch-archive`.
 *
 * @example
 *   const hs = await start({ seedData: { companies: [{ name: 'Acme', domain: 'acme.com' }] }, rateLimit: { max: 5, intervalMs: 200 } });
 *   const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: hs.url });
 *   await client.crm.companies.basicApi.getPage(10);
 *   await hs.stop();
 */

export const DEFAULT_HUBSPOT_TOKEN = 'pat-na1-emulator-token';

export interface HubSpotStartOptions extends EmulatorStartOptions {
  seedData?: HubSpotSeed;
  /** Private-app tokens that authenticate (default `[DEFAULT_HUBSPOT_TOKEN]`, plus `tokens` from the seed). */
  tokens?: string[];
  /** Tokens answered with HubSpot's EXPIRED_AUTHENTICATION 401. */
  expiredTokens?: string[];
  /** The burst limit: `max` requests per `intervalMs` (default 100 per 10 000 ms); `daily` (default 250 000). */
  rateLimit?: { max?: number; intervalMs?: number; daily?: number };
  /** The search endpoints' own limit (default 5 per 1 000 ms). */
  searchRateLimit?: { max?: number; intervalMs?: number };
  /** How deep search may page (default 10 000, HubSpot's cap). */
  searchResultCap?: number;
  portalId?: number;
  /** Clock for record timestamps (tests). */
  now?: () => number;
}

export interface HubSpotEmulator extends Emulator<HubSpotState> {
  /** Valid tokens; tests may add or remove at run time. */
  tokens: Set<string>;
  expiredTokens: Set<string>;
}

const MAX_BATCH = 100;
const LIST_MAX = 100;

export async function start(opts: HubSpotStartOptions = {}): Promise<HubSpotEmulator> {
  const state = new HubSpotState(opts.now);
  let seed: HubSpotSeed | undefined = opts.seedData;
  if (!seed && opts.seed) seed = await readSeed<HubSpotSeed>(opts.seed);
  if (seed) state.seed(seed);
  const tokens = new Set(opts.tokens ?? [DEFAULT_HUBSPOT_TOKEN]);
  for (const t of seed?.tokens ?? []) tokens.add(t);
  const expiredTokens = new Set(opts.expiredTokens ?? []);
  const portalId = opts.portalId ?? 12345678;
  const limiter = new WindowLimiter(opts.rateLimit?.max ?? 100, opts.rateLimit?.intervalMs ?? 10_000);
  const searchLimiter = new WindowLimiter(opts.searchRateLimit?.max ?? 5, opts.searchRateLimit?.intervalMs ?? 1_000);
  const dailyMax = opts.rateLimit?.daily ?? 250_000;
  let dailyUsed = 0;
  const searchCap = opts.searchResultCap ?? 10_000;
  let baseUrl = '';
  const rateHeaders = new WeakMap<EmulatorRequest, Record<string, string | number>>();

  const isSearch = (req: EmulatorRequest) => req.routeName.endsWith('-search');

  const before = (req: EmulatorRequest): EmulatorResponse | undefined => {
    if (req.routeName === 'not-found') return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    const token = m?.[1]?.trim();
    if (token && expiredTokens.has(token)) {
      return hsError(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired 1 day(s) ago.', {
        context: { 'expire time': [new Date(Date.now() - 86_400_000).toUTCString()] },
      });
    }
    if (!token || !tokens.has(token)) return hsError(401, 'INVALID_AUTHENTICATION', AUTH_MISSING_MESSAGE);
    if (isSearch(req)) {
      // Search has its own per-second allowance and sends no X-HubSpot-RateLimit-* headers.
      if (!searchLimiter.take().allowed) return json(429, secondlyBody());
      return undefined;
    }
    if (dailyUsed >= dailyMax) return json(429, dailyBody(), headers(0, limiter.windowMs, limiter.limit));
    const take = limiter.take();
    if (!take.allowed) return json(429, tenSecondlyBody(), headers(0, limiter.windowMs, take.limit));
    dailyUsed += 1;
    rateHeaders.set(req, headers(take.remaining, limiter.windowMs, take.limit));
    return undefined;
  };

  function headers(remaining: number, intervalMs: number, max: number): Record<string, string | number> {
    return {
      'X-HubSpot-RateLimit-Daily': dailyMax,
      'X-HubSpot-RateLimit-Daily-Remaining': Math.max(0, dailyMax - dailyUsed),
      'X-HubSpot-RateLimit-Interval-Milliseconds': intervalMs,
      'X-HubSpot-RateLimit-Max': max,
      'X-HubSpot-RateLimit-Remaining': remaining,
    };
  }

  const withHeaders =
    (h: (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>) =>
    async (req: EmulatorRequest): Promise<EmulatorResponse> => {
      const out = await h(req);
      const extra = rateHeaders.get(req);
      return extra ? { ...out, headers: { ...extra, ...(out.headers ?? {}) } } : out;
    };

  // ---- helpers -------------------------------------------------------------------------------

  const nowIso = () => new Date().toISOString();

  function queryList(req: EmulatorRequest, name: string): string[] {
    return req.query.getAll(name).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  }

  function present(type: HubSpotObjectType, rec: HubSpotRecord, requested?: string[], associations?: HubSpotObjectType[]): Record<string, unknown> {
    let names: string[];
    if (requested === undefined || requested.length === 0) names = DEFAULT_READ_PROPERTIES[type];
    else names = [...new Set([...requested.filter((n) => state.properties[type].has(n)), ...ALWAYS_RETURNED[type]])];
    const out: Record<string, unknown> = {
      id: rec.id,
      properties: Object.fromEntries(names.map((n) => [n, rec.properties[n] ?? null])),
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      archived: rec.archived,
    };
    if (rec.archivedAt) out.archivedAt = rec.archivedAt;
    if (associations?.length) {
      const assoc: Record<string, unknown> = {};
      for (const to of associations) {
        const list = state.associationsOf(type, rec.id, to);
        if (list.length) assoc[to] = { results: list.map((a) => ({ id: a.toId, type: v3TypeName(a.typeId, type, to) })) };
      }
      if (Object.keys(assoc).length) out.associations = assoc;
    }
    return out;
  }

  /** The record as written: every property that has a value. */
  function presentWritten(rec: HubSpotRecord): Record<string, unknown> {
    return { id: rec.id, properties: { ...rec.properties }, createdAt: rec.createdAt, updatedAt: rec.updatedAt, archived: rec.archived };
  }

  function notFound(id: string): EmulatorResponse {
    return hsError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', { context: { id: [id] } });
  }

  function badJson(req: EmulatorRequest): EmulatorResponse | undefined {
    if (req.bodyInvalid) return validationError('Invalid input JSON on line 1, column 1: Cannot build, some of required attributes are not set');
    return undefined;
  }

  function readInputs(req: EmulatorRequest): unknown[] | EmulatorResponse {
    const bad = badJson(req);
    if (bad) return bad;
    const body = req.body as { inputs?: unknown } | undefined;
    if (!body || !Array.isArray(body.inputs)) {
      return validationError('Invalid input JSON on line 1, column 1: Cannot build BatchInput, some of required attributes are not set [inputs]');
    }
    if (body.inputs.length > MAX_BATCH) {
      return validationError(
        `The maximum number of inputs supported in a batch request is ${MAX_BATCH}. Please reduce the number of items and try again`,
        { context: { inputs: [String(body.inputs.length)] } },
      );
    }
    return body.inputs;
  }

  function batchAnswer(results: unknown[], errors: StandardError[], okStatus: number, startedAt: string): EmulatorResponse {
    const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: nowIso() };
    if (errors.length) {
      body.numErrors = errors.length;
      body.errors = errors;
      return json(207, body);
    }
    return json(okStatus, body);
  }

  function nonUnique(type: HubSpotObjectType, property: string): EmulatorResponse {
    return validationError(`Unable to perform update/upsert by non-unique ${OBJECT_TYPE_IDS[type]} property ${property} in portal ID ${portalId}`);
  }

  /** A unique property value already held by another record, or undefined. */
  function uniqueClash(type: HubSpotObjectType, props: Record<string, string | null>, selfId?: string): { property: string; existing: HubSpotRecord } | undefined {
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === '' || !state.isUniqueKey(type, name)) continue;
      const existing = state.findBy(type, name, value);
      if (existing && existing.id !== selfId) return { property: name, existing };
    }
    return undefined;
  }

  function conflictMessage(type: HubSpotObjectType, clash: { property: string; existing: HubSpotRecord }): string {
    return type === 'contacts' && clash.property === 'email'
      ? `Contact already exists. Existing ID: ${clash.existing.id}`
      : `A ${type.slice(0, -1)} with the unique value of ${clash.property} already exists. Existing ID: ${clash.existing.id}`;
  }

  /** Resolves the target type of an association type id written on a record being created. */
  function toTypeFor(from: HubSpotObjectType, typeId: number): HubSpotObjectType | undefined {
    const primary: Record<number, string> = { 1: 'contacts>companies', 2: 'companies>contacts', 5: 'deals>companies', 6: 'companies>deals', 3: 'deals>contacts', 4: 'contacts>deals' };
    const viaPrimary = primary[typeId];
    if (viaPrimary?.startsWith(`${from}>`)) return viaPrimary.split('>')[1] as HubSpotObjectType;
    return HUBSPOT_OBJECT_TYPES.find((to) => defaultAssociationTypes(from, to)[0] === typeId);
  }

  // ---- object routes ---------------------------------------------------------------------------

  function objectRoutes(type: HubSpotObjectType): Route[] {
    const base = `/crm/v3/objects/${type}`;
    const defs = () => state.properties[type];

    const list: Route = {
      method: 'GET',
      path: base,
      name: `${type}-list`,
      handler: (req) => {
        const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 10) || 10, 1), LIST_MAX);
        const after = req.query.get('after');
        const archived = req.query.get('archived') === 'true';
        const all = state.list(type, archived);
        let startIdx = 0;
        if (after) {
          // `after` is the id of the next record: a plain digit string, so the client's URL-encoding leaves it intact.
          startIdx = all.findIndex((r) => Number(r.id) >= Number(after));
          if (startIdx < 0) startIdx = all.length;
        }
        const page = all.slice(startIdx, startIdx + limit);
        const next = all[startIdx + limit];
        const props = queryList(req, 'properties');
        const assoc = queryList(req, 'associations').map(normalizeObjectType).filter((t): t is HubSpotObjectType => !!t);
        const body: Record<string, unknown> = { results: page.map((r) => present(type, r, props, assoc)) };
        if (next) {
          body.paging = { next: { after: next.id, link: `${baseUrl}${base}?limit=${limit}&after=${next.id}` } };
        }
        return json(200, body);
      },
    };

    const get: Route = {
      method: 'GET',
      path: `${base}/:id`,
      name: `${type}-get`,
      handler: (req) => {
        const idProperty = req.query.get('idProperty') ?? undefined;
        if (idProperty && idProperty !== 'hs_object_id' && !state.isUniqueKey(type, idProperty)) return nonUnique(type, idProperty);
        const archived = req.query.get('archived') === 'true';
        const rec = archived ? state.records[type].get(req.params.id!) : state.get(type, req.params.id!, idProperty);
        if (!rec || rec.archived !== archived) return notFound(req.params.id!);
        const assoc = queryList(req, 'associations').map(normalizeObjectType).filter((t): t is HubSpotObjectType => !!t);
        return json(200, present(type, rec, queryList(req, 'properties'), assoc));
      },
    };

    const create: Route = {
      method: 'POST',
      path: base,
      name: `${type}-create`,
      handler: (req) => {
        const bad = badJson(req);
        if (bad) return bad;
        const body = (req.body ?? {}) as { properties?: Record<string, unknown>; associations?: unknown[] };
        const props = stringifyProps(body.properties ?? {});
        const problems = state.validate(type, props);
        if (problems.length) return validationError(propertyProblemsMessage(problems));
        const clash = uniqueClash(type, props);
        if (clash) return hsError(409, 'CONFLICT', conflictMessage(type, clash));
        const rec = state.create(type, props);
        const assocErr = writeAssociations(type, rec.id, body.associations);
        if (assocErr) return validationError(assocErr);
        return json(201, presentWritten(rec));
      },
    };

    const update: Route = {
      method: 'PATCH',
      path: `${base}/:id`,
      name: `${type}-update`,
      handler: (req) => {
        const bad = badJson(req);
        if (bad) return bad;
        const idProperty = req.query.get('idProperty') ?? undefined;
        if (idProperty && idProperty !== 'hs_object_id' && !state.isUniqueKey(type, idProperty)) return nonUnique(type, idProperty);
        const rec = state.get(type, req.params.id!, idProperty);
        if (!rec) return notFound(req.params.id!);
        const props = stringifyProps(((req.body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {});
        const problems = state.validate(type, props);
        if (problems.length) return validationError(propertyProblemsMessage(problems));
        const clash = uniqueClash(type, props, rec.id);
        if (clash) return hsError(409, 'CONFLICT', conflictMessage(type, clash));
        return json(200, presentWritten(state.update(type, rec, props)));
      },
    };

    const archive: Route = {
      method: 'DELETE',
      path: `${base}/:id`,
      name: `${type}-archive`,
      handler: (req) => {
        const rec = state.get(type, req.params.id!);
        if (rec) state.archive(type, rec);
        return { status: 204 };
      },
    };

    const search: Route = {
      method: 'POST',
      path: `${base}/search`,
      name: `${type}-search`,
      handler: (req) => {
        const bad = badJson(req);
        if (bad) return bad;
        const body = (req.body ?? {}) as { filterGroups?: SearchFilterGroup[]; sorts?: unknown; query?: string; properties?: string[]; limit?: number; after?: string };
        const groups = Array.isArray(body.filterGroups) ? body.filterGroups : [];
        const limit = body.limit ?? 10;
        if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit) {
          return validationError(`limit must be between 0 and ${SEARCH_LIMITS.maxLimit}, got ${String(body.limit)}`);
        }
        const total = groups.reduce((n, g) => n + (g.filters?.length ?? 0), 0);
        if (groups.length > SEARCH_LIMITS.groups || groups.some((g) => (g.filters?.length ?? 0) > SEARCH_LIMITS.filtersPerGroup) || total > SEARCH_LIMITS.filtersTotal) {
          return validationError(
            `Search allows at most ${SEARCH_LIMITS.groups} filterGroups with at most ${SEARCH_LIMITS.filtersPerGroup} filters each and ${SEARCH_LIMITS.filtersTotal} filters in total.`,
            { subCategory: 'PublicSearchRequestValidation.TOO_MANY_FILTERS' },
          );
        }
        for (const g of groups) {
          for (const f of g.filters ?? []) {
            if (!SEARCH_OPERATORS.includes(f.operator as (typeof SEARCH_OPERATORS)[number])) {
              return validationError(`Invalid input JSON: operator "${f.operator}" is not one of ${SEARCH_OPERATORS.join(', ')}`);
            }
          }
        }
        const offset = body.after === undefined || body.after === null || body.after === '' ? 0 : Number(body.after);
        if (!Number.isInteger(offset) || offset < 0) return validationError(`after must be a non-negative integer offset, got "${String(body.after)}"`);
        // HubSpot serves at most the first 10 000 results of any search; paging beyond is a 400.
        if (offset + Math.max(limit, 1) > searchCap) {
          return validationError(
            `Search results are limited to ${searchCap} records: after=${offset} with limit=${limit} pages past the limit. Narrow the search with filters (for example on hs_object_id or hs_lastmodifieddate) and page again.`,
            { subCategory: 'PublicSearchRequestValidation.PAGING_LIMIT_EXCEEDED' },
          );
        }
        const searchable = type === 'contacts' ? ['email', 'firstname', 'lastname', 'phone', 'company'] : type === 'companies' ? ['name', 'domain', 'website', 'phone'] : ['dealname'];
        const found = state
          .list(type)
          .filter((r) => matches(r, groups, defs()) && (!body.query || matchesQuery(r, body.query, searchable)));
        const sorts = parseSorts(body.sorts);
        const sorted = sortRecords(found, sorts, defs());
        const page = sorted.slice(offset, offset + limit);
        const out: Record<string, unknown> = { total: sorted.length, results: page.map((r) => present(type, r, body.properties)) };
        if (offset + limit < sorted.length) out.paging = { next: { after: String(offset + limit) } };
        return json(200, out);
      },
    };

    const batchRead: Route = {
      method: 'POST',
      path: `${base}/batch/read`,
      name: `${type}-batch-read`,
      handler: (req) => {
        const startedAt = nowIso();
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const body = req.body as { idProperty?: string; properties?: string[] };
        const idProperty = body.idProperty;
        if (idProperty && idProperty !== 'hs_object_id' && !state.isUniqueKey(type, idProperty)) return nonUnique(type, idProperty);
        const archived = req.query.get('archived') === 'true';
        const results: unknown[] = [];
        const missing: string[] = [];
        for (const input of inputs as Array<{ id?: unknown }>) {
          const id = String(input?.id ?? '');
          const rec = archived ? state.records[type].get(id) : state.get(type, id, idProperty);
          if (rec && rec.archived === archived) results.push(present(type, rec, body.properties));
          else missing.push(id);
        }
        const errors = missing.length
          ? [recordError('OBJECT_NOT_FOUND', `Could not get some ${type.slice(0, -1).toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })]
          : [];
        return batchAnswer(results, errors, 200, startedAt);
      },
    };

    const batchCreate: Route = {
      method: 'POST',
      path: `${base}/batch/create`,
      name: `${type}-batch-create`,
      handler: (req) => {
        const startedAt = nowIso();
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const typed = inputs as Array<{ properties?: Record<string, unknown>; associations?: unknown[]; objectWriteTraceId?: string }>;
        // A unique value that already exists rejects the whole batch (HubSpot answers 409 CONFLICT, naming the first one).
        const seen = new Map<string, string>();
        for (const input of typed) {
          const props = stringifyProps(input?.properties ?? {});
          const clash = uniqueClash(type, props);
          if (clash) return hsError(409, 'CONFLICT', conflictMessage(type, clash));
          for (const [k, v] of Object.entries(props)) {
            if (v && state.isUniqueKey(type, k)) {
              const key = `${k}\u0000${v.toLowerCase()}`;
              if (seen.has(key)) return validationError(`Duplicate values found for unique property ${k} in batch input: [${v}]`);
              seen.set(key, v);
            }
          }
        }
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        typed.forEach((input, i) => {
          const props = stringifyProps(input?.properties ?? {});
          const ctx: Record<string, string[]> = { inputIndex: [String(i)] };
          if (input?.objectWriteTraceId) ctx.objectWriteTraceId = [input.objectWriteTraceId];
          const problems = state.validate(type, props);
          if (problems.length) {
            errors.push(recordPropertyError(problems, ctx));
            return;
          }
          const rec = state.create(type, props);
          const assocErr = writeAssociations(type, rec.id, input?.associations);
          if (assocErr) errors.push(recordError('VALIDATION_ERROR', assocErr, { ...ctx, ids: [rec.id] }));
          const out = presentWritten(rec);
          if (input?.objectWriteTraceId) out.objectWriteTraceId = input.objectWriteTraceId;
          results.push(out);
        });
        return batchAnswer(results, errors, 201, startedAt);
      },
    };

    const batchUpdate: Route = {
      method: 'POST',
      path: `${base}/batch/update`,
      name: `${type}-batch-update`,
      handler: (req) => {
        const startedAt = nowIso();
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const typed = inputs as Array<{ id?: unknown; idProperty?: string; properties?: Record<string, unknown>; objectWriteTraceId?: string }>;
        for (const input of typed) {
          const idp = input?.idProperty;
          if (idp && idp !== 'hs_object_id' && !state.isUniqueKey(type, idp)) return nonUnique(type, idp);
        }
        const dup = duplicates(typed.map((t) => String(t?.id ?? '')));
        if (dup.length) return validationError(`Duplicate IDs found in batch input: [${dup.join(', ')}]. IDs must be unique`);
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const input of typed) {
          const id = String(input?.id ?? '');
          const ctx: Record<string, string[]> = { ids: [id] };
          if (input?.objectWriteTraceId) ctx.objectWriteTraceId = [input.objectWriteTraceId];
          const rec = state.get(type, id, input?.idProperty);
          if (!rec) {
            errors.push(recordError('OBJECT_NOT_FOUND', `Could not find ${type.slice(0, -1)} with id ${id}`, ctx));
            continue;
          }
          const props = stringifyProps(input?.properties ?? {});
          const problems = state.validate(type, props);
          if (problems.length) {
            errors.push(recordPropertyError(problems, ctx));
            continue;
          }
          const clash = uniqueClash(type, props, rec.id);
          if (clash) {
            errors.push(recordError('CONFLICT', conflictMessage(type, clash), ctx));
            continue;
          }
          const out = presentWritten(state.update(type, rec, props));
          if (input?.objectWriteTraceId) out.objectWriteTraceId = input.objectWriteTraceId;
          results.push(out);
        }
        return batchAnswer(results, errors, 200, startedAt);
      },
    };

    const batchUpsert: Route = {
      method: 'POST',
      path: `${base}/batch/upsert`,
      name: `${type}-batch-upsert`,
      handler: (req) => {
        const startedAt = nowIso();
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const typed = inputs as Array<{ id?: unknown; idProperty?: string; properties?: Record<string, unknown>; objectWriteTraceId?: string }>;
        for (const input of typed) {
          const idp = input?.idProperty;
          if (!idp) return validationError('Invalid input JSON: idProperty is required for upsert');
          if (!state.properties[type].has(idp)) {
            return validationError(`Unable to perform update/upsert by ${OBJECT_TYPE_IDS[type]} property ${idp}: property does not exist in portal ID ${portalId}`);
          }
          if (!state.isUniqueKey(type, idp)) return nonUnique(type, idp);
        }
        const dup = duplicates(typed.map((t) => `${t.idProperty}:${String(t?.id ?? '').toLowerCase()}`));
        if (dup.length) return validationError(`Duplicate IDs found in batch input: [${dup.map((d) => d.split(':').slice(1).join(':')).join(', ')}]. IDs must be unique`);
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const input of typed) {
          const id = String(input?.id ?? '');
          const idp = input.idProperty!;
          const ctx: Record<string, string[]> = { ids: [id] };
          if (input?.objectWriteTraceId) ctx.objectWriteTraceId = [input.objectWriteTraceId];
          const props = stringifyProps(input?.properties ?? {});
          const problems = state.validate(type, props);
          if (problems.length) {
            errors.push(recordPropertyError(problems, ctx));
            continue;
          }
          const existing = state.findBy(type, idp, id);
          const clash = uniqueClash(type, { ...props, [idp]: id }, existing?.id);
          if (clash) {
            errors.push(recordError('CONFLICT', conflictMessage(type, clash), ctx));
            continue;
          }
          const rec = existing ? state.update(type, existing, props) : state.create(type, { ...props, [idp]: id });
          const out: Record<string, unknown> = { ...presentWritten(rec), new: !existing };
          if (input?.objectWriteTraceId) out.objectWriteTraceId = input.objectWriteTraceId;
          results.push(out);
        }
        return batchAnswer(results, errors, 200, startedAt);
      },
    };

    const batchArchive: Route = {
      method: 'POST',
      path: `${base}/batch/archive`,
      name: `${type}-batch-archive`,
      handler: (req) => {
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        for (const input of inputs as Array<{ id?: unknown }>) {
          const rec = state.get(type, String(input?.id ?? ''));
          if (rec) state.archive(type, rec);
        }
        return { status: 204 };
      },
    };

    // Specific paths first: `/batch/read` must not be taken for `/:id`.
    return [search, batchRead, batchCreate, batchUpdate, batchUpsert, batchArchive, list, create, get, update, archive];
  }

  function duplicates(ids: string[]): string[] {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const id of ids) (seen.has(id) ? dup : seen).add(id);
    return [...dup];
  }

  /** Associations given inline on create: `[{to:{id}, types:[{associationCategory, associationTypeId}]}]`. */
  function writeAssociations(type: HubSpotObjectType, id: string, raw: unknown[] | undefined): string | undefined {
    for (const a of raw ?? []) {
      const spec = a as { to?: { id?: unknown }; types?: Array<{ associationCategory?: string; associationTypeId?: number }> };
      const toId = String(spec.to?.id ?? '');
      for (const t of spec.types ?? []) {
        const toType = toTypeFor(type, Number(t.associationTypeId));
        if (!toType) return `Association type id ${String(t.associationTypeId)} is not valid from ${type}`;
        if (!state.get(toType, toId)) return `Could not associate: ${toType.slice(0, -1)} ${toId} does not exist`;
        state.associate(type, id, toType, toId, Number(t.associationTypeId), (t.associationCategory as HubSpotAssociation['category']) ?? 'HUBSPOT_DEFINED');
      }
    }
    return undefined;
  }

  // ---- properties ----------------------------------------------------------------------------

  function presentProperty(d: HubSpotPropertyDef): Record<string, unknown> {
    const { readOnlyValue, ...rest } = d;
    return { ...rest, modificationMetadata: { archivable: !d.hubspotDefined, readOnlyDefinition: d.hubspotDefined, readOnlyValue } };
  }

  function objectTypeParam(req: EmulatorRequest): HubSpotObjectType | EmulatorResponse {
    const t = normalizeObjectType(req.params.objectType ?? '');
    return t ?? hsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${req.params.objectType}`);
  }

  const propertyRoutes: Route[] = [
    {
      method: 'GET',
      path: '/crm/v3/properties/:objectType',
      name: 'properties-list',
      handler: (req) => {
        const t = objectTypeParam(req);
        if (typeof t !== 'string') return t;
        const archived = req.query.get('archived') === 'true';
        return json(200, { results: [...state.properties[t].values()].filter((d) => d.archived === archived).map(presentProperty) });
      },
    },
    {
      method: 'GET',
      path: '/crm/v3/properties/:objectType/:name',
      name: 'properties-get',
      handler: (req) => {
        const t = objectTypeParam(req);
        if (typeof t !== 'string') return t;
        const d = state.properties[t].get(req.params.name!);
        if (!d || d.archived) return hsError(404, 'OBJECT_NOT_FOUND', `Unable to find property ${req.params.name} for object type ${OBJECT_TYPE_IDS[t]}`);
        return json(200, presentProperty(d));
      },
    },
    {
      method: 'POST',
      path: '/crm/v3/properties/:objectType',
      name: 'properties-create',
      handler: (req) => {
        const bad = badJson(req);
        if (bad) return bad;
        const t = objectTypeParam(req);
        if (typeof t !== 'string') return t;
        const b = (req.body ?? {}) as Partial<HubSpotPropertyDef>;
        const problems: string[] = [];
        if (!b.name || !/^[a-z][a-z0-9_]*$/.test(b.name)) problems.push('name must start with a lowercase letter and contain only lowercase letters, digits and underscores');
        if (!b.label) problems.push('label is required');
        if (!b.groupName) problems.push('groupName is required');
        if (!b.type || !PROPERTY_TYPES.includes(b.type)) problems.push(`type must be one of ${PROPERTY_TYPES.join(', ')}`);
        if (!b.fieldType || !(FIELD_TYPES as readonly string[]).includes(b.fieldType)) problems.push(`fieldType must be one of ${FIELD_TYPES.join(', ')}`);
        if (problems.length) {
          return validationError(`Invalid input JSON: ${problems.join('; ')}`, { errors: problems.map((m) => ({ message: m, code: 'INVALID_PROPERTY' })) });
        }
        const existing = state.properties[t].get(b.name!);
        if (existing && !existing.archived) {
          return hsError(409, 'OBJECT_ALREADY_EXISTS', `Property named '${b.name}' already exists.`, { subCategory: 'PropertyDefinitionError.PROPERTY_EXISTS' });
        }
        const def = state.makeProperty({ ...b, name: b.name!, type: b.type! }, nowIso(), state.properties[t].size, false);
        state.properties[t].set(def.name, def);
        return json(201, presentProperty(def));
      },
    },
    {
      method: 'PATCH',
      path: '/crm/v3/properties/:objectType/:name',
      name: 'properties-update',
      handler: (req) => {
        const t = objectTypeParam(req);
        if (typeof t !== 'string') return t;
        const d = state.properties[t].get(req.params.name!);
        if (!d || d.archived) return hsError(404, 'OBJECT_NOT_FOUND', `Unable to find property ${req.params.name} for object type ${OBJECT_TYPE_IDS[t]}`);
        const b = (req.body ?? {}) as Partial<HubSpotPropertyDef>;
        for (const k of ['label', 'description', 'groupName', 'options', 'hidden', 'formField', 'displayOrder', 'fieldType'] as const) {
          if (b[k] !== undefined) (d as unknown as Record<string, unknown>)[k] = b[k];
        }
        d.updatedAt = nowIso();
        return json(200, presentProperty(d));
      },
    },
    {
      method: 'DELETE',
      path: '/crm/v3/properties/:objectType/:name',
      name: 'properties-archive',
      handler: (req) => {
        const t = objectTypeParam(req);
        if (typeof t !== 'string') return t;
        const d = state.properties[t].get(req.params.name!);
        if (d && !d.hubspotDefined) d.archived = true;
        return { status: 204 };
      },
    },
  ];

  // ---- associations --------------------------------------------------------------------------

  function pairTypes(req: EmulatorRequest, fromKey: string, toKey: string): [HubSpotObjectType, HubSpotObjectType] | EmulatorResponse {
    const from = normalizeObjectType(req.params[fromKey] ?? '');
    const to = normalizeObjectType(req.params[toKey] ?? '');
    if (!from || !to) return hsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${!from ? req.params[fromKey] : req.params[toKey]}`);
    return [from, to];
  }

  function groupTargets(from: HubSpotObjectType, id: string, to: HubSpotObjectType): Array<{ toObjectId: number; associationTypes: unknown[] }> {
    const grouped = new Map<string, HubSpotAssociation[]>();
    for (const a of state.associationsOf(from, id, to)) grouped.set(a.toId, [...(grouped.get(a.toId) ?? []), a]);
    // v4 reports object ids as JSON numbers although the client types them as strings.
    return [...grouped.entries()].map(([toId, list]) => ({
      toObjectId: Number(toId),
      associationTypes: list.map((a) => ({ category: a.category, typeId: a.typeId, label: a.label })),
    }));
  }

  function labelsPair(from: HubSpotObjectType, fromId: string, to: HubSpotObjectType, toId: string): Record<string, unknown> {
    const labels = state.associationsOf(from, fromId, to).filter((a) => a.toId === toId && a.label).map((a) => a.label!);
    return { fromObjectTypeId: OBJECT_TYPE_IDS[from], fromObjectId: Number(fromId), toObjectTypeId: OBJECT_TYPE_IDS[to], toObjectId: Number(toId), labels };
  }

  function defaultPair(from: HubSpotObjectType, fromId: string, to: HubSpotObjectType, toId: string): unknown[] {
    return state.associate(from, fromId, to, toId).map((a) => ({
      from: { id: a.fromId },
      to: { id: a.toId },
      associationSpec: { associationCategory: a.category, associationTypeId: a.typeId },
    }));
  }

  const missingObject = (t: HubSpotObjectType, id: string) => hsError(404, 'OBJECT_NOT_FOUND', `No ${t.slice(0, -1)} with id ${id} exists.`, { context: { id: [id] } });

  const associationRoutes: Route[] = [
    {
      method: 'PUT',
      path: '/crm/v4/objects/:from/:fromId/associations/default/:to/:toId',
      name: 'associations-v4-create-default',
      handler: (req) => {
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        if (!state.get(from, req.params.fromId!)) return missingObject(from, req.params.fromId!);
        if (!state.get(to, req.params.toId!)) return missingObject(to, req.params.toId!);
        const startedAt = nowIso();
        return json(200, { status: 'COMPLETE', results: defaultPair(from, req.params.fromId!, to, req.params.toId!), startedAt, completedAt: nowIso() });
      },
    },
    {
      method: 'PUT',
      path: '/crm/v4/objects/:from/:fromId/associations/:to/:toId',
      name: 'associations-v4-create',
      handler: (req) => {
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        if (!state.get(from, req.params.fromId!)) return missingObject(from, req.params.fromId!);
        if (!state.get(to, req.params.toId!)) return missingObject(to, req.params.toId!);
        const specs = Array.isArray(req.body) ? (req.body as Array<{ associationCategory?: string; associationTypeId?: number }>) : [];
        if (specs.length === 0) return validationError('At least one association type is required');
        for (const s of specs) {
          state.associate(from, req.params.fromId!, to, req.params.toId!, Number(s.associationTypeId), (s.associationCategory as HubSpotAssociation['category']) ?? 'HUBSPOT_DEFINED');
        }
        return json(201, labelsPair(from, req.params.fromId!, to, req.params.toId!));
      },
    },
    {
      method: 'GET',
      path: '/crm/v4/objects/:from/:fromId/associations/:to',
      name: 'associations-v4-list',
      handler: (req) => {
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        const all = groupTargets(from, req.params.fromId!, to);
        const limit = Math.min(Number(req.query.get('limit') ?? 500) || 500, 500);
        const offset = Number(req.query.get('after') ?? 0) || 0;
        const body: Record<string, unknown> = { results: all.slice(offset, offset + limit) };
        if (offset + limit < all.length) body.paging = { next: { after: String(offset + limit) } };
        return json(200, body);
      },
    },
    {
      method: 'DELETE',
      path: '/crm/v4/objects/:from/:fromId/associations/:to/:toId',
      name: 'associations-v4-archive',
      handler: (req) => {
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        state.unassociate(pt[0], req.params.fromId!, pt[1], req.params.toId!);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/crm/v4/associations/:from/:to/batch/create',
      name: 'associations-v4-batch-create',
      handler: (req) => {
        const startedAt = nowIso();
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const raw of inputs as Array<{ from?: { id?: unknown }; to?: { id?: unknown }; types?: Array<{ associationCategory?: string; associationTypeId?: number }> }>) {
          const fromId = String(raw?.from?.id ?? '');
          const toId = String(raw?.to?.id ?? '');
          const missing = !state.get(from, fromId) ? [from, fromId] : !state.get(to, toId) ? [to, toId] : undefined;
          if (missing) {
            errors.push(recordError('VALIDATION_ERROR', `No ${missing[0]!.slice(0, -1)} with id ${missing[1]} exists.`, { fromObjectId: [fromId], toObjectId: [toId] }));
            continue;
          }
          for (const t of raw.types?.length ? raw.types : [{ associationTypeId: defaultAssociationTypes(from, to)[0] }]) {
            state.associate(from, fromId, to, toId, Number(t.associationTypeId), (t.associationCategory as HubSpotAssociation['category']) ?? 'HUBSPOT_DEFINED');
          }
          results.push(labelsPair(from, fromId, to, toId));
        }
        return batchAnswer(results, errors, 201, startedAt);
      },
    },
    {
      method: 'POST',
      path: '/crm/v4/associations/:from/:to/batch/associate/default',
      name: 'associations-v4-batch-default',
      handler: (req) => {
        const startedAt = nowIso();
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const raw of inputs as Array<{ from?: { id?: unknown }; to?: { id?: unknown } }>) {
          const fromId = String(raw?.from?.id ?? '');
          const toId = String(raw?.to?.id ?? '');
          if (!state.get(from, fromId) || !state.get(to, toId)) {
            errors.push(recordError('VALIDATION_ERROR', `Could not associate ${from} ${fromId} with ${to} ${toId}: object does not exist`, { fromObjectId: [fromId], toObjectId: [toId] }));
            continue;
          }
          results.push(...defaultPair(from, fromId, to, toId));
        }
        return batchAnswer(results, errors, 200, startedAt);
      },
    },
    {
      method: 'POST',
      path: '/crm/v4/associations/:from/:to/batch/read',
      name: 'associations-v4-batch-read',
      handler: (req) => {
        const startedAt = nowIso();
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const raw of inputs as Array<{ id?: unknown }>) {
          const id = String(raw?.id ?? '');
          const targets = groupTargets(from, id, to);
          if (targets.length) results.push({ from: { id }, to: targets });
          else errors.push(recordError('OBJECT_NOT_FOUND', `No ${to} is associated with ${from.slice(0, -1)} ${id}.`, { fromObjectId: [id] }, 'crm.associations.NO_ASSOCIATIONS_FOUND'));
        }
        return batchAnswer(results, errors, 200, startedAt);
      },
    },
    {
      method: 'POST',
      path: '/crm/v4/associations/:from/:to/batch/archive',
      name: 'associations-v4-batch-archive',
      handler: (req) => {
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        for (const raw of inputs as Array<{ from?: { id?: unknown }; to?: Array<{ id?: unknown }> }>) {
          for (const t of raw?.to ?? []) state.unassociate(pt[0], String(raw?.from?.id ?? ''), pt[1], String(t?.id ?? ''));
        }
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/crm/v3/associations/:from/:to/batch/create',
      name: 'associations-v3-batch-create',
      handler: (req) => {
        const startedAt = nowIso();
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const raw of inputs as Array<{ from?: { id?: unknown }; to?: { id?: unknown }; type?: string }>) {
          const fromId = String(raw?.from?.id ?? '');
          const toId = String(raw?.to?.id ?? '');
          if (!state.get(from, fromId) || !state.get(to, toId)) {
            errors.push(recordError('VALIDATION_ERROR', `Could not associate ${from} ${fromId} with ${to} ${toId}: object does not exist`, { fromObjectId: [fromId], toObjectId: [toId] }));
            continue;
          }
          const typeId = raw.type ? v3TypeIdFromName(raw.type, from, to) : defaultAssociationTypes(from, to)[0];
          state.associate(from, fromId, to, toId, typeId);
          results.push({ from: { id: fromId }, to: { id: toId }, type: raw.type ?? v3TypeName(typeId, from, to) });
        }
        return batchAnswer(results, errors, 201, startedAt);
      },
    },
    {
      method: 'POST',
      path: '/crm/v3/associations/:from/:to/batch/read',
      name: 'associations-v3-batch-read',
      handler: (req) => {
        const startedAt = nowIso();
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const [from, to] = pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        const results: unknown[] = [];
        const errors: StandardError[] = [];
        for (const raw of inputs as Array<{ id?: unknown }>) {
          const id = String(raw?.id ?? '');
          const list = state.associationsOf(from, id, to);
          if (list.length) results.push({ from: { id }, to: list.map((a) => ({ id: a.toId, type: v3TypeName(a.typeId, from, to) })) });
          else errors.push(recordError('OBJECT_NOT_FOUND', `No ${to} is associated with ${from.slice(0, -1)} ${id}.`, { fromObjectId: [id] }));
        }
        return batchAnswer(results, errors, 200, startedAt);
      },
    },
    {
      method: 'POST',
      path: '/crm/v3/associations/:from/:to/batch/archive',
      name: 'associations-v3-batch-archive',
      handler: (req) => {
        const pt = pairTypes(req, 'from', 'to');
        if (!Array.isArray(pt)) return pt;
        const inputs = readInputs(req);
        if (!Array.isArray(inputs)) return inputs;
        for (const raw of inputs as Array<{ from?: { id?: unknown }; to?: { id?: unknown } }>) {
          state.unassociate(pt[0], String(raw?.from?.id ?? ''), pt[1], String(raw?.to?.id ?? ''));
        }
        return { status: 204 };
      },
    },
  ];

  const routes: Route[] = [...HUBSPOT_OBJECT_TYPES.flatMap(objectRoutes), ...propertyRoutes, ...associationRoutes].map((r) => ({
    ...r,
    handler: withHeaders(r.handler),
  }));

  const server = await startServer({
    name: 'HubSpot',
    routes,
    host: opts.host,
    port: opts.port,
    faults: opts.faults,
    faultSeed: opts.faultSeed,
    before,
    // Injected 429s look like the real ones: search answers its secondly limit, the rest the burst window.
    tooManyRequests: (req) => (isSearch(req) ? json(429, secondlyBody()) : json(429, tenSecondlyBody(), headers(0, limiter.windowMs, limiter.limit))),
    serverError: (status) =>
      hsError(status, 'INTERNAL_ERROR', status === 502 || status === 503 ? 'Service Unavailable' : 'internal error'),
  });
  baseUrl = server.url;

  return {
    url: server.url,
    state,
    requests: server.requests,
    calls: server.calls,
    faults: server.faults,
    tokens,
    expiredTokens,
    dump: () => state.toJSON(),
    stop: server.stop,
  };
}
