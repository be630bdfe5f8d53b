/**
 * The SOQL subset the emulator understands:
 *
 *   SELECT f1, f2, Parent.f3 | COUNT() FROM Object
 *   [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
 *
 * where `cond` combines `f op literal` (= != <> < > <= >= LIKE), `f [NOT] IN (...)`, AND, OR, NOT and
 * parentheses; literals are 'strings', numbers, true/false, null, date (2024-01-31) and datetime
 * (2024-01-31T10:00:00Z) values. Anything else is a MALFORMED_QUERY, as in Salesforce.
 * Parsing is pure; `salesforce-state.ts` checks names against the schema and runs the query.
 *
 * @example parseSoql("SELECT Id FROM Account WHERE Name LIKE 'Acme%' ORDER BY Name LIMIT 5")
 */

export class SoqlError extends Error {
  constructor(
    public errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE',
    message: string,
  ) {
    super(message);
  }
}

export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null'; value: null }
  | { type: 'date'; value: string }
  | { type: 'datetime'; value: number; text: string };

export type CmpOp = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'like';

export type Expr =
  | { kind: 'and' | 'or'; items: Expr[] }
  | { kind: 'not'; item: Expr }
  | { kind: 'cmp'; path: string; pos: number; op: CmpOp; value: Literal }
  | { kind: 'in'; path: string; pos: number; values: Literal[]; negate: boolean };

export interface FieldRef {
  path: string;
  pos: number;
}

export interface SoqlQuery {
  text: string;
  object: string;
  objectPos: number;
  fields: FieldRef[];
  count: boolean;
  where?: Expr;
  orderBy: Array<FieldRef & { desc: boolean; nullsLast: boolean }>;
  limit?: number;
  offset?: number;
}

