import { afterEach, describe, expect, it } from 'vitest';
import { dealWorld, validDeal, type DealWorld } from './helpers.js';

/** The partner deal API over HTTP: a real server on 127.0.0.1 port 0, SQLite staging. */

let w: DealWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('submitting a deal', () => {
  it('stores a valid submission, matches it to our account, and the partner can read it back', async () => {
    w = await dealWorld();
    const { apiKey } = await w.partner('northwind');
    const r = await w.call('POST', '/deals', { auth: apiKey, body: validDeal() });
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.body).toMatchObject({ status: 'submitted', match: { status: 'matched' }, conflict: null, stage: 'proposal', company_country: 'US', amount_minor: 1_250_000, currency: 'USD' });
    expect(r.body.id).toMatch(/^dl_[0-9a-f]{24}$/);
    expect(r.headers.get('location')).toBe(`/api/v1/deals/${r.body.id}`);
    // Our account id is not the partner's business.
    expect(r.text).not.toContain('001A');

    const row = await w.staging.db('deals').where({ deal_id: r.body.id }).first();
    expect(row).toMatchObject({ partner: 'northwind', status: 'submitted', match_status: 'matched', account_id: '001A', match_rule: 'website-domain' });

    const back = await w.call('GET', `/deals/${r.body.id}`, { auth: apiKey });
    expect(back.status).toBe(200);
    expect(back.body).toEqual(r.body);
  });

  it('says review when the evidence fits several accounts, and new when it fits none', async () => {
    w = await dealWorld();
    const { apiKey } = await w.partner('northwind');
    const review = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ company_name: 'Umbrella Labs', company_website: undefined, contact_email: undefined, company_country: 'GB' }) });
    expect(review.status).toBe(201);
    expect(review.body.match.status).toBe('review');
    const fresh = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ company_name: 'Hooli', company_website: 'hooli.xyz', contact_email: 'gavin@hooli.xyz' }) });
    expect(fresh.body.match.status).toBe('new');
    expect((await w.staging.db('deals').where({ deal_id: fresh.body.id }).first()).account_id).toBeNull();
  });

  it('lists every invalid field at once, each with its own code, as RFC 9457 problem+json', async () => {
    w = await dealWorld();
    const { apiKey } = await w.partner('northwind');
    const bad = {
      deal_name: '', // empty
      // company_name missing
      company_website: 'not a website',
      company_country: 'USA',
      contact_email: 'jane-at-acme',
      stage: 'won-ish',
      amount_minor: 12.5,
      // currency missing while amount_minor is set
      expected_close_date: '2030-02-30',
      notes: 42,
      color: 'blue', // unknown field
    };
    const r = await w.call('POST', '/deals', { auth: apiKey, body: bad });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.body).toMatchObject({ type: 'urn:partnersync:problem:validation_failed', title: 'Unprocessable Content', status: 422, code: 'validation_failed' });
    const byField = Object.fromEntries((r.body.errors as Array<{ field: string; code: string; pointer: string }>).map((e) => [e.field, e.code]));
    expect(byField).toEqual({
      deal_name: 'too_small',
      company_name: 'required',
      company_website: 'invalid_format',
      company_country: 'invalid_format',
      contact_email: 'invalid_format',
      stage: 'invalid_value',
      amount_minor: 'invalid_type',
      expected_close_date: 'invalid_format',
      notes: 'invalid_type',
      color: 'unknown_field',
    });
    const currency = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ currency: undefined }) });
    expect(currency.status).toBe(422);
    expect(currency.body.errors).toEqual([{ field: 'currency', pointer: '/currency', code: 'custom', detail: 'required with amount_minor' }]);
    const negative = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ amount_minor: -1 }) });
    expect(negative.body.errors).toEqual([expect.objectContaining({ field: 'amount_minor', code: 'too_small' })]);
    expect(await w.staging.db('deals').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('answers malformed JSON 400, a non-JSON body 415, a non-object 422 and an oversized body 413', async () => {
    w = await dealWorld({ deals: { bodyLimitBytes: 2048 } });
    const { apiKey } = await w.partner('northwind');
    expect((await w.call('POST', '/deals', { auth: apiKey, raw: '{"deal_name": ' })).status).toBe(400);
    expect((await w.call('POST', '/deals', { auth: apiKey, raw: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await w.call('POST', '/deals', { auth: apiKey, body: [1, 2] })).status).toBe(422);
    const big = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ notes: 'x'.repeat(4000) }) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('payload_too_large');
  });
});

