/**
 * Whether a pool keeps the process alive: while it has work (queued, running,
 * or a connection lent out) it does, as a socket with a request in flight
 * does; an idle pool does not, so a script that forgot close() still exits.
 */
import { clearInterval, setInterval } from '../timers.js';

/** A counted reference on the event loop. */
export class KeepAlive {
  #holders = 0;
  #timer: NodeJS.Timeout | undefined;

  /** Something has work: the process stays alive until it calls {@link release}. */
  hold(): void {
    if (this.#holders++ > 0) return;
    // A timer that never fires is the cheapest ref'd handle; it is only ref'd while work exists.
    this.#timer ??= setInterval(() => {}, 2 ** 31 - 1);
    this.#timer.ref();
  }

  /** That work is done. */
  release(): void {
    if (this.#holders === 0 || --this.#holders > 0) return;
    this.#timer?.unref();
  }

  /** The pool is closed: nothing holds the process any more. */
  stop(): void {
    this.#holders = 0;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
