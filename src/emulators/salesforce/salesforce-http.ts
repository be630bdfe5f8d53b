import type { EmulatorRequest, EmulatorResponse } from '../shared/server.js';

/** Salesforce's REST error body: a JSON array of `{message, errorCode[, fields]}`. */
export function sfError(status: number, errorCode: string, message: string, fields?: string[]): EmulatorResponse {
  return { status, body: [{ message, errorCode, ...(fields ? { fields } : {}) }] };
}

export const notFound = (): EmulatorResponse => sfError(404, 'NOT_FOUND', 'The requested resource does not exist');

/** `v59.0` → `59.0` */
export function versionOf(req: EmulatorRequest): string {
  return (req.params.version ?? 'v59.0').replace(/^v/, '');
}

/** Read a JSON body the way Salesforce does: a parse failure is a 400 JSON_PARSER_ERROR. */
export function jsonBody(req: EmulatorRequest): { ok: true; body: Record<string, unknown> } | { ok: false; res: EmulatorResponse } {
  if (req.bodyInvalid || (req.rawBody.length > 0 && req.body === undefined))
    return { ok: false, res: sfError(400, 'JSON_PARSER_ERROR', 'Unexpected character: was expecting a JSON value at [line:1, column:1]') };
  if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null))
    return { ok: false, res: sfError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of object from a scalar value at [line:1, column:1]') };
  return { ok: true, body: (req.body ?? {}) as Record<string, unknown> };
}

/** RFC 4180 CSV with the delimiter and line ending a Bulk 2.0 job asked for. */
export function toCsv(header: string[], rows: unknown[][], delimiter = ',', lineEnding = '\n'): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /["\r\n]/.test(s) || s.includes(delimiter) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [header.map((h) => `"${h.replace(/"/g, '""')}"`).join(delimiter), ...rows.map((r) => r.map(cell).join(delimiter))];
  return lines.join(lineEnding) + lineEnding;
}

export const DELIMITERS: Record<string, string> = { COMMA: ',', TAB: '\t', PIPE: '|', SEMICOLON: ';', CARET: '^', BACKQUOTE: '`' };
