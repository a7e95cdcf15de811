/**
 * Sequence numbers of a connection's requests, and a ring keyed by them,
 * laid out like the claim ring the worker shares (slot = seq & mask): the
 * store of the requests in flight (see flights.ts).
 *
 * Not a Map: a Map keyed by ever-growing numbers, with one insert and one
 * delete per request, keeps allocating hash tables, and each retired table
 * still points at its successor and at the entries it held. Once one of them
 * reaches the old generation, every young-generation GC keeps the whole chain
 * alive: at 64 reads in flight a third of everything allocated was promoted
 * and each young-generation pause took about 12 ms of the event loop.
 */

/** Sequence numbers run 1..MAX_SEQ, then start again at 1 (they cross threads as Int32, with bit 30 free for {@link WROTE}). */
export const MAX_SEQ = 2 ** 30 - 1;

/** Set on a request's claim once it has written (see the claim ring in protocol.ts). */
export const WROTE = 2 ** 30;

/** The sequence number after `seq`. */
export function nextSeq(seq: number): number {
  return seq >= MAX_SEQ ? 1 : seq + 1;
}

/** The sequence number `count` after `seq`. */
export function addSeq(seq: number, count: number): number {
  return ((seq - 1 + count) % MAX_SEQ) + 1;
}

/**
 * Entries keyed by sequence numbers handed out in order. Holds entries whose
 * numbers span at most `capacity` consecutive values (the oldest entry still
 * present to the newest): {@link fits} says whether `count` more may be added.
 */
export class InFlightRing<T> {
  readonly #entries: (T | undefined)[];
  readonly #seqs: Int32Array;
  readonly #mask: number;
  #size = 0;
  /** The oldest entry present (when size > 0). */
  #oldest = 0;
  /** The newest entry added. */
  #newest = 0;

  /** `capacity`: a power of two, the claim ring's size. */
  constructor(readonly capacity: number) {
    this.#entries = new Array<T | undefined>(capacity).fill(undefined);
    this.#seqs = new Int32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Entries present. */
  get size(): number {
    return this.#size;
  }

  /** Whether `count` entries numbered after the newest fit without a slot being shared with one present. */
  fits(count: number): boolean {
    if (this.#size === 0) return count <= this.capacity;
    const span = (this.#newest - this.#oldest + MAX_SEQ) % MAX_SEQ;
    return span + 1 + count <= this.capacity;
  }

  get(seq: number): T | undefined {
    const slot = seq & this.#mask;
    return this.#seqs[slot] === seq ? this.#entries[slot] : undefined;
  }

  /** Adds the entry numbered `seq`, the next number after the newest (callers check {@link fits} first). */
  add(seq: number, value: T): void {
    const slot = seq & this.#mask;
    if (this.#seqs[slot] !== 0) throw new Error(`In-flight ring: slot of request ${seq} is taken by ${this.#seqs[slot]}`);
    this.#seqs[slot] = seq;
    this.#entries[slot] = value;
    if (this.#size === 0) this.#oldest = seq;
    this.#newest = seq;
    this.#size++;
  }

  delete(seq: number): boolean {
    const slot = seq & this.#mask;
    if (this.#seqs[slot] !== seq) return false;
    this.#seqs[slot] = 0;
    this.#entries[slot] = undefined;
    this.#size--;
    if (this.#size > 0 && seq === this.#oldest) {
      // Each number is passed over once: amortised O(1).
      let next = nextSeq(seq);
      while (this.#seqs[next & this.#mask] !== next) next = nextSeq(next);
      this.#oldest = next;
    }
    return true;
  }

  /** The entries, oldest first (a snapshot: the callback may delete). */
  entries(): [number, T][] {
    const out: [number, T][] = [];
    if (this.#size === 0) return out;
    for (let seq = this.#oldest; ; seq = nextSeq(seq)) {
      const slot = seq & this.#mask;
      if (this.#seqs[slot] === seq) out.push([seq, this.#entries[slot]!]);
      if (seq === this.#newest) return out;
    }
  }
}
