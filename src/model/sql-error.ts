import { PartnersyncError } from '../errors.js';

/**
 * A model that did not build, named by file and line. Database errors point into the SQL that was
 * sent; macros never add lines, so the rendered line is the file's line once the statement prefix
 * (`CREATE TABLE … AS`) is taken off.
 *
 * @example
 *   err.message // 'models/overlaps.sql:7: model overlaps failed: no such column: partnr'
 */
export class ModelSqlError extends PartnersyncError {
  readonly file: string;
  readonly line: number;
  readonly model: string;
  constructor(message: string, where: { file: string; line: number; model: string }, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: 'MODEL_FAILED', ...opts });
    this.file = where.file;
    this.line = where.line;
    this.model = where.model;
  }
}

const lineOf = (text: string, index: number): number => text.slice(0, index).split('\n').length;

/** First line that is neither blank nor a comment: where the statement starts. */
export function statementLine(sql: string): number {
  const lines = sql.split('\n');
  const i = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('--'));
  return i < 0 ? 1 : i + 1;
}

function findToken(sql: string, token: string): number | undefined {
  const esc = token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Skip comment lines: the token an error names is in the SQL, not in the header.
  const body = sql.replace(/--[^\n]*/g, (m) => ' '.repeat(m.length));
  const word = /^\w/.test(token) && /\w$/.test(token) ? new RegExp(`(?<![\\w.])${esc}(?!\\w)`) : new RegExp(esc);
  const m = word.exec(body) ?? new RegExp(esc, 'i').exec(body);
  return m ? m.index : undefined;
}

/** The database's own message, without the SQL text knex puts in front of it. */
export function databaseMessage(err: unknown, sent: string): string {
  const msg = String((err as Error)?.message ?? err);
  const prefix = `${sent} - `;
  return msg.startsWith(prefix) ? msg.slice(prefix.length) : msg;
}

/**
 * Line (1-based, in the model's rendered SQL) an error points at.
 * @param prefixLines lines the runner put before the model SQL in the statement it sent.
 */
export function errorLine(err: unknown, sql: string, sent: string, prefixLines: number): number {
  const e = err as { position?: string | number; message?: string };
  // Postgres: a 1-based character position into the statement.
  const pos = Number(e?.position);
  if (Number.isFinite(pos) && pos > 0) {
    let line = lineOf(sent, pos - 1) - prefixLines;
    // "at end of input" points past the last line: report the last line that has SQL on it.
    const lines = sql.split('\n');
    while (line > 1 && (lines[line - 1] ?? '').trim() === '') line--;
    if (line >= 1) return line;
  }
  const msg = databaseMessage(err, sent);
  // SQLite: the statement ended too early: the last line with SQL on it.
  if (/incomplete input/.test(msg)) {
    const lines = sql.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '' && !lines[i]!.trim().startsWith('--')) return i + 1;
  }
  // SQLite: `near "FORM": syntax error`, `no such column: a.b`, `no such table: x`, `no such function: f`.
  const m =
    /near "([^"]+)"/.exec(msg) ??
    /no such (?:column|table|function): ([^\s,]+)/.exec(msg) ??
    /ambiguous column name: ([^\s,]+)/.exec(msg) ??
    /(?:column|relation|function) "?([^"\s(]+)"?(?:\([^)]*\))? does not exist/.exec(msg);
  if (m) {
    const tok = m[1]!;
    const at = findToken(sql, tok) ?? (tok.includes('.') ? findToken(sql, tok.split('.').pop()!) : undefined);
    if (at !== undefined) return lineOf(sql, at);
  }
  return statementLine(sql);
}
