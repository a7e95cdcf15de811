/**
 * What a node-sqlite3 `Statement` knows of whether its SQL compiles.
 * node-sqlite3 compiles at prepare; the drop-in does so only when someone
 * waits to hear (a prepare callback, or an `'error'` listener on the
 * statement), and otherwise lets the first call compile it, saving a round
 * trip. A statement that does not compile holds nothing in SQLite and its
 * calls are dropped, as node-sqlite3 drops them.
 */
import type { EventEmitter } from 'node:events';
import type { QueryOptions } from '../../index.js';
import { invoke, type AnyCallback } from './callbacks.js';
import type { Sqlite3Error } from './constants.js';
import { toSqlite3Error } from './error-shape.js';
import type { Link } from './link.js';
import { bindArguments } from './params.js';
import type { Target, Work } from './target.js';

/** One statement's compile state. */
export class Compilation {
  /** Known to compile (a call or a check succeeded). */
  compiled = false;
  /** Known not to compile: its calls are dropped. */
  broken = false;
  /** Whether a check was asked for (by a prepare callback, or an `'error'` listener). */
  checked = false;

  constructor(
    private readonly link: Link,
    private readonly statement: EventEmitter,
    private readonly text: string,
  ) {}

  /** Compiles the statement on `target` without running it (EXPLAIN, its parameters unbound: NULL). */
  async explain(target: Target, options: QueryOptions): Promise<void> {
    const compiled = bindArguments(this.text, []);
    await target.get(`EXPLAIN ${compiled.sql}`, compiled.params, options);
  }

  /**
   * A check to queue: compiles it now. With `callback` (prepare's), any
   * error reaches it, and success `callback(null)`; without, a compile error
   * (SQLITE_ERROR) reaches the statement's `'error'` listeners, others are
   * left to its calls.
   */
  check(callback?: AnyCallback): Work {
    this.checked = true;
    return {
      perform: async (target, options) => {
        await this.explain(target, options);
        this.compiled = true;
        invoke(callback, this.statement, null);
      },
      fail: (error) => {
        if (callback !== undefined || error.code === 'SQLITE_ERROR') this.fail(callback, error);
      },
    };
  }

  /**
   * Whether a call of a statement not checked yet failed because the
   * statement does not compile (checked with EXPLAIN, only when it failed
   * with SQLITE_ERROR); if so the statement fails as node-sqlite3's prepare
   * would, and the call is to be dropped.
   */
  async callFailed(target: Target, options: QueryOptions, error: unknown): Promise<boolean> {
    if (this.compiled || (await this.compiles(target, options, error))) return false;
    this.fail(undefined, toSqlite3Error(error));
    return true;
  }

  /** Whether a call that failed with `error` ran SQL that compiles: SQLITE_ERROR is also a compile's, so that is asked (EXPLAIN). */
  async compiles(target: Target, options: QueryOptions, error: unknown): Promise<boolean> {
    if ((error as { code?: unknown } | null)?.code !== 'SQLITE_ERROR') return true;
    try {
      await this.explain(target, options);
      return true;
    } catch {
      return false;
    }
  }

  /** It did not compile: SQLite holds nothing for it (it does not keep the database open); told once. */
  private fail(callback: AnyCallback | undefined, error: Sqlite3Error): void {
    if (this.broken) return;
    this.broken = true;
    this.link.handles.letGo(this.statement);
    this.link.deliverError(callback, this.statement, error, this.statement);
  }
}
