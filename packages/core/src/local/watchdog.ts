/**
 * A worker connection's watchdog, armed while requests are in flight: it
 * times out the running statement, gives a reader up when an interrupted
 * statement does not stop, and reports a stall when requests wait behind a
 * long statement (so the lane can move them). It decides when; the
 * connection does the stopping.
 */
import { StatementTimeoutError } from '../errors.js';
import type { Flight } from './flights.js';
import { clearTimeout, now, setTimeout } from '../timers.js';

/** A statement running this long, with requests waiting behind it, lets them move to another connection. */
export const STALL_MS = 20;
/** How long an interrupted statement may take to stop before its connection is given up. */
export const INTERRUPT_GRACE_MS = 2_000;

/** What the watchdog watches. */
export interface Watched {
  /** Whether there is anything to watch (requests in flight, connection alive). */
  active(): boolean;
  /** The request running now, and for how long (ms), if any. */
  running(): { readonly seq: number; readonly flight: Flight; readonly elapsed: number } | undefined;
  /**
   * Whether `flight`, interrupted and still running, may cost the connection:
   * a reader's always; the writer's only when terminating its thread cannot
   * let a write commit after its caller was told it failed (a procedure, whose
   * transaction commits only after it returns). A plain write waiting for a
   * lock the busy handler does not interrupt is waited for instead.
   */
  replaceable(flight: Flight): boolean;
  /** Stops request `seq` with `reason` (an interrupt). */
  stop(seq: number, reason: Error): void;
  /** Interrupts request `seq`, stopped already, once more: it still runs. */
  interruptAgain(seq: number): void;
  /** Gives the connection up: `seq` did not stop when interrupted. */
  giveUp(seq: number): void;
  /** `seq` has run long with requests waiting behind it: reports the stall if any do; true if it did. */
  stall(seq: number): boolean;
}

/** The timer of one connection. */
export class Watchdog {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The running request already reported as stalled. */
  #stallReported = 0;

  constructor(private readonly watched: Watched) {}

  /** Checks again after `delay` ms (unless a check is already due sooner or the watchdog stopped). */
  arm(delay: number): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => this.#check(), Math.max(1, delay));
    this.#timer.unref();
  }

  /** Stops for good (the connection is closing). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #check(): void {
    this.#timer = undefined;
    if (!this.watched.active()) return;
    let next = STALL_MS;
    const running = this.watched.running();
    if (running !== undefined) {
      const { seq, flight, elapsed } = running;
      if (flight.interruptedAt !== undefined) {
        const waited = now() - flight.interruptedAt;
        if (waited >= INTERRUPT_GRACE_MS && this.watched.replaceable(flight)) {
          this.watched.giveUp(seq);
          return;
        }
        if (waited < INTERRUPT_GRACE_MS) next = Math.min(next, INTERRUPT_GRACE_MS - waited);
        // SQLite drops an interrupt that comes before the statement has begun (after the worker marked it
        // running): until it stops, it is interrupted again at each check, or a write could run on for good.
        this.watched.interruptAgain(seq);
      } else if (flight.timeoutMs > 0) {
        if (elapsed >= flight.timeoutMs) {
          this.watched.stop(seq, new StatementTimeoutError(flight.timeoutMs));
          return this.arm(Math.min(STALL_MS, INTERRUPT_GRACE_MS));
        }
        next = Math.min(next, flight.timeoutMs - elapsed);
      }
      if (elapsed < STALL_MS) next = Math.min(next, STALL_MS - elapsed);
      else if (this.#stallReported !== seq && this.watched.stall(seq)) this.#stallReported = seq;
    }
    this.arm(next);
  }
}
