/**
 * A small tokenizer for Snowflake SQL and helpers to walk token lists. The emulator translates
 * statements token by token (never by regex over the text), so string literals, quoted identifiers
 * and comments can never be mistaken for keywords.
 */

export type TokenKind = 'word' | 'qid' | 'str' | 'num' | 'bind' | 'op';

export interface Token {
  k: TokenKind;
  /** word/num/op: the text; qid/str: the unquoted value; bind: `?` or the number of `:N`. */
  v: string;
}

export class SqlSyntaxError extends Error {}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '/')) {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= n) throw new SqlSyntaxError('unterminated string literal');
        const ch = sql[i]!;
        if (ch === "'" && sql[i + 1] === "'") {
          v += "'";
          i += 2;
        } else if (ch === "'") {
          i++;
          break;
        } else if (ch === '\\' && i + 1 < n) {
          const nx = sql[i + 1]!;
          v += nx === 'n' ? '\n' : nx === 't' ? '\t' : nx === '0' ? '\0' : nx;
          i += 2;
        } else {
          v += ch;
          i++;
        }
      }
      out.push({ k: 'str', v });
      continue;
    }
    if (c === '$' && sql[i + 1] === '$') {
      const end = sql.indexOf('$$', i + 2);
      if (end < 0) throw new SqlSyntaxError('unterminated $$ string');
      out.push({ k: 'str', v: sql.slice(i + 2, end) });
      i = end + 2;
      continue;
    }
    if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= n) throw new SqlSyntaxError('unterminated quoted identifier');
        if (sql[i] === '"' && sql[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (sql[i] === '"') {
          i++;
          break;
        } else v += sql[i++];
      }
      out.push({ k: 'qid', v });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(sql.slice(i))!;
      out.push({ k: 'num', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      out.push({ k: 'word', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '?') {
      out.push({ k: 'bind', v: '?' });
      i++;
      continue;
    }
    if (c === ':' && sql[i + 1] === ':') {
      out.push({ k: 'op', v: '::' });
      i += 2;
      continue;
    }
    if (c === ':' && /[0-9]/.test(sql[i + 1] ?? '')) {
      const m = /^\d+/.exec(sql.slice(i + 1))!;
      out.push({ k: 'bind', v: m[0] });
      i += 1 + m[0].length;
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (['<>', '!=', '<=', '>=', '||', '=>'].includes(two)) {
      out.push({ k: 'op', v: two });
      i += 2;
      continue;
    }
    out.push({ k: 'op', v: c });
    i++;
  }
  return out;
}

export const isWord = (t: Token | undefined, ...words: string[]): boolean =>
  !!t && t.k === 'word' && (words.length === 0 || words.includes(t.v.toUpperCase()));

export const isOp = (t: Token | undefined, op: string): boolean => !!t && t.k === 'op' && t.v === op;

/** Index of the `)` matching the `(` at `open`. */
export function matching(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isOp(tokens[i], '(')) depth++;
    else if (isOp(tokens[i], ')')) {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new SqlSyntaxError('unbalanced parentheses');
}

/** Split at top-level tokens for which `sep` is true (the separators are dropped). */
export function splitTop(tokens: Token[], sep: (t: Token) => boolean): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (isOp(t, '(')) depth++;
    if (isOp(t, ')')) depth--;
    if (depth === 0 && sep(t)) parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  return parts;
}

/** First top-level index at or after `from` where `pred` holds, or -1. */
export function findTop(tokens: Token[], pred: (t: Token, i: number) => boolean, from = 0): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (depth === 0 && pred(t, i)) return i;
    if (isOp(t, '(')) depth++;
    if (isOp(t, ')')) depth--;
  }
  return -1;
}

export function quoteIdent(v: string): string {
  return `"${v.replace(/"/g, '""')}"`;
}

export function quoteString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** SQLite text for tokens (after translation, every bind has become a literal). */
export function render(tokens: Token[]): string {
  let out = '';
  let prev: Token | undefined;
  for (const t of tokens) {
    const text = t.k === 'qid' ? quoteIdent(t.v) : t.k === 'str' ? quoteString(t.v) : t.k === 'bind' ? (t.v === '?' ? '?' : `?${t.v}`) : t.v;
    const glue =
      !prev || isOp(t, '.') || isOp(prev, '.') || isOp(t, ',') || isOp(t, ')') || isOp(prev, '(') || (isOp(t, '(') && prev.k === 'word');
    out += (glue ? '' : ' ') + text;
    prev = t;
  }
  return out;
}
