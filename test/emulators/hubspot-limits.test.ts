import { afterEach, describe, expect, it, vi } from 'vitest';
import { Client } from '@hubspot/api-client';
import { start, DEFAULT_HUBSPOT_TOKEN, type HubSpotEmulator } from '../../src/emulators/hubspot/index.js';

/**
 * Rate limits, the search cap and injected faults, driven through the real client and its own
 * RetryDecorator (`numberOfApiCallRetries`). The client logs each retry with console.error; the
 * spy keeps the output quiet and lets the tests check that a retry really happened.
 */

let emu: HubSpotEmulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
  vi.restoreAllMocks();
});

async function rejection(p: Promise<unknown>): Promise<{ code?: number; body?: Record<string, unknown>; headers?: Record<string, string> }> {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  throw new Error('expected the call to fail');
}

describe('HubSpot emulator: limits', () => {
  it('answers the burst limit with 429 TEN_SECONDLY_ROLLING and its headers; the client without retries surfaces it', async () => {
    emu = await start({ rateLimit: { max: 3, intervalMs: 60_000, daily: 1000 } });
    const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url });
    for (let i = 0; i < 3; i++) await client.crm.companies.basicApi.getPage(1);
    const err = await rejection(client.crm.companies.basicApi.getPage(1));
    expect(err.code).toBe(429);
    expect(err.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
    expect(err.headers?.['x-hubspot-ratelimit-remaining']).toBe('0');
    expect(err.headers?.['x-hubspot-ratelimit-max']).toBe('3');
  });

  it('ends with the non-retried DAILY 429 once the daily allowance is spent', async () => {
    emu = await start({ rateLimit: { max: 100, intervalMs: 1000, daily: 2 } });
    const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url, numberOfApiCallRetries: 3 });
    await client.crm.companies.basicApi.getPage(1);
    const second = await client.crm.companies.basicApi.getPageWithHttpInfo(1);
    expect(second.headers['x-hubspot-ratelimit-daily-remaining']).toBe('0');
    const err = await rejection(client.crm.companies.basicApi.getPage(1));
    expect(err.code).toBe(429);
    expect(err.body?.policyName).toBe('DAILY');
    expect(emu.calls('companies-list')).toBe(3);
  });

  it("retries the search endpoint's secondly 429 with the client's own 1 s back-off", async () => {
    // A window just under the client's 1 s back-off: the second search lands in it even on a machine that
    // stalls for most of a second between the two calls, and the retry lands after it.
    emu = await start({ seedData: { companies: [{ name: 'A' }] }, searchRateLimit: { max: 1, intervalMs: 950 } });
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url, numberOfApiCallRetries: 2 });
    const req = { filterGroups: [], limit: 10, after: '0', sorts: [], properties: [] };
    await client.crm.companies.searchApi.doSearch(req);
    const t0 = Date.now();
    const res = await client.crm.companies.searchApi.doSearch(req);
    expect(res.total).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(emu.requests.filter((r) => r.route === 'companies-search').map((r) => r.status)).toEqual([200, 429, 200]);
    expect(spy).toHaveBeenCalledWith(expect.stringContaining('[429]'));
  });

  it('retries an injected TEN_SECONDLY_ROLLING 429 after 10 s, as the client does', async () => {
    emu = await start({ faults: '429:x1@companies-batch-upsert', seedData: { properties: { companies: [{ name: 'ext_id', hasUniqueValue: true }] } } });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url, numberOfApiCallRetries: 2 });
    const t0 = Date.now();
    const res = await client.crm.companies.batchApi.upsert({ inputs: [{ idProperty: 'ext_id', id: 'e1', properties: { name: 'E' } }] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(9_900);
    expect(res.results[0]!._new).toBe(true);
    expect(emu.requests.map((r) => [r.route, r.status, r.fault])).toEqual([
      ['companies-batch-upsert', 429, '429'],
      ['companies-batch-upsert', 200, undefined],
    ]);
    expect(emu.state.list('companies')).toHaveLength(1);
  }, 20_000);

  it('retries injected 5xx after 200 ms × attempt and reports resets as connection errors', async () => {
    emu = await start({ faults: '503:x1@companies-list,reset:x1@contacts-list' });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url, numberOfApiCallRetries: 2 });
    const page = await client.crm.companies.basicApi.getPage(1);
    expect(page.results).toEqual([]);
    expect(emu.requests.filter((r) => r.route === 'companies-list').map((r) => r.status)).toEqual([503, 200]);
    const noRetry = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url });
    await expect(noRetry.crm.contacts.basicApi.getPage(1)).rejects.toThrow();
  });

  it('pages search up to 10 000 results and answers 400 beyond', async () => {
    const companies = Array.from({ length: 10_050 }, (_, i) => ({ name: `C${i}`, industry: 'Software' }));
    emu = await start({ seedData: { companies }, searchRateLimit: { max: 100, intervalMs: 1000 } });
    const client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: emu.url });
    const filterGroups = [{ filters: [{ propertyName: 'industry', operator: 'EQ' as never, value: 'software' }] }];
    const near = await client.crm.companies.searchApi.doSearch({ filterGroups, limit: 200, after: '9800', sorts: [], properties: ['name'] });
    expect(near.total).toBe(10_050);
    expect(near.results).toHaveLength(200);
    expect(near.paging?.next?.after).toBe('10000');
    const err = await rejection(
      client.crm.companies.searchApi.doSearch({ filterGroups, limit: 200, after: near.paging!.next!.after, sorts: [], properties: ['name'] }),
    );
    expect(err.code).toBe(400);
    expect(err.body?.category).toBe('VALIDATION_ERROR');
  });
});
