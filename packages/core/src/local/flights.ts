/**
 * The requests one worker connection has sent and not yet had answered: each
 * with its caller and limits, indexed by sequence number, and the claim ring
 * shared with the worker that decides, by compare-and-swap, whether a request
 * the pool wants back has already started.
 */
import { SignalWatch, type AbortScanner } from '../abort-watch.js';
import { readsRows, type Pending, type Reclaimed, type Request } from '../backend.js';
import { CommitUnknownError } from '../errors.js';
import { InFlightRing, WROTE } from './seq-ring.js';

/** One request in flight. */
export interface Flight {
  readonly request: Request;
  readonly waiter: Pending;
  readonly timeoutMs: number;
  /** The caller has been answered (early, by a stop): the worker's answer is dropped. */
  settled: boolean;
  /** The error the caller gets once the pool decided to stop the request (a timeout, an abort). */
  stopping?: Error;
  /** When the running request was interrupted (performance.now()). */
  interruptedAt?: number;
  /** Sent as a member of a group commit (it commits only with its group's COMMIT). */
  readonly group: boolean;
  /** A one-shot request: it may be taken back and run on another connection (a lease's never is: its connection is its own). */
  readonly movable: boolean;
  /** The first sequence number of the batch it was sent in (the worker answers a batch at once). */
  readonly batch: number;
  /** Interrupted to run again, alone, on a reader: it held answers of its batch, or the writer it was lent to (see {@link Flights.toRunAgain}). */
  again?: boolean;
}

/** The requests in flight on one connection. */
export class Flights implements AbortScanner {
  readonly #ring: InFlightRing<Flight>;
  readonly #mask: number;
  readonly #signals = new SignalWatch(this);

  /**
   * @param claims the claim ring shared with the worker
   * @param onAbort stops request `seq`, whose caller's `signal` aborted while it was in flight
   */
  constructor(
    private readonly claims: Int32Array,
    private readonly onAbort: (seq: number, signal: AbortSignal) => void,
  ) {
    this.#ring = new InFlightRing(claims.length);
    this.#mask = claims.length - 1;
  }

  /** Requests in flight. */
  get size(): number {
    return this.#ring.size;
  }

  /** Whether `count` more requests fit in the ring now. */
  fits(count: number): boolean {
    return this.#ring.size === 0 || this.#ring.fits(count);
  }

  get(seq: number): Flight | undefined {
    return this.#ring.get(seq);
  }

  /** Records request `seq`; it is stopped if its caller's signal aborts while it is in flight. */
  add(
    seq: number,
    request: Request,
    waiter: Pending,
    defaults: { readonly timeoutMs: number; readonly group: boolean; readonly movable: boolean; readonly batch: number },
  ): void {
    const flight: Flight = {
      request,
      waiter,
      timeoutMs: waiter.timeoutMs ?? defaults.timeoutMs,
      settled: false,
      group: defaults.group,
      movable: defaults.movable,
      batch: defaults.batch,
    };
    this.#ring.add(seq, flight);
    if (waiter.signal !== undefined) this.#signals.watch(waiter.signal);
  }

  /** Removes request `seq` (answered, taken back, or given up). */
  forget(seq: number): void {
    const flight = this.#ring.get(seq);
    if (flight === undefined) return;
    this.#ring.delete(seq);
  }

  /** How far request `seq` got, as the worker recorded it: not started, started, or written. */
  progress(seq: number): 'waiting' | 'started' | 'wrote' {
    const seen = Atomics.load(this.claims, seq & this.#mask);
    return seen === (seq | WROTE) ? 'wrote' : seen === seq ? 'started' : 'waiting';
  }

  /** Takes request `seq` back if it has not started: true when it will not run. */
  cancel(seq: number): boolean {
    const slot = seq & this.#mask;
    for (;;) {
      const seen = Atomics.load(this.claims, slot);
      if (seen === seq || seen === (seq | WROTE)) return false;
      if (seen === -seq || Atomics.compareExchange(this.claims, slot, seen, -seq) === seen) return true;
    }
  }

  /** Takes back the one-shot requests that have not started, in order: they will not run here. */
  takeNotStarted(): Reclaimed[] {
    const taken: Reclaimed[] = [];
    for (const [seq, flight] of this.entries()) {
      if (flight.settled || !flight.movable || !this.cancel(seq)) continue;
      this.forget(seq);
      taken.push({ request: flight.request, waiter: flight.waiter });
    }
    return taken;
  }

  /** Whether one-shot requests sent after `running` wait behind it (and could run elsewhere). */
  sentAfter(running: number): boolean {
    let after = false;
    for (const [seq, flight] of this.entries()) {
      if (after && !flight.settled && flight.movable) return true;
      after ||= seq === running;
    }
    return false;
  }

  /**
   * The one-shot read `running`, if it has run long enough to be stopped and
   * run again elsewhere (a read changes nothing): on a reader, when answers
   * sent before it in its batch wait for it to end (a worker answers its
   * batch at once); on the writer, when the readers lent it (nothing of the
   * writer's may wait behind it).
   */
  toRunAgain(running: number, reader: boolean): Flight | undefined {
    const flight = this.#ring.get(running);
    if (flight === undefined || flight.again === true || flight.stopping !== undefined || !flight.movable) return undefined;
    if (!readsRows(flight.request.op) && flight.request.op !== 'iterate') return undefined;
    if (!reader) return flight.request.lent === true ? flight : undefined;
    for (const [seq, other] of this.entries()) {
      if (seq === running) return undefined;
      if (other.batch === flight.batch && !other.settled) return flight;
    }
    return undefined;
  }

  /** Stops the requests in flight whose caller's `signal` aborted. */
  signalAborted(signal: AbortSignal): void {
    for (const [seq, flight] of this.entries()) if (!flight.settled && flight.waiter.signal === signal) this.onAbort(seq, signal);
  }

  /** The requests in flight, oldest first (a snapshot: callers may forget them as they go). */
  entries(): [number, Flight][] {
    return this.#ring.entries();
  }

  /**
   * Fails every request in flight with `error`. With `writerGone` (the
   * writer's thread died), a write that had started and may have committed
   * gets `ERR_COMMIT_UNKNOWN` instead, by what the claim ring recorded: a
   * COMMIT that started; an autocommit statement that wrote; a member of a
   * group whose COMMIT had started (`committing`); and, when the thread was
   * left running a statement it could not be stopped from (`stillRunning`),
   * an autocommit statement that had started (it commits if it ever ends).
   * Every other rejection means "not in the database".
   */
  failAll(error: Error, writerGone: boolean, committing: boolean, stillRunning = false): void {
    for (const [seq, flight] of this.entries()) {
      const progress = this.progress(seq);
      this.forget(seq);
      if (flight.settled) continue;
      const reason = flight.stopping ?? error;
      const { request } = flight;
      const wrote = progress === 'wrote' || (stillRunning && progress === 'started');
      const maybeCommitted =
        request.final === true ? progress !== 'waiting' : flight.group ? wrote && committing : wrote && request.inTransaction !== true;
      flight.waiter.reject(
        writerGone && maybeCommitted
          ? new CommitUnknownError('The writer connection was lost while this write was under way: it may or may not have committed', {
              cause: reason,
            })
          : reason,
      );
    }
  }
}
