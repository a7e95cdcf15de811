/**
 * Whether a pool keeps the process alive: while it has work (queued, running,
 * or a statement in flight on a lent connection) it does, as a socket with a
 * request in flight does. An idle pool does not, nor does a lease with nothing
 * in flight (a transaction the app left open), so a script that forgot
 * close() or COMMIT still exits, as it does with node-sqlite3; SQLite rolls
 * the transaction back.
 */
import { clearInterval, setInterval } from '../timers.js';

/** A reference on the event loop, taken while the pool has work. */
export class KeepAlive {
  #timer: NodeJS.Timeout | undefined;
  #closing = false;
  #stopped = false;

  /** @param hasWork whether the pool has work now (see the module description) */
  constructor(private readonly hasWork: () => boolean) {}

  /** The pool's work may have changed: holds the process while it has some (or is closing), lets it go otherwise. */
  sync(): void {
    this.#set(this.#closing || this.hasWork());
  }

  /** The pool is closing, which is work too: the process is held until {@link stop}. */
  closing(): void {
    this.#closing = true;
    this.sync();
  }

  #set(needed: boolean): void {
    if (this.#stopped) return;
    if (!needed) {
      this.#timer?.unref();
      return;
    }
    // A timer that never fires is the cheapest ref'd handle; it is only ref'd while work exists.
    this.#timer ??= setInterval(() => {}, 2 ** 31 - 1);
    this.#timer.ref();
  }

  /** The pool is closed: nothing holds the process any more. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
