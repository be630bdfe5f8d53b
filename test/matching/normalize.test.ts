import { describe, expect, it } from 'vitest';
import { cleanHost, normalizeHost, plainHost, splitList, websiteDomains } from '../../src/matching/domain-normalize.js';
import { freeMailChecker, looksLikeEmail, parseEmails } from '../../src/matching/email-domain.js';
import { normalizeCompanyName, foldUnicode } from '../../src/matching/name-normalize.js';
import { normalizeCountry } from '../../src/matching/country.js';
import { jaroWinkler } from '../../src/matching/fuzzy.js';

describe('normalizeHost', () => {
  it.each([
    ['https://www.Acme.com/en-us', 'acme.com'],
    ['WWW.ACME.COM', 'acme.com'],
    ['acme.com.', 'acme.com'],
    ['http://blog.acme.com:8080/de/kontakt?ref=x#top', 'acme.com'],
    ['//cdn.acme.com/x.js', 'acme.com'],
    ['https://user:pw@portal.acme.com/', 'acme.com'],
    ['www2.acme.com', 'acme.com'],
    ['news.bbc.co.uk', 'bbc.co.uk'],
    ['https://www.natura.com.br/pt-br', 'natura.com.br'],
    ['portal.autohome.com.cn', 'autohome.com.cn'],
    ['acme.com/path?email=x@gmail.com', 'acme.com'],
  ])('%s → %s', (input, domain) => {
    expect(normalizeHost(input)?.domain).toBe(domain);
  });

  it('folds IDN to punycode, whichever form was typed', () => {
    expect(normalizeHost('https://www.MÜNCHEN.de/')?.domain).toBe('xn--mnchen-3ya.de');
    expect(normalizeHost('XN--MNCHEN-3YA.DE')?.domain).toBe('xn--mnchen-3ya.de');
    expect(normalizeHost('例え.jp')?.domain).toBe(normalizeHost('xn--r8jz45g.jp')?.domain);
    // Full-width dot (IDNA maps U+3002 to '.').
    expect(normalizeHost('acme。com')?.domain).toBe('acme.com');
  });

  it('treats sites on shared hosts (private suffixes) as the customer’s, not the host’s', () => {
    const gh = normalizeHost('https://jane.github.io/portfolio');
    expect(gh).toMatchObject({ domain: 'jane.github.io', sharedHost: true, suffix: 'github.io' });
    expect(normalizeHost('shop.zen.myshopify.com')?.domain).toBe('zen.myshopify.com');
    expect(normalizeHost('peak.herokuapp.com')?.sharedHost).toBe(true);
    // The platform's own bare domain is the platform company's.
    expect(normalizeHost('github.io')).toMatchObject({ domain: 'github.io', sharedHost: false });
    expect(normalizeHost('github.com')).toMatchObject({ domain: 'github.com', sharedHost: false });
  });

  it('returns null where no company is behind the value', () => {
    for (const v of ['', '   ', 'localhost', '127.0.0.1', 'http://[::1]/', 'co.uk', 'https://']) expect(normalizeHost(v)).toBeNull();
  });

  it('gives the label without suffix and hyphens', () => {
    expect(normalizeHost('bootstrap-cdn.co.uk')?.label).toBe('bootstrapcdn');
  });

  it('splits fields holding several sites', () => {
    expect(websiteDomains('acme.com; www.acme.io, https://acme.com/x').map((h) => h.domain)).toEqual(['acme.com', 'acme.io']);
  });

  it('keeps a profile page on LinkedIn or Crunchbase as that profile, never as the site’s own domain', () => {
    for (const [input, profile] of [
      ['https://www.linkedin.com/company/Acme-Corp/about/?trk=x', 'linkedin.com/company/acme-corp'],
      ['LINKEDIN.COM/COMPANY/ACME-CORP', 'linkedin.com/company/acme-corp'],
      ['http://uk.linkedin.com/in/jane-doe#top', 'linkedin.com/in/jane-doe'],
      ['www.crunchbase.com/organization/acme', 'crunchbase.com/organization/acme'],
    ])
      expect(normalizeHost(input)).toMatchObject({ domain: profile, host: expect.not.stringContaining('/'), sharedHost: false });
    // In a list, each part on its own.
    expect(websiteDomains('acme.com; linkedin.com/company/acme').map((h) => h.domain)).toEqual(['acme.com', 'linkedin.com/company/acme']);
    // The sites' own pages, and a path that names no profile, are the site's.
    for (const input of ['https://www.linkedin.com/', 'linkedin.com/feed/', 'https://www.linkedin.com/company/', 'crunchbase.com/pricing'])
      expect(normalizeHost(input)?.domain).toBe(input.includes('crunchbase') ? 'crunchbase.com' : 'linkedin.com');
  });
});

