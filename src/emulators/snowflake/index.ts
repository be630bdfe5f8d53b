import { gunzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { startServer, json, type EmulatorRequest, type EmulatorResponse, type Route } from '../shared/server.js';
import type { Emulator, EmulatorStartOptions } from '../shared/types.js';
import { readSeed } from '../shared/seed.js';
import { SnowflakeEngine, type Binding, type SessionContext, type SfResult } from './snowflake-engine.js';
import { SfSqlError } from './snowflake-types.js';

export { SnowflakeEngine } from './snowflake-engine.js';
export type { Binding, SessionContext, SfResult } from './snowflake-engine.js';
export { SfSqlError } from './snowflake-types.js';

/**
 * Snowflake emulator for snowflake-sdk (Node), speaking the driver's REST protocol
 * (`/session/v1/login-request`, `/queries/v1/query-request`, …) with JSON results, backed by an
 * in-memory SQLite database (see snowflake-engine.ts and README.md for the SQL subset).
 *
 * @example
 *   const sf = await start({ seedData: { users: [{ name: 'loader', password: 'pw' }] } });
 *   const conn = snowflake.createConnection({ account: 'emulator', username: 'loader', password: 'pw',
 *     accessUrl: sf.url, database: 'PARTNERSYNC', schema: 'PUBLIC' });
 *   await conn.connectAsync();
 *   // conn.execute({ sqlText: 'select 1' , complete(err, stmt, rows) {…} })
 *   expect(sf.state.rows('select count(*) as n from t')[0].N).toBe(1);
 *   await sf.stop();
 */

export interface SnowflakeSeed {
  /** Accounts the emulator answers for (any when omitted). */
  account?: string;
  /** Users that may log in; default one user `PARTNERSYNC` / `partnersync`. Names are case-insensitive. */
  users?: { name: string; password: string }[];
  /** Database and schema created up front (default `PARTNERSYNC.PUBLIC`). */
  database?: string;
  schema?: string;
  /** Statements run at start, in the seed database and schema (CREATE TABLE, INSERT …). */
  sql?: string[];
}

export interface SnowflakeStartOptions extends EmulatorStartOptions {
  /** Session-token lifetime in seconds (Snowflake: 1 h); expired tokens answer 390112 and the driver renews. */
  sessionTtlSeconds?: number;
  /** Master-token lifetime in seconds (Snowflake: 4 h). */
  masterTtlSeconds?: number;
}

export interface QueryLogEntry {
  queryId: string;
  sessionId: number;
  sqlText: string;
  bindings?: Record<string, Binding>;
  /** Snowflake error code when the statement failed. */
  error?: string;
}

interface Session {
  id: number;
  user: string;
  token: string;
  masterToken: string;
  tokenExpiresAt: number;
  masterExpiresAt: number;
  ctx: SessionContext;
}

export class SnowflakeState {
  readonly engine = new SnowflakeEngine();
  readonly users = new Map<string, string>();
  readonly sessions = new Map<string, Session>();
  readonly queries: QueryLogEntry[] = [];
  readonly results = new Map<string, SfResult>();
  account?: string;
  database: string;
  schema: string;
  sessionTtlSeconds = 3600;
  masterTtlSeconds = 14_400;
  private nextSessionId = 1;

  constructor(seed: SnowflakeSeed) {
    this.account = seed.account;
    for (const u of seed.users ?? [{ name: 'PARTNERSYNC', password: 'partnersync' }]) this.users.set(u.name.toUpperCase(), u.password);
    this.database = (seed.database ?? 'PARTNERSYNC').toUpperCase();
    this.schema = (seed.schema ?? 'PUBLIC').toUpperCase();
    this.engine.ensureDatabase(this.database);
    this.engine.ensureSchema(this.database, this.schema);
    for (const sql of seed.sql ?? []) this.exec(sql);
  }

  /** Run SQL outside any client session (tests: set up data, assert on it). Returns the wire result. */
  exec(sql: string, bindings?: Record<string, Binding>): SfResult {
    return this.engine.execute({ database: this.database, schema: this.schema }, sql, bindings);
  }

  /** Run a query and get rows as objects keyed by the (upper-case) column names, with JS values. */
  rows(sql: string): Record<string, unknown>[] {
    const res = this.exec(sql);
    return res.rows.map((r) => Object.fromEntries(res.rowtype.map((c, i) => [c.name, typeof r[i] === 'bigint' ? Number(r[i]) : r[i]])));
  }

  openSession(user: string, ctx: SessionContext): Session {
    const now = Date.now();
    const s: Session = {
      id: this.nextSessionId++,
      user,
      token: 'ST-' + randomUUID(),
      masterToken: 'MT-' + randomUUID(),
      tokenExpiresAt: now + this.sessionTtlSeconds * 1000,
      masterExpiresAt: now + this.masterTtlSeconds * 1000,
      ctx,
    };
    this.sessions.set(s.token, s);
    return s;
  }

  /** Expire every session token; the driver's next request gets 390112 and renews with its master token. */
  expireSessionTokens(): void {
    for (const s of this.sessions.values()) s.tokenExpiresAt = 0;
  }

  dump(): Record<string, unknown> {
    const tables: Record<string, Record<string, unknown>[]> = {};
    for (const t of this.engine.listTables()) tables[`${t.database}.${t.schema}.${t.table}`] = this.engine.tableRows(t.database, t.schema, t.table);
    return {
      database: this.database,
      schema: this.schema,
      sessions: [...this.sessions.values()].map((s) => ({ id: s.id, user: s.user, database: s.ctx.database, schema: s.ctx.schema })),
      tables,
      queries: structuredClone(this.queries),
    };
  }
}

function ok(data: unknown): EmulatorResponse {
  return json(200, { data, code: null, message: null, success: true });
}

function fail(code: string, message: string, data: unknown = null, status = 200): EmulatorResponse {
  return json(status, { data, code, message, success: false });
}

function sessionParameters(): { name: string; value: unknown }[] {
  return [
    { name: 'TIMEZONE', value: 'UTC' },
    { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
    { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
    { name: 'TIMESTAMP_LTZ_OUTPUT_FORMAT', value: '' },
    { name: 'TIMESTAMP_TZ_OUTPUT_FORMAT', value: '' },
    { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
    { name: 'TIME_OUTPUT_FORMAT', value: 'HH24:MI:SS' },
    { name: 'CLIENT_SESSION_KEEP_ALIVE', value: false },
    { name: 'CLIENT_STAGE_ARRAY_BINDING_THRESHOLD', value: 65_280 },
    { name: 'QUERY_RESULT_FORMAT', value: 'JSON' },
  ];
}

/** The request body; the driver sends plain JSON, other Snowflake clients gzip it. */
function bodyOf(req: EmulatorRequest): Record<string, any> | undefined {
  if (req.body && typeof req.body === 'object') return req.body as Record<string, any>;
  if (req.rawBody.length === 0) return undefined;
  try {
    const raw = req.rawBody[0] === 0x1f && req.rawBody[1] === 0x8b ? gunzipSync(req.rawBody) : req.rawBody;
    return JSON.parse(raw.toString('utf8')) as Record<string, any>;
  } catch {
    return undefined;
  }
}

export interface SnowflakeEmulator extends Emulator<SnowflakeState> {}

export async function start(opts: SnowflakeStartOptions = {}): Promise<SnowflakeEmulator> {
  let seed: SnowflakeSeed = {};
  if (opts.seedData !== undefined) seed = opts.seedData as SnowflakeSeed;
  else if (opts.seed) seed = await readSeed<SnowflakeSeed>(opts.seed);
  const state = new SnowflakeState(seed);
  if (opts.sessionTtlSeconds !== undefined) state.sessionTtlSeconds = opts.sessionTtlSeconds;
  if (opts.masterTtlSeconds !== undefined) state.masterTtlSeconds = opts.masterTtlSeconds;

  const tokenOf = (req: EmulatorRequest): string | undefined => /Snowflake Token="([^"]*)"/.exec(String(req.headers.authorization ?? ''))?.[1];

  /** The session for a request, or the GS error the driver reacts to (expired → renew, invalid → reconnect). */
  function session(req: EmulatorRequest): Session | EmulatorResponse {
    const token = tokenOf(req);
    const s = token ? state.sessions.get(token) : undefined;
    if (!s) return fail('390104', 'Invalid session token. Please log in again.', null, 401);
    if (s.tokenExpiresAt <= Date.now()) return fail('390112', 'Session token expired.');
    return s;
  }

  function login(req: EmulatorRequest): EmulatorResponse {
    const data = bodyOf(req)?.data as Record<string, any> | undefined;
    if (!data) return fail('390400', 'Invalid login request body.', null, 400);
    const user = String(data.LOGIN_NAME ?? '').toUpperCase();
    const account = String(data.ACCOUNT_NAME ?? '');
    if (state.account && account.toUpperCase() !== state.account.toUpperCase()) {
      return fail('390201', `The requested account '${account}' does not exist or you are not authorized.`, { nextAction: null, authnMethod: 'USERNAME_PASSWORD' });
    }
    if (!state.users.has(user) || state.users.get(user) !== data.PASSWORD) {
      return fail('390100', 'Incorrect username or password was specified.', { nextAction: 'RETRY_LOGIN', authnMethod: 'USERNAME_PASSWORD' });
    }
    const database = (req.query.get('databaseName') ?? state.database).toUpperCase();
    const schema = (req.query.get('schemaName') ?? (req.query.get('databaseName') ? 'PUBLIC' : state.schema)).toUpperCase();
    // A real account would have these already; the emulator creates what the client names.
    state.engine.ensureDatabase(database);
    state.engine.ensureSchema(database, schema);
    const s = state.openSession(user, {
      database,
      schema,
      warehouse: req.query.get('warehouse')?.toUpperCase() ?? 'COMPUTE_WH',
      role: req.query.get('roleName')?.toUpperCase() ?? 'SYSADMIN',
      user,
    });
    return ok({
      token: s.token,
      masterToken: s.masterToken,
      validityInSeconds: state.sessionTtlSeconds,
      masterValidityInSeconds: state.masterTtlSeconds,
      sessionId: s.id,
      displayUserName: user,
      serverVersion: '8.40.0',
      firstLogin: false,
      healthCheckInterval: 45,
      newClientForUpgrade: null,
      parameters: sessionParameters(),
      sessionInfo: { databaseName: database, schemaName: schema, warehouseName: s.ctx.warehouse, roleName: s.ctx.role },
    });
  }

  function query(req: EmulatorRequest): EmulatorResponse {
    const s = session(req);
    if (!('id' in s)) return s;
    const body = bodyOf(req);
    if (!body || typeof body.sqlText !== 'string') return fail('000900', 'SQL compilation error:\nEmpty SQL statement.', null);
    const queryId = randomUUID();
    const entry: QueryLogEntry = { queryId, sessionId: s.id, sqlText: body.sqlText, ...(body.bindings ? { bindings: body.bindings } : {}) };
    state.queries.push(entry);
    const ctx = s.ctx;
    const final = () => ({
      finalDatabaseName: ctx.database,
      finalSchemaName: ctx.schema,
      finalWarehouseName: ctx.warehouse,
      finalRoleName: ctx.role,
    });
    try {
      const result = state.engine.execute(ctx, body.sqlText, body.bindings as Record<string, Binding> | undefined);
      state.results.set(queryId, result);
      if (state.results.size > 200) state.results.delete(state.results.keys().next().value!);
      return ok(resultData(queryId, result, final()));
    } catch (e) {
      const err = e instanceof SfSqlError ? e : new SfSqlError('000603', 'XX000', `SQL execution internal error: ${String((e as Error)?.message ?? e)}`);
      entry.error = err.code;
      return fail(err.code, err.message, {
        internalError: err.code === '000603',
        errorCode: err.code,
        age: 0,
        sqlState: err.sqlState,
        queryId,
        line: -1,
        pos: -1,
        type: err.code.startsWith('00') ? 'COMPILATION' : 'EXECUTION',
      });
    }
  }

  function resultData(queryId: string, result: SfResult, extra: Record<string, unknown>) {
    return {
      queryId,
      statementTypeId: result.statementTypeId,
      version: 1,
      queryResultFormat: 'json',
      parameters: sessionParameters(),
      rowtype: result.rowtype,
      rowset: result.rowset,
      total: result.rowset.length,
      returned: result.rowset.length,
      ...extra,
    };
  }

  const post = (path: string, name: string, handler: Route['handler']): Route => ({ method: 'POST', path, name, handler });
  const routes: Route[] = [
    post('/session/v1/login-request', 'login-request', login),
    post('/session/token-request', 'token-request', (req) => {
      const token = tokenOf(req);
      const s = [...state.sessions.values()].find((x) => x.masterToken === token);
      if (!s) return fail('390104', 'Invalid master token.', null, 401);
      if (s.masterExpiresAt <= Date.now()) return fail('390114', 'Master token expired.');
      const body = bodyOf(req);
      if (body?.requestType !== 'RENEW' && body?.requestType !== 'ISSUE') return fail('390400', 'Unsupported token request type.');
      state.sessions.delete(s.token);
      s.token = 'ST-' + randomUUID();
      s.tokenExpiresAt = Date.now() + state.sessionTtlSeconds * 1000;
      state.sessions.set(s.token, s);
      return ok({ sessionToken: s.token, validityInSecondsST: state.sessionTtlSeconds, masterToken: s.masterToken, validityInSecondsMT: state.masterTtlSeconds, sessionId: s.id });
    }),
    post('/session/heartbeat', 'heartbeat', (req) => {
      const s = session(req);
      return 'id' in s ? ok({}) : s;
    }),
    post('/session', 'session-delete', (req) => {
      if (req.query.get('delete') !== 'true') return fail('390400', 'Unsupported session request.', null, 400);
      const s = session(req);
      if (!('id' in s)) return s;
      state.sessions.delete(s.token);
      return ok(null);
    }),
    post('/telemetry/send', 'telemetry', () => ok(null)),
    post('/queries/v1/query-request', 'query-request', query),
    post('/queries/v1/abort-request', 'abort-request', (req) => {
      const s = session(req);
      // Statements run synchronously, so by the time a cancel arrives there is nothing left to abort.
      return 'id' in s ? ok(null) : s;
    }),
    post('/queries/:queryId/abort-request', 'abort-request', (req) => {
      const s = session(req);
      return 'id' in s ? ok(null) : s;
    }),
    {
      method: 'GET',
      path: '/queries/:queryId/result',
      name: 'query-result',
      handler: (req) => {
        const s = session(req);
        if (!('id' in s)) return s;
        const r = state.results.get(req.params.queryId!);
        if (!r) return fail('000709', `Statement ${req.params.queryId} not found`, { queryId: req.params.queryId, sqlState: '02000' });
        return ok(resultData(req.params.queryId!, r, { finalDatabaseName: s.ctx.database, finalSchemaName: s.ctx.schema }));
      },
    },
    {
      method: 'GET',
      path: '/monitoring/queries/:queryId',
      name: 'query-status',
      handler: (req) => {
        const s = session(req);
        if (!('id' in s)) return s;
        const q = state.queries.find((x) => x.queryId === req.params.queryId);
        if (!q) return fail('000709', `Statement ${req.params.queryId} not found`);
        return ok({ queries: [{ id: q.queryId, status: q.error ? 'FAILED_WITH_ERROR' : 'SUCCESS', errorCode: q.error ?? null, sqlText: q.sqlText }] });
      },
    },
  ];

  const server = await startServer({
    name: 'snowflake',
    routes,
    host: opts.host,
    port: opts.port,
    faults: opts.faults,
    faultSeed: opts.faultSeed,
    // The driver retries 429 and 5xx itself (lib/http/axios_instance.ts); the body does not matter to it.
    tooManyRequests: () => json(429, { data: null, code: '000429', message: 'Too many requests.', success: false }, { 'retry-after': 1 }),
    serverError: (status) => json(status, { data: null, code: String(status).padStart(6, '0'), message: 'Service temporarily unavailable.', success: false }),
  });

  return {
    url: server.url,
    state,
    requests: server.requests,
    calls: server.calls,
    faults: server.faults,
    dump: () => state.dump(),
    stop: async () => {
      await server.stop();
      state.engine.close();
    },
  };
}
