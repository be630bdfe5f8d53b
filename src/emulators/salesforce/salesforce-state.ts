import { randomBytes } from 'node:crypto';
import { makeId, normalizeId } from './salesforce-ids.js';
import {
  buildCustomObject,
  buildStandardObjects,
  completeField,
  isNumberType,
  isTextType,
  type FieldDef,
  type FieldType,
  type ObjectDef,
} from './salesforce-schema.js';
import { SoqlError, caretMessage, likeToRegExp, parseDateTime, parseSoql, type Expr, type Literal, type SoqlQuery } from './salesforce-soql.js';
import { ReverseIndex } from '../shared/reverse-index.js';

/**
 * The emulated org: schema, records (deleted ones kept as tombstones with IsDeleted = true, so
 * queryAll can return them), OAuth sessions, the daily API allowance and the test hooks
 * (expire tokens, inject per-record errors). Every DML path (REST single, collections, Bulk 2.0)
 * goes through `create` / `update` / `upsert` / `remove`, so the validation is the same everywhere.
 */

export type SfRecord = Record<string, unknown>;

export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: RecordError[];
  created?: boolean;
}

export interface SalesforceUser {
  username: string;
  password: string;
  /** Appended to the password on login, as Salesforce requires from untrusted IPs. */
  securityToken?: string;
  email?: string;
  name?: string;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export interface InjectedRecordError {
  statusCode?: string;
  message?: string;
  /** How many record operations fail (default 1). */
  count?: number;
  /** Only records of this object. */
  object?: string;
  /** Only records for which this returns true (input values, before validation). */
  match?: (input: SfRecord) => boolean;
}

/** How values arrive: JSON (REST) or CSV strings (Bulk 2.0: '' = leave unchanged, '#N/A' = null). */
export type InputFormat = 'json' | 'csv';

export interface SeedFile {
  objects?: Array<{ name: string; keyPrefix?: string; label?: string }>;
  fields?: Record<string, FieldDef[]>;
  [object: string]: unknown;
}

interface Session {
  userId: string;
  username: string;
  expired: boolean;
}

interface ResolvedPath {
  /** Reference fields to follow, then the final field. */
  hops: FieldDef[];
  field: FieldDef;
  /** Canonical output names: relationship names, then the field name. */
  names: string[];
}

const UNABLE_TO_LOCK = 'unable to obtain exclusive access to this record or 1 records';

export class SalesforceState {
  readonly orgId = makeId('00D', 1);
  readonly objects: Map<string, ObjectDef> = buildStandardObjects();
  /** object (lower-case) → id → record; Map keeps insertion order, which is the default query order. */
  readonly records = new Map<string, Map<string, SfRecord>>();
  readonly users: Array<SalesforceUser & { id: string }> = [];
  readonly clients: OAuthClient[];
  dailyApiLimit: number;
  apiUsed = 0;
  /** Bulk 2.0 jobs reach JobComplete after this many status polls (InProgress in between). */
  bulkPollsToComplete = 2;
  /** Rows per page of Bulk 2.0 query results when the client sends no maxRecords. */
  bulkQueryPageSize = 50_000;
  /** The clock stamped into CreatedDate / LastModifiedDate / SystemModstamp; tests may replace it. */
  now: () => Date = () => new Date();

  private sessions = new Map<string, Session>();
  private refreshTokens = new Map<string, { userId: string; username: string }>();
  private counters = new Map<string, number>();
  private recordFaults: Array<Required<Pick<InjectedRecordError, 'statusCode' | 'count'>> & InjectedRecordError> = [];
  private undoLog: Array<() => void> | undefined;
  /**
   * object (lower-case) → one index per (field, case-insensitivity) that `findByField` has been
   * asked about: built on first use by one scan, then kept in sync by every write to `records`
   * (`setRecord`). Without it each upsert by external id scanned the whole table, which made a
   * 100k-row Bulk job quadratic.
   */
  private indexes = new Map<string, Map<string, FieldIndex>>();

  constructor(opts: { users?: SalesforceUser[]; clients?: OAuthClient[]; dailyApiLimit?: number } = {}) {
    this.dailyApiLimit = opts.dailyApiLimit ?? 100_000;
    this.clients = opts.clients ?? [{ clientId: 'partnersync-emulator', clientSecret: 'emulator-secret' }];
    for (const u of opts.users ?? [{ username: 'admin@partnersync.test', password: 'password' }]) this.addUser(u);
  }

  // ---------- schema ----------

  object(name: string): ObjectDef | undefined {
    return this.objects.get(name.toLowerCase());
  }

