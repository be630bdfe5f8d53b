import { describe, expect, it } from 'vitest';
import { createMatcher, matchSignals } from '../../src/matching/engine.js';
import { accountAt, buildAccountIndex } from '../../src/matching/account-index.js';
import { MatchPolicy, type AccountRecord, type SignalRecord } from '../../src/matching/types.js';

const accounts: AccountRecord[] = [
  { accountId: 'GOOGLE', name: 'Google LLC', website: 'https://www.google.com/', domains: ['gmail.com', 'youtube.com'], country: 'US' },
  { accountId: 'YAHOO', name: 'Yahoo Inc.', website: 'WWW.YAHOO.COM', country: 'US' },
  { accountId: 'ACME', name: 'Acme Inc.', website: 'https://acme.com/en-us', domains: ['acme.io'], country: 'US' },
  { accountId: 'ACME-DE', name: 'Acme Deutschland GmbH', website: 'WWW.ACME.COM', parentAccountId: 'ACME', country: 'DE' },
  { accountId: 'ACME-GB', name: 'Acme UK Ltd', website: 'acme.co.uk', parentAccountId: 'ACME', country: 'GB' },
  { accountId: 'APOLLO-US', name: 'Apollo Inc', website: 'apollo-tyres.example', country: 'US' },
  { accountId: 'APOLLO-DE', name: 'Apollo GmbH', website: 'apollo-optik.example', country: 'DE' },
  { accountId: 'CHEETAH', name: 'Cheetahmobile', website: 'cmcm.com' },
  { accountId: 'STACK', name: 'StackPath', website: 'http://bootstrapcdn.com' },
  { accountId: 'IBM', name: 'International Business Machines Corp.', website: 'ibm.com' },
  { accountId: 'GAE', name: 'Google App Engine', website: 'www.appspot.com' },
  { accountId: 'DUNSCO', name: 'Duns Co', website: 'dunsco.example', duns: '12-345-6789' },
];

const one = (s: Omit<SignalRecord, 'signalId'>, policy = {}) => matchSignals(accounts, [{ signalId: 'S', ...s }], policy)[0]!;

describe('domain rules', () => {
  it('matches the website domain from any URL form, and records rule and confidence', () => {
    const r = one({ website: 'HTTPS://Maps.Google.com:443/maps?q=1' });
    expect(r).toMatchObject({ status: 'matched', accountId: 'GOOGLE', rule: 'website-domain' });
    expect(r.confidence).toBeGreaterThan(0.9);
    expect(r.explanation).toContain('google.com');
  });
  it('matches an extra domain after the website rule', () => {
    expect(one({ website: 'acme.io' })).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'extra-domain' });
  });
  it('matches a work e-mail domain; never a free-mail one (gmail.com is Google’s, but no evidence)', () => {
    expect(one({ email: 'jo@mail.acme.co.uk' })).toMatchObject({ status: 'matched', accountId: 'ACME-GB', rule: 'email-domain' });
    const g = one({ email: 'jane.doe@gmail.com' });
    expect(g.status).toBe('unmatched');
    expect(g.evidence.freeMailDomains).toEqual(['gmail.com']);
  });
  it('a website on a free-mail list is still a website (a mail provider that is also a company)', () => {
    expect(one({ website: 'https://www.yahoo.com/' })).toMatchObject({ status: 'matched', accountId: 'YAHOO' });
    expect(one({ website: 'gmail.com' })).toMatchObject({ status: 'matched', accountId: 'GOOGLE', rule: 'extra-domain' });
  });
  it('a free-mail address on a provider that is an account goes to review, never to a match', () => {
    const r = one({ email: 'someone@yahoo.com' });
    expect(r.status).toBe('review');
    expect(r.candidates.map((c) => c.accountId)).toEqual(['YAHOO']);
    expect(one({ email: 'someone@yahoo.com' }, { email: { freeMailOwnedByAccount: 'ignore' } }).status).toBe('unmatched');
  });
  it('an address pasted into the website field follows e-mail rules', () => {
    expect(one({ website: 'jane@gmail.com' }).status).toBe('unmatched');
    expect(one({ website: 'jo@acme.co.uk' })).toMatchObject({ accountId: 'ACME-GB', rule: 'email-domain' });
  });
  it('a customer’s site on a shared host never matches the host; the platform’s own page goes to review', () => {
    const gh = one({ website: 'https://jane.github.io/' });
    expect(gh.status).toBe('unmatched');
    expect(gh.explanation).toContain('shared host');
    expect(one({ website: 'myapp.appspot.com' }).status).toBe('unmatched');
    expect(one({ website: 'en.appspot.com' })).toMatchObject({ status: 'review', candidates: [{ accountId: 'GAE' }] });
    expect(one({ website: 'appspot.com' })).toMatchObject({ status: 'matched', accountId: 'GAE' });
  });
});

