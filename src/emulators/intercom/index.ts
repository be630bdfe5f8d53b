import { randomUUID } from 'node:crypto';
import { startServer, json, WindowLimiter, type EmulatorRequest, type EmulatorResponse, type Route } from '../shared/server.js';
import type { Emulator, EmulatorStartOptions } from '../shared/types.js';
import { readSeed } from '../shared/seed.js';
import {
  IntercomState,
  DATA_TYPES,
  WORKSPACE_ID,
  type AttributeModel,
  type DataType,
  type IntercomCompany,
  type IntercomContact,
  type IntercomSeed,
} from './intercom-state.js';
import { evaluate, validateQuery, type SearchQuery } from './intercom-search.js';

export { IntercomState } from './intercom-state.js';
export type { IntercomSeed, IntercomContact, IntercomCompany, IntercomDataAttribute } from './intercom-state.js';

/**
 * Intercom REST API 2.x emulator for `intercom-client` 7.
 *
 * Point the real client at it with `new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: emu.url })`
 * (`baseUrl` wins over `environment` in v7).
 *
 * Route names (for `faults` rules like `503:x1@contacts-update` and `emu.calls(name)`):
 *   `contacts-create | -get | -update | -delete | -archive | -unarchive | -search | -list |
 *   -find-by-external-id | -companies-attach | -companies-list | -companies-detach`;
 *   `companies-create-or-update | -retrieve | -get | -update | -delete | -list | -scroll | -contacts`;
 *   `data-attributes-list | -create | -update`.
 *
 * @example
 *   const ic = await start({ seedData: { dataAttributes: [{ name: 'xb_partner', model: 'contact', data_type: 'string' }] } });
 *   const client = new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: ic.url });
 *   await client.contacts.create({ email: 'ada@example.com', custom_attributes: { xb_partner: 'Acme' } });
 */

export const DEFAULT_INTERCOM_TOKEN = 'dG9rOmVtdWxhdG9yOjE6MA==';

export interface IntercomStartOptions extends EmulatorStartOptions {
  seedData?: IntercomSeed;
  /** Access tokens that authenticate (default `[DEFAULT_INTERCOM_TOKEN]`, plus `tokens` from the seed). */
  tokens?: string[];
  /** `limit` requests per `windowMs` (default 83 per 10 000 ms, Intercom's 500/min in 10 s windows). */
  rateLimit?: { limit?: number; windowMs?: number };
  /** Clock for record timestamps (tests). */
  now?: () => number;
}

export interface IntercomEmulator extends Emulator<IntercomState> {
  tokens: Set<string>;
}

const MAX_PER_PAGE = 150;

interface ErrorItem {
  code: string;
  message: string;
  field?: string;
}

function icError(status: number, errors: ErrorItem[]): EmulatorResponse {
  return json(status, { type: 'error.list', request_id: randomUUID(), errors });
}

const CONTACT_FIELDS = ['role', 'external_id', 'email', 'phone', 'name', 'avatar', 'signed_up_at', 'last_seen_at', 'owner_id', 'unsubscribed_from_emails'] as const;
const COMPANY_FIELDS = ['name', 'plan', 'size', 'website', 'industry', 'remote_created_at', 'monthly_spend'] as const;

