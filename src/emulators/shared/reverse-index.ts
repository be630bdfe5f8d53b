/**
 * Members by one key, and the key each member is filed under, so re-filing a member after its key
 * changed (or went away) is O(1). The emulators use it for their lookups by unique fields
 * (Salesforce external ids, Intercom e-mails and company ids). `keyOf` may be a WeakMap when members
 * are the records themselves, so a record removed from its table is not kept alive by the index.
 *
 * @example
 *   const byEmail = new ReverseIndex<string, string>();
 *   byEmail.file('c1', 'a@x.com');
 *   byEmail.file('c1', 'b@x.com'); // moved
 *   byEmail.members('b@x.com');    // Set { 'c1' }
 */
export interface KeyOfStore<M, K> {
  get(member: M): K | undefined;
  has(member: M): boolean;
  set(member: M, key: K): unknown;
  delete(member: M): boolean;
}

export class ReverseIndex<M, K> {
  private readonly byKey = new Map<K, Set<M>>();

  constructor(private readonly keyOf: KeyOfStore<M, K> = new Map<M, K>()) {}

  /** File `member` under `key`, or under none when `key` is undefined, leaving its previous key. */
  file(member: M, key: K | undefined): void {
    const had = this.keyOf.has(member);
    const before = this.keyOf.get(member);
    if (had && key === before) return;
    if (had) {
      const set = this.byKey.get(before!);
      set?.delete(member);
      if (set?.size === 0) this.byKey.delete(before!);
    }
    if (key === undefined) {
      this.keyOf.delete(member);
      return;
    }
    this.keyOf.set(member, key);
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(member);
  }

  members(key: K): ReadonlySet<M> | undefined {
    return this.byKey.get(key);
  }
}