describe('hierarchy policy (parent and children sharing a website)', () => {
  it('no country: the top-most account holding the domain, beating the child', () => {
    const r = one({ website: 'acme.com' });
    expect(r).toMatchObject({ status: 'matched', accountId: 'ACME' });
    expect(r.candidates.map((c) => c.accountId)).toContain('ACME-DE');
  });
  it('a country held by exactly one account of the hierarchy picks it, even if it does not hold the domain', () => {
    expect(one({ website: 'eu.acme.com', country: 'DE' }).accountId).toBe('ACME-DE');
    expect(one({ website: 'acme.com', country: 'UK' }).accountId).toBe('ACME-GB');
  });
  it('a country nobody in the hierarchy has falls back to the top-most holder', () => {
    expect(one({ website: 'acme.com', country: 'FR' }).accountId).toBe('ACME');
  });
  it('`top-most` and `review` policies', () => {
    expect(one({ website: 'acme.com', country: 'DE' }, { hierarchy: { resolve: 'top-most' } }).accountId).toBe('ACME');
    expect(one({ website: 'acme.com' }, { hierarchy: { resolve: 'review' } }).status).toBe('review');
  });
  it('a child’s own site matches the child', () => {
    expect(one({ website: 'www.acme.co.uk' }).accountId).toBe('ACME-GB');
  });
});

describe('name rules', () => {
  it('exact normalised name: case, punctuation, legal suffixes, spacing', () => {
    expect(one({ companyName: 'ACME, INC' })).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'name-exact' });
    expect(one({ companyName: 'Cheetah Mobile Ltd.' })).toMatchObject({ accountId: 'CHEETAH', rule: 'name-exact' });
  });
  it('two unrelated companies with the same name go to review with both candidates', () => {
    const r = one({ companyName: 'APOLLO' });
    expect(r.status).toBe('review');
    expect(r.candidates.map((c) => c.accountId).sort()).toEqual(['APOLLO-DE', 'APOLLO-US']);
    // Country ranks the likelier one first, but does not decide.
    expect(one({ companyName: 'Apollo', country: 'DE' }).candidates[0]!.accountId).toBe('APOLLO-DE');
  });
  it('domain evidence settles what the name cannot', () => {
    expect(one({ companyName: 'Apollo', website: 'apollo-optik.example' }).accountId).toBe('APOLLO-DE');
  });
  it('a name that is one of the account’s domains', () => {
    expect(one({ companyName: 'BootstrapCDN' })).toMatchObject({ status: 'matched', accountId: 'STACK', rule: 'name-domain-label' });
  });
  it('fuzzy: a close name with a clear margin matches; a containment-like one only reaches review', () => {
    expect(one({ companyName: 'Cheeta Mobile' })).toMatchObject({ status: 'matched', accountId: 'CHEETAH', rule: 'name-fuzzy' });
    const r = one({ companyName: 'Acme Widgets International' });
    expect(r.status).not.toBe('matched');
  });
  it('fuzzy: two close candidates in different hierarchies are ambiguous', () => {
    const acc: AccountRecord[] = [
      { accountId: 'X1', name: 'Lumenworks' },
      { accountId: 'X2', name: 'Lumenwerks' },
    ];
    const [r] = matchSignals(acc, [{ signalId: 'S', companyName: 'Lumenwirks' }]);
    expect(r!.status).toBe('review');
    expect(r!.candidates).toHaveLength(2);
  });
  it('initialisms go to review by default (confidence under the auto threshold)', () => {
    const r = one({ companyName: 'IBM' });
    expect(r).toMatchObject({ status: 'review', rule: 'name-acronym', candidates: [{ accountId: 'IBM' }] });
    expect(one({ companyName: 'IBM' }, { autoMatchMinConfidence: 0.6 })).toMatchObject({ status: 'matched', accountId: 'IBM' });
  });
  it('rules can be reordered or removed', () => {
    expect(one({ companyName: 'Acme' }, { rules: ['website-domain'] }).status).toBe('unmatched');
  });
});

