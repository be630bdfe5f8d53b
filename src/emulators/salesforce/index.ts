import { createHmac } from 'node:crypto';
import { startServer, type EmulatorRequest, type EmulatorResponse, type Route } from '../shared/server.js';
import type { Emulator, EmulatorStartOptions } from '../shared/types.js';
import { readSeed } from '../shared/seed.js';
import { Bulk2 } from './salesforce-bulk2.js';
import { normalizeId } from './salesforce-ids.js';
import { jsonBody, notFound, sfError, versionOf } from './salesforce-http.js';
import { describeField, describeObjectSummary } from './salesforce-schema.js';
import { SoqlError } from './salesforce-soql.js';
import { SalesforceState, type OAuthClient, type SalesforceUser, type SaveResult, type SeedFile, type SfRecord } from './salesforce-state.js';

/**
 * A local Salesforce org that the real jsforce 3 client talks to: OAuth2 (password, refresh_token
 * and client_credentials grants), SOQL query/queryMore/queryAll, describe, sObject CRUD and upsert,
 * sObject Collections, Bulk API 2.0 ingest and query jobs, the daily API allowance, and the
 * Sforce-Limit-Info header. See `reference/api-protocols.md` §1 for the wire facts.
 *
 * @example
 *   const sf = await start({ seedData: { Account: [{ Name: 'Acme' }] } });
 *   const conn = new jsforce.Connection({ loginUrl: sf.url, version: '59.0',
 *     oauth2: { clientId: 'partnersync-emulator', clientSecret: 'emulator-secret', loginUrl: sf.url } });
 *   await conn.login('admin@partnersync.test', 'password');
 *   await conn.query('SELECT Id, Name FROM Account');
 *   sf.state.expireTokens(); // the next call gets 401 INVALID_SESSION_ID and jsforce logs in again
 *   await sf.stop();
 */

export interface SalesforceStartOptions extends EmulatorStartOptions {
  /** Daily API request allowance (default 100000); past it every REST call is 403 REQUEST_LIMIT_EXCEEDED. */
  dailyApiLimit?: number;
  /** Users accepted by the password grant (default admin@partnersync.test / password). */
  users?: SalesforceUser[];
  /** Connected apps (default clientId `partnersync-emulator`, secret `emulator-secret`). */
  clients?: OAuthClient[];
}

export { SalesforceState } from './salesforce-state.js';
export type { SalesforceUser, OAuthClient, SeedFile, SaveResult, SfRecord, InjectedRecordError } from './salesforce-state.js';
export type { FieldDef, FieldType } from './salesforce-schema.js';

export const DEFAULT_CLIENT: OAuthClient = { clientId: 'partnersync-emulator', clientSecret: 'emulator-secret' };
export const DEFAULT_USER: SalesforceUser = { username: 'admin@partnersync.test', password: 'password' };

const MAX_COLLECTION = 200;
/**
 * Salesforce keeps 10 open query cursors per user and silently releases the oldest; the emulator
 * keeps more (tests run many queries in parallel) but still bounds memory in long `emulate` runs.
 */
const MAX_OPEN_CURSORS = 100;
const ROLLED_BACK = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [] as string[],
};

interface Cursor {
  records: SfRecord[];
  batch: number;
}

