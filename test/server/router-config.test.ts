import { describe, expect, it } from 'vitest';
import { Router } from '../../src/server/router.js';
import { readBody, reply, materialize } from '../../src/server/http-body.js';
import { validateConfig } from '../../src/config/load.js';

describe('Router', () => {
  const group = new Router()
    .post('/deals', async (req) => reply(201, (await readBody(req)).toString('utf8'), { 'content-type': 'application/json' }))
    .get('/deals/:id', async (_req, ctx) => Response.json({ id: ctx.params.id }));
  const app = new Router().get('/healthz', async () => new Response('ok')).mount('/api/v1', group);

  it('dispatches mounted groups with params; 404 unknown paths; 405 with Allow for other methods', async () => {
    const created = await materialize(await app.handle(new Request('http://x/api/v1/deals', { method: 'POST', body: '{"a":1}' })));
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ a: 1 });
    expect(await (await app.handle(new Request('http://x/api/v1/deals/d%201'))).json()).toEqual({ id: 'd 1' });
    expect((await app.handle(new Request('http://x/api/v2/deals'))).status).toBe(404);
    const wrong = await app.handle(new Request('http://x/api/v1/deals', { method: 'PUT', body: '{}' }));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await app.handle(new Request('http://x/healthz', { method: 'HEAD' }))).status).toBe(200);
  });
});

describe('serve config', () => {
  it('reports every problem of serve: at once, as path: message', () => {
    const r = validateConfig(
      {
        serve: {
          sources: {
            crossbeam: { scheme: 'crossbeam' },
            sw: { scheme: 'standard-webhooks', secret: 'not-whsec' },
            generic: { scheme: 'hmac', secret: '${GENERIC_SECRET}', hmac: { header: 'X-Sig', signed: '{timestamp}.{body}' } },
          },
          actions: [{ source: 'nope', connection: 'salesforce', object: 'Account', fields: { A__c: 'x' } }],
        },
      },
      { GENERIC_SECRET: 'g-secret-value' },
    );
    expect(r.config).toBeUndefined();
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^serve\.sources\.crossbeam\.secret: required/),
        expect.stringMatching(/^serve\.sources\.sw\.secret: a Standard Webhooks secret looks like whsec_/),
        expect.stringMatching(/^serve\.sources\.generic\.hmac\.timestampHeader: required because `signed` contains \{timestamp\}/),
        'serve.actions.0.source: no source named "nope" in serve.sources',
      ]),
    );
  });

  it('accepts a rotation with an empty slot and fills defaults', () => {
    const r = validateConfig({ serve: { sources: { crossbeam: { scheme: 'crossbeam', secrets: ['${XB_NEW}', '${XB_OLD:-}'] } } } }, { XB_NEW: 'new-secret-1' });
    expect(r.problems).toEqual([]);
    expect(r.config!.serve).toMatchObject({ host: '127.0.0.1', port: 8787, basePath: '/webhooks', bodyLimitBytes: 1_048_576, worker: { maxAttempts: 8, enabled: true } });
    expect(r.config!.serve.sources.crossbeam!.toleranceSeconds).toBe(300);
  });
});