describe('conflicting evidence', () => {
  it('a website of one company and the exact name of an unrelated one go to review', () => {
    const r = one({ companyName: 'Yahoo', website: 'acme.com' });
    expect(r.status).toBe('review');
    expect(r.candidates.map((c) => c.accountId).sort()).toEqual(['ACME', 'YAHOO']);
    expect(one({ companyName: 'Yahoo', website: 'acme.com' }, { nameConflict: 'ignore' }).accountId).toBe('ACME');
  });
  it('a website and a work e-mail of unrelated companies go to review', () => {
    expect(one({ website: 'acme.com', email: 'jo@google.com' }).status).toBe('review');
  });
});

describe('DUNS precedence', () => {
  it('equal DUNS matches first; a different DUNS never matches', () => {
    const policy = { duns: 'precedence' as const };
    expect(one({ duns: '123456789', companyName: 'whatever' }, policy)).toMatchObject({ accountId: 'DUNSCO', rule: 'duns' });
    expect(one({ duns: '999999999', website: 'dunsco.example' }, policy).status).toBe('unmatched');
    expect(one({ duns: '999999999', website: 'dunsco.example' }).accountId).toBe('DUNSCO');
  });
});

describe('account index hierarchy', () => {
  it('finds ultimate parents and reports cycles and dangling parents instead of looping', () => {
    const idx = buildAccountIndex(
      [
        { accountId: 'A', name: 'A', parentAccountId: 'B' },
        { accountId: 'B', name: 'B', parentAccountId: 'C' },
        { accountId: 'C', name: 'C', parentAccountId: 'A' },
        { accountId: 'D', name: 'D', parentAccountId: 'C' },
        { accountId: 'E', name: 'E', parentAccountId: 'NOPE' },
        { accountId: 'F', name: 'F', parentAccountId: 'G' },
        { accountId: 'G', name: 'G' },
        { accountId: 'G', name: 'G again' },
      ],
      { isFreeMail: () => false },
    );
    const at = (id: string) => accountAt(idx, idx.byId.get(id)!);
    expect(idx.cycles).toHaveLength(1);
    expect([...idx.cycles[0]!].sort()).toEqual(['A', 'B', 'C']);
    expect(at('D').root).toBe(idx.byId.get('A'));
    expect(at('D').depth).toBe(1);
    expect(idx.danglingParents).toEqual([{ accountId: 'E', parentAccountId: 'NOPE' }]);
    expect(at('F')).toMatchObject({ root: idx.byId.get('G'), depth: 1 });
    expect(idx.duplicateIds).toEqual(['G']);
  });
  it('blank and repeated account ids are skipped: the accounts after them keep their own positions and ids', () => {
    const idx = buildAccountIndex(
      [
        { accountId: 'X', name: 'Xeno Corp', website: 'xeno.example' },
        { accountId: ' ', name: 'Blank' },
        { accountId: 'X', name: 'Xeno again', website: 'other.example' },
        { accountId: 'Y', name: 'Yarrow Ltd', website: 'yarrow.example', parentAccountId: 'X' },
        { accountId: 'Y ', name: 'Yarrow twice' },
        { accountId: 'Z', name: 'Zed', parentAccountId: 'Y' },
      ],
      { isFreeMail: () => false },
    );
    expect(idx.size).toBe(3);
    expect(idx.ids).toEqual(['X', 'Y', 'Z']);
    expect(idx.names).toEqual(['Xeno Corp', 'Yarrow Ltd', 'Zed']);
    expect(['X', 'Y', 'Z', ' ', 'W'].map((id) => idx.byId.get(id))).toEqual([0, 1, 2, undefined, undefined]);
    expect(idx.duplicateIds).toEqual(['X', 'Y']);
    expect(idx.websiteDomain.get('yarrow.example')).toEqual([1]);
    expect(idx.websiteDomain.get('other.example')).toEqual([]);
    expect(accountAt(idx, 2)).toMatchObject({ accountId: 'Z', root: 0, depth: 2 });
  });
  it('a domain held by several accounts on a parent cycle goes to review, without hanging', () => {
    const acc: AccountRecord[] = [
      { accountId: 'L1', name: 'Loop One', website: 'loop.example', parentAccountId: 'L2' },
      { accountId: 'L2', name: 'Loop Two', website: 'loop.example', parentAccountId: 'L1' },
    ];
    expect(matchSignals(acc, [{ signalId: 'S', website: 'loop.example' }])[0]!.status).toBe('review');
  });
});