  /** Add a custom object (`Partner__c`); it gets the system fields and Name. */
  addObject(name: string, opts: { keyPrefix?: string; label?: string } = {}): ObjectDef {
    if (!/__c$/.test(name)) throw new Error(`custom object names end in __c: ${name}`);
    const existing = this.object(name);
    if (existing) return existing;
    const prefix = opts.keyPrefix ?? `a0${String.fromCharCode(65 + ((this.objects.size - 4) % 26))}`;
    const def = buildCustomObject(name, prefix, opts.label);
    this.objects.set(name.toLowerCase(), def);
    return def;
  }

  /**
   * Add (or redefine) a field, e.g. an external id:
   * @example state.addField('Account', { name: 'Crossbeam_Id__c', type: 'string', externalId: true, unique: true })
   */
  addField(objectName: string, def: FieldDef): FieldDef {
    const obj = this.object(objectName);
    if (!obj) throw new Error(`no such object ${objectName}`);
    const full = completeField(def);
    obj.fields.set(def.name.toLowerCase(), full);
    return full;
  }

  private table(obj: ObjectDef): Map<string, SfRecord> {
    let t = this.records.get(obj.name.toLowerCase());
    if (!t) {
      t = new Map();
      this.records.set(obj.name.toLowerCase(), t);
    }
    return t;
  }

  nextId(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return makeId(prefix, n);
  }

  // ---------- users, OAuth sessions, API allowance ----------

  addUser(u: SalesforceUser): SalesforceUser & { id: string } {
    const id = this.nextId('005');
    const user = { ...u, id };
    this.users.push(user);
    this.setRecord(this.object('User')!, id, this.stamp({ Id: id, Username: u.username, Name: u.name ?? u.username, Email: u.email ?? u.username }, true));
    return user;
  }

  /** Validate username + password(+security token); returns the user or undefined. */
  authenticate(username: string, password: string): (SalesforceUser & { id: string }) | undefined {
    return this.users.find((u) => u.username.toLowerCase() === username.toLowerCase() && password === u.password + (u.securityToken ?? ''));
  }

  issueAccessToken(user: { id: string; username: string }): string {
    const token = `${this.orgId.slice(0, 15)}!AQ${randomBytes(24).toString('base64url')}`;
    this.sessions.set(token, { userId: user.id, username: user.username, expired: false });
    return token;
  }

  /**
   * A refresh token for a user (the password grant issues none, as in Salesforce; tests use this
   * to build a connection with `refreshToken` and exercise jsforce's refresh path).
   */
  issueRefreshToken(username?: string): string {
    const user = username ? this.users.find((u) => u.username === username) : this.users[0];
    if (!user) throw new Error(`no such user ${username}`);
    const token = `5Aep${randomBytes(30).toString('base64url')}`;
    this.refreshTokens.set(token, { userId: user.id, username: user.username });
    return token;
  }

  useRefreshToken(token: string): { id: string; username: string } | undefined {
    const r = this.refreshTokens.get(token);
    return r ? { id: r.userId, username: r.username } : undefined;
  }

  revoke(token: string): boolean {
    return this.sessions.delete(token) || this.refreshTokens.delete(token);
  }

  session(token: string | undefined): Session | undefined {
    if (!token) return undefined;
    const s = this.sessions.get(token);
    return s && !s.expired ? s : undefined;
  }

  /** Expire every access token issued so far (refresh tokens stay valid). */
  expireTokens(): void {
    for (const s of this.sessions.values()) s.expired = true;
  }

  /** Pretend `used` API calls were already made today (to reach REQUEST_LIMIT_EXCEEDED quickly). */
  setApiUsage(used: number, limit?: number): void {
    this.apiUsed = used;
    if (limit !== undefined) this.dailyApiLimit = limit;
  }

  /** Count one API request; false once the daily allowance is spent. */
  takeApiCall(): boolean {
    if (this.apiUsed >= this.dailyApiLimit) return false;
    this.apiUsed += 1;
    return true;
  }

  // ---------- injected per-record errors ----------

  /** Make the next `count` record operations fail with UNABLE_TO_LOCK_ROW (or another code). */
  injectRecordError(e: InjectedRecordError = {}): void {
    this.recordFaults.push({ ...e, statusCode: e.statusCode ?? 'UNABLE_TO_LOCK_ROW', count: e.count ?? 1 });
  }

  clearRecordErrors(): void {
    this.recordFaults = [];
  }

  private injected(obj: ObjectDef, input: SfRecord, id?: string): RecordError | undefined {
    for (const f of this.recordFaults) {
      if (f.count <= 0) continue;
      if (f.object && f.object.toLowerCase() !== obj.name.toLowerCase()) continue;
      if (f.match && !f.match(input)) continue;
      f.count -= 1;
      const message = f.message ?? (f.statusCode === 'UNABLE_TO_LOCK_ROW' ? `${UNABLE_TO_LOCK}${id ? `: ${id}` : ''}` : 'injected error');
      return { statusCode: f.statusCode, message, fields: [] };
    }
    return undefined;
  }