describe('credentials', () => {
  it('refuses missing, wrong, expired and revoked API keys with 401', async () => {
    w = await dealWorld();
    const good = await w.partner('northwind');
    const expired = await w.partner('expired-co', { expiresAt: new Date(Date.now() - 1000) });
    const post = (auth?: string) => w!.call('POST', '/deals', { auth, body: validDeal() });

    const none = await post();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await post('psk_nonsense')).status).toBe(401);
    // Right shape and id, wrong secret.
    const forged = good.apiKey.slice(0, -4) + (good.apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await post(forged)).body).toMatchObject({ status: 401, detail: 'the credentials are not valid' });
    expect((await post(expired.apiKey)).body).toMatchObject({ status: 401, detail: 'the credentials have expired' });

    expect((await post(good.apiKey)).status).toBe(201);
    await w.api.credentials.revoke(good.keyId);
    expect((await post(good.apiKey)).body).toMatchObject({ status: 401, detail: 'the credentials were revoked' });
    expect(await w.staging.db('deals').count({ n: '*' })).toEqual([{ n: 1 }]);

    // The audit log has every call, who and what, and never a secret.
    const audit = await w.staging.db('deal_api_audit').orderBy('id');
    expect(audit.map((a) => [a.status, a.outcome])).toEqual([
      [401, 'unauthorized'],
      [401, 'auth_unknown'],
      [401, 'auth_unknown'],
      [401, 'auth_expired'],
      [201, 'ok'],
      [401, 'auth_revoked'],
    ]);
    expect(audit[4]).toMatchObject({ partner_id: 'northwind', credential_id: good.keyId, method: 'POST', path: '/api/v1/deals' });
    const dump = JSON.stringify(audit);
    for (const s of [good.apiKey, expired.apiKey, forged]) expect(dump).not.toContain(s.slice(25));
  });

  it('issues short-lived OAuth tokens with scopes; expired tokens, revoked clients and missing scopes are refused', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    w = await dealWorld({ now: () => new Date(clock), deals: { tokenTtlSeconds: 600 } });
    const p = await w.partner('northwind');
    const token = async (form: Record<string, string>, basic?: [string, string]) => {
      const res = await fetch(`${w!.base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(basic ? { authorization: `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}` } : {}) },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    expect(await token({ grant_type: 'client_credentials', client_id: p.clientId, client_secret: 'wrong' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token({ grant_type: 'password', client_id: p.clientId, client_secret: p.clientSecret })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(await token({ grant_type: 'client_credentials', scope: 'deals:delete' }, [p.clientId, p.clientSecret])).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });

    const read = await token({ grant_type: 'client_credentials', scope: 'deals:read' }, [p.clientId, p.clientSecret]);
    expect(read).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 600, scope: 'deals:read' } });
    const forbidden = await w.call('POST', '/deals', { auth: read.body.access_token, body: validDeal() });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect((await w.call('GET', '/deals', { auth: read.body.access_token })).status).toBe(200);

    const rw = await token({ grant_type: 'client_credentials', client_id: p.clientId, client_secret: p.clientSecret });
    expect(rw.body.scope).toBe('deals:read deals:write');
    expect((await w.call('POST', '/deals', { auth: rw.body.access_token, body: validDeal() })).status).toBe(201);
    // A tampered token (another partner in the claims) fails its signature.
    const [h, payload, sig] = (rw.body.access_token as string).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${sig}`;
    expect((await w.call('GET', '/deals', { auth: tampered })).status).toBe(401);

    clock += 601_000;
    expect((await w.call('GET', '/deals', { auth: rw.body.access_token })).body).toMatchObject({ status: 401, detail: 'the credentials have expired' });

    const fresh = await token({ grant_type: 'client_credentials' }, [p.clientId, p.clientSecret]);
    expect((await w.call('GET', '/deals', { auth: fresh.body.access_token })).status).toBe(200);
    await w.api.credentials.revoke(p.clientId);
    // Revoking the client ends its live tokens at once.
    expect((await w.call('GET', '/deals', { auth: fresh.body.access_token })).body).toMatchObject({ status: 401, detail: 'the credentials were revoked' });
    expect((await token({ grant_type: 'client_credentials' }, [p.clientId, p.clientSecret])).status).toBe(401);
  });

  it('rotating a key with a grace period keeps the old one working until then', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    w = await dealWorld({ now: () => new Date(clock) });
    const p = await w.partner('northwind');
    const r = await w.api.credentials.rotate('northwind', { kind: 'api_key', ttlDays: 30, graceHours: 1 });
    expect(r.retired).toEqual([p.keyId]);
    expect((await w.call('GET', '/deals', { auth: p.apiKey })).status).toBe(200);
    expect((await w.call('GET', '/deals', { auth: r.issued.secret })).status).toBe(200);
    clock += 3_600_001;
    expect((await w.call('GET', '/deals', { auth: p.apiKey })).status).toBe(401);
    expect((await w.call('GET', '/deals', { auth: r.issued.secret })).status).toBe(200);
  });
});