describe('createMatcher', () => {
  it('is deterministic and validates its policy', () => {
    const m = createMatcher(accounts, {});
    const s = { signalId: 'S', companyName: 'Apollo' };
    expect(m.match(s)).toEqual(m.match(s));
    expect(() => createMatcher(accounts, { fuzzy: { autoThreshold: 2 } } as never)).toThrow();
    expect(MatchPolicy.parse({}).rules[0]).toBe('duns');
  });

  it('takes blank entries in list fields (null, as a loose JSON column may hold) as absent', () => {
    const loose = [{ accountId: 'A', name: 'Acme', website: 'acme.com', domains: [null, 'acme.io'], aliases: [null, 'Acme Corp'], contactEmails: [null] }];
    const m = createMatcher(loose as unknown as AccountRecord[], {});
    expect(m.match({ signalId: 'S1', website: 'https://acme.io/' })).toMatchObject({ status: 'matched', accountId: 'A', rule: 'extra-domain' });
    expect(m.match({ signalId: 'S2', companyName: 'ACME CORP' })).toMatchObject({ status: 'matched', accountId: 'A' });
  });

  it('finds every account when the accounts it sizes its key arrays from are far shorter than the rest', () => {
    // The index sizes its key arrays from an even sample of 1024 accounts (every 3rd of 3072 here): the
    // others have 40-times longer domains and names, so the arrays must grow, keeping every key.
    const many: AccountRecord[] = [];
    for (let i = 0; i < 3072; i++) {
      const word = i % 3 === 0 ? `s${i}` : `${'long'.repeat(40)}${i}`;
      many.push({ accountId: `A${i}`, name: `${word} Inc`, website: `https://www.${word}.com/` });
    }
    const m = createMatcher(many, {});
    for (let i = 0; i < 3072; i += 7) {
      const word = i % 3 === 0 ? `s${i}` : `${'long'.repeat(40)}${i}`;
      expect(m.match({ signalId: `W${i}`, website: `${word}.com` })).toMatchObject({ status: 'matched', accountId: `A${i}` });
      expect(m.match({ signalId: `N${i}`, companyName: word.toUpperCase() })).toMatchObject({ status: 'matched', accountId: `A${i}`, rule: 'name-exact' });
    }
  });
});

describe('a long-lived matcher answers like a fresh one', () => {
  it('hosts remembered between signals (free-mail, one-off subdomains, shared hosts, slot collisions) never change a result', () => {
    // Hosts that are no account's domain are remembered in a small table; thousands of one-off hosts push
    // each other out of it while gmail.com, appspot.com pages and account domains keep coming back.
    const signals: SignalRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const kinds: Omit<SignalRecord, 'signalId'>[] = [
        { email: `jo${i}@gmail.com`, companyName: i % 2 ? 'Acme' : 'Yahoo' },
        { website: `https://shop${i}.acme.com/x` },
        { email: `x@team${i}.example.org` },
        { website: `https://en.appspot.com/${i}` },
        { website: `user${i}.github.io` },
        { email: `a@YAHOO.COM`, companyName: 'Acme Inc' },
        { website: 'acme.co.uk', email: `b@mail${i % 7}.acme.io` },
        { website: `http://${'x'.repeat(i % 40)}.co.uk` },
      ];
      signals.push({ signalId: `S${i}`, ...kinds[i % kinds.length]! });
    }
    const longLived = createMatcher(accounts, {});
    for (const s of signals) expect(longLived.match(s)).toEqual(createMatcher(accounts, {}).match(s));
  });
});

