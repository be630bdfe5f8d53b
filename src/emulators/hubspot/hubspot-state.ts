/**
 * In-memory CRM of the HubSpot emulator: records per object type, property definitions and
 * associations. Everything the HTTP layer needs to answer like HubSpot lives here as plain data, so
 * tests can seed it, inspect it and dump it as JSON.
 *
 * @example
 *   const state = new HubSpotState();
 *   state.seed({ companies: [{ name: 'Acme', domain: 'acme.com' }] });
 *   state.list('companies')[0]?.properties.domain; // 'acme.com'
 */

export const HUBSPOT_OBJECT_TYPES = ['companies', 'contacts', 'deals'] as const;
export type HubSpotObjectType = (typeof HUBSPOT_OBJECT_TYPES)[number];

/** HubSpot's object type ids, as the v4 associations API reports them. */
export const OBJECT_TYPE_IDS: Record<HubSpotObjectType, string> = { contacts: '0-1', companies: '0-2', deals: '0-3' };

/** Accepts the spellings clients use in paths: `companies`, `company`, `0-2`. */
export function normalizeObjectType(raw: string): HubSpotObjectType | undefined {
  const t = raw.toLowerCase();
  for (const type of HUBSPOT_OBJECT_TYPES) {
    if (t === type || t === type.slice(0, -1) || t === OBJECT_TYPE_IDS[type]) return type;
  }
  return undefined;
}

export interface HubSpotPropertyOption {
  label: string;
  value: string;
  displayOrder?: number;
  hidden?: boolean;
  description?: string;
}

export interface HubSpotPropertyDef {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';
  fieldType: string;
  groupName: string;
  description: string;
  options: HubSpotPropertyOption[];
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  displayOrder: number;
  calculated: boolean;
  externalOptions: boolean;
  hubspotDefined: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** Values nobody may write (hs_object_id, the last-modified stamps). */
  readOnlyValue: boolean;
}

export interface HubSpotRecord {
  id: string;
  /** HubSpot stores and returns every property value as a string (or null once cleared). */
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface HubSpotAssociation {
  fromType: HubSpotObjectType;
  fromId: string;
  toType: HubSpotObjectType;
  toId: string;
  typeId: number;
  category: 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED';
  label: string | null;
}

/** HUBSPOT_DEFINED association type ids: [default (unlabelled), its inverse]. */
const DEFAULT_ASSOCIATION: Record<string, [number, number]> = {
  'contacts>companies': [279, 280],
  'companies>contacts': [280, 279],
  'deals>contacts': [3, 4],
  'contacts>deals': [4, 3],
  'deals>companies': [341, 342],
  'companies>deals': [342, 341],
  'companies>companies': [450, 451],
  'contacts>contacts': [449, 449],
};
/** Primary and other labelled HUBSPOT_DEFINED types and their inverses. */
const INVERSE_TYPE: Record<number, number> = { 1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 279: 280, 280: 279, 341: 342, 342: 341, 449: 449, 450: 451, 451: 450 };
const PRIMARY_TYPES = new Set([1, 2, 5, 6]);
/** v3 association type names (`company_to_contact`) by typeId. */
const V3_TYPE_NAMES: Record<number, string> = {
  1: 'contact_to_company', 2: 'company_to_contact', 279: 'contact_to_company_unlabeled', 280: 'company_to_contact_unlabeled',
  3: 'deal_to_contact', 4: 'contact_to_deal', 5: 'deal_to_company', 6: 'company_to_deal', 341: 'deal_to_company_unlabeled',
  342: 'company_to_deal_unlabeled',
};

export function defaultAssociationTypes(from: HubSpotObjectType, to: HubSpotObjectType): [number, number] {
  return DEFAULT_ASSOCIATION[`${from}>${to}`] ?? [0, 0];
}

export function inverseTypeId(typeId: number, from: HubSpotObjectType, to: HubSpotObjectType): number {
  return INVERSE_TYPE[typeId] ?? defaultAssociationTypes(to, from)[0];
}

export function v3TypeName(typeId: number, from: HubSpotObjectType, to: HubSpotObjectType): string {
  return V3_TYPE_NAMES[typeId] ?? `${from.slice(0, -1)}_to_${to.slice(0, -1)}`;
}

export function v3TypeIdFromName(name: string, from: HubSpotObjectType, to: HubSpotObjectType): number {
  const found = Object.entries(V3_TYPE_NAMES).find(([, n]) => n === name);
  return found ? Number(found[0]) : defaultAssociationTypes(from, to)[0];
}

export function associationLabel(typeId: number): string | null {
  return PRIMARY_TYPES.has(typeId) ? 'Primary' : null;
}

type PropSeed = Partial<HubSpotPropertyDef> & Pick<HubSpotPropertyDef, 'name' | 'type'>;

const p = (name: string, type: HubSpotPropertyDef['type'], extra: Partial<HubSpotPropertyDef> = {}): PropSeed => ({ name, type, ...extra });
const SYSTEM = { readOnlyValue: true };

/** The built-in properties every portal has (a subset of HubSpot's, enough for partner data). */
const BUILTIN_PROPERTIES: Record<HubSpotObjectType, PropSeed[]> = {
  companies: [
    p('name', 'string'), p('domain', 'string'), p('website', 'string'), p('industry', 'string'), p('city', 'string'),
    p('state', 'string'), p('country', 'string'), p('phone', 'string'), p('description', 'string'),
    p('numberofemployees', 'number'), p('annualrevenue', 'number'), p('hubspot_owner_id', 'string'),
    p('lifecyclestage', 'enumeration', {
      options: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'].map(
        (v, i) => ({ label: v, value: v, displayOrder: i, hidden: false }),
      ),
    }),
    p('createdate', 'datetime'), p('hs_lastmodifieddate', 'datetime', SYSTEM), p('hs_object_id', 'number', SYSTEM),
  ],
  contacts: [
    p('email', 'string'), p('firstname', 'string'), p('lastname', 'string'), p('phone', 'string'), p('company', 'string'),
    p('jobtitle', 'string'), p('website', 'string'), p('hubspot_owner_id', 'string'),
    p('lifecyclestage', 'enumeration', {
      options: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'].map(
        (v, i) => ({ label: v, value: v, displayOrder: i, hidden: false }),
      ),
    }),
    p('createdate', 'datetime'), p('lastmodifieddate', 'datetime', SYSTEM), p('hs_lastmodifieddate', 'datetime', SYSTEM),
    p('hs_object_id', 'number', SYSTEM),
  ],
  deals: [
    p('dealname', 'string'), p('amount', 'number'), p('closedate', 'datetime'), p('pipeline', 'string'), p('dealstage', 'string'),
    p('hubspot_owner_id', 'string'), p('createdate', 'datetime'), p('hs_lastmodifieddate', 'datetime', SYSTEM),
    p('hs_object_id', 'number', SYSTEM),
  ],
};

