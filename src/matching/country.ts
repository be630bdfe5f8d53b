/**
 * Country values → ISO 3166-1 alpha-2, so `UK`, `GB`, `gb`, `United Kingdom` and `Great Britain` compare
 * equal. Unknown values (`?`, `n/a`) become null: no evidence, rather than a country nobody has.
 *
 * @example
 *   normalizeCountry('UK')             // 'GB'
 *   normalizeCountry('Germany')        // 'DE'
 *   normalizeCountry('?')              // null
 */
import { foldUnicode } from './name-normalize.js';

const ALIASES: Record<string, string> = {
  uk: 'GB', 'great britain': 'GB', britain: 'GB', england: 'GB', scotland: 'GB', wales: 'GB',
  'northern ireland': 'GB', usa: 'US', us: 'US', 'united states of america': 'US', america: 'US',
  uae: 'AE', deutschland: 'DE', 'south korea': 'KR', korea: 'KR', russia: 'RU', 'czech republic': 'CZ',
  holland: 'NL', 'the netherlands': 'NL', brasil: 'BR', espana: 'ES', suisse: 'CH', schweiz: 'CH',
  // ISO 3166's own short names where they differ from ICU's English ones.
  'russian federation': 'RU', 'korea republic of': 'KR', 'republic of korea': 'KR', 'viet nam': 'VN',
  'iran islamic republic of': 'IR', 'syrian arab republic': 'SY', 'lao peoples democratic republic': 'LA',
  'moldova republic of': 'MD', 'tanzania united republic of': 'TZ', 'venezuela bolivarian republic of': 'VE',
  'bolivia plurinational state of': 'BO', 'taiwan province of china': 'TW', 'united kingdom of great britain and northern ireland': 'GB',
  'ivory coast': 'CI', burma: 'MM', 'east timor': 'TL', swaziland: 'SZ', 'cape verde': 'CV', turkiye: 'TR',
};

/** Withdrawn codes whose ICU names shadow current ones (`DD` is also named "Germany"). */
const WITHDRAWN = new Set(['DD', 'FX', 'SU', 'YU', 'CS', 'ZR', 'TP', 'BU', 'NT', 'AN', 'QO', 'EU', 'EZ', 'UN', 'VD', 'YD', 'NH', 'RH', 'DY', 'HV']);

let byName: Map<string, string> | undefined;
let byCode: Map<string, string> | undefined;
const cache = new Map<string, string | null>();

/**
 * English region names → code, built once from the runtime's ICU data (no list to maintain). Deprecated
 * or alias codes (`UK`) map to the first code with the same name (`GB`).
 */
function build(): void {
  byName = new Map();
  byCode = new Map();
  const dn = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      const name = dn.of(code);
      if (!name || name === 'Unknown Region' || WITHDRAWN.has(code)) continue;
      const key = nameKey(name);
      if (!byName.has(key)) byName.set(key, code);
      byCode.set(code, byName.get(key)!);
    }
  }
}

/**
 * A region name or code as compared: folded, `&` as `and`, dots and apostrophes dropped (`U.S.`,
 * `Côte d’Ivoire`), any other punctuation a space (`Korea, Republic of`), spaces single.
 */
function nameKey(s: string): string {
  return foldUnicode(s)
    .replace(/&/g, ' and ')
    .replace(/[.'’]/g, '')
    .replace(/[^a-z ]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Normalises a country to ISO alpha-2, or null when it is empty or unknown. */
export function normalizeCountry(value: string | null | undefined): string | null {
  if (!value) return null;
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  if (!byName || !byCode) build();
  const v = nameKey(value);
  let out: string | null = null;
  if (v !== '') {
    out = ALIASES[v] ?? (v.length === 2 ? byCode!.get(v.toUpperCase()) : byName!.get(v)) ?? null;
  }
  if (cache.size < 10_000) cache.set(value, out);
  return out;
}