describe('isolation between partners', () => {
  it("answers another partner's deal with 404 and no data, and lists only the caller's own deals, paged", async () => {
    w = await dealWorld();
    const a = await w.partner('northwind');
    const b = await w.partner('contoso');
    const mine = await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal({ deal_name: 'Secret Northwind deal' }) });
    for (let i = 0; i < 3; i++) expect((await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal({ company_name: `Contoso prospect ${i}`, company_website: `prospect${i}.example.com`, contact_email: undefined }) })).status).toBe(201);

    const peek = await w.call('GET', `/deals/${mine.body.id}`, { auth: b.apiKey });
    expect(peek.status).toBe(404);
    expect(peek.text).not.toContain('Secret Northwind');
    const missing = await w.call('GET', '/deals/dl_000000000000000000000000', { auth: b.apiKey });
    expect({ ...peek.body, detail: undefined }).toEqual({ ...missing.body, detail: undefined });
    const change = await w.call('PATCH', `/deals/${mine.body.id}`, { auth: b.apiKey, body: { stage: 'closed_lost' } });
    expect(change.status).toBe(404);
    expect((await w.staging.db('deals').where({ deal_id: mine.body.id }).first()).stage).toBe('proposal');

    const page1 = await w.call('GET', '/deals?limit=2', { auth: b.apiKey });
    expect(page1.status).toBe(200);
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await w.call('GET', `/deals?limit=2&cursor=${page1.body.next_cursor}`, { auth: b.apiKey });
    expect(page2.body.data).toHaveLength(1);
    expect(page2.body.next_cursor).toBeNull();
    const names = [...page1.body.data, ...page2.body.data].map((d: { company_name: string }) => d.company_name).sort();
    expect(names).toEqual(['Contoso prospect 0', 'Contoso prospect 1', 'Contoso prospect 2']);
    expect((await w.call('GET', '/deals?limit=0', { auth: b.apiKey })).status).toBe(400);
    expect((await w.call('GET', '/deals?cursor=garbage', { auth: b.apiKey })).status).toBe(400);
  });
});

