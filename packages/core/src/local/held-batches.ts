/**
 * Requests a worker connection holds back: batches waiting for room in the
 * claim ring (a transaction that issues thousands of statements without
 * awaiting them), sent in order as earlier requests are answered, a caller
 * who aborts meanwhile answered at once; and requests carried to go in
 * front of the next batch (a handed-off COMMIT).
 */
import { SignalWatch, type AbortScanner } from '../abort-watch.js';
import type { Pending, Request, Settings, SendOptions } from '../backend.js';
import { AbortError } from '../errors.js';
import { setImmediate } from '../timers.js';
import { turnSpent } from './send-turns.js';

/** A batch waiting for room. */
export interface HeldBatch {
  readonly requests: Request[];
  readonly waiters: Pending[];
  readonly options: SendOptions;
  /** Resolves the promise the connection's `send` returned, once the batch is answered. */
  readonly done: () => void;
}

/** The held batches of one connection, oldest first. */
export class HeldBatches implements AbortScanner {
  readonly #batches: HeldBatch[] = [];
  readonly #signals = new SignalWatch(this);
  /** A send of the held batches is due on the next turn. */
  #nextTurn = false;
  /** Nothing waits for the next turn any more (the connection is closing). */
  #atOnce = false;

  /** Whether any batch is held. */
  get length(): number {
    return this.#batches.length;
  }

  /** The oldest held batch, still held. */
  peek(): HeldBatch | undefined {
    return this.#batches[0];
  }

  /** Holds a batch; resolves once it has been sent and answered (or taken back, or failed). */
  hold(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions): Promise<void> {
    return new Promise((done) => {
      const held: HeldBatch = { requests: [...requests], waiters: [...waiters], options, done };
      for (const waiter of waiters) if (waiter.signal !== undefined) this.#signals.watch(waiter.signal);
      this.#batches.push(held);
    });
  }

  /**
   * Whether batches must wait for the next turn of the event loop (see
   * send-turns.ts); if so, `sendHeld` runs then (once, however many wait).
   */
  deferToNextTurn(sendHeld: () => void): boolean {
    if (this.#atOnce || !turnSpent()) return false;
    if (!this.#nextTurn) {
      this.#nextTurn = true;
      setImmediate(() => {
        this.#nextTurn = false;
        sendHeld();
      });
    }
    return true;
  }

  /** From now on batches wait only for room in the ring, not for the next turn (the connection is closing). */
  sendAtOnce(): void {
    this.#atOnce = true;
  }

  /** Held requests whose caller's signal aborted leave their batch, answered at once. */
  signalAborted(signal: AbortSignal): void {
    for (const held of this.#batches) {
      for (let at = held.waiters.length - 1; at >= 0; at--) {
        const waiter = held.waiters[at]!;
        if (waiter.signal !== signal) continue;
        held.requests.splice(at, 1);
        held.waiters.splice(at, 1);
        waiter.reject(new AbortError({ cause: signal.reason }));
      }
    }
  }

  /** How many of the oldest held batches are one-shot requests (which may be taken back to run elsewhere). */
  oneShotCount(): number {
    const first = this.#batches.findIndex((held) => held.options.oneShot !== true);
    return first < 0 ? this.#batches.length : first;
  }

  /** Takes the `count` oldest batches (all by default) off the list: to send, take back or fail them. */
  take(count = this.#batches.length): HeldBatch[] {
    return this.#batches.splice(0, count);
  }

  /** Fails every held batch with `error`. */
  failAll(error: Error): void {
    for (const held of this.take()) {
      for (const waiter of held.waiters) waiter.reject(error);
      held.done();
    }
  }
}

/**
 * Requests carried to go in front of whatever is sent next (a transaction's
 * COMMIT, its connection already handed on), or alone on the next turn.
 */
export class CarriedRequests {
  #requests: Request[] = [];
  #waiters: Pending[] = [];
  #flush: NodeJS.Immediate | undefined;

  /** Requests carried now. */
  get length(): number {
    return this.#requests.length;
  }

  /** Carries a request; `flush` sends what is carried on the next turn, if nothing took it by then. */
  push(request: Request, waiter: Pending, flush: () => void): void {
    this.#requests.push(request);
    this.#waiters.push(waiter);
    if (this.#flush !== undefined) return;
    this.#flush = setImmediate(() => {
      this.#flush = undefined;
      flush();
    });
  }

  /** Whether every carried request runs with `settings` (so a batch of those settings may follow them in one message). */
  allWith(settings: Settings | undefined): boolean {
    return this.#requests.every((request) => request.settings === settings);
  }

  /** Takes what is carried (undefined when nothing is). */
  take(): { readonly requests: Request[]; readonly waiters: Pending[] } | undefined {
    if (this.#requests.length === 0) return undefined;
    const taken = { requests: this.#requests, waiters: this.#waiters };
    this.#requests = [];
    this.#waiters = [];
    return taken;
  }
}
