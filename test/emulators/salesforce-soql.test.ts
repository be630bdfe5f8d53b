import { describe, expect, it } from 'vitest';
import { SoqlError, likeToRegExp, parseSoql } from '../../src/emulators/salesforce/salesforce-soql.js';
import { SalesforceState } from '../../src/emulators/salesforce/salesforce-state.js';

/** The SOQL subset on its own: parser shapes, and evaluation over a small seeded org. */

function org(): SalesforceState {
  const st = new SalesforceState();
  st.seed({
    fields: { Account: [{ name: 'Ext__c', type: 'string', externalId: true }] },
    Account: [
      { Name: "O'Brien & Sons", NumberOfEmployees: 10, Ext__c: 'a' },
      { Name: 'Zeta', NumberOfEmployees: null, Ext__c: 'b' },
      { Name: 'alpha', NumberOfEmployees: 30, Ext__c: null },
    ],
  });
  return st;
}

const names = (st: SalesforceState, soql: string, all = false) => st.run(st.compile(soql), all).map((r) => r.Name);

describe('parseSoql', () => {
  it('reads fields, conditions, ordering, limit and offset', () => {
    const q = parseSoql("select Id, Account.Name from Contact where (Email like '%@x.io' or Title != null) and not AccountId in ('001') order by Name desc nulls first, Id limit 10 offset 5");
    expect(q.object).toBe('Contact');
    expect(q.fields.map((f) => f.path)).toEqual(['Id', 'Account.Name']);
    expect(q.where?.kind).toBe('and');
    expect(q.orderBy).toEqual([
      expect.objectContaining({ path: 'Name', desc: true, nullsLast: false }),
      expect.objectContaining({ path: 'Id', desc: false, nullsLast: false }),
    ]);
    expect([q.limit, q.offset]).toEqual([10, 5]);
  });

  it('rejects what it does not understand as MALFORMED_QUERY with a caret', () => {
    for (const bad of ['SELECT Id FROM', 'SELECT Id FROM Account WHERE', "SELECT Id FROM Account WHERE Name = 'x", 'SELECT Id FROM Account LIMIT x', 'SELECT MAX(Amount) FROM Opportunity', 'SELECT Id FROM Account WHERE CreatedDate = TODAY']) {
      const err = (() => {
        try {
          parseSoql(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, bad).toBeInstanceOf(SoqlError);
      expect((err as SoqlError).errorCode).toBe('MALFORMED_QUERY');
      expect((err as SoqlError).message).toMatch(/ERROR at Row:1:Column:\d+/);
    }
  });

  it('turns LIKE patterns into case-insensitive expressions', () => {
    expect(likeToRegExp('a_c%').test('ABCdef')).toBe(true);
    expect(likeToRegExp('a.c').test('abc')).toBe(false);
  });
});

describe('query evaluation', () => {
  it('handles escaped quotes, NOT IN, nulls ordering and OFFSET', () => {
    const st = org();
    expect(names(st, "SELECT Name FROM Account WHERE Name = 'O\\'Brien & Sons'")).toEqual(["O'Brien & Sons"]);
    // NOT IN never matches nulls, as in SOQL.
    expect(names(st, "SELECT Name FROM Account WHERE Ext__c NOT IN ('a')")).toEqual(['Zeta']);
    expect(names(st, 'SELECT Name FROM Account ORDER BY NumberOfEmployees')).toEqual(['Zeta', "O'Brien & Sons", 'alpha']);
    expect(names(st, 'SELECT Name FROM Account ORDER BY NumberOfEmployees DESC')).toEqual(['alpha', "O'Brien & Sons", 'Zeta']);
    expect(names(st, 'SELECT Name FROM Account ORDER BY NumberOfEmployees NULLS LAST')).toEqual(["O'Brien & Sons", 'alpha', 'Zeta']);
    expect(names(st, 'SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1')).toEqual(["O'Brien & Sons"]);
    expect(names(st, 'SELECT Name FROM Account WHERE NumberOfEmployees > 5 AND NumberOfEmployees < 20')).toEqual(["O'Brien & Sons"]);
  });

  it('checks literal types against field types', () => {
    const st = org();
    expect(() => st.compile("SELECT Id FROM Account WHERE NumberOfEmployees = '10'")).toThrow(/must be of type number/);
    expect(() => st.compile('SELECT Id FROM Account WHERE Name = 10')).toThrow(/must be of type string/);
    expect(() => st.compile("SELECT Id FROM Account WHERE IsDeleted = 'false'")).toThrow(/must be of type boolean/);
    expect(() => st.compile("SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'")).toThrow(/LIKE/);
    expect(() => st.compile('SELECT Owner.Bogus FROM Account')).toThrow(/No such column 'Bogus' on entity 'User'/);
    expect(() => st.compile('SELECT Nope.Name FROM Account')).toThrow(/Didn't understand relationship 'Nope'/);
  });

  it('matches ids in 15- and 18-character form and keeps deleted rows for queryAll', () => {
    const st = org();
    const zeta = st.list('Account').find((r) => r.Name === 'Zeta')!;
    const id15 = String(zeta.Id).slice(0, 15);
    expect(names(st, `SELECT Name FROM Account WHERE Id = '${id15}'`)).toEqual(['Zeta']);
    expect(st.remove('Account', id15).success).toBe(true);
    expect(names(st, 'SELECT Name FROM Account WHERE IsDeleted = true')).toEqual([]);
    expect(names(st, 'SELECT Name FROM Account WHERE IsDeleted = true', true)).toEqual(['Zeta']);
  });

  it('rolls back a transaction that is not kept', () => {
    const st = org();
    const before = st.list('Account').length;
    st.transaction(() => {
      st.create('Account', { Name: 'Temp' });
      st.update('Account', String(st.list('Account')[0]!.Id), { Name: 'Renamed' });
      return { keep: false, value: undefined };
    });
    expect(st.list('Account').length).toBe(before);
    expect(st.list('Account')[0]!.Name).toBe("O'Brien & Sons");
  });
});
