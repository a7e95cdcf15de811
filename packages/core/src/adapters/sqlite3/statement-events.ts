/**
 * A `Database`'s `trace` and `profile` events: `trace` with a statement's SQL
 * as it starts, `profile` with its SQL and milliseconds once SQLite is done
 * (before the caller's callbacks). node-sqlite3 turns each on and off as
 * listeners are added and removed (see Database#on), not by the listener list.
 */
import type { EventEmitter } from 'node:events';
import { clock, type QueryOptions } from '../../index.js';
import { rethrow } from './callbacks.js';
import type { Operation, Target } from './target.js';

/** The trace and profile events of one database. */
export class StatementEvents {
  readonly #owner: EventEmitter;
  #trace = false;
  #profile = false;

  constructor(owner: EventEmitter) {
    this.#owner = owner;
  }

  /** Whether either event is on (a statement then goes the way that emits them). */
  get any(): boolean {
    return this.#trace || this.#profile;
  }

  /** Turns `event` on or off. */
  configure(event: 'trace' | 'profile', on: boolean): void {
    if (event === 'trace') this.#trace = on;
    else this.#profile = on;
  }

  /** Runs `operation` on `target` with the events around it (none for checking a statement compiles: `sql` undefined). */
  async around(sql: string | undefined, operation: Operation, target: Target, options: QueryOptions): Promise<void> {
    if (sql === undefined) return operation(target, options, () => {});
    if (this.#trace) this.#emit('trace', sql);
    if (!this.#profile) return operation(target, options, () => {});
    const started = clock.now();
    let profiled = false;
    const ran = (): void => {
      if (profiled) return;
      profiled = true;
      if (this.#profile) this.#emit('profile', sql, Math.round(clock.now() - started));
    };
    await operation(target, options, ran);
    ran();
  }

  /** An event whose listener's exception is the app's (as from node-sqlite3's native callbacks), not the statement's. */
  #emit(event: string, ...args: unknown[]): void {
    try {
      this.#owner.emit(event, ...args);
    } catch (error) {
      rethrow(error);
    }
  }
}