describe('evidence that thousands of accounts share', () => {
  // A CRM where people typed a placeholder website (google.com, a free-mail domain) into thousands of
  // accounts, or a franchise whose stores are accounts of one name: every signal carrying it is ambiguous, and shows the ten best candidates.
  const n = 3000;
  const countries = ['US', 'DE', 'FR'];
  const crowd: AccountRecord[] = Array.from({ length: n }, (_, i) => ({
    accountId: `C${String(i).padStart(4, '0')}`,
    name: 'Globex',
    website: 'https://www.google.com/',
    country: countries[i % 3],
    // Every tenth account is a child of the one before it, one level deeper.
    parentAccountId: i % 10 === 9 ? `C${String(i - 1).padStart(4, '0')}` : null,
  }));
  const hierarchies = n - n / 10;

  it('sends each signal to review with the ten best-ranked of them: country first, then the top of a hierarchy, then id', () => {
    const m = createMatcher([...crowd, { accountId: 'REAL', name: 'Real Co', website: 'real.example' }]);
    const signals: SignalRecord[] = Array.from({ length: 200 }, (_, j) => ({ signalId: `S${j}`, website: `google.com/search?q=person-${j}`, country: 'FR' }));
    for (const s of signals) {
      const r = m.match(s);
      expect(r.status).toBe('review');
      expect(r.explanation).toContain(`website-domain points at ${hierarchies} unrelated accounts`);
      // FR accounts are i % 3 === 2; the ten lowest ids among them that are no child (i % 10 !== 9).
      const expected = crowd.filter((_, i) => i % 3 === 2 && i % 10 !== 9).slice(0, 10).map((a) => a.accountId);
      expect(r.candidates.map((c) => c.accountId)).toEqual(expected);
    }
    expect(m.match({ signalId: 'R', website: 'https://real.example/' })).toMatchObject({ status: 'matched', accountId: 'REAL' });
  });

  it('orders them like a full ranking does when the ten best are not the first found (a name they share, no country)', () => {
    // Reversed, so the best (lowest ids, tops of hierarchies) come last in the index.
    const r = matchSignals([...crowd].reverse(), [{ signalId: 'S', companyName: 'GLOBEX' }])[0]!;
    expect(r.status).toBe('review');
    expect(r.explanation).toContain(`name-exact points at ${hierarchies} unrelated accounts`);
    expect(r.candidates.map((c) => c.accountId)).toEqual(crowd.filter((_, i) => i % 10 !== 9).slice(0, 10).map((a) => a.accountId));
  });

  it('a free-mail address on a domain thousands of accounts give as website goes to review once per account', () => {
    const mail: AccountRecord[] = Array.from({ length: n }, (_, i) => ({ accountId: `M${i}`, name: `Shop ${i}`, website: 'gmail.com' }));
    const r = matchSignals(mail, [{ signalId: 'S', email: 'jo@gmail.com' }])[0]!;
    expect(r.status).toBe('review');
    expect(r.candidates.map((c) => c.accountId)).toEqual(Array.from({ length: 10 }, (_, i) => `M${i}`));
  });
});

describe('profile pages typed into website fields', () => {
  const withProfiles: AccountRecord[] = [
    { accountId: 'LINKEDIN', name: 'LinkedIn Corporation', website: 'https://www.linkedin.com/' },
    { accountId: 'ACME', name: 'Acme Corp', website: 'https://www.linkedin.com/company/acme-corp' },
    { accountId: 'ZETA', name: 'Zeta GmbH', website: 'zeta.example' },
  ];
  const run = (s: Omit<SignalRecord, 'signalId'>) => matchSignals(withProfiles, [{ signalId: 'S', ...s }])[0]!;

  it('match only the account with the same profile, and never the profile site’s own company', () => {
    expect(run({ website: 'http://linkedin.com/company/ACME-CORP/about' })).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'website-domain' });
    // Another company's profile: not Acme, not LinkedIn.
    expect(run({ website: 'https://www.linkedin.com/company/zeta-gmbh' })).toMatchObject({ status: 'unmatched', accountId: null });
    // …whose name can still decide.
    expect(run({ website: 'https://www.linkedin.com/company/zeta-gmbh', companyName: 'Zeta GmbH' })).toMatchObject({ status: 'matched', accountId: 'ZETA', rule: 'name-exact' });
    // LinkedIn's own site is LinkedIn's.
    expect(run({ website: 'https://www.linkedin.com/help' })).toMatchObject({ status: 'matched', accountId: 'LINKEDIN' });
  });
});

describe('placeholder company names', () => {
  const buckets: AccountRecord[] = [
    { accountId: 'UNKNOWN', name: 'Unknown', website: null },
    { accountId: 'SELF', name: 'Self-Employed' },
    { accountId: 'ACME', name: 'Acme Inc.', website: 'acme.com' },
  ];
  it('are no evidence on either side: a bucket account never takes the signals that say the same', () => {
    const [a, b, c] = matchSignals(buckets, [
      { signalId: 'S1', companyName: 'unknown' },
      { signalId: 'S2', companyName: 'Self employed', email: 'jo@gmail.com' },
      { signalId: 'S3', companyName: 'N/A', email: 'jo@acme.com' },
    ]);
    expect(a).toMatchObject({ status: 'unmatched', accountId: null });
    expect(b).toMatchObject({ status: 'unmatched', accountId: null });
    expect(c).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'email-domain' });
  });
});

