import { describe, expect, it } from 'vitest';
import { buildGraph, runOrder, selectModels } from '../../src/model/graph.js';
import { renderTemplate } from '../../src/model/template.js';
import { ModelsConfig } from '../../src/model/config.js';

// stg_a → b → d, stg_a → c → d, e alone
const nodes = [
  { name: 'd', refs: ['b', 'c'] },
  { name: 'b', refs: ['stg_a'] },
  { name: 'c', refs: ['stg_a'] },
  { name: 'stg_a', refs: [] },
  { name: 'e', refs: [] },
];

describe('model graph', () => {
  it('orders every model after what it reads, ties by name', () => {
    expect(runOrder(buildGraph(nodes))).toEqual(['e', 'stg_a', 'b', 'c', 'd']);
  });

  it('reports a cycle with its path', () => {
    expect(() => buildGraph([{ name: 'a', refs: ['b'] }, { name: 'b', refs: ['a'] }])).toThrow('model graph has a cycle: a → b → a');
    expect(() =>
      buildGraph([{ name: 'x', refs: [] }, { name: 'a', refs: ['c', 'x'] }, { name: 'b', refs: ['a'] }, { name: 'c', refs: ['b'] }]),
    ).toThrow('model graph has a cycle: a → b → c → a');
    expect(() => buildGraph([{ name: 'self', refs: ['self'] }])).toThrow('cycle: self → self');
  });

  it('names the model whose ref() points nowhere', () => {
    expect(() => buildGraph([{ name: 'a', refs: ['nope'] }], (n) => `models/${n}.sql`)).toThrow("models/a.sql: ref('nope') names no model");
  });

  it('selects name, name+, +name and +name+', () => {
    const g = buildGraph(nodes);
    expect(selectModels(g, ['b'])).toEqual(['b']);
    expect(selectModels(g, ['b+'])).toEqual(['b', 'd']);
    expect(selectModels(g, ['+b'])).toEqual(['stg_a', 'b']);
    expect(selectModels(g, ['stg_a+'])).toEqual(['stg_a', 'b', 'c', 'd']);
    expect(selectModels(g, ['+d'])).toEqual(['stg_a', 'b', 'c', 'd']);
    expect(selectModels(g, ['+c+'])).toEqual(['stg_a', 'c', 'd']);
    expect(selectModels(g, ['e', 'c'])).toEqual(['e', 'c']);
    expect(selectModels(g, [])).toEqual(['e', 'stg_a', 'b', 'c', 'd']);
    expect(() => selectModels(g, ['zz+'])).toThrow('--select: no model matches "zz+"');
  });
});

describe('model templates', () => {
  const config = ModelsConfig.parse({ strategicPartners: ['Acme Cloud', "O'Brien"] });

  it('resolves ref, source and table, and records them as dependencies', () => {
    const { sql, deps } = renderTemplate(
      "SELECT * FROM {{ ref('accounts') }} a\nJOIN {{ source('crm_csv', 'Accounts') }} r ON 1=1\nJOIN {{table(\"matches\")}} m ON 1=1",
      { dialect: 'sqlite', config },
    );
    expect(sql).toBe('SELECT * FROM "accounts" a\nJOIN "raw_crm_csv__accounts" r ON 1=1\nJOIN "matches" m ON 1=1');
    expect(deps).toEqual({ refs: ['accounts'], sources: [{ connection: 'crm_csv', stream: 'Accounts', table: 'raw_crm_csv__accounts' }], tables: ['matches'] });
  });

  it('renders per dialect without adding lines', () => {
    const text = "SELECT {{ string_agg('p', ';') }},\n {{ var_list('strategicPartners') }}";
    expect(renderTemplate(text, { dialect: 'sqlite', config }).sql).toBe("SELECT group_concat(p, ';' ORDER BY p),\n ('acme cloud', 'o''brien')");
    expect(renderTemplate(text, { dialect: 'postgres', config }).sql).toBe("SELECT string_agg(p, ';' ORDER BY p COLLATE \"C\"),\n ('acme cloud', 'o''brien')");
    expect(renderTemplate("{{ var_list('aiTools') }}", { dialect: 'sqlite', config }).sql).toBe('(NULL)');
  });

  it('reports unknown macros and bad arguments with their line', () => {
    expect(() => renderTemplate("SELECT 1\nFROM {{ reff('a') }}", { dialect: 'sqlite', config })).toThrow(/unknown macro \{\{ reff/);
    try {
      renderTemplate("SELECT 1\n\nFROM {{ ref(accounts) }}", { dialect: 'sqlite', config });
      expect.unreachable();
    } catch (err) {
      expect((err as { line: number }).line).toBe(3);
    }
  });
});
