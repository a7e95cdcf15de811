/**
 * Callers' abort signals, watched per holder of requests rather than per
 * request. Apps pass one signal with many calls (a request's, a shutdown's;
 * the node-sqlite3 drop-in one per `Database`). A listener per request (one
 * while queued, one in flight) kept every request's closure reachable from
 * the signal: with 64 calls in flight on one signal, young-generation GCs
 * kept ~30 of ~60 MB and took 13-20 ms instead of ~0.5 (docs/benchmarks.md).
 * Here a holder (a wait queue, a connection's requests in flight) registers
 * once per signal it meets; when the signal aborts, each holder finds its own
 * requests that carry it.
 */
import { queueMicrotask } from './timers.js';

/** Holds requests that may carry a caller's signal. */
export interface AbortScanner {
  /** `signal` aborted: fail the requests held now that carry it. */
  signalAborted(signal: AbortSignal): void;
}

/** The holders that met one signal, and the size at which the gone ones are next dropped. */
interface Holders {
  readonly refs: Set<WeakRef<AbortScanner>>;
  pruneAt: number;
}

/** Per signal, the holders that met it (weakly: a holder that is gone is not kept alive by a long-lived signal). */
const holders = new WeakMap<AbortSignal, Holders>();

/** The least size at which a signal's holders are pruned. */
const PRUNE_AT = 64;

/** The signals one holder watches. */
export class SignalWatch {
  readonly #watched = new WeakSet<AbortSignal>();
  readonly #holder: WeakRef<AbortScanner>;

  constructor(holder: AbortScanner) {
    this.#holder = new WeakRef(holder);
  }

  /** Tells the holder when `signal` aborts (check `signal.aborted` first: an aborted signal fires no more). Cheap once met. */
  watch(signal: AbortSignal): void {
    if (this.#watched.has(signal)) return;
    this.#watched.add(signal);
    let met = holders.get(signal);
    if (met === undefined) {
      const created: Holders = { refs: new Set(), pruneAt: PRUNE_AT };
      met = created;
      holders.set(signal, created);
      signal.addEventListener('abort', () => tellHolders(signal, created.refs), { once: true });
    }
    // A long-lived signal (an app's shutdown signal) meets holder after holder as pools and connections come and
    // go: the gone ones are dropped as the set grows, so it stays about as large as the holders alive.
    if (met.refs.size >= met.pruneAt) {
      for (const ref of met.refs) if (ref.deref() === undefined) met.refs.delete(ref);
      met.pruneAt = Math.max(PRUNE_AT, met.refs.size * 2);
    }
    met.refs.add(this.#holder);
  }
}

/** How many holders `signal` keeps a reference to now (the gone ones not yet dropped included). */
export function holderCount(signal: AbortSignal): number {
  return holders.get(signal)?.refs.size ?? 0;
}

function tellHolders(signal: AbortSignal, refs: Set<WeakRef<AbortScanner>>): void {
  holders.delete(signal);
  for (const ref of refs) {
    try {
      ref.deref()?.signalAborted(signal);
    } catch (error) {
      // As with EventTarget listeners: the others still run, the exception is the app's.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