describe('Idempotency-Key', () => {
  it('concurrent identical submissions create one deal and all get the same answer; another body with the key is 422', async () => {
    w = await dealWorld();
    const { apiKey } = await w.partner('northwind');
    const send = (body: unknown) => w!.call('POST', '/deals', { auth: apiKey, body, headers: { 'idempotency-key': 'order-7781' } });
    const all = await Promise.all(Array.from({ length: 6 }, () => send(validDeal())));
    expect(all.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    const ids = new Set(all.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    for (const r of all) expect(r.body).toEqual(all[0]!.body);
    expect(all.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
    expect(await w.staging.db('deals').count({ n: '*' })).toEqual([{ n: 1 }]);

    const later = await send(validDeal());
    expect(later.body.id).toBe(all[0]!.body.id);
    const other = await send(validDeal({ deal_name: 'Something else' }));
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    // Keys are per partner: another partner's identical key is its own submission.
    const b = await w.partner('contoso');
    const theirs = await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal({ company_website: 'hooli.xyz', company_name: 'Hooli', contact_email: undefined }), headers: { 'idempotency-key': 'order-7781' } });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(all[0]!.body.id);
    expect(await w.staging.db('deals').count({ n: '*' })).toEqual([{ n: 2 }]);
  });
});

describe('conflicts', () => {
  it("flags a second partner's registration of the same account within the window, without naming the first partner", async () => {
    w = await dealWorld({ deals: { conflictWindowDays: 90 } });
    const a = await w.partner('northwind');
    const b = await w.partner('contoso');
    const first = await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal() });
    expect(first.body.status).toBe('submitted');
    // Same account, other evidence (an extra domain of the account).
    const second = await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal({ company_name: 'ACME Corp.', company_website: 'https://acme.io/', contact_email: undefined }) });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ status: 'conflict', match: { status: 'matched' }, conflict: { reason: 'partner_registered' } });
    expect(second.text).not.toContain('northwind');
    const row = await w.staging.db('deals').where({ deal_id: second.body.id }).first();
    expect(row.conflict_detail).toContain(`partner northwind registered account 001A in deal ${first.body.id}`);
    // The same partner registering the account again is not a conflict between partners.
    expect((await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal({ deal_name: 'Second Acme deal' }) })).body.status).toBe('submitted');
    // Two partners registering the same NEW prospect conflict too (by its domain).
    const n1 = await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal({ company_name: 'Hooli', company_website: 'hooli.xyz', contact_email: undefined }) });
    const n2 = await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal({ company_name: 'Hooli Inc', company_website: 'www.hooli.xyz', contact_email: undefined }) });
    expect([n1.body.match.status, n1.body.status, n2.body.match.status, n2.body.status]).toEqual(['new', 'submitted', 'new', 'conflict']);
  });

  it('ignores registrations older than the window, and flags an account that already has an open opportunity', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    w = await dealWorld({
      now: () => new Date(clock),
      deals: { conflictWindowDays: 30 },
      opportunities: [
        { opportunity_id: '006OPEN', account_id: '001C', amount_minor: 100, currency: 'USD', created_at: '2029-12-01', closed_at: null, is_won: false },
        { opportunity_id: '006WON', account_id: '001B', amount_minor: 100, currency: 'USD', created_at: '2029-01-01', closed_at: '2029-06-01', is_won: true },
      ],
    });
    const a = await w.partner('northwind');
    const b = await w.partner('contoso');
    await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal() });
    clock += 31 * 86_400_000;
    expect((await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal() })).body.status).toBe('submitted');
    const open = await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal({ company_name: 'Initech', company_website: 'initech.com', contact_email: undefined }) });
    expect(open.body).toMatchObject({ status: 'conflict', conflict: { reason: 'open_opportunity' } });
    const closed = await w.call('POST', '/deals', { auth: a.apiKey, body: validDeal({ company_name: 'Globex GmbH', company_website: 'globex.de', contact_email: undefined, company_country: 'DE' }) });
    expect(closed.body.status).toBe('submitted');
  });
});

