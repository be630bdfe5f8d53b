/**
 * A SQL identifier quoted for both staging dialects (SQLite and Postgres use the same double quotes).
 *
 * @example
 *   quoteIdent('raw_crm__accounts') // '"raw_crm__accounts"'
 *   quoteIdent('a"b')               // '"a""b"'
 */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
