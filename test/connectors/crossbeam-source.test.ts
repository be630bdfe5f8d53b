import { afterEach, describe, expect, it } from 'vitest';
import { start, type CrossbeamEmulator } from '../../src/emulators/crossbeam/index.js';
import { CrossbeamConfig } from '../../src/connectors/crossbeam/config.js';
import { createCrossbeamClient, parseCrossbeamPage } from '../../src/connectors/crossbeam/client.js';
import { CrossbeamSource } from '../../src/connectors/crossbeam/source.js';
import type { ReadMessage, Source, StreamDescriptor } from '../../src/connectors/types.js';
import { AuthError } from '../../src/errors.js';

/** The Crossbeam source against the Crossbeam emulator, through plain fetch and shared/http.ts. */

let xb: CrossbeamEmulator | undefined;
afterEach(async () => {
  await xb?.stop();
  xb = undefined;
});

function source(emu: CrossbeamEmulator, extra: Record<string, unknown> = {}): { source: CrossbeamSource; config: CrossbeamConfig } {
  const config = CrossbeamConfig.parse({
    type: 'crossbeam',
    baseUrl: emu.url,
    organization: emu.orgUuid,
    clientId: emu.clientId,
    clientSecret: emu.clientSecret,
    pageSize: 3,
    ...extra,
  });
  // Tiny backoff so injected faults are retried quickly.
  return { source: new CrossbeamSource(createCrossbeamClient(config, { baseDelayMs: 5, maxDelayMs: 20 }), config), config };
}

async function drain(src: Source, stream: StreamDescriptor, state?: unknown) {
  const out: ReadMessage[] = [];
  for await (const m of src.read(stream, { state })) out.push(m);
  const records = out.flatMap((m) => (m.type === 'record' ? [m.record] : []));
  const deletes = out.flatMap((m) => (m.type === 'delete' ? [m.key] : []));
  const checkpoints = out.flatMap((m) => (m.type === 'checkpoint' ? [m.state] : []));
  return { out, records, deletes, checkpoints, last: checkpoints.at(-1) };
}

const stream = async (src: Source, name: string) => (await src.discover()).find((s) => s.name === name)!;
const key = (o: { crossbeam_record_id?: unknown; partner_crossbeam_record_id?: unknown }) => `${String(o.crossbeam_record_id)}|${String(o.partner_crossbeam_record_id)}`;