describe('ignoredWebsiteDomains', () => {
  const placeholders: AccountRecord[] = [
    { accountId: 'ACME', name: 'Acme Inc', website: 'https://www.google.com/' },
    { accountId: 'BETA', name: 'Beta GmbH', website: 'google.com; beta.example' },
    { accountId: 'ZETA', name: 'Zeta', website: 'zeta.example', domains: ['google.com'] },
  ];
  const signals: SignalRecord[] = [
    { signalId: 'S1', website: 'https://google.com/x', companyName: 'Acme' },
    { signalId: 'S2', website: 'google.com' },
    { signalId: 'S3', website: 'www.beta.example' },
  ];

  it('by default a placeholder website shared by unrelated accounts sends its signals to review', () => {
    // An account's website is the first site of its field (Beta's is google.com), the others its extra domains.
    expect(matchSignals(placeholders, signals).map((r) => [r.status, r.rule])).toEqual([
      ['review', 'website-domain'],
      ['review', 'website-domain'],
      ['matched', 'extra-domain'],
    ]);
  });

  it('listed, it is no website on either side and the other evidence decides', () => {
    const r = matchSignals(placeholders, signals, { ignoredWebsiteDomains: ['https://WWW.Google.com/'] });
    expect(r.map((x) => [x.status, x.accountId, x.rule])).toEqual([
      ['matched', 'ACME', 'name-exact'],
      ['unmatched', null, null],
      // The next site in the account's website field is its website.
      ['matched', 'BETA', 'website-domain'],
    ]);
    expect(r[0]!.evidence.websiteDomains).toEqual([]);
  });

  it('are parsed to registrable domains by the policy schema, which rejects a value without one', () => {
    expect(MatchPolicy.parse({ ignoredWebsiteDomains: ['https://WWW.Google.com/x', 'eu.example.co.uk'] }).ignoredWebsiteDomains).toEqual(['google.com', 'example.co.uk']);
    const bad = MatchPolicy.safeParse({ ignoredWebsiteDomains: ['localhost'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['ignoredWebsiteDomains', 0], message: expect.stringContaining('"localhost" has no registrable domain') });
  });
});

describe('a website field that lists several sites', () => {
  it('gives the account its first site as website and the others as extra domains', () => {
    const listed: AccountRecord[] = [{ accountId: 'ACME', name: 'Acme Inc', website: 'https://acme.com; www.acme.io, acme-shop.de' }];
    const [a, b, c] = matchSignals(listed, [
      { signalId: 'S1', website: 'acme.com' },
      { signalId: 'S2', website: 'https://shop.acme-shop.de/' },
      { signalId: 'S3', email: 'jo@acme.io' },
    ]);
    expect(a).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'website-domain' });
    expect(b).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'extra-domain' });
    expect(c).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'email-domain' });
  });
});

describe('an e-mail address typed into an account’s website field', () => {
  const typed: AccountRecord[] = [
    { accountId: 'JOE', name: 'Joe’s Plumbing', website: 'joe.plumbing@gmail.com' },
    { accountId: 'ACME', name: 'Acme Inc', website: 'mailto:info@acme.com' },
    { accountId: 'YAHOO', name: 'Yahoo Inc', website: 'yahoo.com' },
  ];
  it('gives its domain as the website, unless it is a free-mail mailbox', () => {
    const [a, b, c, d] = matchSignals(typed, [
      { signalId: 'S1', email: 'someone@gmail.com' },
      { signalId: 'S2', website: 'https://www.acme.com/' },
      { signalId: 'S3', companyName: "Joe's Plumbing", email: 'joe.plumbing@gmail.com' },
      // A mail provider's own website is still its website.
      { signalId: 'S4', website: 'https://yahoo.com/' },
    ]);
    expect(a).toMatchObject({ status: 'unmatched', accountId: null });
    expect(b).toMatchObject({ status: 'matched', accountId: 'ACME', rule: 'website-domain' });
    expect(c).toMatchObject({ status: 'matched', accountId: 'JOE', rule: 'name-exact' });
    expect(d).toMatchObject({ status: 'matched', accountId: 'YAHOO', rule: 'website-domain' });
  });
});