interface Token {
  t: 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';
  v: string;
  pos: number;
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const dt = DATETIME_RE.exec(rest);
    if (dt) {
      out.push({ t: 'datetime', v: dt[0], pos: i });
      i += dt[0].length;
      continue;
    }
    const d = DATE_RE.exec(rest);
    if (d) {
      out.push({ t: 'date', v: d[0], pos: i });
      i += d[0].length;
      continue;
    }
    if (ch === "'") {
      let j = i + 1;
      let v = '';
      for (; j < text.length && text[j] !== "'"; j++) {
        if (text[j] === '\\' && j + 1 < text.length) {
          j++;
          const esc = text[j]!;
          v += esc === 'n' ? '\n' : esc === 't' ? '\t' : esc === 'r' ? '\r' : esc;
        } else v += text[j];
      }
      if (j >= text.length) throw malformed(text, i, 'unterminated string literal');
      out.push({ t: 'string', v, pos: i });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num) {
      out.push({ t: 'number', v: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(rest);
    if (id) {
      out.push({ t: 'ident', v: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(rest);
    if (op) {
      out.push({ t: 'op', v: op[0] === '<>' ? '!=' : op[0], pos: i });
      i += op[0].length;
      continue;
    }
    if ('(),'.includes(ch)) {
      out.push({ t: 'punct', v: ch, pos: i });
      i++;
      continue;
    }
    throw malformed(text, i, `unexpected character '${ch}'`);
  }
  out.push({ t: 'eof', v: '', pos: text.length });
  return out;
}

/** Salesforce points at the offending column under a copy of the query. */
export function caretMessage(text: string, pos: number, message: string): string {
  const before = text.slice(0, pos);
  const row = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `\n${text}\n${' '.repeat(Math.max(0, col - 1))}^\nERROR at Row:${row}:Column:${col}\n${message}`;
}

function malformed(text: string, pos: number, what: string): SoqlError {
  return new SoqlError('MALFORMED_QUERY', caretMessage(text, pos, what));
}

export function parseSoql(text: string): SoqlQuery {
  const toks = tokenize(text);
  let k = 0;
  const peek = () => toks[k]!;
  const kw = (word: string) => peek().t === 'ident' && peek().v.toUpperCase() === word;
  const next = () => toks[k++]!;
  const expectKw = (word: string) => {
    if (!kw(word)) throw malformed(text, peek().pos, `unexpected token: '${peek().v || 'EOF'}'`);
    next();
  };
  const expectPunct = (p: string) => {
    if (!(peek().t === 'punct' && peek().v === p)) throw malformed(text, peek().pos, `unexpected token: '${peek().v || 'EOF'}'`);
    next();
  };

  expectKw('SELECT');
  const fields: FieldRef[] = [];
  let count = false;
  if (kw('COUNT') && toks[k + 1]?.v === '(' && toks[k + 2]?.v === ')') {
    k += 3;
    count = true;
  } else {
    for (;;) {
      const t = next();
      if (t.t !== 'ident' || ['FROM', 'SELECT'].includes(t.v.toUpperCase())) throw malformed(text, t.pos, `unexpected token: '${t.v || 'EOF'}'`);
      if (peek().v === '(') throw malformed(text, t.pos, `functions such as ${t.v}() are not supported by the emulator`);
      fields.push({ path: t.v, pos: t.pos });
      if (peek().t === 'punct' && peek().v === ',') {
        next();
        continue;
      }
      break;
    }
  }
  expectKw('FROM');
  const objTok = next();
  if (objTok.t !== 'ident') throw malformed(text, objTok.pos, `unexpected token: '${objTok.v || 'EOF'}'`);

  const literal = (): Literal => {
    const t = next();
    switch (t.t) {
      case 'string':
        return { type: 'string', value: t.v };
      case 'number':
        return { type: 'number', value: Number(t.v) };
      case 'date':
        return { type: 'date', value: t.v };
      case 'datetime':
        return { type: 'datetime', value: parseDateTime(t.v), text: t.v };
      case 'ident': {
        const u = t.v.toUpperCase();
        if (u === 'TRUE' || u === 'FALSE') return { type: 'boolean', value: u === 'TRUE' };
        if (u === 'NULL') return { type: 'null', value: null };
        throw malformed(text, t.pos, `unexpected token: '${t.v}' (date literals and bind variables are not supported by the emulator)`);
      }
      default:
        throw malformed(text, t.pos, `unexpected token: '${t.v || 'EOF'}'`);
    }
  };

  const primary = (): Expr => {
    if (peek().t === 'punct' && peek().v === '(') {
      next();
      const e = orExpr();
      expectPunct(')');
      return e;
    }
    if (kw('NOT')) {
      next();
      return { kind: 'not', item: primary() };
    }
    const f = next();
    if (f.t !== 'ident') throw malformed(text, f.pos, `unexpected token: '${f.v || 'EOF'}'`);
    let negate = false;
    if (kw('NOT')) {
      next();
      negate = true;
      if (!kw('IN')) throw malformed(text, peek().pos, `unexpected token: '${peek().v || 'EOF'}'`);
    }
    if (kw('IN')) {
      next();
      expectPunct('(');
      const values: Literal[] = [literal()];
      while (peek().t === 'punct' && peek().v === ',') {
        next();
        values.push(literal());
      }
      expectPunct(')');
      return { kind: 'in', path: f.v, pos: f.pos, values, negate };
    }
    if (kw('LIKE')) {
      next();
      return { kind: 'cmp', path: f.v, pos: f.pos, op: 'like', value: literal() };
    }
    const op = next();
    if (op.t !== 'op') throw malformed(text, op.pos, `unexpected token: '${op.v || 'EOF'}'`);
    return { kind: 'cmp', path: f.v, pos: f.pos, op: op.v as CmpOp, value: literal() };
  };
  const andExpr = (): Expr => {
    const items = [primary()];
    while (kw('AND')) {
      next();
      items.push(primary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const orExpr = (): Expr => {
    const items = [andExpr()];
    while (kw('OR')) {
      next();
      items.push(andExpr());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };

  const q: SoqlQuery = { text, object: objTok.v, objectPos: objTok.pos, fields, count, orderBy: [] };
  if (kw('WHERE')) {
    next();
    q.where = orExpr();
  }
  if (kw('ORDER')) {
    next();
    expectKw('BY');
    for (;;) {
      const f = next();
      if (f.t !== 'ident') throw malformed(text, f.pos, `unexpected token: '${f.v || 'EOF'}'`);
      let desc = false;
      if (kw('ASC')) next();
      else if (kw('DESC')) {
        next();
        desc = true;
      }
      // Salesforce's default: nulls first ascending, last descending.
      let nullsLast = desc;
      if (kw('NULLS')) {
        next();
        if (kw('FIRST')) nullsLast = false;
        else if (kw('LAST')) nullsLast = true;
        else throw malformed(text, peek().pos, `unexpected token: '${peek().v || 'EOF'}'`);
        next();
      }
      q.orderBy.push({ path: f.v, pos: f.pos, desc, nullsLast });
      if (peek().t === 'punct' && peek().v === ',') {
        next();
        continue;
      }
      break;
    }
  }
  if (kw('LIMIT')) {
    next();
    const n = next();
    if (n.t !== 'number' || !/^\d+$/.test(n.v)) throw malformed(text, n.pos, `unexpected token: '${n.v || 'EOF'}'`);
    q.limit = Number(n.v);
  }
  if (kw('OFFSET')) {
    next();
    const n = next();
    if (n.t !== 'number' || !/^\d+$/.test(n.v)) throw malformed(text, n.pos, `unexpected token: '${n.v || 'EOF'}'`);
    q.offset = Number(n.v);
  }
  if (peek().t !== 'eof') throw malformed(text, peek().pos, `unexpected token: '${peek().v}'`);
  return q;
}

/** Salesforce writes `+0000` without a colon; Date.parse wants one. */
export function parseDateTime(s: string): number {
  const fixed = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return Date.parse(fixed);
}

/** SOQL LIKE: `%` any run, `_` one character, case-insensitive. */
export function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}
