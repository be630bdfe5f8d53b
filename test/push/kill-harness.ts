import fs from 'node:fs';
import Database from 'better-sqlite3';

/** Shared by the kill -9 push tests: the model rows they push and what the staging ledger confirms. */
export type Row = { account_id: string; name: string; domain: string; partner_count: number };

export const model = (n: number, edit: (r: Row, i: number) => Row = (r) => r): Row[] =>
  Array.from({ length: n }, (_, i) => edit({ account_id: `acc-${String(i).padStart(4, '0')}`, name: `Company ${i}`, domain: `c${i}.example`, partner_count: i % 7 }, i));

/** Replace a staging table with `rows` (the model a target pushes). */
export function setModel(stagingFile: string, table: string, rows: Row[]): void {
  const db = new Database(stagingFile);
  try {
    db.exec(`drop table if exists ${table}; create table ${table} (account_id text, name text, domain text, partner_count integer)`);
    const insert = db.prepare(`insert into ${table} values (@account_id, @name, @domain, @partner_count)`);
    db.transaction((rs: Row[]) => rs.forEach((r) => insert.run(r)))(rows);
  } finally {
    db.close();
  }
}

/** Rows of `target` the ledger records as delivered; 0 before the push's migrations have run. */
export function confirmedInLedger(stagingFile: string, target: string): number {
  if (!fs.existsSync(stagingFile)) return 0;
  const db = new Database(stagingFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`select count(*) as n from sync_ledger where target = ? and status = 'ok'`).get(target) as { n: number }).n;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}