describe('e-mail evidence', () => {
  const fm = freeMailChecker();
  it('separates free-mail from work domains: gmail.com is free, google.com is not', () => {
    expect(fm.isFree('gmail.com')).toBe(true);
    expect(fm.isFree('googlemail.com')).toBe(true);
    expect(fm.isFree('google.com')).toBe(false);
    expect(fm.isFree('outlook.com')).toBe(true);
    expect(fm.isFree('mailinator.com')).toBe(true); // disposable
    // Hosts under a listed domain, in plain and in uncleaned form; an IP address and a work host are not.
    expect(fm.isFree('mx.eu.gmail.com')).toBe(true);
    expect(fm.isFree('WWW.GMAIL.COM.')).toBe(true);
    expect(fm.isFree('10.0.0.1')).toBe(false);
    expect(fm.isFree('mail.acme.com')).toBe(false);
  });
  it('applies per-policy additions and removals', () => {
    const custom = freeMailChecker({ extra: ['acme-mail.example'], notFree: ['yahoo.com'] });
    expect(custom.isFree('acme-mail.example')).toBe(true);
    expect(custom.isFree('yahoo.com')).toBe(false);
  });
  it('parses addresses in the forms people paste', () => {
    expect(parseEmails('Jane <Jane@EU.Acme.co.uk>; mailto:bob@gmail.com, x@y').map((e) => e.domain)).toEqual(['acme.co.uk', 'gmail.com']);
    expect(parseEmails('')).toEqual([]);
  });
  it('recognises an address pasted into a website field, but not a URL with credentials', () => {
    expect(looksLikeEmail('info@acme.com')).toBe(true);
    expect(looksLikeEmail('mailto:info@acme.com')).toBe(true);
    expect(looksLikeEmail('https://user@acme.com/')).toBe(false);
    expect(looksLikeEmail('acme.com')).toBe(false);
  });
});

describe('normalizeCompanyName', () => {
  it('reads a placeholder typed where a name is required as no name, but not a name that starts with one', () => {
    for (const n of ['N/A', 'n.a.', 'Unknown', 'UNKNOWN LLC', 'Self-Employed', 'self employed', 'None', 'TBD', '-', 'Test Inc.'])
      expect(normalizeCompanyName(n)).toEqual({ tokens: [], key: '', core: '', acronyms: [] });
    expect(normalizeCompanyName('Unknown Worlds Entertainment').key).toBe('unknownworldsentertainment');
    expect(normalizeCompanyName('Self Employed Tax Services').key).toBe('selfemployedtaxservices');
  });
  it.each([
    ['Samsung,  S.A.', 'samsung'],
    ['ACME, Inc.', 'acme'],
    ['Ácme GmbH & Co. KG', 'acme'],
    ['33 Across', '33across'],
    ['33Across Ltd.', '33across'],
    ['Procter & Gamble Co.', 'proctergamble'],
    ['Procter and Gamble', 'proctergamble'],
    ['Nestlé S.A.', 'nestle'],
    ['Müller Sp. z o.o.', 'muller'],
    ['Toyota Kabushiki Kaisha', 'toyota'],
    ['Sony K.K.', 'sony'],
    ['Petrobras Ltda', 'petrobras'],
    ['Nokia Oyj', 'nokia'],
    ['Volvo AB (publ)', 'volvo'],
    ['ING Groep N.V.', 'inggroep'],
    ['Telstra Pty Ltd', 'telstra'],
    ['Infosys Pvt. Ltd.', 'infosys'],
    ['OOO Yandex', 'yandex'],
    ['Cemex S.A.B. de C.V.', 'cemex'],
    ['Škoda a.s.', 'skoda'],
    ['McDonald’s Corporation', 'mcdonalds'],
    ['JD.com', 'jd'],
    ['ＡＣＭＥ', 'acme'],
    ['株式会社ソニー', 'ソニー'],
    ['Straße AG', 'strasse'],
  ])('%s → %s', (name, key) => {
    expect(normalizeCompanyName(name).key).toBe(key);
  });

  it('keeps a name that is only a legal form', () => {
    expect(normalizeCompanyName('Company').key).toBe('company');
    expect(normalizeCompanyName('').key).toBe('');
  });

  it('drops generic organisation words only from the core key', () => {
    const n = normalizeCompanyName('Neodata Group Limited');
    expect(n.key).toBe('neodatagroup');
    expect(n.core).toBe('neodata');
  });

  it('derives initialisms of multi-word names', () => {
    expect(normalizeCompanyName('International Business Machines Corp.').acronyms).toContain('ibm');
    expect(normalizeCompanyName('Growth from Knowledge').acronyms).toContain('gfk');
    expect(normalizeCompanyName('Bank of America').acronyms).toEqual(['boa', 'ba']);
    expect(normalizeCompanyName('Acme Widgets').acronyms).toEqual([]);
  });

  it('folds accents, ligatures and Turkish dotted I', () => {
    expect(foldUnicode('Æon İstanbul Øresund')).toBe('aeon istanbul oresund');
  });
});

