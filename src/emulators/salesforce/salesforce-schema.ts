/**
 * Object and field metadata of the emulated org: the few standard objects partnersync touches,
 * plus custom fields (`__c`) and custom objects added from the seed or by tests. Describe results,
 * SOQL validation and DML validation all read from here, so a field exists for all three at once.
 */

export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'url'
  | 'email'
  | 'phone'
  | 'picklist'
  | 'reference'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime';

export interface FieldDef {
  name: string;
  type: FieldType;
  label?: string;
  length?: number;
  /** false = required on create (unless defaulted or not createable). */
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  externalId?: boolean;
  unique?: boolean;
  /** Text external ids are case-insensitive in Salesforce unless marked case-sensitive. */
  caseSensitive?: boolean;
  defaultedOnCreate?: boolean;
  referenceTo?: string[];
  relationshipName?: string;
  picklistValues?: string[];
}

export interface ObjectDef {
  name: string;
  label: string;
  keyPrefix: string;
  custom: boolean;
  fields: Map<string, FieldDef>;
}

const TEXT_TYPES = new Set<FieldType>(['id', 'string', 'textarea', 'url', 'email', 'phone', 'picklist', 'reference']);
export const isTextType = (t: FieldType): boolean => TEXT_TYPES.has(t);
export const isNumberType = (t: FieldType): boolean => t === 'int' || t === 'double' || t === 'currency' || t === 'percent';

function systemFields(): FieldDef[] {
  const ro = { createable: false, updateable: false, nillable: false, defaultedOnCreate: true };
  return [
    { name: 'Id', type: 'id', label: 'Record ID', length: 18, ...ro, nillable: false },
    { name: 'IsDeleted', type: 'boolean', label: 'Deleted', ...ro },
    { name: 'CreatedDate', type: 'datetime', label: 'Created Date', ...ro },
    { name: 'CreatedById', type: 'reference', label: 'Created By ID', length: 18, referenceTo: ['User'], relationshipName: 'CreatedBy', ...ro },
    { name: 'LastModifiedDate', type: 'datetime', label: 'Last Modified Date', ...ro },
    { name: 'LastModifiedById', type: 'reference', label: 'Last Modified By ID', length: 18, referenceTo: ['User'], relationshipName: 'LastModifiedBy', ...ro },
    { name: 'SystemModstamp', type: 'datetime', label: 'System Modstamp', ...ro },
    { name: 'OwnerId', type: 'reference', label: 'Owner ID', length: 18, referenceTo: ['User'], relationshipName: 'Owner', nillable: false, createable: true, updateable: true, defaultedOnCreate: true },
  ];
}

const s = (name: string, label: string, length = 255, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type: 'string', label, length, ...extra });

const STANDARD: Array<{ name: string; label: string; keyPrefix: string; fields: FieldDef[] }> = [
  {
    name: 'Account',
    label: 'Account',
    keyPrefix: '001',
    fields: [
      s('Name', 'Account Name', 255, { nillable: false }),
      { name: 'Website', type: 'url', label: 'Website', length: 255 },
      { name: 'Phone', type: 'phone', label: 'Account Phone', length: 40 },
      { name: 'Industry', type: 'picklist', label: 'Industry', length: 255 },
      { name: 'Type', type: 'picklist', label: 'Account Type', length: 255 },
      s('BillingStreet', 'Billing Street'),
      s('BillingCity', 'Billing City', 40),
      s('BillingState', 'Billing State/Province', 80),
      s('BillingPostalCode', 'Billing Zip/Postal Code', 20),
      s('BillingCountry', 'Billing Country', 80),
      { name: 'NumberOfEmployees', type: 'int', label: 'Employees' },
      { name: 'AnnualRevenue', type: 'currency', label: 'Annual Revenue' },
      { name: 'Description', type: 'textarea', label: 'Account Description', length: 32000 },
      { name: 'ParentId', type: 'reference', label: 'Parent Account ID', length: 18, referenceTo: ['Account'], relationshipName: 'Parent' },
    ],
  },
  {
    name: 'Contact',
    label: 'Contact',
    keyPrefix: '003',
    fields: [
      s('FirstName', 'First Name', 40),
      s('LastName', 'Last Name', 80, { nillable: false }),
      { name: 'Name', type: 'string', label: 'Full Name', length: 121, createable: false, updateable: false },
      { name: 'Email', type: 'email', label: 'Email', length: 80 },
      { name: 'Phone', type: 'phone', label: 'Business Phone', length: 40 },
      s('Title', 'Title', 128),
      { name: 'AccountId', type: 'reference', label: 'Account ID', length: 18, referenceTo: ['Account'], relationshipName: 'Account' },
    ],
  },
  {
    name: 'Opportunity',
    label: 'Opportunity',
    keyPrefix: '006',
    fields: [
      s('Name', 'Name', 120, { nillable: false }),
      { name: 'StageName', type: 'picklist', label: 'Stage', length: 255, nillable: false },
      { name: 'CloseDate', type: 'date', label: 'Close Date', nillable: false },
      { name: 'Amount', type: 'currency', label: 'Amount' },
      { name: 'Probability', type: 'percent', label: 'Probability (%)' },
      { name: 'IsClosed', type: 'boolean', label: 'Closed', createable: false, updateable: false, defaultedOnCreate: true, nillable: false },
      { name: 'IsWon', type: 'boolean', label: 'Won', createable: false, updateable: false, defaultedOnCreate: true, nillable: false },
      { name: 'AccountId', type: 'reference', label: 'Account ID', length: 18, referenceTo: ['Account'], relationshipName: 'Account' },
      { name: 'Type', type: 'picklist', label: 'Opportunity Type', length: 255 },
      { name: 'LeadSource', type: 'picklist', label: 'Lead Source', length: 255 },
    ],
  },
  {
    name: 'User',
    label: 'User',
    keyPrefix: '005',
    fields: [s('Username', 'Username', 80, { nillable: false }), s('Name', 'Full Name', 121, { createable: false, updateable: false }), { name: 'Email', type: 'email', label: 'Email', length: 128, nillable: false }],
  },
];