describe('crossbeam source', () => {
  it('discovers every stream with keys, and filters as params', async () => {
    xb = await start();
    const { source: src } = source(xb, { overlaps: { partnerId: '501', populationIds: [17059] } });
    const streams = await src.discover();
    expect(streams.map((s) => s.name)).toEqual([
      'partners', 'populations', 'partner_populations', 'records_accounts', 'records_leads',
      'overlaps_accounts', 'overlaps_leads', 'signals_accounts', 'signals_leads', 'signals_own_deals',
    ]);
    const ov = streams.find((s) => s.name === 'overlaps_accounts')!;
    expect(ov.primaryKey).toEqual(['crossbeam_record_id', 'partner_crossbeam_record_id']);
    expect(ov.params).toEqual({ 'partner-id': '501', 'population-ids': [17059] });
    await expect(src.check()).resolves.toBeUndefined();
  });

  it('pages overlaps, then a second run from the bookmark gets only new, changed and deleted overlaps', async () => {
    xb = await start();
    const { source: src } = source(xb);
    const s = await stream(src, 'overlaps_accounts');
    const first = await drain(src, s);
    const live = xb.state.overlaps.filter((o) => o.partner_record_type === 'account' && !o.is_deleted);
    expect(new Set(first.records.map(key))).toEqual(new Set(live.map(key)));
    expect(first.records.length).toBe(live.length);
    // pageSize 3: several pages, a checkpoint after each.
    expect(first.checkpoints.length).toBe(Math.ceil(live.length / 3));
    expect(first.last).toMatchObject({ nextHref: expect.stringContaining('cursor=') });
    expect(first.deletes).toEqual([]);

    const [a, b] = live;
    const rec = xb.state.records.find((r) => r.record_name === 'Soylent Foods')!;
    const added = xb.state.addOverlap({ crossbeam_record_id: rec.crossbeam_record_id, partner_id: xb.state.partners[1]!.uuid, partner_record_name: 'Soylent' });
    xb.state.modifyOverlap(a!, { partner_record_name: 'Renamed by partner' });
    xb.state.deleteOverlap(b!);

    const second = await drain(src, s, first.last);
    expect(second.records.map(key).sort()).toEqual([key(added), key(a!)].sort());
    expect(second.records.find((r) => key(r) === key(a!))?.partner_record_name).toBe('Renamed by partner');
    expect(second.deletes).toEqual([{ crossbeam_record_id: b!.crossbeam_record_id, partner_crossbeam_record_id: b!.partner_crossbeam_record_id }]);

    const third = await drain(src, s, second.last);
    expect(third.records).toEqual([]);
    expect(third.deletes).toEqual([]);
  });

  it('keeps a bookmark per filter set: a bookmark is not reused for other filters', async () => {
    xb = await start();
    const a = source(xb, { overlaps: { partnerId: xb.state.partners[0]!.uuid } });
    const b = source(xb, { overlaps: { partnerId: xb.state.partners[1]!.uuid } });
    const sa = await stream(a.source, 'overlaps_accounts');
    const sb = await stream(b.source, 'overlaps_accounts');
    expect(sa.params).not.toEqual(sb.params);
    const ra = await drain(a.source, sa);
    expect(ra.records.every((r) => r.partner_id === xb!.state.partners[0]!.uuid)).toBe(true);
    // State saved for other filters is ignored: a fresh pass for these filters, not A's feed.
    const rb = await drain(b.source, sb, ra.last);
    expect(rb.records.length).toBeGreaterThan(0);
    expect(rb.records.every((r) => r.partner_id === xb!.state.partners[1]!.uuid)).toBe(true);
    // A bookmark the API refuses (expired, or issued for other parameters) says how to recover.
    const forged = { ...(ra.last as object), nextHref: (ra.last as { nextHref: string }).nextHref.replace('partner-id=', 'partner-id=501&x=') };
    await expect(drain(a.source, sa, forged)).rejects.toMatchObject({ message: expect.stringMatching(/refused the saved bookmark/), hint: expect.stringMatching(/--full-refresh/) });
  });

  it('resumes a pass from a mid-pass checkpoint without losing or repeating pages', async () => {
    xb = await start();
    const { source: src } = source(xb);
    const s = await stream(src, 'records_accounts');
    const all = await drain(src, s);
    expect(all.records.length).toBe(xb.state.records.filter((r) => r.record_type === 'account').length);
    // A snapshot stream starts over after a complete pass.
    expect(all.last).toEqual({});
    const firstPageEnd = all.out.findIndex((m) => m.type === 'checkpoint');
    const resumeFrom = (all.out[firstPageEnd] as { state: unknown }).state;
    const rest = await drain(src, s, resumeFrom);
    expect([...all.records.slice(0, 3), ...rest.records]).toEqual(all.records);
  });

  it('retries injected 429s, 5xx, resets and truncated bodies', async () => {
    xb = await start({ faults: '429:x2@overlaps-accounts,503:x1@overlaps-accounts,reset:x1@overlaps-accounts,malformed:x1@overlaps-accounts' });
    const { source: src } = source(xb);
    const r = await drain(src, await stream(src, 'overlaps_accounts'));
    expect(r.records.length).toBe(xb.state.overlaps.filter((o) => o.partner_record_type === 'account' && !o.is_deleted).length);
    expect(xb.requests.filter((q) => q.route === 'overlaps-accounts' && q.fault).length).toBe(5);
  });

  it('gives up with a RetriableError after maxRetries', async () => {
    xb = await start({ faults: '500:1@partners' });
    const { source: src } = source(xb, { maxRetries: 2 });
    await expect(drain(src, await stream(src, 'partners'))).rejects.toMatchObject({ code: 'RETRIABLE', message: expect.stringMatching(/partners → 500.*gave up after 3 attempts/) });
  });

  it('refreshes an expired token once and carries on (client credentials and refresh token grants)', async () => {
    xb = await start();
    for (const extra of [{}, { refreshToken: xb.refreshToken }]) {
      const { source: src } = source(xb, extra);
      const s = await stream(src, 'partners');
      await drain(src, s);
      const before = xb.calls('oauth-token');
      xb.state.expireTokens();
      const r = await drain(src, s);
      expect(r.records.length).toBe(xb.state.partners.length);
      expect(xb.calls('oauth-token')).toBe(before + 1);
    }
  });

  it('fails with AuthError on bad credentials and names no secret', async () => {
    xb = await start();
    const { source: src } = source(xb, { clientSecret: 'wrong-secret-value' });
    const err = await drain(src, await stream(src, 'partners')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(String((err as Error).message)).not.toContain('wrong-secret-value');
    // A static token that expired and cannot be renewed is an AuthError too.
    const tok = source(xb, { clientId: undefined, clientSecret: undefined, accessToken: 'no-such-token' });
    await expect(drain(tok.source, await stream(tok.source, 'partners'))).rejects.toBeInstanceOf(AuthError);
  });

  it('reads the legacy items envelope and tombstones is_deleted in signals too', async () => {
    xb = await start();
    const { config } = source(xb);
    const client = createCrossbeamClient(config);
    const legacy = await client.page('/v0.1/populations');
    expect(legacy.items.map((p) => p.id)).toEqual(xb.state.populations.map((p) => p.id));
    expect(legacy.hasMore).toBe(false);
    expect(parseCrossbeamPage({ partner_orgs: [{ id: 1 }], pagination: { next_href: 'x' } })).toEqual({ items: [{ id: 1 }], nextHref: 'x', hasMore: true });

    const { source: src } = source(xb);
    const s = await stream(src, 'signals_accounts');
    const first = await drain(src, s);
    expect(first.records.length).toBeGreaterThan(0);
    const sig = xb.state.addSignal({ record_id: xb.state.records[0]!.record_id, event_type: 'partner_deal_closed_won' });
    const second = await drain(src, s, first.last);
    expect(second.records.map((r) => r.event_id)).toEqual([sig.event_id]);
  });
});
