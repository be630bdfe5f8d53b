import { ReverseIndex } from '../shared/reverse-index.js';

/**
 * In-memory workspace of the Intercom emulator: contacts, companies and data attributes.
 * Timestamps are Unix seconds, as Intercom's API uses them.
 *
 * @example
 *   const state = new IntercomState();
 *   state.seed({ dataAttributes: [{ name: 'partner', model: 'contact', data_type: 'string' }], contacts: [{ email: 'a@b.co' }] });
 *   state.contactByEmail('A@b.co')?.id; // '65f0…'
 */

export type AttributeModel = 'contact' | 'company';
export const DATA_TYPES = ['string', 'integer', 'float', 'boolean', 'date', 'datetime'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export interface IntercomDataAttribute {
  type: 'data_attribute';
  id: number;
  model: AttributeModel;
  name: string;
  full_name: string;
  label: string;
  description: string;
  data_type: DataType;
  options?: string[];
  api_writable: boolean;
  messenger_writable: boolean;
  ui_writable: boolean;
  custom: boolean;
  archived: boolean;
  created_at: number;
  updated_at: number;
  admin_id?: string;
}

export interface IntercomContact {
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  owner_id: number | null;
  avatar: string | null;
  created_at: number;
  updated_at: number;
  signed_up_at: number | null;
  last_seen_at: number | null;
  unsubscribed_from_emails: boolean;
  custom_attributes: Record<string, unknown>;
  archived: boolean;
  /** Intercom ids of attached companies. */
  company_ids: string[];
}

export interface IntercomCompany {
  id: string;
  company_id: string;
  name: string | null;
  plan: string | null;
  size: number | null;
  website: string | null;
  industry: string | null;
  monthly_spend: number;
  session_count: number;
  remote_created_at: number | null;
  created_at: number;
  updated_at: number;
  last_request_at: number | null;
  custom_attributes: Record<string, unknown>;
}

/**
 * The first record of `map` (in insertion order) passing `test`, looked for among the index's
 * candidates; only when several pass (duplicates a seed may hold) is the map scanned for order.
 */
function firstLive<T extends { id: string }>(map: Map<string, T>, candidates: Iterable<T>, test: (t: T) => boolean): T | undefined {
  let hit: T | undefined;
  let hits = 0;
  for (const c of candidates) {
    if (map.get(c.id) === c && test(c)) {
      hit = c;
      hits += 1;
    }
  }
  if (hits <= 1) return hit;
  for (const c of map.values()) if (test(c)) return c;
  return undefined;
}

export interface IntercomSeed {
  contacts?: Array<Partial<IntercomContact> & { companies?: string[] }>;
  companies?: Array<Partial<IntercomCompany>>;
  dataAttributes?: Array<Partial<IntercomDataAttribute> & { name: string; model: AttributeModel; data_type: DataType }>;
  tokens?: string[];
}

/** Standard (non-custom) attributes, listed by `GET /data_attributes` next to custom ones. */
const STANDARD: Record<AttributeModel, Array<[string, DataType]>> = {
  contact: [
    ['name', 'string'], ['email', 'string'], ['phone', 'string'], ['external_id', 'string'], ['role', 'string'], ['owner_id', 'integer'],
    ['created_at', 'date'], ['updated_at', 'date'], ['signed_up_at', 'date'], ['last_seen_at', 'date'], ['unsubscribed_from_emails', 'boolean'],
  ],
  company: [
    ['name', 'string'], ['company_id', 'string'], ['plan', 'string'], ['size', 'integer'], ['website', 'string'], ['industry', 'string'],
    ['monthly_spend', 'float'], ['remote_created_at', 'date'], ['created_at', 'date'], ['updated_at', 'date'],
  ],
};

export const WORKSPACE_ID = 'emul8r01';

/**
 * Records by one key (company_id, lower-cased e-mail, external_id), holding the objects
 * themselves so a seed that re-keys a record's id keeps it findable. A hit is re-checked
 * against the live map by the caller (records may be deleted straight from the map); a key
 * change must go through `sync`.
 */
class KeyIndex<T extends object> {
  private index = new ReverseIndex<T, string>(new WeakMap<T, string>());

  constructor(private readonly key: (t: T) => string | null | undefined) {}

  sync(t: T): void {
    this.index.file(t, this.key(t) ?? undefined);
  }

  candidates(key: string): Iterable<T> {
    return this.index.members(key) ?? [];
  }
}

export class IntercomState {
  contacts = new Map<string, IntercomContact>();
  companies = new Map<string, IntercomCompany>();
  dataAttributes: IntercomDataAttribute[] = [];
  /**
   * Lookups by company_id, e-mail and external_id: without them every upsert scanned the whole
   * workspace, which made pushing 100k companies quadratic. Kept in sync by `createContact`,
   * `createCompany` and `syncContact` (called after a contact's fields change).
   */
  private companyIndex = new KeyIndex<IntercomCompany>((c) => c.company_id);
  private emailIndex = new KeyIndex<IntercomContact>((c) => c.email?.toLowerCase());
  private externalIdIndex = new KeyIndex<IntercomContact>((c) => c.external_id);
  private counter = 0;
  private attributeId = 1;
  private lastStamp = 0;

  constructor(private readonly clock: () => number = Date.now) {
    const now = this.nowSeconds();
    for (const model of ['contact', 'company'] as const) {
      for (const [name, dataType] of STANDARD[model]) this.addAttribute({ name, model, data_type: dataType }, false, now);
    }
  }

  nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Ids look like Intercom's: 24 hex characters, increasing, so "created later" sorts later. */
  newId(): string {
    this.counter += 1;
    return `65f0${this.counter.toString(16).padStart(20, '0')}`;
  }

  /** `updated_at` never goes backwards, even when the clock does. */
  stamp(): number {
    const t = Math.max(this.nowSeconds(), this.lastStamp);
    this.lastStamp = t;
    return t;
  }

  addAttribute(
    a: Partial<IntercomDataAttribute> & { name: string; model: AttributeModel; data_type: DataType },
    custom: boolean,
    at = this.nowSeconds(),
  ): IntercomDataAttribute {
    const attr: IntercomDataAttribute = {
      type: 'data_attribute',
      id: this.attributeId++,
      model: a.model,
      name: a.name,
      full_name: custom ? `custom_attributes.${a.name}` : a.name,
      label: a.label ?? a.name,
      description: a.description ?? '',
      data_type: a.data_type,
      ...(a.options ? { options: a.options } : {}),
      api_writable: true,
      messenger_writable: a.messenger_writable ?? false,
      ui_writable: true,
      custom,
      archived: false,
      created_at: at,
      updated_at: at,
    };
    this.dataAttributes.push(attr);
    return attr;
  }

  customAttribute(model: AttributeModel, name: string): IntercomDataAttribute | undefined {
    return this.dataAttributes.find((a) => a.custom && a.model === model && a.name === name && !a.archived);
  }

  seed(seed: IntercomSeed): void {
    for (const a of seed.dataAttributes ?? []) this.addAttribute(a, true);
    for (const c of seed.companies ?? []) {
      const company = this.createCompany(c.company_id ?? this.newId(), c);
      if (c.id) {
        this.companies.delete(company.id);
        company.id = c.id;
        this.companies.set(company.id, company);
      }
    }
    for (const c of seed.contacts ?? []) {
      const { companies, ...rest } = c;
      const contact = this.createContact(rest);
      if (c.id) {
        this.contacts.delete(contact.id);
        contact.id = c.id;
        this.contacts.set(contact.id, contact);
      }
      for (const ref of companies ?? []) {
        const company = this.companies.get(ref) ?? this.companyByCompanyId(ref);
        if (!company) throw new Error(`intercom seed: contact ${contact.email ?? contact.id} names unknown company ${ref}`);
        this.attach(contact, company);
      }
    }
  }

  createContact(fields: Partial<IntercomContact>): IntercomContact {
    const now = this.stamp();
    const contact: IntercomContact = {
      id: this.newId(),
      role: fields.role ?? 'user',
      external_id: fields.external_id ?? null,
      email: fields.email ?? null,
      phone: fields.phone ?? null,
      name: fields.name ?? null,
      owner_id: fields.owner_id ?? null,
      avatar: fields.avatar ?? null,
      created_at: fields.created_at ?? now,
      updated_at: fields.updated_at ?? now,
      signed_up_at: fields.signed_up_at ?? null,
      last_seen_at: fields.last_seen_at ?? null,
      unsubscribed_from_emails: fields.unsubscribed_from_emails ?? false,
      custom_attributes: { ...(fields.custom_attributes ?? {}) },
      archived: fields.archived ?? false,
      company_ids: [],
    };
    this.contacts.set(contact.id, contact);
    this.syncContact(contact);
    return contact;
  }

  /** Call after changing a contact's `email` or `external_id` in place. */
  syncContact(contact: IntercomContact): void {
    this.emailIndex.sync(contact);
    this.externalIdIndex.sync(contact);
  }

  createCompany(companyId: string, fields: Partial<IntercomCompany>): IntercomCompany {
    const now = this.stamp();
    const company: IntercomCompany = {
      id: this.newId(),
      company_id: companyId,
      name: fields.name ?? null,
      plan: fields.plan ?? null,
      size: fields.size ?? null,
      website: fields.website ?? null,
      industry: fields.industry ?? null,
      monthly_spend: fields.monthly_spend ?? 0,
      session_count: 0,
      remote_created_at: fields.remote_created_at ?? null,
      created_at: fields.created_at ?? now,
      updated_at: fields.updated_at ?? now,
      last_request_at: null,
      custom_attributes: { ...(fields.custom_attributes ?? {}) },
    };
    this.companies.set(company.id, company);
    this.companyIndex.sync(company);
    return company;
  }

  contactByEmail(email: string, exceptId?: string): IntercomContact | undefined {
    const e = email.toLowerCase();
    const test = (c: IntercomContact) => c.id !== exceptId && c.email?.toLowerCase() === e;
    return firstLive(this.contacts, this.emailIndex.candidates(e), test);
  }

  contactByExternalId(externalId: string, exceptId?: string): IntercomContact | undefined {
    const test = (c: IntercomContact) => c.id !== exceptId && c.external_id === externalId;
    return firstLive(this.contacts, this.externalIdIndex.candidates(externalId), test);
  }

  companyByCompanyId(companyId: string): IntercomCompany | undefined {
    return firstLive(this.companies, this.companyIndex.candidates(companyId), (c) => c.company_id === companyId);
  }

  attach(contact: IntercomContact, company: IntercomCompany): void {
    if (!contact.company_ids.includes(company.id)) contact.company_ids.push(company.id);
  }

  userCount(company: IntercomCompany): number {
    let n = 0;
    for (const c of this.contacts.values()) if (c.company_ids.includes(company.id)) n += 1;
    return n;
  }

  toJSON(): unknown {
    return {
      contacts: [...this.contacts.values()].map((c) => structuredClone(c)),
      companies: [...this.companies.values()].map((c) => structuredClone(c)),
      dataAttributes: this.dataAttributes.filter((a) => a.custom).map((a) => ({ ...a })),
    };
  }
}