  // ---------- transactions (allOrNone) ----------

  /** Run `fn`; if it returns false every write it made is undone (allOrNone roll-back). */
  transaction<T>(fn: () => { keep: boolean; value: T }): T {
    const outer = this.undoLog;
    const log: Array<() => void> = [];
    this.undoLog = log;
    try {
      const { keep, value } = fn();
      if (!keep) for (let i = log.length - 1; i >= 0; i--) log[i]!();
      else if (outer) outer.push(...log);
      return value;
    } finally {
      this.undoLog = outer;
    }
  }

  private put(obj: ObjectDef, rec: SfRecord): void {
    const t = this.table(obj);
    const id = rec.Id as string;
    const had = t.has(id);
    const prev = t.get(id);
    this.setRecord(obj, id, rec);
    this.undoLog?.push(() => this.setRecord(obj, id, had ? prev : undefined));
  }

  /** The one place `records` changes (set, or delete when `rec` is undefined), so the field indexes follow. */
  private setRecord(obj: ObjectDef, id: string, rec: SfRecord | undefined): void {
    const t = this.table(obj);
    if (rec) t.set(id, rec);
    else t.delete(id);
    const idxs = this.indexes.get(obj.name.toLowerCase());
    if (idxs) for (const idx of idxs.values()) indexRecord(idx, id, rec);
  }

  private fieldIndex(obj: ObjectDef, f: FieldDef, ci: boolean): FieldIndex {
    const objKey = obj.name.toLowerCase();
    let idxs = this.indexes.get(objKey);
    if (!idxs) this.indexes.set(objKey, (idxs = new Map()));
    const key = `${f.name}\u0000${ci ? 'ci' : 'cs'}`;
    let idx = idxs.get(key);
    if (!idx) {
      idx = { field: f.name, ci, ids: new ReverseIndex<string, unknown>() };
      for (const [id, r] of this.table(obj)) indexRecord(idx, id, r);
      idxs.set(key, idx);
    }
    return idx;
  }

  // ---------- records ----------

  private stamp(rec: SfRecord, created: boolean): SfRecord {
    const ts = formatDateTime(this.now());
    const userId = this.users[0]?.id ?? rec.Id;
    if (created) {
      rec.CreatedDate ??= ts;
      rec.CreatedById ??= userId;
      rec.IsDeleted ??= false;
    }
    rec.LastModifiedDate = created ? (rec.LastModifiedDate ?? ts) : ts;
    rec.LastModifiedById = userId;
    rec.SystemModstamp = created ? (rec.SystemModstamp ?? ts) : ts;
    return rec;
  }

  /** A live (not deleted) record by 15- or 18-character id. */
  get(objectName: string, id: string): SfRecord | undefined {
    const obj = this.object(objectName);
    const full = normalizeId(id);
    if (!obj || !full) return undefined;
    const rec = this.table(obj).get(full);
    return rec && !rec.IsDeleted ? rec : undefined;
  }

  /** Every record of an object; tombstones only when `includeDeleted`. */
  list(objectName: string, includeDeleted = false): SfRecord[] {
    const obj = this.object(objectName);
    if (!obj) return [];
    const all = [...this.table(obj).values()];
    return includeDeleted ? all : all.filter((r) => !r.IsDeleted);
  }

