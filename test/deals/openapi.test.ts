import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { dealWorld, validDeal, type DealWorld } from './helpers.js';

/**
 * The OpenAPI document served at /api/v1/openapi.json, checked with off-the-shelf tools only:
 * - @seriousme/openapi-schema-validator validates it against the official OpenAPI 3.1 schema and
 *   checks that every $ref resolves;
 * - openapi-typescript generates the client's types from the served document, and a small client
 *   program written against those types with openapi-fetch is type-checked (correct calls compile,
 *   calls the document forbids do not) and then run: it obtains a token and submits a deal;
 * - every response it receives is checked against the document's own schemas with Ajv (JSON Schema
 *   2020-12, the dialect OpenAPI 3.1 uses).
 */

let w: DealWorld | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

type Json = any;

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * What the OpenAPI 3.1 JSON Schema cannot express and the validator does not check, but the
 * specification requires: every `{name}` in a path template is declared as a path parameter,
 * operationIds are unique, and an operation's security names declared schemes and scopes.
 */
function semanticProblems(doc: Json): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const schemes = doc.components?.securitySchemes ?? {};
  for (const [p, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const m of HTTP_METHODS.filter((x) => item[x])) {
      const op = item[m];
      const where = `${m.toUpperCase()} ${p}`;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      for (const [, name] of p.matchAll(/\{([^}]+)\}/g)) if (!params.some((x: Json) => x.in === 'path' && x.name === name)) problems.push(`${where}: path parameter {${name}} is not declared`);
      if (op.operationId && ids.has(op.operationId)) problems.push(`${where}: duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
      for (const req of op.security ?? doc.security ?? []) {
        for (const [name, scopes] of Object.entries<string[]>(req)) {
          if (!schemes[name]) problems.push(`${where}: security scheme ${name} is not defined`);
          const declared = schemes[name]?.flows?.clientCredentials?.scopes;
          if (declared) for (const s of scopes) if (!(s in declared)) problems.push(`${where}: scope ${s} is not declared by ${name}`);
        }
      }
    }
  }
  return problems;
}

async function validateOpenApi(doc: Json) {
  return new Validator().validate(structuredClone(doc));
}

/** Response bodies checked against the schema the document declares for (path, method, status, type). */
function responseChecker(doc: Json) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  return (p: string, method: string, res: { status: number; contentType: string | null; data: unknown }): string[] => {
    const declared = doc.paths[p]?.[method]?.responses?.[String(res.status)];
    const schema = declared?.content?.[(res.contentType ?? '').split(';')[0]!]?.schema;
    if (!schema) return [`${method.toUpperCase()} ${p} ${res.status} ${res.contentType}: not declared`];
    // The document's refs are local (#/components/...); rebase them onto the schema added above.
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'));
    const validate = ajv.compile(rebased);
    return validate(res.data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  };
}

/**
 * The client program: written against the generated `paths`/`components` types only (nothing
 * from this repository), with openapi-fetch as the HTTP client. The `@ts-expect-error` lines are
 * calls the document forbids; if the generated types were too loose to reject them, the type
 * check reports the directive as unused.
 */
const CLIENT_PROGRAM = `
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type DealInput = components['schemas']['DealInput'];
type Sent = { status: number; contentType: string | null; data: unknown };
const sent = (r: { response: Response; data?: unknown; error?: unknown }): Sent => ({
  status: r.response.status,
  contentType: r.response.headers.get('content-type'),
  data: r.data ?? r.error,
});

export async function submitDeal(opts: { baseUrl: string; clientId: string; clientSecret: string; apiKey: string; deal: DealInput; idempotencyKey: string }) {
  const anonymous = createClient<paths>({ baseUrl: opts.baseUrl });
  const token = await anonymous.POST('/oauth/token', {
    body: { grant_type: 'client_credentials', scope: 'deals:read deals:write', client_id: opts.clientId, client_secret: opts.clientSecret },
  });
  if (!token.data) throw new Error('no token: ' + JSON.stringify(token.error));
  const accessToken: string = token.data.access_token;

  const client = createClient<paths>({ baseUrl: opts.baseUrl, headers: { authorization: 'Bearer ' + accessToken } });
  const created = await client.POST('/deals', { params: { header: { 'Idempotency-Key': opts.idempotencyKey } }, body: opts.deal });
  if (!created.data) throw new Error('not created: ' + JSON.stringify(created.error));
  const id: string = created.data.id;
  const read = await client.GET('/deals/{id}', { params: { path: { id } } });
  const patched = await client.PATCH('/deals/{id}', { params: { path: { id } }, body: { stage: 'negotiation' } });
  const refused = await client.POST('/deals', { body: { ...opts.deal, expected_close_date: 'someday' } });

  // The same API with an API key instead of a token.
  const withKey = createClient<paths>({ baseUrl: opts.baseUrl, headers: { authorization: 'Bearer ' + opts.apiKey } });
  const listed = await withKey.GET('/deals', { params: { query: { limit: 10 } } });
  const ids: string[] = (listed.data?.data ?? []).map((d) => d.id);

  return { token: sent(token), created: sent(created), read: sent(read), patched: sent(patched), refused: sent(refused), listed: sent(listed), ids };
}

export function forbiddenByTheDocument(client: ReturnType<typeof createClient<paths>>, deal: DealInput) {
  // @ts-expect-error a stage the document does not list
  void client.POST('/deals', { body: { ...deal, stage: 'party' } });
  // @ts-expect-error required fields missing
  void client.POST('/deals', { body: { deal_name: 'x' } });
  // @ts-expect-error a field of the wrong type (unknown fields are refused by the server, not by
  // TypeScript: excess-property checks do not reach through openapi-fetch's generic parameters)
  void client.PATCH('/deals/{id}', { params: { path: { id: 'x' } }, body: { amount_minor: 'lots' } });
  // @ts-expect-error the path parameter is required
  void client.GET('/deals/{id}', {});
  // @ts-expect-error no such path
  void client.GET('/nope');
  // @ts-expect-error the token endpoint only does client_credentials
  void client.POST('/oauth/token', { body: { grant_type: 'password' } });
}
`;

/** Generate `api.d.ts` from `doc` with openapi-typescript, next to the client program, in a temp dir. */
async function generateClient(doc: Json): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-openapi-client-'));
  // The program resolves openapi-fetch the ordinary way, from a node_modules next to it.
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'junction');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  fs.writeFileSync(path.join(dir, 'api.d.ts'), astToString(await openapiTS(structuredClone(doc))));
  fs.writeFileSync(path.join(dir, 'client.ts'), CLIENT_PROGRAM);
  return dir;
}

/** TypeScript diagnostics of the client program (strict, NodeNext, as a consumer would compile it). */
function typeCheck(dir: string): string[] {
  const program = ts.createProgram([path.join(dir, 'client.ts')], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    return `${d.file ? path.basename(d.file.fileName) : ''}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('OpenAPI document', () => {
  it('validates as OpenAPI 3.1 (official schema, every $ref resolving), generated from the request schemas', async () => {
    w = await dealWorld();
    const res = await fetch(`${w.base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Json;
    expect(doc.openapi).toBe('3.1.0');
    expect(await validateOpenApi(doc)).toEqual({ valid: true });
    expect(semanticProblems(doc)).toEqual([]);
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Deal', 'DealInput', 'DealList', 'DealPatch', 'InvalidParam', 'OAuthError', 'Problem', 'TokenRequest', 'TokenResponse']);
    // The request schema is the validator's: the same fields, required ones and stage values.
    expect(doc.components.schemas.DealInput.required).toEqual(['deal_name', 'company_name', 'stage', 'expected_close_date']);
    expect(doc.components.schemas.DealInput.properties.stage.enum).toContain('negotiation');
    expect(doc.components.schemas.DealInput.additionalProperties).toBe(false);

    // The validator is not blind: a structural error, a dangling $ref, and what only the spec's prose requires.
    const noResponses = structuredClone(doc);
    delete noResponses.paths['/deals'].post.responses;
    noResponses.paths['/deals/{id}'].get.parameters[0].required = false;
    expect(await validateOpenApi(noResponses)).toMatchObject({ valid: false });
    const danglingRef = structuredClone(doc);
    danglingRef.paths['/deals'].post.requestBody.content['application/json'].schema.$ref = '#/components/schemas/Nope';
    const dangling = await validateOpenApi(danglingRef);
    expect(dangling.valid).toBe(false);
    expect(JSON.stringify(dangling.errors)).toContain('#/components/schemas/Nope');
    const undeclared = structuredClone(doc);
    delete undeclared.paths['/deals/{id}'].get.parameters;
    undeclared.paths['/deals'].get.security = [{ oauth2: ['deals:admin'] }];
    expect(semanticProblems(undeclared)).toEqual(['GET /deals: scope deals:admin is not declared by oauth2', 'GET /deals/{id}: path parameter {id} is not declared']);
  });

  it('generates a typed client (openapi-typescript + openapi-fetch) that gets a token, submits a deal and reads it back', async () => {
    w = await dealWorld();
    const p = await w.partner('northwind');
    const doc = (await (await fetch(`${w.base}/openapi.json`)).json()) as Json;
    tmp = await generateClient(doc);
    const generated = fs.readFileSync(path.join(tmp, 'api.d.ts'), 'utf8');
    for (const op of ['createDeal', 'getDeal', 'issueToken', 'listDeals', 'updateDeal']) expect(generated).toContain(`${op}: {`);

    // Correct calls compile and every forbidden call is rejected (an unused @ts-expect-error is a diagnostic).
    expect(typeCheck(tmp)).toEqual([]);
    // The type check is not blind: without the generated types nothing compiles.
    fs.writeFileSync(path.join(tmp, 'api.d.ts'), 'export type paths = {}; export type components = { schemas: {} };');
    expect(typeCheck(tmp).length).toBeGreaterThan(0);

    const { submitDeal } = await import(pathToFileURL(path.join(tmp, 'client.ts')).href);
    // The base URL is the document's own server entry.
    const baseUrl = new URL(doc.servers[0].url, w.url).toString().replace(/\/+$/, '');
    const r = await submitDeal({ baseUrl, clientId: p.clientId, clientSecret: p.clientSecret, apiKey: p.apiKey, deal: validDeal(), idempotencyKey: 'gen-client-1' });

    expect(r.token).toMatchObject({ status: 200, data: { token_type: 'Bearer', scope: 'deals:read deals:write' } });
    expect(r.created).toMatchObject({ status: 201, data: { status: 'submitted', deal_name: 'Acme platform expansion', match: { status: 'matched' } } });
    expect(r.read).toMatchObject({ status: 200, data: { id: r.created.data.id, company_name: 'Acme Corporation' } });
    expect(r.patched).toMatchObject({ status: 200, data: { id: r.created.data.id, stage: 'negotiation' } });
    expect(r.refused.status).toBe(422);
    expect(r.refused.data.errors.map((e: { field: string }) => e.field)).toContain('expected_close_date');
    expect(r.listed.status).toBe(200);
    expect(r.ids).toEqual([r.created.data.id]);

    // Every response is what the document says it is.
    const check = responseChecker(doc);
    expect(check('/oauth/token', 'post', r.token)).toEqual([]);
    expect(check('/deals', 'post', r.created)).toEqual([]);
    expect(check('/deals/{id}', 'get', r.read)).toEqual([]);
    expect(check('/deals/{id}', 'patch', r.patched)).toEqual([]);
    expect(check('/deals', 'post', r.refused)).toEqual([]);
    expect(check('/deals', 'get', r.listed)).toEqual([]);
    // ... and the checker is not blind.
    expect(check('/deals', 'post', { ...r.created, data: { ...r.created.data, status: 'party' } })).not.toEqual([]);
    expect(check('/deals', 'post', { ...r.created, status: 299 })).toEqual(['POST /deals 299 application/json: not declared']);
  });
});
