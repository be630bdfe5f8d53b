import { z } from 'zod';

/**
 * Secrets are marked in the schema (so JSON Schema shows `writeOnly`) and recognised by key name
 * (so a secret in a connector we forgot to mark is still hidden). Redaction works on values: every
 * secret value seen while loading config is replaced wherever it appears in output, logs, the run
 * log and error messages — including inside URLs and SDK error texts we do not control.
 *
 * @example
 *   const Cfg = z.object({ apiKey: secret(z.string()) });
 *   registerSecret('s3cr3t');
 *   redact('token=s3cr3t') // → 'token=[redacted]'
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ writeOnly: true, secret: true, description: 'secret: write as ${ENV_VAR}' }) as T;
}

export const SECRET_KEY = /(pass(word)?|secret|token|api_?key|private_?key|credential|authorization|signing_?key)/i;

const secrets = new Set<string>();
let pattern: RegExp | undefined;

/** Remember a secret value so `redact()` hides it. Short values are ignored: they would shred ordinary text. */
export function registerSecret(value: unknown): void {
  if (typeof value !== 'string' || value.length < 4) return;
  if (secrets.has(value)) return;
  secrets.add(value);
  // Secrets also appear URL-encoded (connection strings, query strings).
  const encoded = encodeURIComponent(value);
  if (encoded !== value) secrets.add(encoded);
  pattern = undefined;
}

export function clearSecrets(): void {
  secrets.clear();
  pattern = undefined;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function redact(text: string): string {
  if (secrets.size === 0 || !text) return redactUrlPasswords(text);
  pattern ??= new RegExp([...secrets].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
  return redactUrlPasswords(text.replace(pattern, '[redacted]'));
}

/** `postgres://user:pw@host` → `postgres://user:[redacted]@host`, even for passwords we were never told of. */
function redactUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):([^@\s/]+)@/gi, '$1:[redacted]@');
}

/** Deep copy of a value with every secret-looking key's value replaced and every known secret redacted. */
export function redactDeep<T>(value: T): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return key && SECRET_KEY.test(key) && v ? '[redacted]' : redact(v);
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** Collect secret values out of a parsed config (by key name) and register them. */
export function registerSecretsIn(value: unknown, key?: string): void {
  if (typeof value === 'string') {
    if (key && SECRET_KEY.test(key)) registerSecret(value);
    return;
  }
  if (Array.isArray(value)) value.forEach((v) => registerSecretsIn(v));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) registerSecretsIn(v, k);
}
