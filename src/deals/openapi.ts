import { z } from 'zod';
import { SCOPES } from './config.js';
import { Deal, DealInput, DealList, DealPatch, InvalidParam, OAuthError, Problem, TokenRequest, TokenResponse, DEAL_STATUSES } from './schemas.js';

/**
 * The OpenAPI 3.1 document of the deal API, generated from the same zod schemas that validate
 * requests (`schemas.ts`), so documentation and behaviour cannot drift. OpenAPI 3.1 uses JSON
 * Schema 2020-12, which is what `z.toJSONSchema` emits; each named schema lands in
 * `components.schemas` and references between them become `#/components/schemas/<Name>`.
 *
 * @example
 *   const doc = openApiDocument({ basePath: '/api/v1', serverUrl: 'http://127.0.0.1:8787' });
 *   doc.paths['/deals'].post.operationId   // 'createDeal'
 */
const NAMED = { DealInput, DealPatch, Deal, DealList, InvalidParam, Problem, TokenRequest, TokenResponse, OAuthError } as const;

function componentSchemas(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(NAMED)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input', target: 'draft-2020-12' });
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, s] of Object.entries(schemas)) {
    // Per-document keywords do not belong inside components.
    const { $schema: _s, $id: _i, id: _id, ...rest } = s as Record<string, unknown>;
    out[id] = rest;
  }
  return out;
}

const ref = (name: keyof typeof NAMED) => ({ $ref: `#/components/schemas/${name}` });
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const jsonResponse = (description: string, name: keyof typeof NAMED, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: ref(name) } },
});

export function openApiDocument(opts: { basePath: string; serverUrl?: string; version?: string }): Record<string, unknown> {
  const base = opts.basePath.replace(/\/+$/, '');
  const security = (scope: string) => [{ apiKey: [] }, { oauth2: [scope] }];
  const common = {
    '401': problemResponse('Missing, unknown, expired or revoked credentials.'),
    '403': problemResponse('The credentials lack the scope this operation needs.'),
    '429': { ...problemResponse('Rate limit exceeded; retry after the Retry-After header.'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait.' } } },
  };
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Deal id.' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'partnersync partner deal API',
      version: opts.version ?? '1.0.0',
      description:
        'Register deals from a partner system. Every deal is matched to our accounts and checked for conflicts; a person accepts or rejects it. ' +
        'Field names and values shown here are ours; a partner may have a mapping from its own names configured on the server.',
    },
    servers: [{ url: `${(opts.serverUrl ?? '').replace(/\/+$/, '')}${base}` }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      '/oauth/token': {
        post: {
          operationId: 'issueToken',
          summary: 'OAuth 2.0 client credentials grant (RFC 6749 §4.4)',
          security: [],
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: ref('TokenRequest') }, 'application/json': { schema: ref('TokenRequest') } } },
          responses: {
            '200': jsonResponse('An access token.', 'TokenResponse'),
            '400': { description: 'Bad request or scope.', content: { 'application/json': { schema: ref('OAuthError') } } },
            '401': { description: 'Unknown, expired or revoked client.', content: { 'application/json': { schema: ref('OAuthError') } } },
            '429': common['429'],
          },
        },
      },
      '/deals': {
        post: {
          operationId: 'createDeal',
          summary: 'Register a deal',
          security: security('deals:write'),
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 255 },
              description: 'Retries with the same key return the first answer and never create a second deal; the same key with another body is 422.',
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('DealInput') } } },
          responses: {
            '201': jsonResponse('The deal as stored: status, match result, conflict if any.', 'Deal', { Location: { schema: { type: 'string' } } }),
            '409': problemResponse('A request with this Idempotency-Key is still being processed.'),
            '413': problemResponse('The body is larger than the limit.'),
            '415': problemResponse('Not JSON.'),
            '422': problemResponse('Invalid fields (all listed in `errors`), or an Idempotency-Key reused with another body.'),
            ...common,
          },
        },
        get: {
          operationId: 'listDeals',
          summary: "The caller's own deals, newest first",
          security: security('deals:read'),
          parameters: [
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
            { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: [...DEAL_STATUSES] } },
          ],
          responses: { '200': jsonResponse('A page of deals.', 'DealList'), '400': problemResponse('Bad query parameters.'), ...common },
        },
      },
      '/deals/{id}': {
        get: {
          operationId: 'getDeal',
          summary: 'One of the caller\'s deals',
          security: security('deals:read'),
          parameters: [idParam],
          responses: { '200': jsonResponse('The deal.', 'Deal'), '404': problemResponse('No such deal among the caller\'s deals.'), ...common },
        },
        patch: {
          operationId: 'updateDeal',
          summary: 'Change a deal that is not accepted or rejected yet',
          security: security('deals:write'),
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: ref('DealPatch') } } },
          responses: {
            '200': jsonResponse('The changed deal (matched and checked for conflicts again).', 'Deal'),
            '404': problemResponse('No such deal among the caller\'s deals.'),
            '409': problemResponse('The deal is accepted or rejected and can no longer change.'),
            '422': problemResponse('Invalid fields.'),
            ...common,
          },
        },
      },
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (psk_…) from `partnersync partners add`, as a Bearer token.' },
        oauth2: {
          type: 'oauth2',
          flows: { clientCredentials: { tokenUrl: `${base}/oauth/token`, scopes: Object.fromEntries(SCOPES.map((s) => [s, s === 'deals:read' ? 'read own deals' : 'register and change own deals'])) } },
        },
      },
    },
  };
}
