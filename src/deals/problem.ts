import type { z } from 'zod';
import { reply } from '../server/http-body.js';

/**
 * RFC 9457 problem details for the deal API. `type` is a URN per problem (stable, never a dead
 * link), `code` repeats its last part for clients that switch on a string, and a 422 lists every
 * invalid field in `errors`, each named as the caller named it (their mapped field name).
 *
 * @example
 *   return problem(404, 'not_found', 'Not Found', 'no deal dl_123');
 *   return validationProblem(issues, (f) => theirName[f] ?? f);
 */
export interface InvalidParam {
  field: string;
  pointer: string;
  code: string;
  detail: string;
}

export function problem(status: number, code: string, title: string, detail?: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  const body = { type: `urn:partnersync:problem:${code}`, title, status, code, ...(detail ? { detail } : {}), ...extra };
  return reply(status, JSON.stringify(body), { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers });
}

const pointerOf = (path: readonly PropertyKey[]) => `/${path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/**
 * zod issues → invalid params. `input` is what was validated (to tell a missing field from a wrong
 * one); `rename` turns our field name back into the partner's.
 */
export function invalidParams(issues: readonly z.core.$ZodIssue[], input: unknown, rename: (field: string) => string = (f) => f): InvalidParam[] {
  const out: InvalidParam[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ field: rename(k), pointer: pointerOf([...i.path, k]), code: 'unknown_field', detail: 'not a field of this API (or of your mapping)' });
      continue;
    }
    const top = i.path[0];
    const field = top === undefined ? '(body)' : rename(String(top));
    const missing = i.code === 'invalid_type' && top !== undefined && (input === null || typeof input !== 'object' || (input as Record<string, unknown>)[String(top)] === undefined);
    const path = top === undefined ? [] : [field, ...i.path.slice(1)];
    out.push({ field, pointer: pointerOf(path), code: missing ? 'required' : i.code, detail: missing ? 'required' : i.message });
  }
  return out;
}

export function validationProblem(errors: InvalidParam[], detail = 'the request has invalid fields; see errors'): Response {
  return problem(422, 'validation_failed', 'Unprocessable Content', detail, { errors });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return reply(status, JSON.stringify(body), { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
}