/** What HubSpot returns when a request names no `properties`. */
export const DEFAULT_READ_PROPERTIES: Record<HubSpotObjectType, string[]> = {
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  deals: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
};

/** Returned with every record whatever `properties` asks for. */
export const ALWAYS_RETURNED: Record<HubSpotObjectType, string[]> = {
  companies: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  contacts: ['createdate', 'lastmodifieddate', 'hs_object_id'],
  deals: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

/**
 * Properties `batch/upsert` accepts as `idProperty` although their definition does not say
 * `hasUniqueValue`: HubSpot documents contact upsert by `email` as a special case.
 */
export const IMPLICIT_UNIQUE: Record<HubSpotObjectType, string[]> = { companies: [], contacts: ['email'], deals: [] };

export const PROPERTY_TYPES = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool', 'phone_number'] as const;
export const FIELD_TYPES = ['text', 'textarea', 'date', 'file', 'number', 'select', 'radio', 'checkbox', 'booleancheckbox', 'calculation_equation', 'phonenumber', 'html'] as const;

function fieldTypeFor(type: HubSpotPropertyDef['type']): string {
  switch (type) {
    case 'number':
      return 'number';
    case 'date':
    case 'datetime':
      return 'date';
    case 'enumeration':
      return 'select';
    case 'bool':
      return 'booleancheckbox';
    default:
      return 'text';
  }
}

/** One problem with one property value, in HubSpot's `Property values were not valid` item shape. */
export interface PropertyProblem {
  name: string;
  error: 'PROPERTY_DOESNT_EXIST' | 'INVALID_OPTION' | 'INVALID_INTEGER' | 'INVALID_DATE' | 'INVALID_BOOLEAN' | 'READ_ONLY_VALUE';
  message: string;
}

/** Seed file / seedData shape. Records may be `{id?, properties:{…}}` or flat `{name:…, domain:…}`. */
export interface HubSpotSeed {
  companies?: Array<Record<string, unknown>>;
  contacts?: Array<Record<string, unknown>>;
  deals?: Array<Record<string, unknown>>;
  properties?: Partial<Record<HubSpotObjectType, Array<Partial<HubSpotPropertyDef> & { name: string }>>>;
  associations?: Array<{ from: { type: string; id: string }; to: { type: string; id: string }; typeId?: number }>;
  tokens?: string[];
}

/** Lower-cased value → ids of the records holding it, and the value each record was indexed under. */
interface PropertyIndex {
  byValue: Map<string, Set<string>>;
  valueOf: Map<string, string>;
}

export class HubSpotState {
  records: Record<HubSpotObjectType, Map<string, HubSpotRecord>> = { companies: new Map(), contacts: new Map(), deals: new Map() };
  /**
   * Per object type, one index per property `findBy` has been asked about (built on first use by
   * one scan, then kept in sync by `create` / `update` / `seed`). Without it every upserted record
   * cost a scan of the whole object type, which made a 100k-record batch upsert quadratic.
   */
  private indexes: Record<HubSpotObjectType, Map<string, PropertyIndex>> = { companies: new Map(), contacts: new Map(), deals: new Map() };
  properties: Record<HubSpotObjectType, Map<string, HubSpotPropertyDef>> = { companies: new Map(), contacts: new Map(), deals: new Map() };
  associations: HubSpotAssociation[] = [];
  private nextId = 1001;
  private lastStamp = 0;

  constructor(private readonly clock: () => number = Date.now) {
    const at = new Date(this.clock()).toISOString();
    for (const type of HUBSPOT_OBJECT_TYPES) {
      BUILTIN_PROPERTIES[type].forEach((def, i) => this.properties[type].set(def.name, this.makeProperty(def, at, i, true)));
    }
  }

  /**
   * A strictly increasing timestamp: two writes in the same millisecond still get different
   * `hs_lastmodifieddate` values, so incremental syncs keyed on it never tie.
   */
  stamp(): number {
    const t = Math.max(this.clock(), this.lastStamp + 1);
    this.lastStamp = t;
    return t;
  }

  newId(): string {
    return String(this.nextId++);
  }

  makeProperty(def: PropSeed, at: string, displayOrder: number, hubspotDefined: boolean): HubSpotPropertyDef {
    return {
      name: def.name,
      label: def.label ?? def.name,
      type: def.type,
      fieldType: def.fieldType ?? fieldTypeFor(def.type),
      groupName: def.groupName ?? 'companyinformation',
      description: def.description ?? '',
      options: def.options ?? [],
      hasUniqueValue: def.hasUniqueValue ?? false,
      hidden: def.hidden ?? false,
      formField: def.formField ?? false,
      displayOrder: def.displayOrder ?? displayOrder,
      calculated: false,
      externalOptions: false,
      hubspotDefined,
      createdAt: at,
      updatedAt: at,
      archived: false,
      readOnlyValue: def.readOnlyValue ?? false,
    };
  }

  seed(seed: HubSpotSeed): void {
    const at = new Date(this.clock()).toISOString();
    for (const [type, defs] of Object.entries(seed.properties ?? {})) {
      const t = normalizeObjectType(type);
      if (!t) throw new Error(`hubspot seed: unknown object type "${type}"`);
      for (const def of defs ?? []) {
        this.properties[t].set(def.name, this.makeProperty({ type: 'string', ...def }, at, this.properties[t].size, false));
      }
    }
    for (const type of HUBSPOT_OBJECT_TYPES) {
      for (const raw of seed[type] ?? []) {
        const { id, properties, createdAt, updatedAt, archived, ...flat } = raw as Record<string, unknown>;
        const props = (properties && typeof properties === 'object' ? properties : flat) as Record<string, unknown>;
        const rec = this.create(type, stringifyProps(props), id === undefined ? undefined : String(id));
        if (typeof createdAt === 'string') {
          rec.createdAt = createdAt;
          rec.properties.createdate = createdAt;
        }
        if (typeof updatedAt === 'string') this.touch(type, rec, Date.parse(updatedAt));
        if (archived === true) rec.archived = true;
        this.reindex(type, rec);
      }
    }
    for (const a of seed.associations ?? []) {
      const from = normalizeObjectType(a.from.type);
      const to = normalizeObjectType(a.to.type);
      if (!from || !to) throw new Error(`hubspot seed: unknown association object type in ${JSON.stringify(a)}`);
      this.associate(from, String(a.from.id), to, String(a.to.id), a.typeId);
    }
  }

  /** Creates a record without validation (validation is the HTTP layer's job). */
  create(type: HubSpotObjectType, props: Record<string, string | null>, id?: string): HubSpotRecord {
    const recId = id ?? this.newId();
    if (/^\d+$/.test(recId) && Number(recId) >= this.nextId) this.nextId = Number(recId) + 1;
    const t = this.stamp();
    const iso = new Date(t).toISOString();
    const rec: HubSpotRecord = { id: recId, properties: {}, createdAt: iso, updatedAt: iso, archived: false };
    for (const [k, v] of Object.entries(props)) if (v !== null && v !== '') rec.properties[k] = v;
    rec.properties.hs_object_id = recId;
    rec.properties.createdate = props.createdate ?? iso;
    this.touch(type, rec, t);
    this.records[type].set(recId, rec);
    this.reindex(type, rec);
    return rec;
  }

  update(type: HubSpotObjectType, rec: HubSpotRecord, props: Record<string, string | null>): HubSpotRecord {
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === '') delete rec.properties[k];
      else rec.properties[k] = v;
    }
    this.touch(type, rec, this.stamp());
    this.reindex(type, rec);
    return rec;
  }

  /** Moves `rec` to its current values in every property index of its type. */
  private reindex(type: HubSpotObjectType, rec: HubSpotRecord): void {
    for (const [property, idx] of this.indexes[type]) indexRecord(idx, rec, property);
  }

  private indexFor(type: HubSpotObjectType, property: string): PropertyIndex {
    let idx = this.indexes[type].get(property);
    if (!idx) {
      idx = { byValue: new Map(), valueOf: new Map() };
      for (const r of this.records[type].values()) indexRecord(idx, r, property);
      this.indexes[type].set(property, idx);
    }
    return idx;
  }

  private touch(type: HubSpotObjectType, rec: HubSpotRecord, t: number): void {
    const iso = new Date(t).toISOString();
    rec.updatedAt = iso;
    rec.properties.hs_lastmodifieddate = iso;
    if (type === 'contacts') rec.properties.lastmodifieddate = iso;
  }

  archive(type: HubSpotObjectType, rec: HubSpotRecord): void {
    rec.archived = true;
    rec.archivedAt = new Date(this.stamp()).toISOString();
    this.associations = this.associations.filter(
      (a) => !((a.fromType === type && a.fromId === rec.id) || (a.toType === type && a.toId === rec.id)),
    );
  }

  list(type: HubSpotObjectType, archived = false): HubSpotRecord[] {
    return [...this.records[type].values()].filter((r) => r.archived === archived).sort((a, b) => compareIds(a.id, b.id));
  }

  get(type: HubSpotObjectType, id: string, idProperty?: string): HubSpotRecord | undefined {
    if (!idProperty || idProperty === 'hs_object_id') {
      const r = this.records[type].get(id);
      return r && !r.archived ? r : undefined;
    }
    return this.findBy(type, idProperty, id);
  }

  /** Unique-value lookups compare case-insensitively, as HubSpot does for e-mail addresses. */
  findBy(type: HubSpotObjectType, property: string, value: string): HubSpotRecord | undefined {
    const v = value.toLowerCase();
    const ids = this.indexFor(type, property).byValue.get(v);
    if (!ids) return undefined;
    // Candidates are re-checked (a record may have been archived or replaced in the map since).
    let hit: HubSpotRecord | undefined;
    let hits = 0;
    for (const id of ids) {
      const r = this.records[type].get(id);
      if (r && !r.archived && r.properties[property]?.toLowerCase() === v) {
        hit = r;
        hits += 1;
      }
    }
    if (hits <= 1) return hit;
    // Several holders (a non-unique property, or seeded duplicates): the first in insertion order, as before.
    for (const r of this.records[type].values()) {
      if (!r.archived && r.properties[property]?.toLowerCase() === v) return r;
    }
    return undefined;
  }

  isUniqueKey(type: HubSpotObjectType, property: string): boolean {
    return IMPLICIT_UNIQUE[type].includes(property) || this.properties[type].get(property)?.hasUniqueValue === true;
  }

  /** Checks property names and values against their definitions; returns every problem at once. */
  validate(type: HubSpotObjectType, props: Record<string, unknown>): PropertyProblem[] {
    const problems: PropertyProblem[] = [];
    for (const [name, raw] of Object.entries(props)) {
      const def = this.properties[type].get(name);
      if (!def || def.archived) {
        problems.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
        continue;
      }
      if (def.readOnlyValue) {
        problems.push({ name, error: 'READ_ONLY_VALUE', message: `${name} is a read only property; its value cannot be set.` });
        continue;
      }
      if (raw === null || raw === '') continue;
      const value = String(raw);
      switch (def.type) {
        case 'number':
          if (!Number.isFinite(Number(value))) problems.push({ name, error: 'INVALID_INTEGER', message: `${value} was not a valid number.` });
          break;
        case 'bool':
          if (!/^(true|false)$/i.test(value)) problems.push({ name, error: 'INVALID_BOOLEAN', message: `${value} was not a valid boolean (true or false).` });
          break;
        case 'date':
        case 'datetime':
          if (parseHubSpotDate(value) === undefined) problems.push({ name, error: 'INVALID_DATE', message: `${value} was not a valid date (epoch milliseconds or ISO 8601).` });
          break;
        case 'enumeration': {
          const allowed = def.options.map((o) => o.value);
          const bad = value.split(';').filter((v) => !allowed.includes(v));
          if (bad.length) {
            problems.push({ name, error: 'INVALID_OPTION', message: `${bad.join(';')} was not one of the allowed options: [${allowed.join(', ')}]` });
          }
          break;
        }
        default:
          break;
      }
    }
    return problems;
  }

  associate(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, typeId?: number, category: HubSpotAssociation['category'] = 'HUBSPOT_DEFINED'): HubSpotAssociation[] {
    const forward = typeId ?? defaultAssociationTypes(fromType, toType)[0];
    const inverse = inverseTypeId(forward, fromType, toType);
    const created: HubSpotAssociation[] = [];
    const add = (a: HubSpotAssociation) => {
      const exists = this.associations.some(
        (x) => x.fromType === a.fromType && x.fromId === a.fromId && x.toType === a.toType && x.toId === a.toId && x.typeId === a.typeId,
      );
      if (!exists) this.associations.push(a);
      created.push(a);
    };
    add({ fromType, fromId, toType, toId, typeId: forward, category, label: associationLabel(forward) });
    add({ fromType: toType, fromId: toId, toType: fromType, toId: fromId, typeId: inverse, category, label: associationLabel(inverse) });
    return created;
  }

  unassociate(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string): void {
    this.associations = this.associations.filter(
      (a) =>
        !(
          (a.fromType === fromType && a.fromId === fromId && a.toType === toType && a.toId === toId) ||
          (a.fromType === toType && a.fromId === toId && a.toType === fromType && a.toId === fromId)
        ),
    );
  }

  associationsOf(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType): HubSpotAssociation[] {
    return this.associations.filter((a) => a.fromType === fromType && a.fromId === fromId && a.toType === toType);
  }

  toJSON(): unknown {
    const out: Record<string, unknown> = {};
    for (const type of HUBSPOT_OBJECT_TYPES) out[type] = [...this.records[type].values()].map((r) => structuredClone(r));
    out.properties = Object.fromEntries(
      HUBSPOT_OBJECT_TYPES.map((t) => [t, [...this.properties[t].values()].filter((d) => !d.hubspotDefined).map((d) => ({ ...d }))]),
    );
    out.associations = this.associations.map((a) => ({ ...a }));
    return out;
  }
}

function indexRecord(idx: PropertyIndex, rec: HubSpotRecord, property: string): void {
  const now = rec.properties[property]?.toLowerCase();
  const before = idx.valueOf.get(rec.id);
  if (now === before) return;
  if (before !== undefined) {
    const set = idx.byValue.get(before);
    set?.delete(rec.id);
    if (set?.size === 0) idx.byValue.delete(before);
  }
  if (now === undefined) {
    idx.valueOf.delete(rec.id);
    return;
  }
  idx.valueOf.set(rec.id, now);
  let set = idx.byValue.get(now);
  if (!set) idx.byValue.set(now, (set = new Set()));
  set.add(rec.id);
}

export function stringifyProps(props: Record<string, unknown>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(props)) out[k] = v === null || v === undefined ? null : typeof v === 'string' ? v : String(v);
  return out;
}

/** HubSpot takes dates as epoch milliseconds or ISO 8601 strings; returns epoch ms or undefined. */
export function parseHubSpotDate(value: string): number | undefined {
  if (/^-?\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
