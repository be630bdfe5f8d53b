/**
 * The public-suffix lookup on the matcher's hot path: tldts' own rules, walked without tldts' per-call
 * work. A million accounts and a million signals each need their host's registrable domain; `parse`
 * builds an options object, a result object, the host's labels as an array, a result per trie level
 * and the suffix joined back from its labels, and looks labels up in objects with thousands of keys.
 * Here the same trie, converted once to Maps, is walked by positions in the host string: ~0.2 µs per
 * host instead of ~0.65 µs, and one object (the answer).
 *
 * Only plain hosts take this path (lower-case `[a-z0-9-]` labels, no empty label, a last label that is
 * not all digits, so never an IP address); anything else returns undefined and the caller asks tldts.
 * The rules are tldts' (`dist/cjs/src/data/trie.js`, the file its bundle is built from), so both paths
 * agree; a test compares them on hosts of every kind. Should that file ever be missing or shaped
 * differently, every host goes to tldts: slower, never different.
 *
 * @example
 *   publicSuffixOf('eu.acme.co.uk')       // { domain: 'acme.co.uk', suffix: 'co.uk', isPrivate: false }
 *   publicSuffixOf('jane.github.io')      // { domain: 'jane.github.io', suffix: 'github.io', isPrivate: true }
 *   publicSuffixOf('co.uk')               // undefined (a suffix itself: ask tldts)
 *   publicSuffixOf('10.0.0.1')            // undefined (not a plain host: ask tldts)
 */
import { createRequire } from 'node:module';

export interface SuffixAnswer {
  /** The registrable domain: the public suffix and one label more. */
  domain: string;
  suffix: string;
  /** True when the deciding rule is a private one (a shared hosting platform). */
  isPrivate: boolean;
}

/** A trie node: its rule type (0 none, 1 ICANN, 2 private), its children by label, its `*` child. */
interface Node {
  type: number;
  children: Map<string, Node> | undefined;
  wildcard: Node | undefined;
}

/** tldts' packed node: `[type, { label: node }]`. */
type PackedNode = [number, Record<string, PackedNode>];

let tries: { rules: Node; exceptions: Node } | null | undefined;

function loadTries(): { rules: Node; exceptions: Node } | null {
  try {
    const data = createRequire(import.meta.url)('tldts/dist/cjs/src/data/trie.js') as { rules?: unknown; exceptions?: unknown };
    if (!isPacked(data.rules) || !isPacked(data.exceptions)) return null;
    // tldts shares equal subtrees between parents; the memo keeps them shared.
    const memo = new Map<PackedNode, Node>();
    return { rules: convert(data.rules, memo), exceptions: convert(data.exceptions, memo) };
  } catch {
    return null;
  }
}

function isPacked(x: unknown): x is PackedNode {
  return Array.isArray(x) && typeof x[0] === 'number' && typeof x[1] === 'object' && x[1] !== null;
}

function convert(packed: PackedNode, memo: Map<PackedNode, Node>): Node {
  const seen = memo.get(packed);
  if (seen) return seen;
  const node: Node = { type: packed[0], children: undefined, wildcard: undefined };
  memo.set(packed, node);
  for (const [label, child] of Object.entries(packed[1])) {
    if (!isPacked(child)) throw new Error('unexpected public-suffix trie shape');
    if (label === '*') node.wildcard = convert(child, memo);
    else (node.children ??= new Map()).set(label, convert(child, memo));
  }
  return node;
}

/** Rule type of the last `walk` (0 when nothing matched). */
let matchedType = 0;

/**
 * tldts' `lookupInTrie`: from the last label leftwards, following a label's child or else the `*` child;
 * the deepest node that is a rule wins. Returns where the matched suffix starts in `host`, -1 for none.
 */
function walk(host: string, root: Node): number {
  let node = root;
  let end = host.length;
  let start = -1;
  matchedType = 0;
  for (;;) {
    if (node.type !== 0) {
      start = end + 1;
      matchedType = node.type;
    }
    if (end < 0) break;
    const dot = host.lastIndexOf('.', end - 1);
    const next = node.children?.get(dot < 0 && end === host.length ? host : host.slice(dot + 1, end)) ?? node.wildcard;
    if (next === undefined) break;
    node = next;
    end = dot;
  }
  return start;
}

/**
 * True for lower-case labels of `[a-z0-9-]`, none empty, the last not all digits: not an IP address, and
 * its cleaned form and registrable domain are both dot-separated tails of it.
 */
export function isPlainHost(host: string): boolean {
  let labelStart = 0;
  let digitsOnly = true;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (i === labelStart) return false;
      labelStart = i + 1;
      digitsOnly = true;
    } else if (c >= 48 && c <= 57) continue;
    else if ((c >= 97 && c <= 122) || c === 45) digitsOnly = false;
    else return false;
  }
  return labelStart < host.length && !digitsOnly;
}

/**
 * The registrable domain and public suffix of a plain host (private suffixes included); undefined when
 * tldts should answer: the host is not plain, is a public suffix itself, meets an exception rule, or the
 * rules are unavailable.
 */
export function publicSuffixOf(host: string): SuffixAnswer | undefined {
  if (tries === undefined) tries = loadTries();
  if (tries === null || !isPlainHost(host)) return undefined;
  // Exception rules (`!city.kawasaki.jp`) move the suffix; the few hosts they touch go to tldts.
  if (walk(host, tries.exceptions) >= 0) return undefined;
  let start = walk(host, tries.rules);
  const isPrivate = matchedType === 2;
  // No rule: the last label is the suffix (tldts' `*` default).
  if (start < 0) start = host.lastIndexOf('.') + 1;
  // The host is a suffix itself (`co.uk`, or `github.io`, the platform's own site): tldts' answer, rare.
  if (start === 0) return undefined;
  const dot = host.lastIndexOf('.', start - 2);
  return { domain: dot < 0 ? host : host.slice(dot + 1), suffix: host.slice(start), isPrivate };
}
