/**
 * One call of a node-sqlite3 `Statement` as its database queues it: the
 * operation, its callbacks and its binding in one object, run and failed
 * through its statement (a loop of `stmt.run(...)` queued at once holds every
 * one until it runs).
 */
import { clock, type QueryOptions } from '../../index.js';
import type { AnyCallback } from './callbacks.js';
import type { Sqlite3Error } from './constants.js';
import type { bindArguments } from './params.js';
import type { Target, Work } from './target.js';

/** SQL and values ready to run. */
export type Binding = ReturnType<typeof bindArguments>;

/** What a call's statement does with it: runs it (once it compiled), or delivers its error. */
export interface CallHost {
  perform(call: StatementCall, target: Target, options: QueryOptions, ran: () => void): Promise<void>;
  failed(call: StatementCall, error: Sqlite3Error): void;
}

/** A statement's work, given the call it belongs to (its binding, its binding's place for `get`, its callback). */
export type BoundOperation = (target: Target, options: QueryOptions, ran: () => void, call: StatementCall) => Promise<void>;

/** One queued call of a statement. */
export class StatementCall implements Work {
  constructor(
    readonly host: CallHost,
    /** Called with the statement as `this`. */
    readonly operation: BoundOperation,
    readonly callback: AnyCallback | undefined,
    /** Its own error handler, if any (else node-sqlite3's way: the callback, or an `error` event). */
    readonly onError: ((error: Sqlite3Error) => void) | undefined,
    /** Only a call that binds has one, and only its operation reads it. */
    readonly bound: Binding | undefined,
    /** The binding's place for `get` (see StepCursor). */
    readonly generation: number,
    /** It runs the statement's SQL: once it succeeds, the statement is known to compile. */
    readonly runsSql: boolean,
  ) {}

  perform(target: Target, options: QueryOptions, ran: () => void): Promise<void> {
    return this.host.perform(this, target, options, ran);
  }

  fail(error: Sqlite3Error): void {
    this.host.failed(this, error);
  }
}

/**
 * A statement's calls not yet answered and its finalize, as node-sqlite3
 * orders them: the finalize completes right after its last call's callback,
 * and a call made after it fails when it completes, just before its callback.
 */
export class Finalizing {
  /** finalize() was called. */
  requested = false;
  #calls = 0;
  #whenIdle: (() => void) | undefined;
  /** The failures of calls made after finalize(), until it completes. */
  #late: (() => void)[] | undefined;

  /** A call was queued. */
  add(): void {
    this.#calls++;
  }

  /** A call has delivered its outcome: once the last has, a requested finalize completes, in the same turn. */
  answered(): void {
    if (--this.#calls > 0 || this.#whenIdle === undefined) return;
    const finish = this.#whenIdle;
    this.#whenIdle = undefined;
    finish();
  }

  /**
   * finalize(): once every call has answered (none queued: once `settled`,
   * what the last queued settles by), `release`, then the late calls'
   * failures, then the callback `release` returned. Settles after that.
   */
  request(settled: Promise<unknown>, release: () => () => void): Promise<void> {
    this.requested = true;
    this.#late = [];
    const complete = (): void => {
      const callback = release();
      const late = this.#late;
      this.#late = undefined; // a call made in one of their callbacks fails on its own
      late?.forEach((deliver) => deliver());
      callback();
    };
    // Right after its last call's callback, so that callback and this one see the same state.
    if (this.#calls === 0) return settled.then(complete);
    return new Promise<void>((resolve) => (this.#whenIdle = () => (complete(), resolve())));
  }

  /** A call's SQLITE_MISUSE after finalize(): when the finalize completes, just before its callback (or now, once it has). */
  late(deliver: () => void): void {
    if (this.#late === undefined) clock.queueMicrotask(deliver);
    else this.#late.push(deliver);
  }
}

/** `this` inside a callback of `run`, `get`, `all`, `each`: the statement, with the outcome of its last `run`. */
export interface RunContext {
  /** The statement's SQL. */
  readonly sql: string;
  /** After `run`: the rowid of the last row inserted on its connection. */
  lastID: number;
  /** After `run`: rows changed. */
  changes: number;
}