export async function start(opts: SalesforceStartOptions = {}): Promise<Emulator<SalesforceState>> {
  const state = new SalesforceState({ users: opts.users, clients: opts.clients, dailyApiLimit: opts.dailyApiLimit });
  if (opts.seed) {
    if (!/\.json$/i.test(opts.seed)) throw new Error(`salesforce emulator: seed must be a JSON file ({ "Account": [...] }), got ${opts.seed}`);
    state.seed(await readSeed<SeedFile>(opts.seed));
  }
  if (opts.seedData) state.seed(opts.seedData as SeedFile);
  const bulk = new Bulk2(state);
  const cursors = new Map<string, Cursor>();

  const baseUrl = (req: EmulatorRequest) => `http://${req.headers.host ?? '127.0.0.1'}`;

  /** Authenticate, count against the daily allowance, and stamp Sforce-Limit-Info. */
  const api = (method: string, path: string, name: string, handler: (req: EmulatorRequest) => EmulatorResponse): Route => ({
    method,
    path: `/services/data/:version${path}`,
    name,
    handler: (req) => {
      const auth = String(req.headers.authorization ?? '');
      const token = /^(Bearer|OAuth)\s+(.+)$/i.exec(auth)?.[2];
      if (!state.session(token)) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      if (!state.takeApiCall()) return sfError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      const out = handler(req);
      out.headers = { ...(out.headers ?? {}), 'Sforce-Limit-Info': `api-usage=${state.apiUsed}/${state.dailyApiLimit}` };
      return out;
    },
  });

  const objectOr404 = (req: EmulatorRequest) => state.object(req.params.object ?? '');

  // ---------- OAuth ----------

  const oauthError = (error: string, description: string, status = 400): EmulatorResponse => ({ status, body: { error, error_description: description } });

  const tokenRoute = (req: EmulatorRequest): EmulatorResponse => {
    const form = /json/i.test(String(req.headers['content-type'] ?? '')) && req.body && typeof req.body === 'object'
      ? new URLSearchParams(req.body as Record<string, string>)
      : new URLSearchParams(req.rawBody.toString('utf8'));
    const grant = form.get('grant_type');
    const client = state.clients.find((c) => c.clientId === form.get('client_id'));
    if (!grant) return oauthError('unsupported_grant_type', 'grant type not supported');
    if (!client) return oauthError('invalid_client_id', 'client identifier invalid');
    const secret = form.get('client_secret');
    let user: { id: string; username: string } | undefined;
    if (grant === 'password') {
      if (secret !== client.clientSecret) return oauthError('invalid_client', 'invalid client credentials');
      user = state.authenticate(form.get('username') ?? '', form.get('password') ?? '');
      if (!user) return oauthError('invalid_grant', 'authentication failure');
    } else if (grant === 'refresh_token') {
      if (secret !== null && secret !== client.clientSecret) return oauthError('invalid_client', 'invalid client credentials');
      user = state.useRefreshToken(form.get('refresh_token') ?? '');
      if (!user) return oauthError('invalid_grant', 'expired access/refresh token');
    } else if (grant === 'client_credentials') {
      if (secret !== client.clientSecret) return oauthError('invalid_client', 'invalid client credentials');
      user = state.users[0];
      if (!user) return oauthError('invalid_grant', 'no client credentials user enabled');
    } else return oauthError('unsupported_grant_type', 'grant type not supported');
    const accessToken = state.issueAccessToken(user);
    const url = baseUrl(req);
    const id = `${url}/id/${state.orgId}/${user.id}`;
    const issuedAt = String(Date.now());
    return {
      status: 200,
      body: {
        access_token: accessToken,
        instance_url: url,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
        signature: createHmac('sha256', client.clientSecret).update(id + issuedAt).digest('base64'),
        scope: 'api refresh_token',
      },
    };
  };

  const identityRoute = (req: EmulatorRequest): EmulatorResponse => {
    const auth = String(req.headers.authorization ?? '');
    const token = /^(Bearer|OAuth)\s+(.+)$/i.exec(auth)?.[2] ?? req.query.get('oauth_token') ?? undefined;
    const session = state.session(token);
    if (!session) return { status: 403, headers: { 'content-type': 'text/plain' }, body: 'Bad_OAuth_Token' };
    if (req.params.org !== state.orgId || req.params.user !== session.userId) return { status: 403, headers: { 'content-type': 'text/plain' }, body: 'Bad_Id' };
    const u = state.users.find((x) => x.id === session.userId)!;
    const url = baseUrl(req);
    return {
      status: 200,
      body: {
        id: `${url}/id/${state.orgId}/${u.id}`,
        asserted_user: true,
        user_id: u.id,
        organization_id: state.orgId,
        username: u.username,
        nick_name: u.username.split('@')[0],
        display_name: u.name ?? u.username,
        email: u.email ?? u.username,
        active: true,
        user_type: 'STANDARD',
        language: 'en_US',
        locale: 'en_US',
        utcOffset: 0,
        urls: {
          rest: `${url}/services/data/v{version}/`,
          sobjects: `${url}/services/data/v{version}/sobjects/`,
          query: `${url}/services/data/v{version}/query/`,
          limits: `${url}/services/data/v{version}/limits/`,
        },
      },
    };
  };

  // ---------- query ----------

  const page = (req: EmulatorRequest, cursorId: string, cur: Cursor, offset: number, all: boolean): EmulatorResponse => {
    const slice = cur.records.slice(offset, offset + cur.batch);
    const next = offset + slice.length;
    const done = next >= cur.records.length;
    if (done) cursors.delete(cursorId);
    return {
      status: 200,
      body: {
        totalSize: cur.records.length,
        done,
        ...(done ? {} : { nextRecordsUrl: `/services/data/v${versionOf(req)}/${all ? 'queryAll' : 'query'}/${cursorId}-${next}` }),
        records: slice,
      },
    };
  };

  const batchSizeOf = (req: EmulatorRequest): number => {
    const m = /batchSize\s*=\s*(\d+)/i.exec(String(req.headers['sforce-query-options'] ?? ''));
    // Salesforce treats the requested batch size as a hint between 200 and 2000.
    return m ? Math.min(2000, Math.max(200, Number(m[1]))) : 2000;
  };

  const queryRoute = (all: boolean) => (req: EmulatorRequest): EmulatorResponse => {
    const soql = req.query.get('q');
    if (!soql) return sfError(400, 'MALFORMED_QUERY', "A query string has to be specified");
    try {
      const c = state.compile(soql);
      const rows = state.run(c, all);
      if (c.query.count) return { status: 200, body: { totalSize: rows.length, done: true, records: [] } };
      const v = versionOf(req);
      const cur: Cursor = { records: rows.map((r) => state.project(c, r, v)), batch: batchSizeOf(req) };
      const id = state.nextId('01g');
      cursors.set(id, cur);
      if (cursors.size > MAX_OPEN_CURSORS) cursors.delete(cursors.keys().next().value!);
      return page(req, id, cur, 0, all);
    } catch (err) {
      if (err instanceof SoqlError) return sfError(400, err.errorCode, err.message);
      throw err;
    }
  };

  const queryMoreRoute = (all: boolean) => (req: EmulatorRequest): EmulatorResponse => {
    const m = /^([A-Za-z0-9]+)-(\d+)$/.exec(req.params.locator ?? '');
    const cur = m ? cursors.get(m[1]!) : undefined;
    if (!m || !cur) return sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    const offset = Number(m[2]);
    if (offset > cur.records.length) return sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    return page(req, m[1]!, cur, offset, all);
  };

  // ---------- describe ----------

  const describeGlobal = (req: EmulatorRequest): EmulatorResponse => ({
    status: 200,
    body: { encoding: 'UTF-8', maxBatchSize: 200, sobjects: [...state.objects.values()].map((o) => describeObjectSummary(o, versionOf(req))) },
  });

  const describe = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    return {
      status: 200,
      body: {
        ...describeObjectSummary(o, versionOf(req)),
        fields: [...o.fields.values()].map(describeField),
        childRelationships: [],
        recordTypeInfos: [],
      },
    };
  };

  // ---------- sObject rows ----------

  /** A stored record as GET /sobjects/X/id returns it: every field (or ?fields=) with attributes. */
  const restRecord = (req: EmulatorRequest, objectName: string, rec: SfRecord, only?: string[]): SfRecord => {
    const o = state.object(objectName)!;
    const out: SfRecord = { attributes: { type: o.name, url: `/services/data/v${versionOf(req)}/sobjects/${o.name}/${rec.Id}` } };
    const names = only ? only.map((n) => o.fields.get(n.toLowerCase())?.name ?? n) : [...o.fields.values()].map((f) => f.name);
    for (const n of names) out[n] = rec[n] ?? (o.fields.get(n.toLowerCase())?.type === 'boolean' ? false : null);
    return out;
  };

  const saveErrorResponse = (r: SaveResult, status = 400): EmulatorResponse => ({
    status,
    body: r.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })),
  });

  const sobjectCreate = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const b = jsonBody(req);
    if (!b.ok) return b.res;
    const r = state.create(o.name, b.body);
    return r.success ? { status: 201, body: { id: r.id, success: true, errors: [] } } : saveErrorResponse(r);
  };

  const sobjectRetrieve = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const rec = state.get(o.name, req.params.id ?? '');
    if (!rec || state.objectForId(String(rec.Id))?.name !== o.name) return notFound();
    const fields = req.query.get('fields')?.split(',').map((f) => f.trim()).filter(Boolean);
    for (const f of fields ?? []) if (!o.fields.has(f.toLowerCase())) return sfError(400, 'INVALID_FIELD', `No such column '${f}' on entity '${o.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
    return { status: 200, body: restRecord(req, o.name, rec, fields) };
  };

  const sobjectUpdate = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const id = req.params.id ?? '';
    const full = normalizeId(id);
    const existing = full ? state.records.get(o.name.toLowerCase())?.get(full) : undefined;
    if (!existing) return notFound();
    if (existing.IsDeleted) return sfError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
    const b = jsonBody(req);
    if (!b.ok) return b.res;
    const r = state.update(o.name, id, b.body);
    return r.success ? { status: 204 } : saveErrorResponse(r);
  };

  const sobjectDelete = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const full = normalizeId(req.params.id ?? '');
    const existing = full ? state.records.get(o.name.toLowerCase())?.get(full) : undefined;
    if (!existing) return notFound();
    const r = state.remove(o.name, full!);
    return r.success ? { status: 204 } : saveErrorResponse(r, r.errors[0]?.statusCode === 'ENTITY_IS_DELETED' ? 404 : 400);
  };

  const sobjectUpsert = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const fieldName = req.params.field ?? '';
    if (!o.fields.has(fieldName.toLowerCase())) return sfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${fieldName}`);
    const b = jsonBody(req);
    if (!b.ok) return b.res;
    const r = state.upsert(o.name, fieldName, req.params.value, b.body);
    if (r.matches) {
      const v = versionOf(req);
      return { status: 300, body: r.matches.map((id) => `/services/data/v${v}/sobjects/${o.name}/${id}`) };
    }
    if (!r.success) return saveErrorResponse(r);
    return { status: r.created ? 201 : 200, body: { id: r.id, success: true, errors: [], created: !!r.created } };
  };

  // ---------- sObject Collections ----------

  type Item = Record<string, unknown>;
  const collection = (req: EmulatorRequest, run: (records: Item[]) => SaveResult[], keepCreated: boolean): EmulatorResponse => {
    const b = jsonBody(req);
    if (!b.ok) return b.res;
    const records = b.body.records;
    if (!Array.isArray(records)) return sfError(400, 'INVALID_FIELD', "The 'records' field is required");
    if (records.length > MAX_COLLECTION) return sfError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    return commit(records as Item[], run, b.body.allOrNone === true, keepCreated);
  };

  const commit = <T>(items: T[], run: (items: T[]) => SaveResult[], allOrNone: boolean, keepCreated: boolean): EmulatorResponse => {
    const results = state.transaction(() => {
      const rs = run(items);
      const failed = rs.some((r) => !r.success);
      if (allOrNone && failed) return { keep: false, value: rs.map((r) => (r.success ? { success: false, errors: [ROLLED_BACK] } : { success: false, errors: r.errors })) };
      return { keep: true, value: rs };
    });
    const body = results.map((r: SaveResult) =>
      r.success ? { id: r.id, success: true, errors: [], ...(keepCreated ? { created: !!r.created } : {}) } : { success: false, errors: r.errors },
    );
    return { status: 200, body };
  };

  const typeOf = (rec: Item): string | undefined => (rec.attributes as { type?: string } | undefined)?.type;
  const missingType = (): SaveResult => ({ success: false, errors: [{ statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] }] });

  const collectionsCreate = (req: EmulatorRequest) =>
    collection(req, (records) => records.map((rec) => {
      const t = typeOf(rec);
      if (!t) return missingType();
      if ('id' in rec || 'Id' in rec) return { success: false, errors: [{ statusCode: 'INVALID_FIELD', message: 'Cannot specify Id in an insert call', fields: ['Id'] }] };
      return state.create(t, rec);
    }), false);

  const collectionsUpdate = (req: EmulatorRequest) =>
    collection(req, (records) => records.map((rec) => {
      const t = typeOf(rec);
      if (!t) return missingType();
      const { id, Id, ...rest } = rec;
      const rid = (id ?? Id) as string | undefined;
      if (!rid) return { success: false, errors: [{ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] }] };
      return state.update(t, rid, rest);
    }), false);

  const collectionsUpsert = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const fieldName = req.params.field ?? '';
    const f = o.fields.get(fieldName.toLowerCase());
    if (!f) return sfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${fieldName}`);
    if (f.name !== 'Id' && !f.externalId && !f.unique) return sfError(400, 'INVALID_FIELD', `Field ${f.name} is not an External ID or Id field`);
    return collection(req, (records) => {
      // The same external id twice in one request fails both records, as in Salesforce.
      const seen = new Map<string, number>();
      const keyOf = (rec: Item) => {
        const k = Object.keys(rec).find((x) => x.toLowerCase() === f.name.toLowerCase());
        return k === undefined ? undefined : rec[k];
      };
      for (const rec of records) {
        const v = keyOf(rec);
        if (v !== undefined && v !== null) seen.set(String(v).toLowerCase(), (seen.get(String(v).toLowerCase()) ?? 0) + 1);
      }
      return records.map((rec) => {
        const t = typeOf(rec);
        if (t && t.toLowerCase() !== o.name.toLowerCase()) return { success: false, errors: [{ statusCode: 'INVALID_TYPE', message: `Record type ${t} does not match ${o.name}`, fields: [] }] };
        const v = keyOf(rec);
        if (v !== undefined && v !== null && (seen.get(String(v).toLowerCase()) ?? 0) > 1)
          return { success: false, errors: [{ statusCode: 'DUPLICATE_EXTERNAL_ID', message: `Duplicate external id specified: ${String(v)}`, fields: [f.name] }] };
        return state.upsert(o.name, f.name, v, rec);
      });
    }, true);
  };

  const collectionsDelete = (req: EmulatorRequest): EmulatorResponse => {
    const ids = (req.query.get('ids') ?? '').split(',').filter(Boolean);
    if (!ids.length) return sfError(400, 'MISSING_ARGUMENT', 'The ids parameter is required');
    if (ids.length > MAX_COLLECTION) return sfError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    return commit(ids, (xs) => xs.map((id) => state.remove('', id)), req.query.get('allOrNone') === 'true', false);
  };

  const collectionsRetrieve = (req: EmulatorRequest): EmulatorResponse => {
    const o = objectOr404(req);
    if (!o) return notFound();
    const b = jsonBody(req);
    if (!b.ok) return b.res;
    const ids = b.body.ids;
    const fields = b.body.fields;
    if (!Array.isArray(ids) || !Array.isArray(fields)) return sfError(400, 'MISSING_ARGUMENT', 'ids and fields are required');
    if (ids.length > 2000) return sfError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 2000 records into this call');
    for (const f of fields) if (!o.fields.has(String(f).toLowerCase())) return sfError(400, 'INVALID_FIELD', `No such column '${String(f)}' on entity '${o.name}'.`);
    return {
      status: 200,
      body: ids.map((id) => {
        const rec = state.get(o.name, String(id));
        return rec ? restRecord(req, o.name, rec, fields.map(String)) : null;
      }),
    };
  };

  // ---------- limits, versions ----------

  const limits = (): EmulatorResponse => ({
    status: 200,
    body: {
      DailyApiRequests: { Max: state.dailyApiLimit, Remaining: Math.max(0, state.dailyApiLimit - state.apiUsed) },
      DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 - bulk.queryJobs.size },
      DailyBulkV2QueryFileStorageMB: { Max: 976562, Remaining: 976562 },
      DailyBulkApiBatches: { Max: 15000, Remaining: 15000 - bulk.ingestJobs.size },
      DataStorageMB: { Max: 1024, Remaining: 1024 },
    },
  });

  const versions = (): EmulatorResponse => {
    const out = [];
    for (let v = 31; v <= 62; v++) out.push({ label: `v${v}.0`, url: `/services/data/v${v}.0`, version: `${v}.0` });
    return { status: 200, body: out };
  };

  const resources = (req: EmulatorRequest): EmulatorResponse => {
    const v = `/services/data/v${versionOf(req)}`;
    const token = /^(Bearer|OAuth)\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[2];
    const s = state.session(token)!;
    return {
      status: 200,
      body: {
        sobjects: `${v}/sobjects`,
        query: `${v}/query`,
        queryAll: `${v}/queryAll`,
        limits: `${v}/limits`,
        composite: `${v}/composite`,
        jobs: `${v}/jobs`,
        identity: `${baseUrl(req)}/id/${state.orgId}/${s.userId}`,
      },
    };
  };

  const routes: Route[] = [
    { method: 'POST', path: '/services/oauth2/token', name: 'oauth-token', handler: tokenRoute },
    {
      method: 'POST',
      path: '/services/oauth2/revoke',
      name: 'oauth-revoke',
      handler: (req) => {
        const token = new URLSearchParams(req.rawBody.toString('utf8')).get('token') ?? req.query.get('token') ?? '';
        return state.revoke(token) ? { status: 200 } : oauthError('unsupported_token_type', 'this token type is not supported');
      },
    },
    { method: 'GET', path: '/id/:org/:user', name: 'identity', handler: identityRoute },
    { method: 'GET', path: '/services/data', name: 'versions', handler: versions },
    api('GET', '', 'resources', resources),
    api('GET', '/limits', 'limits', limits),
    api('GET', '/query', 'query', queryRoute(false)),
    api('GET', '/query/:locator', 'query-more', queryMoreRoute(false)),
    api('GET', '/queryAll', 'query-all', queryRoute(true)),
    api('GET', '/queryAll/:locator', 'query-all-more', queryMoreRoute(true)),
    api('GET', '/sobjects', 'describe-global', describeGlobal),
    api('GET', '/sobjects/:object/describe', 'describe', describe),
    api('POST', '/sobjects/:object', 'sobject-create', sobjectCreate),
    api('GET', '/sobjects/:object/:id', 'sobject-retrieve', sobjectRetrieve),
    api('PATCH', '/sobjects/:object/:id', 'sobject-update', sobjectUpdate),
    api('DELETE', '/sobjects/:object/:id', 'sobject-delete', sobjectDelete),
    api('PATCH', '/sobjects/:object/:field/:value', 'sobject-upsert', sobjectUpsert),
    api('POST', '/composite/sobjects', 'collections-create', collectionsCreate),
    api('PATCH', '/composite/sobjects', 'collections-update', collectionsUpdate),
    api('DELETE', '/composite/sobjects', 'collections-delete', collectionsDelete),
    api('POST', '/composite/sobjects/:object', 'collections-retrieve', collectionsRetrieve),
    api('PATCH', '/composite/sobjects/:object/:field', 'collections-upsert', collectionsUpsert),
    api('POST', '/jobs/ingest', 'bulk2-ingest-create', bulk.ingestCreate),
    api('GET', '/jobs/ingest', 'bulk2-ingest-list', bulk.ingestList),
    api('PUT', '/jobs/ingest/:id/batches', 'bulk2-ingest-upload', bulk.ingestUpload),
    api('PATCH', '/jobs/ingest/:id', 'bulk2-ingest-state', bulk.ingestState),
    api('GET', '/jobs/ingest/:id', 'bulk2-ingest-get', bulk.ingestGet),
    api('DELETE', '/jobs/ingest/:id', 'bulk2-ingest-delete', bulk.ingestDelete),
    api('GET', '/jobs/ingest/:id/successfulResults', 'bulk2-ingest-successful-results', bulk.ingestResults('successful')),
    api('GET', '/jobs/ingest/:id/failedResults', 'bulk2-ingest-failed-results', bulk.ingestResults('failed')),
    api('GET', '/jobs/ingest/:id/unprocessedrecords', 'bulk2-ingest-unprocessed-records', bulk.ingestResults('unprocessed')),
    api('POST', '/jobs/query', 'bulk2-query-create', bulk.queryCreate),
    api('GET', '/jobs/query/:id', 'bulk2-query-get', bulk.queryGet),
    api('PATCH', '/jobs/query/:id', 'bulk2-query-state', bulk.queryState),
    api('DELETE', '/jobs/query/:id', 'bulk2-query-delete', bulk.queryDelete),
    api('GET', '/jobs/query/:id/results', 'bulk2-query-results', bulk.queryResults),
    { method: '*', path: '/*rest', name: 'not-found', handler: () => notFound() },
  ];

  const server = await startServer({
    name: 'salesforce',
    routes,
    host: opts.host,
    port: opts.port,
    faults: opts.faults,
    faultSeed: opts.faultSeed,
    tooManyRequests: () => ({ status: 429, headers: { 'Retry-After': 1 }, body: [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] }),
    serverError: (status) =>
      status === 500
        ? sfError(500, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)')
        : sfError(status, 'SERVER_UNAVAILABLE', 'Service temporarily unavailable'),
  });

  return {
    url: server.url,
    state,
    requests: server.requests,
    calls: server.calls,
    faults: server.faults,
    dump: () => state.dump(),
    stop: server.stop,
  };
}

export type SalesforceEmulator = Emulator<SalesforceState>;