/** Fill in Salesforce's defaults for a field definition. */
export function completeField(f: FieldDef): Required<Omit<FieldDef, 'referenceTo' | 'relationshipName' | 'picklistValues' | 'length'>> & FieldDef {
  const custom = f.name.endsWith('__c');
  return {
    label: f.label ?? f.name.replace(/__c$/, '').replace(/_/g, ' '),
    nillable: true,
    createable: true,
    updateable: true,
    externalId: false,
    unique: false,
    caseSensitive: false,
    defaultedOnCreate: f.type === 'boolean',
    ...f,
    ...(isTextType(f.type) && f.length === undefined ? { length: custom ? 255 : 255 } : {}),
    // A checkbox is never null in Salesforce: it defaults to false.
    ...(f.type === 'boolean' ? { nillable: false } : {}),
  };
}

export function buildStandardObjects(): Map<string, ObjectDef> {
  const map = new Map<string, ObjectDef>();
  for (const o of STANDARD) {
    const fields = new Map<string, FieldDef>();
    for (const f of [...systemFields(), ...o.fields]) {
      if (o.name === 'User' && f.name === 'OwnerId') continue;
      fields.set(f.name.toLowerCase(), completeField(f));
    }
    map.set(o.name.toLowerCase(), { name: o.name, label: o.label, keyPrefix: o.keyPrefix, custom: false, fields });
  }
  return map;
}

/** A custom object gets the system fields plus Name, like one made in Setup. */
export function buildCustomObject(name: string, keyPrefix: string, label?: string): ObjectDef {
  const fields = new Map<string, FieldDef>();
  for (const f of [...systemFields(), s('Name', `${label ?? name} Name`, 80)]) fields.set(f.name.toLowerCase(), completeField(f));
  return { name, label: label ?? name.replace(/__c$/, '').replace(/_/g, ' '), keyPrefix, custom: true, fields };
}

const SOAP_TYPE: Record<FieldType, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  textarea: 'xsd:string',
  url: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  picklist: 'xsd:string',
  boolean: 'xsd:boolean',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
};

/** One field as `GET /sobjects/X/describe` lists it (the attributes clients actually read). */
export function describeField(f: FieldDef): Record<string, unknown> {
  const c = completeField(f);
  const text = isTextType(c.type);
  return {
    name: c.name,
    label: c.label,
    type: c.type,
    soapType: SOAP_TYPE[c.type],
    length: text ? (c.length ?? 255) : 0,
    byteLength: text ? (c.length ?? 255) * 3 : 0,
    digits: c.type === 'int' ? 9 : 0,
    precision: c.type === 'double' || c.type === 'currency' || c.type === 'percent' ? 18 : 0,
    scale: c.type === 'currency' || c.type === 'double' ? 2 : 0,
    custom: c.name.endsWith('__c'),
    nillable: c.nillable,
    createable: c.createable,
    updateable: c.updateable,
    defaultedOnCreate: c.defaultedOnCreate,
    externalId: c.externalId,
    unique: c.unique,
    caseSensitive: c.caseSensitive,
    idLookup: c.name === 'Id' || c.externalId,
    filterable: true,
    sortable: c.type !== 'textarea',
    groupable: c.type !== 'textarea',
    calculated: false,
    autoNumber: false,
    nameField: c.name === 'Name',
    referenceTo: c.referenceTo ?? [],
    relationshipName: c.relationshipName ?? null,
    picklistValues: (c.picklistValues ?? []).map((v) => ({ active: true, defaultValue: false, label: v, validFor: null, value: v })),
    defaultValue: c.type === 'boolean' ? false : null,
    inlineHelpText: null,
  };
}

export function describeObjectSummary(o: ObjectDef, version: string): Record<string, unknown> {
  const base = `/services/data/v${version}/sobjects/${o.name}`;
  return {
    name: o.name,
    label: o.label,
    labelPlural: `${o.label}s`,
    keyPrefix: o.keyPrefix,
    custom: o.custom,
    createable: o.name !== 'User',
    updateable: true,
    deletable: o.name !== 'User',
    queryable: true,
    retrieveable: true,
    searchable: true,
    layoutable: true,
    triggerable: true,
    replicateable: true,
    urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
  };
}
