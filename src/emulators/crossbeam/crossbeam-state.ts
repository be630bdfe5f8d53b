import { createHash } from 'node:crypto';

/**
 * In-memory state of the Crossbeam emulator, plus the scripting API tests use to change it between
 * runs (add / modify / delete overlaps and records, add signals, expire tokens).
 *
 * Every change bumps a global change sequence and stamps the touched overlaps with it. A bookmark
 * cursor remembers the sequence it was issued at, so a later call returns exactly the overlaps
 * created, changed or deleted since — the "bookmarkable feed" semantics of `/v1/overlaps/*`.
 *
 * @example
 *   const xb = await startCrossbeam();
 *   const o = xb.state.addOverlap({ crossbeam_record_id: rec.crossbeam_record_id, partner_id: p.uuid,
 *     partner_record_name: 'Globex', partner_record_website: 'globex.com' });
 *   xb.state.modifyOverlap(o, { partner_record_name: 'Globex Corp' });
 *   xb.state.deleteOverlap(o); // next incremental page carries it with is_deleted: true
 */

export interface XbOrganization {
  uuid: string;
  id: number;
  name: string;
  domain: string;
}

export interface XbUser {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
}

export interface XbTag {
  id: string;
  label: string;
}

export interface XbPartner {
  uuid: string;
  id: number;
  name: string;
  domain: string;
  tags: XbTag[];
}

export interface XbPopulation {
  id: number;
  name: string;
  population_type: 'companies' | 'people';
  standard_type: 'customers' | 'prospects' | 'open_opportunities' | null;
  description: string | null;
  /** Partner populations only: which partner shares it (not part of the wire shape). */
  partner_id?: string;
}

export interface XbOwner {
  owner_name: string | null;
  owner_email: string | null;
  owner_phone: string | null;
}

/** One of *our* records (an account or a lead) as Crossbeam holds it. */
export interface XbRecord {
  record_type: 'account' | 'lead';
  record_id: string;
  crossbeam_record_id: string;
  record_name: string;
  record_website: string | null;
  record_email: string | null;
  /** Ids of our populations the record is in. */
  populations: number[];
  crm_data: { field_name: string; field_value: unknown }[];
  owner: XbOwner;
  updated_at: string;
}

/** An overlap as stored: partner side in full, our side by `crossbeam_record_id`. */
export interface XbOverlap {
  crossbeam_record_id: string;
  partner_crossbeam_record_id: string;
  partner_id: string;
  partner_record_type: 'account' | 'lead';
  partner_record_id: string;
  partner_record_name: string;
  partner_record_website: string | null;
  partner_record_email: string | null;
  partner_record_company_type: string | null;
  partner_record_country: string | null;
  partner_record_industry: string | null;
  partner_record_employees: number | null;
  /** Ids of the partner's populations the partner record is in. */
  partner_populations: number[];
  partner_owner: (XbOwner & { crossbeam_owner_id: string | null }) | null;
  partner_source_data: { field_name: string; field_value: unknown }[];
  is_deleted: boolean;
  /** Change sequence of the last create/modify/delete (not part of the wire shape). */
  seq: number;
}

export interface XbSignal {
  event_id: string;
  event_type: 'partner_deal_opened' | 'partner_deal_closed_won' | 'own_deal_opened' | 'own_deal_closed_won' | string;
  triggered_at: string;
  record_type: 'account' | 'lead';
  record_id: string;
  record_name: string;
  partner_id: string;
  partner_name: string;
  populations: { id: number; name: string; segment: string | null }[];
  partner_populations: { id: number; name: string; segment: string | null }[];
  partner_data: { deal: Record<string, unknown> };
  /** own-deals rows only. */
  signal_id?: string;
  seq: number;
}

export interface CrossbeamSeed {
  organization?: Partial<XbOrganization>;
  user?: Partial<XbUser>;
  oauth?: { clientId?: string; clientSecret?: string; refreshTokens?: string[]; tokenTtlSeconds?: number };
  partners?: Partial<XbPartner>[];
  populations?: Partial<XbPopulation>[];
  partner_populations?: Partial<XbPopulation>[];
  records?: Partial<XbRecord>[];
  overlaps?: OverlapInput[];
  signals?: SignalInput[];
}

export type OverlapInput = Partial<Omit<XbOverlap, 'seq' | 'is_deleted'>> & {
  /** Our side, by Crossbeam id or by CRM id. */
  crossbeam_record_id?: string;
  record_id?: string;
  partner_id?: string;
};

export type SignalInput = Partial<Omit<XbSignal, 'seq' | 'populations' | 'partner_populations'>> & {
  populations?: number[] | XbSignal['populations'];
  partner_populations?: number[] | XbSignal['partner_populations'];
};