describe('normalizeCountry', () => {
  it.each([
    ['UK', 'GB'], ['gb', 'GB'], ['United Kingdom', 'GB'], ['Germany', 'DE'], ['DE', 'DE'], ['U.S.', 'US'],
    ['USA', 'US'], ['Brasil', 'BR'], ['?', null], ['', null], ['XX', null], ['Atlantis', null],
    // Current countries whose English name a withdrawn code also has (VD, YD, NH, RH came first).
    ['Vietnam', 'VN'], ['Yemen', 'YE'], ['Vanuatu', 'VU'], ['Zimbabwe', 'ZW'], ['VD', null],
    // ISO's own short names, apostrophes, `&`.
    ['Viet Nam', 'VN'], ['Russian Federation', 'RU'], ['Korea, Republic of', 'KR'], ["Côte d’Ivoire", 'CI'], ["Cote d'Ivoire", 'CI'],
    ['Bosnia & Herzegovina', 'BA'], ['Bosnia and Herzegovina', 'BA'], ['Guinea-Bissau', 'GW'],
  ])('%s → %s', (input, code) => {
    expect(normalizeCountry(input)).toBe(code);
  });
});

describe('jaroWinkler', () => {
  it('scores typos high, unrelated names low, and is symmetric', () => {
    expect(jaroWinkler('cheetahmobile', 'cheetamobile')).toBeGreaterThan(0.97);
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.961, 3);
    expect(jaroWinkler('acme', 'zenith')).toBeLessThan(0.5);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(jaroWinkler('dicksonx', 'dixon'), 10);
    expect(jaroWinkler('', '')).toBe(0);
  });
});

describe('plainHost (the one-pass route of normalizeHost)', () => {
  const schemes = ['', 'http://', 'HTTPS://', 'ftp://', 'a.b://', '//', 'https:////', 'mailto:', '1http://', 'https:/'];
  const hosts = [
    'acme.com', 'WWW.Acme.CO.UK', 'www2.x.io', 'www1234.x.com', 'www.', 'www..', 'www', '.', '..acme.com', 'acme.com.',
    'acme.com..', 'a..b.com', '-x-.com', 'münchen.de', 'x_y.com', '[::1]', '10.0.0.1', '', 'user:pw@acme.com', 'WWW2.ACME.COM',
  ];
  const ports = ['', ':', ':80', ':8x', ':80:90'];
  const tails = ['', '/', '/en-us', '?q=1', '#top', '\\x', '/p?email=x@gmail.com', '/a,b', ' ', ';b.com', '|c.com', '/x y', ',', '\t'];

  it('answers exactly as the general route wherever it answers, and only for one-host values without @', () => {
    const values: string[] = [];
    for (const a of schemes) for (const h of hosts) for (const p of ports) for (const t of tails) values.push(a + h + p + t);
    // Character soup around the same alphabet, for what the lists above do not think of.
    const alphabet = 'aW0.-/:?#\\@ ;,|wé_[]hts'.split('');
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % alphabet.length;
    for (let k = 0; k < 20000; k++) {
      let v = '';
      for (let len = k % 19; len > 0; len--) v += alphabet[next()];
      values.push(v);
    }
    let answered = 0;
    for (const v of values) {
      const fast = plainHost(v);
      if (fast === undefined) continue;
      answered++;
      expect({ v, host: fast }).toEqual({ v, host: cleanHost(v) });
      expect(splitList(v)).toEqual(v === '' ? [] : [v]);
      expect(v.includes('@')).toBe(false);
    }
    // Thousands of them took this route: the comparison is not vacuous.
    expect(answered).toBeGreaterThan(5000);
  });

  it.each([
    ['https://www.Acme.com:8443/en?x=1', 'acme.com'],
    ['WWW2.ACME.CO.UK.', 'acme.co.uk'],
    ['//cdn.acme.com/x.js', 'cdn.acme.com'],
    ['acme.com', 'acme.com'],
  ])('%s → %s', (value, host) => {
    expect(plainHost(value)).toBe(host);
  });

  it.each(['acme.com, b.com', ' acme.com', 'user@acme.com', 'münchen.de', 'https://[::1]/', 'acme.com/x y'])('leaves %s to the general route', (value) => {
    expect(plainHost(value)).toBeUndefined();
  });
});
