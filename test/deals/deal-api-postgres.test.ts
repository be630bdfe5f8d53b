import { afterEach, describe, expect, it } from 'vitest';
import { dialects, newStagingUrl, type TestStaging } from '../helpers/staging.js';
import { dealWorld, validDeal, type DealWorld } from './helpers.js';

/**
 * The same deal API on Postgres staging, where requests really run in parallel on a pool of
 * connections: the unique (partner, key) constraint, not a process-local lock, is what keeps
 * concurrent retries to one deal.
 */
let w: DealWorld | undefined;
let pg: TestStaging | undefined;
afterEach(async () => {
  await w?.close();
  await pg?.cleanup();
  w = undefined;
  pg = undefined;
});

describe.runIf(dialects.includes('postgres'))('deal API on Postgres staging', () => {
  it('concurrent identical submissions with one Idempotency-Key create one deal; a second partner conflicts', async () => {
    pg = newStagingUrl('postgres', 'deals');
    w = await dealWorld({ stagingUrl: pg.url });
    const a = await w.partner('northwind');
    const b = await w.partner('contoso');
    const all = await Promise.all(Array.from({ length: 8 }, () => w!.call('POST', '/deals', { auth: a.apiKey, body: validDeal(), headers: { 'idempotency-key': 'pg-1' } })));
    expect(all.every((r) => r.status === 201)).toBe(true);
    expect(new Set(all.map((r) => r.body.id)).size).toBe(1);
    expect(await w.staging.db('deals').count({ n: '*' })).toEqual([{ n: '1' }]);
    const second = await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal() });
    expect(second.body).toMatchObject({ status: 'conflict', conflict: { reason: 'partner_registered' } });
    const page = await w.call('GET', '/deals?limit=1', { auth: a.apiKey });
    expect(page.body.data.map((d: { id: string }) => d.id)).toEqual([all[0]!.body.id]);
  });
});