export type OverlapRef = XbOverlap | { crossbeam_record_id: string; partner_crossbeam_record_id: string };

/** Deterministic UUID from a name, so seeds and generated ids are the same on every run. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface IssuedToken {
  expiresAt: number;
  clientId: string;
}

export class CrossbeamState {
  organization: XbOrganization;
  user: XbUser;
  clientId: string;
  clientSecret: string;
  tokenTtlSeconds: number;
  readonly accessTokens = new Map<string, IssuedToken>();
  readonly refreshTokens = new Set<string>();
  partners: XbPartner[] = [];
  populations: XbPopulation[] = [];
  partnerPopulations: XbPopulation[] = [];
  records: XbRecord[] = [];
  overlaps: XbOverlap[] = [];
  signals: XbSignal[] = [];
  /** Global change sequence; cursors remember the value they were issued at. */
  seq = 0;
  /** Called after a signal is added (the emulator uses it to deliver webhooks to subscriptions). */
  onSignal?: (signal: XbSignal) => void;
  private counter = 0;

  constructor(seed: CrossbeamSeed, private now: () => number = Date.now) {
    const org = seed.organization ?? {};
    this.organization = {
      uuid: org.uuid ?? stableUuid('org:' + (org.name ?? 'Acme Analytics')),
      id: org.id ?? 1001,
      name: org.name ?? 'Acme Analytics',
      domain: org.domain ?? 'acme-analytics.example',
    };
    const u = seed.user ?? {};
    this.user = { id: u.id ?? 12345, email: u.email ?? 'ops@acme-analytics.example', first_name: u.first_name ?? 'Avery', last_name: u.last_name ?? 'Ops' };
    this.clientId = seed.oauth?.clientId ?? 'partnersync-client';
    this.clientSecret = seed.oauth?.clientSecret ?? 'partnersync-secret';
    this.tokenTtlSeconds = seed.oauth?.tokenTtlSeconds ?? 86_400;
    for (const t of seed.oauth?.refreshTokens ?? ['partnersync-refresh-token']) this.refreshTokens.add(t);
    for (const p of seed.partners ?? []) this.addPartner(p);
    for (const p of seed.populations ?? []) this.populations.push(this.population(p));
    for (const p of seed.partner_populations ?? []) this.partnerPopulations.push(this.population(p));
    for (const r of seed.records ?? []) this.addRecord(r);
    for (const o of seed.overlaps ?? []) this.addOverlap(o);
    for (const s of seed.signals ?? []) this.addSignal(s);
  }

  private nextId(kind: string): string {
    this.counter += 1;
    return stableUuid(`${kind}:${this.counter}`);
  }

  private population(p: Partial<XbPopulation>): XbPopulation {
    return {
      id: p.id ?? 20_000 + this.populations.length + this.partnerPopulations.length,
      name: p.name ?? 'Population',
      population_type: p.population_type ?? 'companies',
      standard_type: p.standard_type ?? null,
      description: p.description ?? null,
      ...(p.partner_id ? { partner_id: p.partner_id } : {}),
    };
  }

  // ---- tokens -------------------------------------------------------------------------------

  issueToken(clientId: string): { access_token: string; expires_in: number } {
    const access_token = 'xbat_' + this.nextId('token').replace(/-/g, '');
    this.accessTokens.set(access_token, { clientId, expiresAt: this.now() + this.tokenTtlSeconds * 1000 });
    return { access_token, expires_in: this.tokenTtlSeconds };
  }

  issueRefreshToken(): string {
    const t = 'xbrt_' + this.nextId('refresh').replace(/-/g, '');
    this.refreshTokens.add(t);
    return t;
  }

  tokenStatus(token: string): 'valid' | 'expired' | 'unknown' {
    const t = this.accessTokens.get(token);
    if (!t) return 'unknown';
    return t.expiresAt > this.now() ? 'valid' : 'expired';
  }

  /** Make every access token issued so far expired (the next API call answers 401). */
  expireTokens(): void {
    for (const t of this.accessTokens.values()) t.expiresAt = 0;
  }

  // ---- partners, records ----------------------------------------------------------------------

  addPartner(p: Partial<XbPartner>): XbPartner {
    const partner: XbPartner = {
      uuid: p.uuid ?? this.nextId('partner'),
      id: p.id ?? 500 + this.partners.length,
      name: p.name ?? `Partner ${this.partners.length + 1}`,
      domain: p.domain ?? `partner${this.partners.length + 1}.example`,
      tags: p.tags ?? [],
    };
    this.partners.push(partner);
    return partner;
  }

  partner(uuidOrId: string | number): XbPartner | undefined {
    return this.partners.find((p) => p.uuid === uuidOrId || String(p.id) === String(uuidOrId));
  }

  addRecord(r: Partial<XbRecord>): XbRecord {
    const n = this.records.length + 1;
    const rec: XbRecord = {
      record_type: r.record_type ?? 'account',
      record_id: r.record_id ?? `001ACME${String(n).padStart(8, '0')}`,
      crossbeam_record_id: r.crossbeam_record_id ?? this.nextId('record'),
      record_name: r.record_name ?? `Record ${n}`,
      record_website: r.record_website ?? null,
      record_email: r.record_email ?? null,
      populations: r.populations ?? [],
      crm_data: r.crm_data ?? [],
      owner: r.owner ?? { owner_name: null, owner_email: null, owner_phone: null },
      updated_at: r.updated_at ?? new Date(this.now()).toISOString(),
    };
    this.records.push(rec);
    return rec;
  }

  record(ref: { crossbeam_record_id?: string; record_id?: string }): XbRecord | undefined {
    return this.records.find(
      (r) => (ref.crossbeam_record_id && r.crossbeam_record_id === ref.crossbeam_record_id) || (ref.record_id && r.record_id === ref.record_id),
    );
  }

  /** Change one of our records; every live overlap it is part of counts as changed. */
  modifyRecord(ref: { crossbeam_record_id?: string; record_id?: string }, patch: Partial<XbRecord>): XbRecord {
    const rec = this.record(ref);
    if (!rec) throw new Error(`crossbeam emulator: no record ${JSON.stringify(ref)}`);
    Object.assign(rec, patch, { crossbeam_record_id: rec.crossbeam_record_id, updated_at: new Date(this.now()).toISOString() });
    this.seq += 1;
    for (const o of this.overlaps) if (o.crossbeam_record_id === rec.crossbeam_record_id && !o.is_deleted) o.seq = this.seq;
    return rec;
  }

  /** Delete one of our records: its overlaps become deletions in the feed. */
  deleteRecord(ref: { crossbeam_record_id?: string; record_id?: string }): void {
    const rec = this.record(ref);
    if (!rec) throw new Error(`crossbeam emulator: no record ${JSON.stringify(ref)}`);
    this.records = this.records.filter((r) => r !== rec);
    this.seq += 1;
    for (const o of this.overlaps) {
      if (o.crossbeam_record_id === rec.crossbeam_record_id && !o.is_deleted) {
        o.is_deleted = true;
        o.seq = this.seq;
      }
    }
  }

  // ---- overlaps -------------------------------------------------------------------------------

  addOverlap(input: OverlapInput): XbOverlap {
    const own = this.record({ crossbeam_record_id: input.crossbeam_record_id, record_id: input.record_id });
    if (!own) throw new Error(`crossbeam emulator: overlap needs one of our records (crossbeam_record_id or record_id), got ${JSON.stringify(input)}`);
    const partner = input.partner_id ? this.partner(input.partner_id) : this.partners[0];
    if (!partner) throw new Error(`crossbeam emulator: overlap needs a known partner_id, got ${String(input.partner_id)}`);
    this.seq += 1;
    const n = this.overlaps.length + 1;
    const o: XbOverlap = {
      crossbeam_record_id: own.crossbeam_record_id,
      partner_crossbeam_record_id: input.partner_crossbeam_record_id ?? this.nextId('partner-record'),
      partner_id: partner.uuid,
      partner_record_type: input.partner_record_type ?? 'account',
      partner_record_id: input.partner_record_id ?? `001PRTN${String(n).padStart(8, '0')}`,
      partner_record_name: input.partner_record_name ?? own.record_name,
      partner_record_website: input.partner_record_website ?? own.record_website,
      partner_record_email: input.partner_record_email ?? null,
      partner_record_company_type: input.partner_record_company_type ?? null,
      partner_record_country: input.partner_record_country ?? null,
      partner_record_industry: input.partner_record_industry ?? null,
      partner_record_employees: input.partner_record_employees ?? null,
      partner_populations: input.partner_populations ?? [],
      partner_owner: input.partner_owner ?? null,
      partner_source_data: input.partner_source_data ?? [],
      is_deleted: false,
      seq: this.seq,
    };
    const existing = this.findOverlap(o);
    if (existing && !existing.is_deleted) throw new Error(`crossbeam emulator: overlap ${o.crossbeam_record_id}/${o.partner_crossbeam_record_id} exists`);
    if (existing) Object.assign(existing, o);
    else this.overlaps.push(o);
    return existing ?? o;
  }

  findOverlap(ref: OverlapRef): XbOverlap | undefined {
    return this.overlaps.find((o) => o.crossbeam_record_id === ref.crossbeam_record_id && o.partner_crossbeam_record_id === ref.partner_crossbeam_record_id);
  }

  modifyOverlap(ref: OverlapRef, patch: Partial<Omit<XbOverlap, 'crossbeam_record_id' | 'partner_crossbeam_record_id' | 'seq' | 'is_deleted'>>): XbOverlap {
    const o = this.findOverlap(ref);
    if (!o || o.is_deleted) throw new Error(`crossbeam emulator: no live overlap ${ref.crossbeam_record_id}/${ref.partner_crossbeam_record_id}`);
    this.seq += 1;
    Object.assign(o, patch, { seq: this.seq });
    return o;
  }

  deleteOverlap(ref: OverlapRef): XbOverlap {
    const o = this.findOverlap(ref);
    if (!o || o.is_deleted) throw new Error(`crossbeam emulator: no live overlap ${ref.crossbeam_record_id}/${ref.partner_crossbeam_record_id}`);
    this.seq += 1;
    o.is_deleted = true;
    o.seq = this.seq;
    return o;
  }

  /** The wire shape of an overlap (our side joined in from the record). */
  overlapView(o: XbOverlap): Record<string, unknown> {
    const own = this.records.find((r) => r.crossbeam_record_id === o.crossbeam_record_id);
    const partner = this.partner(o.partner_id);
    const view: Record<string, unknown> = {
      partner_id: o.partner_id,
      partner_name: partner?.name ?? null,
      partner_logo_url: null,
      crossbeam_record_id: o.crossbeam_record_id,
      record_id: own?.record_id ?? null,
      record_type: own?.record_type ?? null,
      record_name: own?.record_name ?? null,
      record_website: own?.record_website ?? null,
      record_email: own?.record_email ?? null,
      populations: (own?.populations ?? []).map((id) => this.popRef(this.populations, id)),
      partner_crossbeam_record_id: o.partner_crossbeam_record_id,
      partner_record_type: o.partner_record_type,
      partner_record_id: o.partner_record_id,
      partner_record_name: o.partner_record_name,
      partner_record_website: o.partner_record_website,
      partner_record_company_type: o.partner_record_company_type,
      partner_record_country: o.partner_record_country,
      partner_record_industry: o.partner_record_industry,
      partner_record_employees: o.partner_record_employees,
      partner_populations: o.partner_populations.map((id) => this.popRef(this.partnerPopulations, id)),
      partner_owner: o.partner_owner,
      partner_source_data: o.partner_source_data,
    };
    if (o.partner_record_type === 'lead') view.partner_record_email = o.partner_record_email;
    if (o.is_deleted) view.is_deleted = true;
    return view;
  }

  private popRef(list: XbPopulation[], id: number): { id: number; name: string } {
    return { id, name: list.find((p) => p.id === id)?.name ?? String(id) };
  }

  // ---- signals --------------------------------------------------------------------------------

  addSignal(input: SignalInput): XbSignal {
    const own = this.record({ record_id: input.record_id });
    const partner = input.partner_id ? this.partner(input.partner_id) : this.partners[0];
    this.seq += 1;
    const popList = (v: SignalInput['populations'], from: XbPopulation[]): XbSignal['populations'] =>
      (v ?? []).map((p) => {
        if (typeof p !== 'number') return p;
        const pop = from.find((x) => x.id === p);
        return { id: p, name: pop?.name ?? String(p), segment: pop?.standard_type ?? null };
      });
    const s: XbSignal = {
      event_id: input.event_id ?? this.nextId('event'),
      event_type: input.event_type ?? 'partner_deal_opened',
      triggered_at: input.triggered_at ?? new Date(this.now()).toISOString().replace('Z', '+00:00'),
      record_type: input.record_type ?? own?.record_type ?? 'account',
      record_id: input.record_id ?? own?.record_id ?? '',
      record_name: input.record_name ?? own?.record_name ?? '',
      partner_id: partner?.uuid ?? input.partner_id ?? '',
      partner_name: input.partner_name ?? partner?.name ?? '',
      populations: popList(input.populations ?? own?.populations, this.populations),
      partner_populations: popList(input.partner_populations, this.partnerPopulations),
      partner_data: input.partner_data ?? { deal: {} },
      ...(input.signal_id || String(input.event_type ?? '').startsWith('own_') ? { signal_id: input.signal_id ?? this.nextId('signal') } : {}),
      seq: this.seq,
    };
    this.signals.push(s);
    this.onSignal?.(s);
    return s;
  }

  signalView(s: XbSignal): Record<string, unknown> {
    const { seq: _seq, ...rest } = s;
    return rest;
  }

  /** A JSON-serialisable copy for `emu.dump()`. */
  dump(): Record<string, unknown> {
    return structuredClone({
      organization: this.organization,
      user: this.user,
      seq: this.seq,
      partners: this.partners,
      populations: this.populations,
      partner_populations: this.partnerPopulations,
      records: this.records,
      overlaps: this.overlaps,
      signals: this.signals,
    });
  }
}
