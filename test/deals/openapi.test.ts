import { afterEach, describe, expect, it } from 'vitest';
import { dealWorld, validDeal, type DealWorld } from './helpers.js';

/**
 * The OpenAPI document served at /api/v1/openapi.json: structurally valid OpenAPI 3.1 with every
 * $ref resolving, and usable as it is — a generic client that knows nothing but the document (no
 * generator is installed, so the client below builds requests from operationId → method, path,
 * parameters and request body schema, and checks bodies against the document's JSON Schemas)
 * obtains a token and submits a deal.
 */

let w: DealWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

type Json = any;

/** Resolve a local JSON Pointer ref (`#/components/schemas/Deal`) in `doc`. */
function resolveRef(doc: Json, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`non-local $ref ${ref}`);
  let v = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object' || !(key in v)) throw new Error(`unresolved $ref ${ref}`);
    v = v[key];
  }
  return v;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMA_KEYWORDS = new Set([
  '$ref', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'pattern', 'minLength', 'maxLength',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'format', 'anyOf', 'oneOf', 'allOf', 'not', 'description', 'title',
  'default', 'examples', 'propertyNames', 'minItems', 'maxItems', 'writeOnly', 'readOnly', 'deprecated',
]);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

/** Every structural problem of an OpenAPI 3.1 document that we can check offline. */
function openApi31Problems(doc: Json): string[] {
  const problems: string[] = [];
  const p = (where: string, msg: string) => problems.push(`${where}: ${msg}`);
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) p('openapi', 'must be 3.1.x');
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') p('info', 'title and version are required strings');
  if (!doc.paths && !doc.components && !doc.webhooks) p('(root)', 'one of paths, components, webhooks is required');
  for (const s of doc.servers ?? []) if (typeof s.url !== 'string') p('servers', 'url is required');

  // Every $ref anywhere resolves.
  const walk = (v: Json, where: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}/${i}`));
    else if (v && typeof v === 'object') {
      if (typeof v.$ref === 'string') {
        try {
          resolveRef(doc, v.$ref);
        } catch (e) {
          p(where, (e as Error).message);
        }
      }
      for (const [k, x] of Object.entries(v)) walk(x, `${where}/${k}`);
    }
  };
  walk(doc, '#');

  // JSON Schema (2020-12 subset that zod emits): known keywords, valid types, required ⊆ properties.
  const checkSchema = (s: Json, where: string) => {
    if (typeof s === 'boolean') return;
    if (!s || typeof s !== 'object') return p(where, 'a schema must be an object or boolean');
    for (const k of Object.keys(s)) if (!SCHEMA_KEYWORDS.has(k)) p(where, `unknown schema keyword ${k}`);
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    for (const t of types) if (!TYPES.has(t)) p(where, `unknown type ${t}`);
    if (s.pattern !== undefined) {
      try {
        new RegExp(s.pattern, 'u');
      } catch {
        p(where, `pattern is not a valid regular expression`);
      }
    }
    if (s.required && s.properties && s.additionalProperties === false) for (const r of s.required) if (!(r in s.properties)) p(where, `required ${r} is not a property`);
    for (const [k, x] of Object.entries(s.properties ?? {})) checkSchema(x, `${where}/properties/${k}`);
    if (s.items) checkSchema(s.items, `${where}/items`);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') checkSchema(s.additionalProperties, `${where}/additionalProperties`);
    for (const c of ['anyOf', 'oneOf', 'allOf'] as const) (s[c] ?? []).forEach((x: Json, i: number) => checkSchema(x, `${where}/${c}/${i}`));
  };
  for (const [name, s] of Object.entries(doc.components?.schemas ?? {})) checkSchema(s, `#/components/schemas/${name}`);

  const schemes = doc.components?.securitySchemes ?? {};
  for (const [name, s] of Object.entries<Json>(schemes)) {
    if (!['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(s.type)) p(`securitySchemes.${name}`, `bad type ${s.type}`);
    if (s.type === 'http' && typeof s.scheme !== 'string') p(`securitySchemes.${name}`, 'http needs scheme');
    if (s.type === 'oauth2' && (!s.flows || Object.keys(s.flows).length === 0)) p(`securitySchemes.${name}`, 'oauth2 needs flows');
    if (s.flows?.clientCredentials && typeof s.flows.clientCredentials.tokenUrl !== 'string') p(`securitySchemes.${name}`, 'clientCredentials needs tokenUrl');
  }
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    if (!path.startsWith('/')) p(`paths.${path}`, 'must start with /');
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const method of Object.keys(item)) {
      if (!HTTP_METHODS.includes(method) && !['parameters', 'summary', 'description', 'servers', '$ref'].includes(method)) p(`paths.${path}`, `unknown key ${method}`);
    }
    for (const method of HTTP_METHODS.filter((m) => item[m])) {
      const op = item[method];
      const where = `paths.${path}.${method}`;
      if (op.operationId) {
        if (operationIds.has(op.operationId)) p(where, `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x: Json) => (x.$ref ? resolveRef(doc, x.$ref) : x));
      for (const prm of params) {
        if (typeof prm.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(prm.in)) p(where, 'parameter needs name and in');
        if (prm.in === 'path' && prm.required !== true) p(where, `path parameter ${prm.name} must be required`);
        if (!prm.schema && !prm.content) p(where, `parameter ${prm.name} needs schema or content`);
      }
      for (const t of templated) if (!params.some((x: Json) => x.in === 'path' && x.name === t)) p(where, `path parameter {${t}} is not declared`);
      if (op.requestBody && (!op.requestBody.content || Object.keys(op.requestBody.content).length === 0)) p(where, 'requestBody needs content');
      if (!op.responses || Object.keys(op.responses).length === 0) p(where, 'responses are required');
      for (const [code, r] of Object.entries<Json>(op.responses ?? {})) {
        if (!/^([1-5](\d\d|XX)|default)$/.test(code)) p(where, `bad response code ${code}`);
        if (typeof (r.$ref ? resolveRef(doc, r.$ref) : r).description !== 'string') p(`${where}.${code}`, 'description is required');
      }
      for (const req of op.security ?? doc.security ?? []) {
        for (const [name, scopes] of Object.entries<Json>(req)) {
          if (!schemes[name]) p(where, `security scheme ${name} is not defined`);
          const declared = schemes[name]?.flows?.clientCredentials?.scopes;
          if (declared) for (const s of scopes) if (!(s in declared)) p(where, `scope ${s} is not declared by ${name}`);
        }
      }
    }
  }
  return problems;
}

/** A small JSON Schema validator for the keywords the document uses; returns the paths that fail. */
function validate(doc: Json, schema: Json, value: unknown, path = ''): string[] {
  if (schema.$ref) return validate(doc, resolveRef(doc, schema.$ref), value, path);
  const errors: string[] = [];
  if (schema.anyOf) return schema.anyOf.some((s: Json) => validate(doc, s, value, path).length === 0) ? [] : [`${path || '/'}: matches no alternative`];
  const t = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (schema.type) {
    const ok = schema.type === 'integer' ? Number.isInteger(value) : schema.type === t;
    if (!ok) return [`${path || '/'}: expected ${schema.type}`];
  }
  if (schema.const !== undefined && value !== schema.const) errors.push(`${path}: expected ${schema.const}`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: not one of ${schema.enum.join(', ')}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: too short`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${path}: too long`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${path}: does not match pattern`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above maximum`);
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}/${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.properties?.[k]) errors.push(...validate(doc, schema.properties[k], v, `${path}/${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}/${k}: not allowed`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') errors.push(...validate(doc, schema.additionalProperties, v, `${path}/${k}`));
    }
  }
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errors.push(...validate(doc, schema.items, v, `${path}/${i}`)));
  return errors;
}

/**
 * A client generated at run time from an OpenAPI document: `client.call(operationId, { params, body })`.
 * It knows nothing about this API but the document: server URL, method and path per operationId,
 * path/query/header parameters, the request body's media type and schema (checked before sending).
 */
function clientFromOpenApi(doc: Json, origin: string) {
  const ops = new Map<string, { method: string; path: string; op: Json }>();
  for (const [path, item] of Object.entries<Json>(doc.paths)) for (const m of HTTP_METHODS) if (item[m]?.operationId) ops.set(item[m].operationId, { method: m.toUpperCase(), path, op: item[m] });
  const server = new URL(doc.servers[0].url, origin).toString().replace(/\/+$/, '');
  let bearer: string | undefined;
  return {
    operations: [...ops.keys()],
    authorize(token: string) {
      bearer = token;
    },
    async call(operationId: string, args: { params?: Record<string, string | number>; body?: Record<string, unknown>; basic?: [string, string] } = {}) {
      const o = ops.get(operationId);
      if (!o) throw new Error(`no operation ${operationId}`);
      let path = o.path;
      const query = new URLSearchParams();
      const headers: Record<string, string> = {};
      for (const prm of o.op.parameters ?? []) {
        const v = args.params?.[prm.name];
        if (v === undefined) {
          if (prm.required) throw new Error(`${operationId}: parameter ${prm.name} is required`);
          continue;
        }
        if (prm.in === 'path') path = path.replace(`{${prm.name}}`, encodeURIComponent(String(v)));
        else if (prm.in === 'query') query.set(prm.name, String(v));
        else if (prm.in === 'header') headers[prm.name] = String(v);
      }
      let body: string | undefined;
      if (o.op.requestBody) {
        const content = o.op.requestBody.content;
        // Prefer JSON; fall back to a form when that is all the operation takes (OAuth token endpoints).
        const type = args.basic && content['application/x-www-form-urlencoded'] ? 'application/x-www-form-urlencoded' : content['application/json'] ? 'application/json' : Object.keys(content)[0]!;
        const errors = validate(doc, content[type].schema, args.body ?? {});
        if (errors.length) throw new Error(`${operationId}: the body does not match the document: ${errors.join('; ')}`);
        headers['content-type'] = type;
        body = type === 'application/json' ? JSON.stringify(args.body ?? {}) : new URLSearchParams(args.body as Record<string, string>).toString();
      }
      if (args.basic) headers.authorization = `Basic ${Buffer.from(`${args.basic[0]}:${args.basic[1]}`).toString('base64')}`;
      else if (bearer && (o.op.security ?? []).length) headers.authorization = `Bearer ${bearer}`;
      const res = await fetch(`${server}${path}${query.size ? `?${query}` : ''}`, { method: o.method, headers, body });
      const data = await res.json();
      const declared = o.op.responses[String(res.status)];
      const schema = declared?.content?.[res.headers.get('content-type') ?? '']?.schema;
      return { status: res.status, data, responseErrors: schema ? validate(doc, schema, data) : ['undeclared response'] };
    },
  };
}

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 with every $ref resolving, generated from the request schemas', async () => {
    w = await dealWorld();
    const res = await fetch(`${w.base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(openApi31Problems(doc)).toEqual([]);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Deal', 'DealInput', 'DealList', 'DealPatch', 'InvalidParam', 'OAuthError', 'Problem', 'TokenRequest', 'TokenResponse']);
    // The request schema is the validator's: the same fields, required ones and stage values.
    expect(doc.components.schemas.DealInput.required).toEqual(['deal_name', 'company_name', 'stage', 'expected_close_date']);
    expect(doc.components.schemas.DealInput.properties.stage.enum).toContain('negotiation');
    expect(doc.components.schemas.DealInput.additionalProperties).toBe(false);
    // The checker is not blind: a broken ref and a missing path parameter are caught.
    const broken = structuredClone(doc);
    broken.paths['/deals'].post.requestBody.content['application/json'].schema.$ref = '#/components/schemas/Nope';
    delete broken.paths['/deals/{id}'].get.parameters;
    expect(openApi31Problems(broken)).toEqual([
      expect.stringContaining('unresolved $ref #/components/schemas/Nope'),
      'paths./deals/{id}.get: path parameter {id} is not declared',
    ]);
  });

  it('drives a client built only from the document: token, submit, read back; invalid bodies are refused by both sides', async () => {
    w = await dealWorld();
    const p = await w.partner('northwind');
    const doc = await (await fetch(`${w.base}/openapi.json`)).json();
    const client = clientFromOpenApi(doc, w.url);
    expect(client.operations.sort()).toEqual(['createDeal', 'getDeal', 'issueToken', 'listDeals', 'updateDeal']);

    const token = await client.call('issueToken', { body: { grant_type: 'client_credentials', scope: 'deals:read deals:write' }, basic: [p.clientId, p.clientSecret] });
    expect(token.status).toBe(200);
    expect(token.responseErrors).toEqual([]);
    client.authorize(token.data.access_token);

    const created = await client.call('createDeal', { body: validDeal(), params: { 'Idempotency-Key': 'gen-client-1' } });
    expect(created.status).toBe(201);
    expect(created.responseErrors).toEqual([]);
    expect(created.data).toMatchObject({ status: 'submitted', match: { status: 'matched' } });

    const read = await client.call('getDeal', { params: { id: created.data.id } });
    expect(read).toMatchObject({ status: 200, responseErrors: [] });
    const list = await client.call('listDeals', { params: { limit: 10 } });
    expect(list.status).toBe(200);
    expect(list.responseErrors).toEqual([]);
    expect(list.data.data.map((d: { id: string }) => d.id)).toEqual([created.data.id]);
    const patched = await client.call('updateDeal', { params: { id: created.data.id }, body: { stage: 'negotiation' } });
    expect(patched).toMatchObject({ status: 200, responseErrors: [], data: { stage: 'negotiation' } });

    // What the document forbids, the client refuses to send, and the server refuses too.
    await expect(client.call('createDeal', { body: validDeal({ stage: 'party' }) })).rejects.toThrow('/stage: not one of');
    const direct = await w.call('POST', '/deals', { auth: token.data.access_token, body: validDeal({ stage: 'party' }) });
    expect(direct.status).toBe(422);
    expect(validate(doc, doc.paths['/deals'].post.responses['422'].content['application/problem+json'].schema, direct.body)).toEqual([]);
  });
});