export async function start(opts: IntercomStartOptions = {}): Promise<IntercomEmulator> {
  const state = new IntercomState(opts.now);
  let seed: IntercomSeed | undefined = opts.seedData;
  if (!seed && opts.seed) seed = await readSeed<IntercomSeed>(opts.seed);
  if (seed) state.seed(seed);
  const tokens = new Set(opts.tokens ?? [DEFAULT_INTERCOM_TOKEN]);
  for (const t of seed?.tokens ?? []) tokens.add(t);
  const limiter = new WindowLimiter(opts.rateLimit?.limit ?? 83, opts.rateLimit?.windowMs ?? 10_000);
  const rateHeaders = new WeakMap<EmulatorRequest, Record<string, string | number>>();

  function limitHeaders(remaining: number, resetMs: number): Record<string, string | number> {
    // X-RateLimit-Reset is epoch seconds; rounding up means a client that waits until then finds a fresh window.
    return { 'X-RateLimit-Limit': limiter.limit, 'X-RateLimit-Remaining': remaining, 'X-RateLimit-Reset': Math.ceil((Date.now() + resetMs) / 1000) };
  }

  function rateLimited(resetMs: number): EmulatorResponse {
    return {
      ...icError(429, [{ code: 'rate_limit_exceeded', message: `Exceeded rate limit of ${limiter.limit} in ${Math.round(limiter.windowMs / 1000)}_seconds` }]),
      headers: limitHeaders(0, resetMs),
    };
  }

  const before = (req: EmulatorRequest): EmulatorResponse | undefined => {
    if (req.routeName === 'not-found') return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!m || !tokens.has(m[1]!.trim())) return icError(401, [{ code: 'unauthorized', message: 'Access Token Invalid' }]);
    const version = req.headers['intercom-version'];
    if (version !== undefined && !/^(1\.[0-4]|2\.\d{1,2}|Unstable)$/.test(String(version))) {
      return icError(400, [{ code: 'intercom_version_invalid', message: 'The requested version could not be found' }]);
    }
    const take = limiter.take();
    if (!take.allowed) return rateLimited(take.resetMs);
    rateHeaders.set(req, limitHeaders(take.remaining, take.resetMs));
    return undefined;
  };

  const withHeaders =
    (h: (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>) =>
    async (req: EmulatorRequest): Promise<EmulatorResponse> => {
      const out = await h(req);
      const extra = rateHeaders.get(req);
      return extra ? { ...out, headers: { ...extra, ...(out.headers ?? {}) } } : out;
    };

  // ---- presentation ----------------------------------------------------------------------------

  function presentCompany(c: IntercomCompany): Record<string, unknown> {
    return {
      type: 'company',
      id: c.id,
      name: c.name,
      app_id: WORKSPACE_ID,
      company_id: c.company_id,
      remote_created_at: c.remote_created_at,
      created_at: c.created_at,
      updated_at: c.updated_at,
      last_request_at: c.last_request_at,
      monthly_spend: c.monthly_spend,
      session_count: c.session_count,
      user_count: state.userCount(c),
      size: c.size,
      website: c.website,
      industry: c.industry,
      plan: c.plan ? { type: 'plan', id: c.plan, name: c.plan } : {},
      tags: { type: 'tag.list', tags: [] },
      segments: { type: 'segment.list', segments: [] },
      custom_attributes: { ...c.custom_attributes },
    };
  }

  function presentContact(c: IntercomContact): Record<string, unknown> {
    return {
      type: 'contact',
      id: c.id,
      workspace_id: WORKSPACE_ID,
      external_id: c.external_id,
      role: c.role,
      email: c.email,
      email_domain: c.email?.split('@')[1] ?? null,
      phone: c.phone,
      name: c.name,
      avatar: c.avatar ? { type: 'avatar', image_url: c.avatar } : null,
      owner_id: c.owner_id,
      social_profiles: { type: 'list', data: [] },
      has_hard_bounced: false,
      marked_email_as_spam: false,
      unsubscribed_from_emails: c.unsubscribed_from_emails,
      created_at: c.created_at,
      updated_at: c.updated_at,
      signed_up_at: c.signed_up_at,
      last_seen_at: c.last_seen_at,
      last_replied_at: null,
      last_contacted_at: null,
      last_email_opened_at: null,
      last_email_clicked_at: null,
      language_override: null,
      browser: null,
      os: null,
      custom_attributes: { ...c.custom_attributes },
      tags: { type: 'list', data: [], url: `/contacts/${c.id}/tags`, total_count: 0, has_more: false },
      notes: { type: 'list', data: [], url: `/contacts/${c.id}/notes`, total_count: 0, has_more: false },
      companies: {
        type: 'list',
        data: c.company_ids.map((id) => ({ type: 'company', id, url: `/companies/${id}` })),
        url: `/contacts/${c.id}/companies`,
        total_count: c.company_ids.length,
        has_more: false,
      },
      location: { type: 'location', country: null, region: null, city: null },
    };
  }

  // ---- validation ------------------------------------------------------------------------------

  function badBody(req: EmulatorRequest): EmulatorResponse | undefined {
    if (req.bodyInvalid) return icError(400, [{ code: 'parameter_invalid', message: 'There was a problem parsing the JSON body' }]);
    return undefined;
  }

  function typeMatches(dataType: DataType, v: unknown): boolean {
    switch (dataType) {
      case 'string':
        return typeof v === 'string';
      case 'integer':
        return typeof v === 'number' && Number.isInteger(v);
      case 'float':
        return typeof v === 'number';
      case 'boolean':
        return typeof v === 'boolean';
      case 'date':
      case 'datetime':
        return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
      default:
        return true;
    }
  }

  /** Every custom attribute must be defined first (data attributes API); each problem is one error-list item. */
  function customAttributeErrors(model: AttributeModel, attrs: unknown): ErrorItem[] {
    if (attrs === undefined || attrs === null) return [];
    if (typeof attrs !== 'object' || Array.isArray(attrs)) return [{ code: 'parameter_invalid', message: 'custom_attributes must be an object' }];
    const errors: ErrorItem[] = [];
    for (const [name, value] of Object.entries(attrs as Record<string, unknown>)) {
      const def = state.customAttribute(model, name);
      if (!def) {
        errors.push({ code: 'parameter_invalid', message: `Custom attribute '${name}' does not exist` });
      } else if (value !== null && !typeMatches(def.data_type, value)) {
        errors.push({ code: 'parameter_invalid', message: `Custom attribute '${name}' with value '${String(value)}' is not a valid ${def.data_type}` });
      }
    }
    return errors;
  }

  function mergeCustom(target: Record<string, unknown>, attrs: unknown): void {
    for (const [k, v] of Object.entries((attrs ?? {}) as Record<string, unknown>)) {
      if (v === null) delete target[k];
      else target[k] = v;
    }
  }

  const contactNotFound = () => icError(404, [{ code: 'not_found', message: 'User Not Found' }]);
  const companyNotFound = () => icError(404, [{ code: 'company_not_found', message: 'Company Not Found' }]);
  const conflict = (existing: IntercomContact) =>
    icError(409, [{ code: 'conflict', message: `A contact matching those details already exists with id=${existing.id}` }]);

  function contactWriteErrors(body: Record<string, unknown>, selfId?: string): EmulatorResponse | undefined {
    if (body.role !== undefined && body.role !== 'user' && body.role !== 'lead') {
      return icError(400, [{ code: 'parameter_invalid', message: `role must be one of user, lead` }]);
    }
    if (typeof body.email === 'string' && body.email !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email)) {
      return icError(400, [{ code: 'parameter_invalid', message: 'Email address is invalid', field: 'email' }]);
    }
    const attrErrors = customAttributeErrors('contact', body.custom_attributes);
    if (attrErrors.length) return icError(400, attrErrors);
    // Intercom keeps e-mail addresses (case-insensitively) and external ids unique per workspace.
    if (typeof body.email === 'string' && body.email !== '') {
      const existing = state.contactByEmail(body.email, selfId);
      if (existing) return conflict(existing);
    }
    if (typeof body.external_id === 'string' && body.external_id !== '') {
      const existing = state.contactByExternalId(body.external_id, selfId);
      if (existing) return conflict(existing);
    }
    return undefined;
  }

  // ---- paging ----------------------------------------------------------------------------------

  const encodeCursor = (lastId: string) => Buffer.from(JSON.stringify([lastId])).toString('base64url');
  function decodeCursor(cursor: string): string | undefined {
    try {
      const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
      return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
    } catch {
      return undefined;
    }
  }

  /** Cursor pages: `starting_after` names the last id served, so inserts while paging never shift a page. */
  function cursorPage(contacts: IntercomContact[], perPageRaw: unknown, startingAfter: unknown): EmulatorResponse {
    const perPage = perPageRaw === undefined || perPageRaw === null || perPageRaw === '' ? 50 : Number(perPageRaw);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
      return icError(400, [{ code: 'parameter_invalid', message: `per_page must be between 1 and ${MAX_PER_PAGE}` }]);
    }
    let startIdx = 0;
    if (typeof startingAfter === 'string' && startingAfter !== '') {
      const lastId = decodeCursor(startingAfter);
      if (lastId === undefined) return icError(400, [{ code: 'parameter_invalid', message: 'starting_after is invalid' }]);
      const idx = contacts.findIndex((c) => c.id === lastId);
      startIdx = idx >= 0 ? idx + 1 : contacts.findIndex((c) => c.id > lastId);
      if (startIdx < 0) startIdx = contacts.length;
    }
    const page = contacts.slice(startIdx, startIdx + perPage);
    const pages: Record<string, unknown> = {
      type: 'pages',
      page: Math.floor(startIdx / perPage) + 1,
      per_page: perPage,
      total_pages: Math.max(1, Math.ceil(contacts.length / perPage)),
    };
    if (startIdx + perPage < contacts.length && page.length) pages.next = { per_page: perPage, starting_after: encodeCursor(page[page.length - 1]!.id) };
    return json(200, { type: 'list', data: page.map(presentContact), total_count: contacts.length, pages });
  }

  const activeContacts = () => [...state.contacts.values()].filter((c) => !c.archived).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  function getContactValue(c: IntercomContact, field: string): unknown {
    if (field.startsWith('custom_attributes.')) return c.custom_attributes[field.slice('custom_attributes.'.length)];
    if (field === 'companies.id') return c.company_ids[0];
    return (c as unknown as Record<string, unknown>)[field];
  }

  // ---- routes ----------------------------------------------------------------------------------

  const contactRoutes: Route[] = [
    {
      method: 'POST',
      path: '/contacts/search',
      name: 'contacts-search',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const body = (req.body ?? {}) as { query?: unknown; pagination?: { per_page?: unknown; starting_after?: unknown }; sort?: { field?: string; order?: string } };
        if (body.query === undefined) return icError(400, [{ code: 'parameter_not_found', message: 'query parameter not found' }]);
        const problem = validateQuery(body.query);
        if (problem) return icError(400, [{ code: 'parameter_invalid', message: problem }]);
        const isDate = (f: string) => {
          const name = f.startsWith('custom_attributes.') ? f.slice(18) : undefined;
          const def = name ? state.customAttribute('contact', name) : undefined;
          return def?.data_type === 'date' || def?.data_type === 'datetime';
        };
        let found = activeContacts().filter((c) => evaluate(body.query as SearchQuery, (f) => getContactValue(c, f), isDate));
        if (body.sort?.field) {
          const field = body.sort.field;
          const dir = body.sort.order === 'descending' ? -1 : 1;
          found = [...found].sort((a, b) => {
            const va = getContactValue(a, field) as string | number | null | undefined;
            const vb = getContactValue(b, field) as string | number | null | undefined;
            if (va === vb) return a.id < b.id ? -1 : 1;
            if (va === null || va === undefined) return 1;
            if (vb === null || vb === undefined) return -1;
            return (va < vb ? -1 : 1) * dir;
          });
        }
        return cursorPage(found, body.pagination?.per_page, body.pagination?.starting_after);
      },
    },
    {
      method: 'GET',
      path: '/contacts',
      name: 'contacts-list',
      handler: (req) => cursorPage(activeContacts(), req.query.get('per_page') ?? undefined, req.query.get('starting_after') ?? undefined),
    },
    {
      method: 'POST',
      path: '/contacts',
      name: 'contacts-create',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (!body.email && !body.external_id && !body.role) {
          return icError(400, [{ code: 'parameter_invalid', message: 'A contact must have an email, external_id or role' }]);
        }
        const problem = contactWriteErrors(body);
        if (problem) return problem;
        const fields: Partial<IntercomContact> = {};
        for (const k of CONTACT_FIELDS) if (body[k] !== undefined) (fields as Record<string, unknown>)[k] = body[k];
        const contact = state.createContact(fields);
        mergeCustom(contact.custom_attributes, body.custom_attributes);
        return json(200, presentContact(contact));
      },
    },
    {
      method: 'GET',
      path: '/contacts/find_by_external_id/:externalId',
      name: 'contacts-find-by-external-id',
      handler: (req) => {
        const c = state.contactByExternalId(req.params.externalId!);
        return c ? json(200, presentContact(c)) : contactNotFound();
      },
    },
    {
      method: 'GET',
      path: '/contacts/:id',
      name: 'contacts-get',
      handler: (req) => {
        const c = state.contacts.get(req.params.id!);
        return c ? json(200, presentContact(c)) : contactNotFound();
      },
    },
    {
      method: 'PUT',
      path: '/contacts/:id',
      name: 'contacts-update',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        const body = (req.body ?? {}) as Record<string, unknown>;
        const problem = contactWriteErrors(body, c.id);
        if (problem) return problem;
        for (const k of CONTACT_FIELDS) if (body[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = body[k];
        state.syncContact(c);
        mergeCustom(c.custom_attributes, body.custom_attributes);
        c.updated_at = state.stamp();
        return json(200, presentContact(c));
      },
    },
    {
      method: 'DELETE',
      path: '/contacts/:id',
      name: 'contacts-delete',
      handler: (req) => {
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        state.contacts.delete(c.id);
        return json(200, { type: 'contact', id: c.id, external_id: c.external_id, deleted: true });
      },
    },
    {
      method: 'POST',
      path: '/contacts/:id/archive',
      name: 'contacts-archive',
      handler: (req) => {
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        c.archived = true;
        return json(200, { type: 'contact', id: c.id, external_id: c.external_id, archived: true });
      },
    },
    {
      method: 'POST',
      path: '/contacts/:id/unarchive',
      name: 'contacts-unarchive',
      handler: (req) => {
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        c.archived = false;
        return json(200, { type: 'contact', id: c.id, external_id: c.external_id, archived: false });
      },
    },
    {
      method: 'POST',
      path: '/contacts/:id/companies',
      name: 'contacts-companies-attach',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        const companyId = (req.body as { id?: unknown } | undefined)?.id;
        if (typeof companyId !== 'string' || companyId === '') return icError(400, [{ code: 'parameter_not_found', message: 'company not specified' }]);
        const company = state.companies.get(companyId);
        if (!company) return companyNotFound();
        state.attach(c, company);
        return json(200, presentCompany(company));
      },
    },
    {
      method: 'GET',
      path: '/contacts/:id/companies',
      name: 'contacts-companies-list',
      handler: (req) => {
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        const companies = c.company_ids.map((id) => state.companies.get(id)).filter((x): x is IntercomCompany => !!x);
        return json(200, {
          type: 'list',
          companies: companies.map(presentCompany),
          total_count: companies.length,
          pages: { type: 'pages', next: null, page: 1, per_page: 50, total_pages: 1 },
        });
      },
    },
    {
      method: 'DELETE',
      path: '/contacts/:id/companies/:companyId',
      name: 'contacts-companies-detach',
      handler: (req) => {
        const c = state.contacts.get(req.params.id!);
        if (!c) return contactNotFound();
        const company = state.companies.get(req.params.companyId!);
        if (!company || !c.company_ids.includes(company.id)) return companyNotFound();
        c.company_ids = c.company_ids.filter((id) => id !== company.id);
        return json(200, presentCompany(company));
      },
    },
  ];

  function companyWrite(company: IntercomCompany, body: Record<string, unknown>): void {
    for (const k of COMPANY_FIELDS) if (body[k] !== undefined) (company as unknown as Record<string, unknown>)[k] = body[k];
    mergeCustom(company.custom_attributes, body.custom_attributes);
    company.updated_at = state.stamp();
  }

  function companyPage(req: EmulatorRequest): EmulatorResponse {
    const page = Math.max(1, Number(req.query.get('page') ?? 1) || 1);
    const perPage = Math.min(Math.max(1, Number(req.query.get('per_page') ?? 15) || 15), 60);
    const order = req.query.get('order') === 'asc' ? 1 : -1;
    const all = [...state.companies.values()].sort((a, b) => (a.created_at - b.created_at || (a.id < b.id ? -1 : 1)) * order);
    const data = all.slice((page - 1) * perPage, page * perPage);
    return json(200, {
      type: 'list',
      data: data.map(presentCompany),
      pages: { type: 'pages', page, per_page: perPage, total_pages: Math.max(1, Math.ceil(all.length / perPage)) },
      total_count: all.length,
    });
  }

  const scrolls = new Map<string, number>();

  const companyRoutes: Route[] = [
    {
      method: 'POST',
      path: '/companies/list',
      name: 'companies-list',
      handler: companyPage,
    },
    {
      method: 'GET',
      path: '/companies/scroll',
      name: 'companies-scroll',
      handler: (req) => {
        const param = req.query.get('scroll_param');
        let offset = 0;
        if (param) {
          const at = scrolls.get(param);
          if (at === undefined) return icError(404, [{ code: 'not_found', message: 'scroll parameter not found or expired' }]);
          scrolls.delete(param);
          offset = at;
        }
        const all = [...state.companies.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
        const data = all.slice(offset, offset + 15);
        const body: Record<string, unknown> = { type: 'list', data: data.map(presentCompany), pages: null, total_count: null };
        // The last (empty) page carries no scroll_param, which is what ends the client's iteration.
        if (data.length) {
          const next = randomUUID();
          scrolls.set(next, offset + data.length);
          body.scroll_param = next;
        }
        return json(200, body);
      },
    },
    {
      method: 'POST',
      path: '/companies',
      name: 'companies-create-or-update',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (typeof body.company_id !== 'string' || body.company_id === '') {
          return icError(400, [{ code: 'parameter_invalid', message: 'company_id must be provided to create or update a company', field: 'company_id' }]);
        }
        const attrErrors = customAttributeErrors('company', body.custom_attributes);
        if (attrErrors.length) return icError(400, attrErrors);
        const company = state.companyByCompanyId(body.company_id) ?? state.createCompany(body.company_id, {});
        companyWrite(company, body);
        return json(200, presentCompany(company));
      },
    },
    {
      method: 'GET',
      path: '/companies',
      name: 'companies-retrieve',
      handler: (req) => {
        const companyId = req.query.get('company_id');
        const name = req.query.get('name');
        if (companyId !== null || name !== null) {
          const found = companyId !== null ? state.companyByCompanyId(companyId) : [...state.companies.values()].find((c) => c.name === name);
          return found ? json(200, presentCompany(found)) : companyNotFound();
        }
        return companyPage(req);
      },
    },
    {
      method: 'GET',
      path: '/companies/:id',
      name: 'companies-get',
      handler: (req) => {
        const c = state.companies.get(req.params.id!);
        return c ? json(200, presentCompany(c)) : companyNotFound();
      },
    },
    {
      method: 'PUT',
      path: '/companies/:id',
      name: 'companies-update',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const c = state.companies.get(req.params.id!);
        if (!c) return companyNotFound();
        const body = (req.body ?? {}) as Record<string, unknown>;
        const attrErrors = customAttributeErrors('company', body.custom_attributes);
        if (attrErrors.length) return icError(400, attrErrors);
        companyWrite(c, body);
        return json(200, presentCompany(c));
      },
    },
    {
      method: 'DELETE',
      path: '/companies/:id',
      name: 'companies-delete',
      handler: (req) => {
        const c = state.companies.get(req.params.id!);
        if (!c) return companyNotFound();
        state.companies.delete(c.id);
        for (const contact of state.contacts.values()) contact.company_ids = contact.company_ids.filter((id) => id !== c.id);
        return json(200, { id: c.id, object: 'company', deleted: true });
      },
    },
    {
      method: 'GET',
      path: '/companies/:id/contacts',
      name: 'companies-contacts',
      handler: (req) => {
        const c = state.companies.get(req.params.id!);
        if (!c) return companyNotFound();
        const contacts = activeContacts().filter((x) => x.company_ids.includes(c.id));
        return json(200, { type: 'list', data: contacts.map(presentContact), total_count: contacts.length, pages: { type: 'pages', page: 1, per_page: 50, total_pages: 1 } });
      },
    },
  ];

  const dataAttributeRoutes: Route[] = [
    {
      method: 'GET',
      path: '/data_attributes',
      name: 'data-attributes-list',
      handler: (req) => {
        const model = req.query.get('model');
        const includeArchived = req.query.get('include_archived') === 'true';
        const data = state.dataAttributes.filter((a) => (!model || a.model === model) && (includeArchived || !a.archived));
        return json(200, { type: 'list', data });
      },
    },
    {
      method: 'POST',
      path: '/data_attributes',
      name: 'data-attributes-create',
      handler: (req) => {
        const bad = badBody(req);
        if (bad) return bad;
        const b = (req.body ?? {}) as { name?: unknown; model?: unknown; data_type?: unknown; description?: string; options?: unknown; messenger_writable?: boolean };
        const errors: ErrorItem[] = [];
        if (typeof b.name !== 'string' || b.name.trim() === '') errors.push({ code: 'parameter_not_found', message: 'name parameter not found', field: 'name' });
        else if (/[.$\[\]]/.test(b.name) || b.name.length > 190) errors.push({ code: 'parameter_invalid', message: `The name '${b.name}' is invalid: names may not contain '.', '$', '[' or ']'`, field: 'name' });
        if (b.model !== 'contact' && b.model !== 'company') errors.push({ code: 'parameter_invalid', message: 'model must be one of contact, company', field: 'model' });
        if (!DATA_TYPES.includes(b.data_type as DataType)) errors.push({ code: 'parameter_invalid', message: `data_type must be one of ${DATA_TYPES.join(', ')}`, field: 'data_type' });
        if (errors.length) return icError(400, errors);
        const name = b.name as string;
        const model = b.model as AttributeModel;
        const clash = state.dataAttributes.find((a) => a.model === model && a.name === name && !a.archived);
        if (clash) {
          const noun = model === 'contact' ? 'person' : 'company';
          return icError(400, [{ code: 'parameter_invalid', message: `You already have '${name}' in your ${noun} data. To save this as new ${noun} data, use a different name.` }]);
        }
        const options = Array.isArray(b.options) ? b.options.map((o) => (typeof o === 'object' && o ? String((o as { value?: unknown }).value) : String(o))) : undefined;
        const attr = state.addAttribute({ name, model, data_type: b.data_type as DataType, description: b.description, options, messenger_writable: b.messenger_writable }, true);
        return json(200, attr);
      },
    },
    {
      method: 'PUT',
      path: '/data_attributes/:id',
      name: 'data-attributes-update',
      handler: (req) => {
        const attr = state.dataAttributes.find((a) => String(a.id) === req.params.id && a.custom);
        if (!attr) return icError(404, [{ code: 'field_not_found', message: 'We couldn\'t find that data attribute to update' }]);
        const b = (req.body ?? {}) as { archived?: boolean; description?: string; messenger_writable?: boolean };
        if (b.archived !== undefined) attr.archived = b.archived;
        if (b.description !== undefined) attr.description = b.description;
        if (b.messenger_writable !== undefined) attr.messenger_writable = b.messenger_writable;
        attr.updated_at = state.nowSeconds();
        return json(200, attr);
      },
    },
  ];

  const routes = [...contactRoutes, ...companyRoutes, ...dataAttributeRoutes].map((r) => ({ ...r, handler: withHeaders(r.handler) }));

  const server = await startServer({
    name: 'Intercom',
    routes,
    host: opts.host,
    port: opts.port,
    faults: opts.faults,
    faultSeed: opts.faultSeed,
    before,
    // An injected 429 says "the window resets within a second", so the v7 client's header-driven retry stays quick.
    tooManyRequests: () => rateLimited(1000 - (Date.now() % 1000)),
    serverError: (status) => icError(status, [{ code: status === 500 ? 'server_error' : 'service_unavailable', message: status === 500 ? 'Server Error' : 'Service Unavailable' }]),
  });

  return {
    url: server.url,
    state,
    requests: server.requests,
    calls: server.calls,
    faults: server.faults,
    tokens,
    dump: () => state.toJSON(),
    stop: server.stop,
  };
}