  /**
   * Turn client input into stored values: canonical field names, types checked, read-only and
   * unknown fields refused. Returns per-record errors the way Salesforce reports them.
   */
  private prepare(obj: ObjectDef, input: SfRecord, mode: 'create' | 'update', format: InputFormat): { values: SfRecord; errors: RecordError[] } {
    const values: SfRecord = {};
    const errors: RecordError[] = [];
    const readOnly: string[] = [];
    for (const [key, raw] of Object.entries(input)) {
      if (key === 'attributes') continue;
      const f = obj.fields.get(key.toLowerCase());
      if (!f) {
        errors.push({ statusCode: 'INVALID_FIELD', message: `No such column '${key}' on sobject of type ${obj.name}`, fields: [] });
        continue;
      }
      let value: unknown = raw;
      if (format === 'csv') {
        if (raw === '' || raw === undefined) continue;
        if (raw === '#N/A') value = null;
      }
      if (f.name === 'Id') continue;
      if ((mode === 'create' && !f.createable) || (mode === 'update' && !f.updateable)) {
        readOnly.push(f.name);
        continue;
      }
      const coerced = coerce(f, value);
      if ('error' in coerced) {
        errors.push(coerced.error);
        continue;
      }
      values[f.name] = coerced.value;
    }
    if (readOnly.length)
      errors.push({
        statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
        message: `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        fields: readOnly,
      });
    return { values, errors };
  }

  private requiredMissing(obj: ObjectDef, rec: SfRecord): RecordError | undefined {
    const missing: string[] = [];
    for (const f of obj.fields.values()) {
      if (f.nillable || !f.createable || f.defaultedOnCreate || f.type === 'boolean') continue;
      if (rec[f.name] === undefined || rec[f.name] === null || rec[f.name] === '') missing.push(f.name);
    }
    return missing.length ? { statusCode: 'REQUIRED_FIELD_MISSING', message: `Required fields are missing: [${missing.join(', ')}]`, fields: missing } : undefined;
  }

  private duplicateUnique(obj: ObjectDef, rec: SfRecord, selfId?: string): RecordError | undefined {
    for (const f of obj.fields.values()) {
      if (!f.unique || f.name === 'Id') continue;
      const v = rec[f.name];
      if (v === undefined || v === null || v === '') continue;
      const other = this.findByField(obj, f, v).find((r) => r.Id !== selfId);
      if (other)
        return { statusCode: 'DUPLICATE_VALUE', message: `duplicate value found: ${f.name} duplicates value on record with id: ${other.Id}`, fields: [f.name] };
    }
    return undefined;
  }

  private findByField(obj: ObjectDef, f: FieldDef, value: unknown): SfRecord[] {
    const out: SfRecord[] = [];
    const ci = isTextType(f.type) && !f.caseSensitive;
    const want = ci ? String(value).toLowerCase() : value;
    const ids = this.fieldIndex(obj, f, ci).ids.members(want);
    if (!ids) return out;
    const t = this.table(obj);
    for (const id of ids) {
      const r = t.get(id);
      if (r && !r.IsDeleted && r[f.name] !== undefined && r[f.name] !== null && (ci ? String(r[f.name]).toLowerCase() : r[f.name]) === want) out.push(r);
    }
    if (out.length <= 1) return out;
    // Several matches are reported in table (insertion) order, as the scan always did.
    out.length = 0;
    for (const r of t.values()) {
      if (r.IsDeleted) continue;
      const v = r[f.name];
      if (v === undefined || v === null) continue;
      if ((ci ? String(v).toLowerCase() : v) === want) out.push(r);
    }
    return out;
  }

  private derived(obj: ObjectDef, rec: SfRecord): void {
    if (obj.name === 'Contact') rec.Name = [rec.FirstName, rec.LastName].filter((x) => x).join(' ');
    if (obj.name === 'Opportunity') {
      const stage = String(rec.StageName ?? '');
      rec.IsClosed = /^closed/i.test(stage);
      rec.IsWon = /^closed won$/i.test(stage);
    }
    for (const f of obj.fields.values()) if (f.type === 'boolean' && (rec[f.name] === undefined || rec[f.name] === null)) rec[f.name] = false;
  }

  /** Insert one record; `seed` also accepts Id and system fields. */
  create(objectName: string, input: SfRecord, format: InputFormat = 'json'): SaveResult {
    const obj = this.object(objectName);
    if (!obj) return fail({ statusCode: 'INVALID_TYPE', message: `sObject type '${objectName}' is not supported.`, fields: [] });
    const fault = this.injected(obj, input);
    if (fault) return fail(fault);
    const { values, errors } = this.prepare(obj, input, 'create', format);
    if (errors.length) return fail(...errors);
    const missing = this.requiredMissing(obj, values);
    if (missing) return fail(missing);
    const dup = this.duplicateUnique(obj, values);
    if (dup) return fail(dup);
    const id = this.nextId(obj.keyPrefix);
    const rec: SfRecord = { Id: id, ...values };
    rec.OwnerId ??= obj.fields.has('ownerid') ? this.users[0]?.id : undefined;
    if (rec.OwnerId === undefined) delete rec.OwnerId;
    this.derived(obj, rec);
    this.put(obj, this.stamp(rec, true));
    return { id, success: true, errors: [], created: true };
  }

  /** Update one record by id. */
  update(objectName: string, id: string, input: SfRecord, format: InputFormat = 'json'): SaveResult {
    const obj = this.object(objectName);
    if (!obj) return fail({ statusCode: 'INVALID_TYPE', message: `sObject type '${objectName}' is not supported.`, fields: [] });
    const full = normalizeId(String(id ?? ''));
    if (!full) return fail({ statusCode: 'MALFORMED_ID', message: `${obj.name} ID: id value of incorrect type: ${id}`, fields: ['Id'] });
    const existing = this.table(obj).get(full);
    if (!existing) return fail({ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] });
    if (existing.IsDeleted) return fail({ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] });
    const fault = this.injected(obj, input, full);
    if (fault) return fail(fault);
    const { values, errors } = this.prepare(obj, input, 'update', format);
    if (errors.length) return fail(...errors);
    const next: SfRecord = { ...existing, ...values };
    const missing = this.requiredMissing(obj, next);
    if (missing) return fail(missing);
    const dup = this.duplicateUnique(obj, values, full);
    if (dup) return fail(dup);
    this.derived(obj, next);
    this.put(obj, this.stamp(next, false));
    return { id: full, success: true, errors: [], created: false };
  }

  /**
   * Upsert by an external id field (or Id). Several matches fail with DUPLICATE_EXTERNAL_ID and
   * carry the matching ids in `matches` (the single-record REST route answers 300 with them).
   */
  upsert(objectName: string, extField: string, extValue: unknown, input: SfRecord, format: InputFormat = 'json'): SaveResult & { matches?: string[] } {
    const obj = this.object(objectName);
    if (!obj) return fail({ statusCode: 'INVALID_TYPE', message: `sObject type '${objectName}' is not supported.`, fields: [] });
    const f = obj.fields.get(extField.toLowerCase());
    if (!f || (f.name !== 'Id' && !f.externalId && !f.unique))
      return fail({ statusCode: 'INVALID_FIELD', message: `Field ${extField} is not an External ID or Id field`, fields: [] });
    if (extValue === undefined || extValue === null || extValue === '')
      return fail({ statusCode: 'MISSING_ARGUMENT', message: `${f.name} not specified`, fields: [] });
    const body = Object.fromEntries(Object.entries(input).filter(([k]) => k.toLowerCase() !== f.name.toLowerCase() && !(format === 'csv' && k === 'Id')));
    if (f.name === 'Id') {
      const r = this.update(obj.name, String(extValue), body, format);
      return r;
    }
    const coerced = coerce(f, extValue);
    if ('error' in coerced) return fail(coerced.error);
    const matches = this.findByField(obj, f, coerced.value);
    if (matches.length > 1)
      return {
        ...fail({ statusCode: 'DUPLICATE_EXTERNAL_ID', message: `${f.name}: more than one record found for external id field: [${matches.map((m) => m.Id).join(', ')}]`, fields: [] }),
        matches: matches.map((m) => String(m.Id)),
      };
    if (matches.length === 1) return this.update(obj.name, String(matches[0]!.Id), body, format);
    return this.create(obj.name, { ...body, [f.name]: coerced.value }, format);
  }

  /**
   * Delete one record: it stays as a tombstone (IsDeleted = true) that queryAll still returns,
   * unless `hard` (Bulk hardDelete), which skips the recycle bin.
   */
  remove(objectName: string, id: string, hard = false): SaveResult {
    const obj = this.object(objectName);
    const full = normalizeId(String(id ?? ''));
    if (!full) return fail({ statusCode: 'MALFORMED_ID', message: `malformed id ${id}`, fields: [] });
    const o = obj ?? this.objectForId(full);
    const existing = o ? this.table(o).get(full) : undefined;
    if (!o || !existing) return fail({ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] });
    if (existing.IsDeleted) return fail({ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] });
    const fault = this.injected(o, existing, full);
    if (fault) return fail(fault);
    if (hard) {
      this.setRecord(o, full, undefined);
      this.undoLog?.push(() => this.setRecord(o, full, existing));
    } else this.put(o, this.stamp({ ...existing, IsDeleted: true }, false));
    return { id: full, success: true, errors: [] };
  }

  objectForId(id: string): ObjectDef | undefined {
    const prefix = id.slice(0, 3);
    for (const o of this.objects.values()) if (o.keyPrefix === prefix) return o;
    return undefined;
  }

  // ---------- seed ----------

  /** Load `{ Account: [...], Contact: [...], fields: { Account: [FieldDef] }, objects: [...] }`. */
  seed(data: SeedFile): void {
    for (const o of data.objects ?? []) this.addObject(o.name, o);
    for (const [objName, defs] of Object.entries(data.fields ?? {})) for (const d of defs) this.addField(objName, d);
    for (const [objName, rows] of Object.entries(data)) {
      if (objName === 'objects' || objName === 'fields') continue;
      if (!Array.isArray(rows)) throw new Error(`seed: ${objName} must be an array of records`);
      const obj = this.object(objName) ?? (objName.endsWith('__c') ? this.addObject(objName) : undefined);
      if (!obj) throw new Error(`seed: unknown object ${objName} (custom objects end in __c)`);
      for (const row of rows as SfRecord[]) this.seedRecord(obj, row);
    }
  }

  private seedRecord(obj: ObjectDef, row: SfRecord): void {
    const rec: SfRecord = {};
    for (const [k, v] of Object.entries(row)) {
      if (k === 'attributes') continue;
      let f = obj.fields.get(k.toLowerCase());
      if (!f && k.endsWith('__c')) f = this.addField(obj.name, { name: k, type: inferType(v) });
      if (!f) throw new Error(`seed: ${obj.name}.${k} is not a field (declare custom fields under "fields")`);
      const c = coerce(f, v);
      if ('error' in c) throw new Error(`seed: ${obj.name}.${k}: ${c.error.message}`);
      rec[f.name] = c.value;
    }
    const given = rec.Id ? normalizeId(String(rec.Id)) : undefined;
    if (rec.Id && !given) throw new Error(`seed: ${obj.name} Id ${String(rec.Id)} is not a Salesforce id`);
    rec.Id = given ?? this.nextId(obj.keyPrefix);
    if (obj.fields.has('ownerid')) rec.OwnerId ??= this.users[0]?.id;
    this.derived(obj, rec);
    this.put(obj, this.stamp(rec, true));
  }

  // ---------- SOQL ----------

  /** Parse and check a query against the schema (INVALID_TYPE / INVALID_FIELD / MALFORMED_QUERY). */
  compile(soql: string): CompiledQuery {
    const q = parseSoql(soql);
    const obj = this.object(q.object);
    if (!obj)
      throw new SoqlError(
        'INVALID_TYPE',
        caretMessage(
          q.text,
          q.objectPos,
          `sObject type '${q.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    const resolve = (path: string, pos: number): ResolvedPath => this.resolvePath(q, obj, path, pos);
    const fields = q.fields.map((f) => resolve(f.path, f.pos));
    const where = q.where ? this.checkExpr(q, obj, q.where) : undefined;
    const order = q.orderBy.map((o) => ({ ...o, resolved: resolve(o.path, o.pos) }));
    return { query: q, object: obj, fields, where, order };
  }

  private resolvePath(q: SoqlQuery, root: ObjectDef, path: string, pos: number): ResolvedPath {
    const parts = path.split('.');
    let obj = root;
    const hops: FieldDef[] = [];
    const names: string[] = [];
    for (let i = 0; i < parts.length - 1; i++) {
      const rel = parts[i]!;
      const relLower = rel.toLowerCase();
      const ref = [...obj.fields.values()].find(
        (f) => f.type === 'reference' && (f.relationshipName?.toLowerCase() === relLower || (relLower.endsWith('__r') && f.name.toLowerCase() === relLower.replace(/__r$/, '__c'))),
      );
      const target = ref?.referenceTo?.[0] ? this.object(ref.referenceTo[0]) : undefined;
      if (!ref || !target)
        throw new SoqlError(
          'INVALID_FIELD',
          caretMessage(
            q.text,
            pos,
            `Didn't understand relationship '${rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
          ),
        );
      hops.push(ref);
      names.push(ref.relationshipName ?? ref.name.replace(/__c$/, '__r'));
      obj = target;
    }
    const last = parts[parts.length - 1]!;
    const field = obj.fields.get(last.toLowerCase());
    if (!field)
      throw new SoqlError(
        'INVALID_FIELD',
        caretMessage(
          q.text,
          pos,
          `No such column '${last}' on entity '${obj.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    names.push(field.name);
    return { hops, field, names };
  }

  private checkExpr(q: SoqlQuery, obj: ObjectDef, e: Expr): CheckedExpr {
    switch (e.kind) {
      case 'and':
      case 'or':
        return { kind: e.kind, items: e.items.map((i) => this.checkExpr(q, obj, i)) };
      case 'not':
        return { kind: 'not', item: this.checkExpr(q, obj, e.item) };
      case 'cmp': {
        const r = this.resolvePath(q, obj, e.path, e.pos);
        checkLiteral(q, e.pos, r.field, e.value, e.op);
        return { kind: 'cmp', r, op: e.op, value: e.value, like: e.op === 'like' && e.value.type === 'string' ? likeToRegExp(e.value.value) : undefined };
      }
      case 'in': {
        const r = this.resolvePath(q, obj, e.path, e.pos);
        for (const v of e.values) checkLiteral(q, e.pos, r.field, v, '=');
        return { kind: 'in', r, values: e.values, negate: e.negate };
      }
    }
  }

  /** Follow reference hops from a record and read the final field (undefined parent → null). */
  readPath(rec: SfRecord, r: ResolvedPath): unknown {
    let cur: SfRecord | undefined = rec;
    for (const hop of r.hops) {
      const id: unknown = cur?.[hop.name];
      const target = hop.referenceTo?.[0];
      cur = typeof id === 'string' && target ? this.get(target, id) : undefined;
      if (!cur) return null;
    }
    const v = cur[r.field.name];
    if (v === undefined) return r.field.type === 'boolean' ? false : null;
    return v;
  }

  /** Run a compiled query: filter, sort, offset, limit. Returns matching stored records. */
  run(c: CompiledQuery, includeDeleted: boolean): SfRecord[] {
    let rows = this.list(c.object.name, includeDeleted);
    if (c.where) rows = rows.filter((r) => this.evalExpr(c.where!, r));
    if (c.order.length) {
      rows = [...rows].sort((a, b) => {
        for (const o of c.order) {
          const va = this.readPath(a, o.resolved);
          const vb = this.readPath(b, o.resolved);
          if (va === vb) continue;
          if (va === null || va === undefined) return o.nullsLast ? 1 : -1;
          if (vb === null || vb === undefined) return o.nullsLast ? -1 : 1;
          const cmp = compareValues(o.resolved.field.type, va, vb);
          if (cmp !== 0) return o.desc ? -cmp : cmp;
        }
        return 0;
      });
    }
    const offset = c.query.offset ?? 0;
    const end = c.query.limit !== undefined ? offset + c.query.limit : undefined;
    return rows.slice(offset, end);
  }

  private evalExpr(e: CheckedExpr, rec: SfRecord): boolean {
    switch (e.kind) {
      case 'and':
        return e.items.every((i) => this.evalExpr(i, rec));
      case 'or':
        return e.items.some((i) => this.evalExpr(i, rec));
      case 'not':
        return !this.evalExpr(e.item, rec);
      case 'in': {
        const v = this.readPath(rec, e.r);
        const hit = e.values.some((l) => equalsLiteral(e.r.field.type, v, l));
        return e.negate ? !hit && v !== null : hit;
      }
      case 'cmp': {
        const v = this.readPath(rec, e.r);
        if (e.op === 'like') return v !== null && e.like !== undefined && e.like.test(String(v));
        if (e.op === '=') return equalsLiteral(e.r.field.type, v, e.value);
        if (e.op === '!=') return !equalsLiteral(e.r.field.type, v, e.value);
        if (v === null || e.value.type === 'null') return false;
        const cmp = compareValues(e.r.field.type, v, literalValue(e.value));
        return e.op === '<' ? cmp < 0 : e.op === '>' ? cmp > 0 : e.op === '<=' ? cmp <= 0 : cmp >= 0;
      }
    }
  }

  /** A record as the REST API returns it: attributes first, then the selected fields (parents nested). */
  project(c: CompiledQuery, rec: SfRecord, version: string): SfRecord {
    const out: SfRecord = { attributes: { type: c.object.name, url: `/services/data/v${version}/sobjects/${c.object.name}/${rec.Id}` } };
    for (const r of c.fields) {
      if (r.hops.length === 0) {
        out[r.field.name] = this.readPath(rec, r);
        continue;
      }
      let cur: SfRecord | undefined = rec;
      let holder = out;
      for (let i = 0; i < r.hops.length; i++) {
        const hop = r.hops[i]!;
        const name = r.names[i]!;
        const id: unknown = cur?.[hop.name];
        const target = hop.referenceTo?.[0];
        cur = typeof id === 'string' && target ? this.get(target, id) : undefined;
        if (!cur) {
          if (!(name in holder)) holder[name] = null;
          break;
        }
        let nested = holder[name] as SfRecord | null | undefined;
        if (!nested) {
          nested = { attributes: { type: target, url: `/services/data/v${version}/sobjects/${target}/${cur.Id}` } };
          holder[name] = nested;
        }
        holder = nested;
        if (i === r.hops.length - 1) holder[r.field.name] = cur[r.field.name] ?? (r.field.type === 'boolean' ? false : null);
      }
    }
    return out;
  }

  /** A JSON copy of every object's records (tombstones included), keyed by object name. */
  dump(): Record<string, SfRecord[]> {
    const out: Record<string, SfRecord[]> = {};
    for (const o of this.objects.values()) {
      const rows = this.list(o.name, true);
      if (rows.length || o.name !== 'User') out[o.name] = rows.map((r) => ({ ...r }));
    }
    return out;
  }
}

export interface CompiledQuery {
  query: SoqlQuery;
  object: ObjectDef;
  fields: ResolvedPath[];
  where?: CheckedExpr;
  order: Array<{ desc: boolean; nullsLast: boolean; resolved: ResolvedPath }>;
}

type CheckedExpr =
  | { kind: 'and' | 'or'; items: CheckedExpr[] }
  | { kind: 'not'; item: CheckedExpr }
  | { kind: 'cmp'; r: ResolvedPath; op: string; value: Literal; like?: RegExp }
  | { kind: 'in'; r: ResolvedPath; values: Literal[]; negate: boolean };

/** Record ids by the value of one field (lower-cased when `ci`). */
interface FieldIndex {
  field: string;
  ci: boolean;
  ids: ReverseIndex<string, unknown>;
}

function indexRecord(idx: FieldIndex, id: string, rec: SfRecord | undefined): void {
  const raw = rec?.[idx.field];
  idx.ids.file(id, raw === undefined || raw === null ? undefined : idx.ci ? String(raw).toLowerCase() : raw);
}

function fail(...errors: RecordError[]): SaveResult {
  return { success: false, errors };
}

/** Salesforce's datetime format: `2024-01-31T10:00:00.000+0000`. */
export function formatDateTime(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

function inferType(v: unknown): FieldType {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return 'double';
  return 'string';
}

function typeError(f: FieldDef, value: unknown): { error: RecordError } {
  return { error: { statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD', message: `${f.label ?? f.name}: value not of required type: ${String(value)}`, fields: [f.name] } };
}

/** Check and convert one input value for a field (JSON values or CSV strings). */
export function coerce(f: FieldDef, value: unknown): { value: unknown } | { error: RecordError } {
  if (value === null || value === undefined) return { value: null };
  const t = f.type;
  if (isTextType(t)) {
    if (typeof value === 'object' || typeof value === 'boolean') return typeError(f, JSON.stringify(value));
    const s = String(value);
    if (t === 'reference' || t === 'id') {
      if (s === '') return { value: null };
      const full = normalizeId(s);
      if (!full) return { error: { statusCode: 'MALFORMED_ID', message: `${f.label ?? f.name}: id value of incorrect type: ${s}`, fields: [f.name] } };
      return { value: full };
    }
    const max = f.length ?? 255;
    if (s.length > max)
      return { error: { statusCode: 'STRING_TOO_LONG', message: `${f.label ?? f.name}: data value too large: ${s.slice(0, 40)} (max length=${max})`, fields: [f.name] } };
    if (t === 'email' && s !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s))
      return { error: { statusCode: 'INVALID_EMAIL_ADDRESS', message: `${f.label ?? f.name}: invalid email address: ${s}`, fields: [f.name] } };
    return { value: s === '' ? null : s };
  }
  if (t === 'boolean') {
    if (typeof value === 'boolean') return { value };
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return { value: value.toLowerCase() === 'true' };
    return typeError(f, value);
  }
  if (isNumberType(t)) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n) || (t === 'int' && !Number.isInteger(n))) return typeError(f, value);
    return { value: n };
  }
  if (t === 'date') {
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value.slice(0, 10)))) return typeError(f, value);
    return { value: value.slice(0, 10) };
  }
  if (t === 'datetime') {
    const ms = typeof value === 'string' ? parseDateTime(value) : typeof value === 'number' ? value : NaN;
    if (!Number.isFinite(ms)) return typeError(f, value);
    return { value: formatDateTime(new Date(ms)) };
  }
  return { value };
}

const TYPE_WORD: Partial<Record<FieldType, string>> = { datetime: 'dateTime', date: 'date', boolean: 'boolean', int: 'number', double: 'number', currency: 'number', percent: 'number' };

function checkLiteral(q: SoqlQuery, pos: number, f: FieldDef, lit: Literal, op: string): void {
  if (lit.type === 'null') return;
  const t = f.type;
  const bad = (expected: string, quoted: boolean) =>
    new SoqlError(
      'INVALID_FIELD',
      caretMessage(q.text, pos, `value of filter criterion for field '${f.name}' must be of type ${expected} and should ${quoted ? '' : 'not '}be enclosed in quotes`),
    );
  if (op === 'like' && !isTextType(t)) throw new SoqlError('INVALID_FIELD', caretMessage(q.text, pos, `invalid operator on ${TYPE_WORD[t] ?? t} field: LIKE`));
  if (isTextType(t)) {
    if (lit.type !== 'string') throw bad('string', true);
  } else if (t === 'boolean') {
    if (lit.type !== 'boolean') throw bad('boolean', false);
  } else if (isNumberType(t)) {
    if (lit.type !== 'number') throw bad('number', false);
  } else if (t === 'datetime') {
    if (lit.type !== 'datetime') throw bad('dateTime', false);
  } else if (t === 'date') {
    if (lit.type !== 'date') throw bad('date', false);
  }
}

function literalValue(l: Literal): unknown {
  return l.type === 'datetime' ? l.value : l.value;
}

function equalsLiteral(t: FieldType, v: unknown, l: Literal): boolean {
  if (l.type === 'null') return v === null || v === undefined;
  if (v === null || v === undefined) return false;
  return compareValues(t, v, literalValue(l)) === 0;
}

/** Compare a stored value with another stored value or a literal value of the same field type. */
function compareValues(t: FieldType, a: unknown, b: unknown): number {
  if (t === 'datetime') {
    const x = typeof a === 'number' ? a : parseDateTime(String(a));
    const y = typeof b === 'number' ? b : parseDateTime(String(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (isNumberType(t)) return Number(a) - Number(b);
  if (t === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (t === 'id' || t === 'reference') {
    // Ids compare on their case-sensitive 15-character form.
    const x = normalizeId(String(a)) ?? String(a);
    const y = normalizeId(String(b)) ?? String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  // Text comparisons in SOQL are case-insensitive.
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