describe('per-partner field mapping', () => {
  it("maps a partner's field names and stage values onto ours, names errors in the partner's terms, and keeps unknown fields when configured", async () => {
    w = await dealWorld({
      deals: {
        partners: {
          northwind: {
            unknownFields: 'keep',
            fields: { opportunity: 'deal_name', 'account.name': 'company_name', 'account.domain': 'company_website', Stage: 'stage', closeDate: 'expected_close_date' },
            values: { stage: { 'Stage 1 - Discover': 'prospecting', 'Stage 4 - Commit': 'negotiation' } },
          },
        },
      },
    });
    const a = await w.partner('northwind');
    const b = await w.partner('contoso');
    const theirs = { opportunity: 'Acme rollout', account: { name: 'Acme Corporation', domain: 'acme.com' }, Stage: 'stage 4 - commit', closeDate: '2030-06-30', region: 'EMEA', owner: { email: 'rep@northwind.example' } };
    const r = await w.call('POST', '/deals', { auth: a.apiKey, body: theirs });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ deal_name: 'Acme rollout', company_name: 'Acme Corporation', company_website: 'acme.com', stage: 'negotiation', expected_close_date: '2030-06-30', match: { status: 'matched' }, extra: { region: 'EMEA', owner: { email: 'rep@northwind.example' } } });

    const wrong = await w.call('POST', '/deals', { auth: a.apiKey, body: { ...theirs, Stage: 'Stage 9 - Party', closeDate: 'tomorrow' } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.errors.map((e: { field: string; pointer: string }) => [e.field, e.pointer])).toEqual([
      ['Stage', '/Stage'],
      ['closeDate', '/closeDate'],
    ]);
    // Our own spelling of a stage in other words works for everyone by default; the partner without a mapping rejects unknown fields.
    const plain = await w.call('POST', '/deals', { auth: b.apiKey, body: validDeal({ stage: 'Closed Won', company_name: 'Hooli', company_website: 'hooli.xyz', contact_email: undefined }) });
    expect(plain.body.stage).toBe('closed_won');
    const extra = await w.call('POST', '/deals', { auth: b.apiKey, body: { ...validDeal(), region: 'EMEA' } });
    expect(extra.status).toBe(422);
    expect(extra.body.errors).toEqual([expect.objectContaining({ field: 'region', code: 'unknown_field' })]);
  });
});

describe('PATCH', () => {
  it('changes an undecided deal (matching again), and refuses once it is accepted', async () => {
    w = await dealWorld();
    const { apiKey } = await w.partner('northwind');
    const r = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ company_name: 'Hooli', company_website: 'hooli.xyz', contact_email: undefined }) });
    expect(r.body.match.status).toBe('new');
    const p = await w.call('PATCH', `/deals/${r.body.id}`, { auth: apiKey, body: { company_name: 'Initech', company_website: 'initech.com', stage: 'negotiation', notes: null } });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ company_name: 'Initech', stage: 'negotiation', notes: null, match: { status: 'matched' } });
    expect((await w.staging.db('deals').where({ deal_id: r.body.id }).first()).account_id).toBe('001C');
    const invalid = await w.call('PATCH', `/deals/${r.body.id}`, { auth: apiKey, body: { stage: 'nope', expected_close_date: null } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors.map((e: { field: string }) => e.field)).toEqual(['stage', 'expected_close_date']);

    await w.staging.db('deals').where({ deal_id: r.body.id }).update({ status: 'accepted', accepted_at: new Date().toISOString() });
    const locked = await w.call('PATCH', `/deals/${r.body.id}`, { auth: apiKey, body: { stage: 'closed_won' } });
    expect(locked.status).toBe(409);
    expect(locked.body.code).toBe('deal_decided');
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a partner used its allowance; other partners are unaffected', async () => {
    const clock = Date.parse('2030-01-01T00:00:00Z');
    w = await dealWorld({ now: () => new Date(clock), deals: { rateLimit: { requests: 100, perSeconds: 60 }, partners: { northwind: { rateLimit: { requests: 3, perSeconds: 60 } } } } });
    const a = await w.partner('northwind');
    const b = await w.partner('contoso');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await w.call('GET', '/deals', { auth: a.apiKey })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await w.call('GET', '/deals', { auth: a.apiKey });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(limited.headers.get('retry-after'))).toBe(20);
    expect((await w.call('GET', '/deals', { auth: b.apiKey })).status).toBe(200);
  });
});
