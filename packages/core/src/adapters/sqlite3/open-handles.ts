/**
 * What keeps a node-sqlite3 `Database` from closing: its statements not
 * finalized and its backups not finished. A statement is held weakly: one
 * the app drops without `finalize` no longer counts once it is collected, as
 * node-sqlite3 finalizes a statement when it is collected (a strong hold
 * made such a `Database` unable to close, and kept every dropped statement
 * in memory for its life). A backup is held until it finishes.
 */
export class OpenHandles {
  readonly #held = new Set<object>();
  readonly #weakly = new WeakMap<object, WeakRef<object>>();
  readonly #collected = new FinalizationRegistry<WeakRef<object>>((ref) => this.#held.delete(ref));

  /** `thing` keeps the database open until let go (a statement: until let go or collected). */
  hold(thing: object, weakly: boolean): void {
    if (!weakly) {
      this.#held.add(thing);
      return;
    }
    const ref = new WeakRef(thing);
    this.#weakly.set(thing, ref);
    this.#held.add(ref);
    this.#collected.register(thing, ref, ref);
  }

  /** `thing` was finalized or finished. */
  letGo(thing: object): void {
    const ref = this.#weakly.get(thing);
    if (ref === undefined) {
      this.#held.delete(thing);
      return;
    }
    this.#weakly.delete(thing);
    this.#held.delete(ref);
    this.#collected.unregister(ref);
  }

  /** Whether anything still keeps the database open (a collected statement does not, before its registry hears of it). */
  get any(): boolean {
    for (const entry of this.#held) if (!(entry instanceof WeakRef) || entry.deref() !== undefined) return true;
    return false;
  }
}
