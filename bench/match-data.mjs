// The generated data of the match benchmarks (bench/match.mjs, match-files.mjs, match-staged.mjs): deterministic
// (seeded), so every run and every one of them sees the same accounts and signals.
//
//   const { account, signal } = matchData(1_000_000);
//   account(7)   // { accountId: 'A7', name, website (messy), domains, parentAccountId, country }
//   signal(7)    // { sqlDomain: the clean domain an exact join uses, rec: the messy record the engine gets }

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SYL = ['ac', 'me', 'lu', 'ra', 'zen', 'tor', 'vi', 'qua', 'nex', 'do', 'pel', 'sy', 'mo', 'ka', 'ri', 'ten', 'bo', 'gal', 'fi', 'ux'];
const TLD = ['com', 'com', 'com', 'io', 'net', 'de', 'co.uk', 'com.br', 'fr', 'co.jp'];
const LEGAL = ['Inc.', 'LLC', 'Ltd', 'GmbH', 'S.A.', 'SAS', 'K.K.', 'Ltda', 'AG', 'BV', 'PLC', ''];
const COUNTRY = ['US', 'US', 'GB', 'DE', 'FR', 'JP', 'BR', ''];
const FREE = ['gmail.com', 'outlook.com', 'yahoo.com', 'gmx.de'];

/** The base word of account i: unique per i (syllables spell i in base 20, plus a check syllable). */
function word(i) {
  let w = '';
  let n = i + 1;
  while (n > 0) {
    w += SYL[n % 20];
    n = Math.floor(n / 20);
  }
  return w + SYL[(i * 7) % 20];
}
const cap = (s) => s[0].toUpperCase() + s.slice(1);
/**
 * `s` as one flat string, the form a CSV reader or a database driver hands over. A template literal's
 * result is a rope (V8 concatenates lazily) that its first reader has to copy out; real inputs never are,
 * so neither side is timed doing that. All generated strings are ASCII.
 */
const flat = (s) => (s == null ? s : Buffer.from(s, 'latin1').toString('latin1'));
const domainOf = (i) => `${word(i)}.${TLD[i % TLD.length]}`;

function account(i) {
  const r = rng(i * 2654435761);
  const d = domainOf(i);
  const style = Math.floor(r() * 4);
  const website = style === 0 ? `https://www.${d}/` : style === 1 ? d : style === 2 ? `WWW.${d.toUpperCase()}` : `http://${d}/en-us`;
  const parent = i > 10 && r() < 0.05 ? `A${Math.floor(r() * i)}` : null;
  return {
    accountId: flat(`A${i}`),
    name: flat(`${cap(word(i))} ${LEGAL[i % LEGAL.length]}`.trim()),
    website: flat(website),
    domains: r() < 0.1 ? [flat(`${word(i)}-cdn.net`)] : [],
    parentAccountId: flat(parent),
    country: COUNTRY[i % COUNTRY.length],
  };
}

/** The generator for N accounts (signals point at them, ~10% at companies that are not among them). */
export function matchData(N) {
  /** Signal j: the clean domain the SQL side joins on, and the messy record the engine gets. */
  function signal(j) {
    const r = rng(j * 40503 + 17);
    const kind = r();
    const target = Math.floor(r() * N * 1.1); // ~10% point at companies we do not have
    const d = target < N ? domainOf(target) : `absent${target}.com`;
    const name = target < N ? cap(word(target)) : `Absent${target}`;
    if (kind < 0.55) {
      const sub = ['', 'www.', 'eu.', 'app.', 'shop.'][Math.floor(r() * 5)];
      return { sqlDomain: flat(d), rec: { signalId: flat(`S${j}`), website: flat(`https://${sub}${d}/pricing?ref=x`), companyName: r() < 0.5 ? flat(name) : null } };
    }
    if (kind < 0.75) return { sqlDomain: flat(d), rec: { signalId: flat(`S${j}`), email: flat(`jo.${j}@${d}`) } };
    if (kind < 0.88) return { sqlDomain: FREE[j % 4], rec: { signalId: flat(`S${j}`), email: flat(`jo.${j}@${FREE[j % 4]}`), companyName: flat(`${name} Inc`) } };
    if (kind < 0.97) return { sqlDomain: null, rec: { signalId: flat(`S${j}`), companyName: flat(name.toUpperCase()) } };
    const site = flat(`site${j}.github.io`);
    return { sqlDomain: site, rec: { signalId: flat(`S${j}`), website: flat(`https://site${j}.github.io/`) } };
  }
  return { account, signal, domainOf, flat };
}
