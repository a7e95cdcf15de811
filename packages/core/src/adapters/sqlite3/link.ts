/**
 * What a node-sqlite3 `Database` is underneath: a session of a shared pool;
 * the order its statements run in (serialize/parallelize, a read issued after
 * a write sees it, a statement's own calls in order), and the calls that may
 * start at once (quick-call.ts); its transaction (transaction-runner.ts) and
 * its trace and profile events (statement-events.ts); interrupt and close.
 * `Database`, `Statement` and `Backup` reach it through the registry
 * (link-registry.ts), so none of them imports another.
 */
import type { EventEmitter } from 'node:events';
import { clock, type Session } from '../../index.js';
import { bindCallback, deliverError, invoke, type AnyCallback } from './callbacks.js';
import type { Sqlite3Error } from './constants.js';
import { sqlite3Error, toSqlite3Error } from './error-shape.js';
import { databaseSession, openShared, readOnlyMode, type PoolReference, type SharedOptions } from './shared-pools.js';
import { beginMode, controlsNothing } from './transaction-plan.js';
import { TransactionRunner } from './transaction-runner.js';
import { CallOrder, type Kind } from './call-order.js';
import { queue, queuedAs, settles, type Issued, type QueuedCall } from './queued-run.js';
import { ConnectionConfig } from './connection-config.js';
import { RunCounters } from './run-counters.js';
import { StatementEvents } from './statement-events.js';
import type { Operation, QuickWork, Target, Work } from './target.js';
import { OpenHandles } from './open-handles.js';

/** The node-sqlite3 face of a database a link belongs to. */
export interface LinkOwner extends EventEmitter {
  readonly filename: string;
  readonly mode: number;
}

/** Options of a link: the pool's (shared by every `Database` on the file with the same options), and how BEGIN is taken. */
export interface LinkOptions extends SharedOptions {
  /** `sqlite` (default): each BEGIN as SQLite means it; `immediate`: every BEGIN takes the writer at once. */
  readonly transactions?: 'sqlite' | 'immediate';
}

/** The internals of one node-sqlite3 `Database`. */
export class Link {
  /** Whether `open` has been emitted and `close` not yet begun. */
  open = false;
  readonly #owner: LinkOwner;
  readonly #ready: Promise<Session>;
  /** The pool reference, once taken (its first connection may still be opening). */
  readonly #reached: Promise<PoolReference>;
  #reference: PoolReference | undefined;
  #session: Session | undefined;
  #serialized = false;
  readonly #order = new CallOrder();
  /** Statements queued whose callbacks have not been called yet. */
  #unanswered = 0;
  /** A quick call was answered (one function per link, not one per call). */
  readonly #answeredOne = (): number => this.#unanswered--;
  readonly #transaction: TransactionRunner;
  /** `this.lastID` and `this.changes` of its `run` callbacks. */
  readonly counters: RunCounters;
  #closing: Promise<void> | undefined;
  /** Closing has begun: the work queued before close() has finished, or there was none. */
  #closeStarted = false;
  #interrupt = new AbortController();
  /** Statements prepared and not finalized, and backups not finished: close() refuses while there are any. */
  readonly handles = new OpenHandles();
  readonly #events: StatementEvents;
  /** Its run-time limits and update hook. */
  readonly config = new ConnectionConfig();

  constructor(owner: LinkOwner, options: LinkOptions, opened: AnyCallback | undefined) {
    this.#owner = owner;
    this.#events = new StatementEvents(owner);
    this.counters = new RunCounters(this.#readOnly);
    this.#transaction = new TransactionRunner({
      session: () => this.#session!,
      run: (sql, operation, target) => this.#run(sql, operation, target),
      beginMode: (sql) => (this.#readOnly ? 'read' : options.transactions === 'immediate' ? 'immediate' : beginMode(sql)),
      exec: (target, sql, queryOptions) => this.counters.exec(target, sql, queryOptions),
    });
    // Opens after this turn, as node-sqlite3 does: listeners and configure() calls made right after the constructor apply.
    const { transactions: _transactions, ...shared } = options;
    const reached = new Promise<void>((resolve) => clock.setImmediate(resolve)).then(
      async () => (this.#reference = await openShared(owner.filename, shared, owner.mode)),
    );
    this.#reached = reached;
    this.#ready = reached.then((reference) => this.#openSession(reference));
    this.#ready.catch(() => {});
    // A file checked on disk is reported open at once; its calls wait for the connection (a thread's start away).
    reached
      .then((reference) => (reference.checked ? undefined : this.#ready))
      .then(
        () => {
          this.open = true;
          invoke(opened, owner, null);
          owner.emit('open');
        },
        (error: unknown) => this.deliverError(opened, owner, toSqlite3Error(error)),
      );
    this.#order.setBarrier(this.#ready, true);
  }

  /** The session once open (rejects if opening failed). */
  get ready(): Promise<Session> {
    return this.#ready;
  }

  /** The pool behind the database once open. */
  get pool(): PoolReference['pool'] | undefined {
    return this.#reference?.pool;
  }

  /** Whether close() has completed. */
  closed = false;

  /** Whether close() was called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  get #readOnly(): boolean {
    return readOnlyMode(this.#owner.mode);
  }

  /** The session, once the pool's first connection has opened. */
  async #openSession(reference: PoolReference): Promise<Session> {
    await reference.opened;
    this.#session = databaseSession(reference);
    this.config.attach(this.#session);
    return this.#session;
  }

  /** node-sqlite3's rule for an error: to the callback if there is one, else an `error` event (of `emitter`, else the database's). */
  deliverError(callback: AnyCallback | undefined, self: unknown, error: Sqlite3Error, emitter: EventEmitter = this.#owner): void {
    deliverError(callback, self, error, emitter, this.#owner);
  }

  /** Turns trace or profile events on or off (node-sqlite3 follows `on`/`removeListener` calls, not the listener list). */
  configureEvent(event: 'trace' | 'profile', on: boolean): void {
    this.#events.configure(event, on);
  }

  /** Statements issued inside `callback` (or from now on) run one at a time, in order (`serialized`), or may run at once. */
  setMode(serialized: boolean, callback: (() => void) | undefined): void {
    const before = this.#serialized;
    this.#serialized = serialized;
    if (callback === undefined) return;
    try {
      callback();
    } finally {
      this.#serialized = before;
    }
  }

  /**
   * Queues one statement (or a script): after a serialized block or an open
   * transaction, reads after earlier writes, after `after` (the statement's
   * own earlier calls). What it returns settles when it has (see
   * queued-run.ts, `settles`); its error goes to `work.fail`. `exclusive`
   * (an `exec`): after every call before it, before every call after it.
   */
  schedule(sql: string, kind: Kind, work: Work, after?: Issued, exclusive = false): Issued {
    // While a close waits for earlier calls, node-sqlite3 runs a parallel call before it (the close waits for that too).
    if (this.#closing !== undefined && (this.#closeStarted || this.#serialized)) {
      // node-sqlite3's words: queued behind a close still to run, or issued after it ran.
      const closed = sqlite3Error('MISUSE', this.closed ? 'Database is closed' : 'Database handle is closed');
      return Promise.resolve().then(() => work.fail(closed));
    }
    // Transaction control, or a statement of a transaction: in order, after whatever came before.
    const inTransaction = this.#transaction.issue(sql, kind);
    const as = queuedAs(inTransaction, this.#serialized, this.#unanswered, exclusive);
    this.#unanswered++;
    if (as !== undefined) {
      const fields = { sql, kind, inTransaction, work };
      return queue(this.#order, as, fields, after, (call) => this.#startQueued(call));
    }
    let waiting = true;
    const answered = (): void => {
      if (waiting) this.#unanswered--;
      waiting = false;
    };
    const operation = this.#answering(work, answered);
    let started: Promise<void>;
    const session = after === undefined ? this.#clearNow(kind) : undefined;
    if (session !== undefined) {
      // Nothing to wait for (the usual one-shot call): it starts now, not a few promise hops later.
      started = this.#runCall(sql, kind, operation, session);
    } else {
      const waits = this.#order.waitFor(after === undefined ? undefined : settles(after), kind, false);
      started = this.#whenOpen(waits, (opened) => this.#runCall(sql, kind, operation, opened));
    }
    if (kind === 'write') this.#order.addWrite(started);
    return this.#track(started, answered, work, undefined);
  }

  /** Starts a queued call (the calls before it have settled); settles once it has been answered. */
  #startQueued(call: QueuedCall): Promise<void> {
    const answered = (): void => {
      if (call.unanswered) this.#unanswered--;
      call.unanswered = false;
    };
    const { sql, kind, inTransaction } = call;
    const operation = this.#answering(call.work, answered);
    const run = (session: Session): Promise<void> => this.#runCall(sql, kind, operation, session, inTransaction);
    // Both ways of running it are async functions: what they throw comes back as a rejection.
    const started = this.#session === undefined ? this.#ready.then(run) : run(this.#session);
    return this.#track(started, answered, call.work, undefined, call.inFlight);
  }

  /** `work` that calls `answered` once SQLite is done, before its callbacks run: a close() they call finds nothing queued. */
  #answering(work: Work, answered: () => void): Operation {
    return (target, options, ran) =>
      work.perform(target, options, () => {
        answered();
        ran();
      });
  }

  /**
   * Whether a one-shot call of `sql` may start at once, the short way of
   * {@link startNow}: open, not closing, in parallel mode, outside a
   * transaction, with nothing queued before it to wait for, fewer calls
   * unanswered than it keeps started (queued-run.ts), and no `trace` or
   * `profile` listener.
   */
  startsNow(sql: string, kind: 'read' | 'write'): boolean {
    return (
      this.#closing === undefined &&
      queuedAs(false, false, this.#unanswered) === undefined &&
      !this.#events.any &&
      !this.#transaction.open &&
      this.#clearNow(kind) !== undefined &&
      controlsNothing(sql)
    );
  }

  /** The session, if a call of `kind` has nothing to wait for: open, and nothing queued before it that it must follow. */
  #clearNow(kind: Kind): Session | undefined {
    return this.#session !== undefined && this.#order.clear(kind, this.#serialized) ? this.#session : undefined;
  }

  /**
   * Starts a call {@link startsNow} allowed, on the session: what
   * {@link schedule} does for it, with one promise instead of a chain.
   * `work.deliver` gets the result (or `work.fail` the error) before the call
   * leaves what close() and wait() wait for.
   */
  startNow<T>(kind: 'read' | 'write', work: QuickWork<T>): void {
    this.#unanswered++;
    let started: Promise<T>;
    try {
      started = work.query(this.#session!, { signal: this.#interrupt.signal });
    } catch (error) {
      started = Promise.reject(toSqlite3Error(error)); // its error is the call's, as on the long way
    }
    // Counted out of the writes in flight before its callback runs: a read issued there, or right after, starts at once.
    if (kind === 'write') this.#order.addWrite(started);
    void this.#track(started, this.#answeredOne, work, work);
  }

  /**
   * One promise per call for its outcome and its place in what close() and
   * wait() wait for: once `started` settles, `answered`, then `delivers` its
   * result (a call started at once; a queued call's work delivered its own)
   * or `work` its error, then it leaves that place.
   */
  #track<T>(
    started: Promise<T>,
    answered: () => void,
    work: Work,
    delivers: QuickWork<T> | undefined,
    call = this.#order.add(),
  ): Promise<void> {
    return started.then(
      (result) => {
        answered();
        try {
          delivers?.deliver(result);
        } finally {
          this.#order.settled(call);
        }
      },
      (error: unknown) => {
        answered();
        try {
          work.fail(toSqlite3Error(error));
        } finally {
          this.#order.settled(call);
        }
      },
    );
  }

  /** `next` once `waits` have settled, on the session (once open: no hop through the open's promise). */
  #whenOpen(waits: Promise<unknown>, next: (session: Session) => Promise<void>): Promise<void> {
    return waits.then(() => (this.#session === undefined ? this.#ready.then(next) : next(this.#session)));
  }

  /** Runs a call on `session`, or through the transaction: one of its statements when issued, or SQLite's is open now. */
  #runCall(sql: string, kind: Kind, operation: Operation, session: Session, inTransaction = false): Promise<void> {
    return inTransaction || this.#transaction.holds
      ? this.#transaction.run(sql, kind, operation, inTransaction)
      : this.#run(kind === 'compile' ? undefined : sql, operation, session);
  }

  /** Runs `operation` on `target`, with `trace` and `profile` events around it (none for checking a statement compiles: `sql` undefined). */
  #run(sql: string | undefined, operation: Operation, target: Target): Promise<void> {
    return this.#events.around(sql, operation, target, { signal: this.#interrupt.signal });
  }

  /** Interrupts the statements running or queued now: they fail with SQLITE_INTERRUPT. Throws before open, once closing has begun, after close. */
  interrupt(): void {
    if (this.#closeStarted) throw new Error(this.open ? 'Database is closing' : 'Database is not open');
    if (!this.open) throw new Error('Database is not open');
    const current = this.#interrupt;
    this.#interrupt = new AbortController();
    current.abort(sqlite3Error('INTERRUPT', 'interrupted'));
  }

  /**
   * Runs `callback` as node-sqlite3's exclusive wait does: in parallel mode
   * once nothing is in flight (calls made while it waits are waited for
   * too); in serialized mode after the calls before it and before those
   * after it, as any serialized call.
   */
  wait(callback: AnyCallback | undefined): void {
    const done = bindCallback(callback);
    const answer = (): void => invoke(done, this.#owner, null);
    if (!this.#serialized) return void this.#order.waited(true).then(answer);
    const waited = this.#order.waited(false).then(answer);
    this.#order.setBarrier(waited, true);
  }

  /** Runs `work` on the session once every call before it has settled, before any call after it (node-sqlite3's exclusive calls). */
  exclusive(work: (session: Session) => Promise<void>): Promise<void> {
    const done = this.#whenOpen(this.#order.drained(), work);
    this.#order.setBarrier(done, true);
    this.#order.track(done);
    return done;
  }

  /** Work that close() and wait() wait for besides statements: a statement's finalize, a backup's finish. */
  pending(work: Promise<unknown>): void {
    this.#order.track(work);
  }

  /**
   * Closes once the work queued before it has finished, and calls made
   * meanwhile in parallel mode (node-sqlite3 runs those first; once closing
   * has begun, or in serialized mode, they fail with SQLITE_MISUSE), rolling back a transaction left open;
   * the pool closes with the last `Database` on it. `callback(err)`, then
   * `close`. As in node-sqlite3, it fails with SQLITE_BUSY (and the database
   * stays open) if statements are still not finalized or backups not
   * finished when it comes to close.
   */
  close(callback: AnyCallback | undefined): void {
    const done = bindCallback(callback);
    if (this.#closing !== undefined) {
      // node-sqlite3's words: a close still under way, or one that is done.
      const error = sqlite3Error('MISUSE', this.closed ? 'Database is closed' : 'Database handle is closed');
      clock.queueMicrotask(() => this.deliverError(done, this.#owner, error));
      return;
    }
    // Closing begins at once when nothing is queued, else after what is (interrupt() tells the two apart).
    if (this.#unanswered === 0) this.#closeStarted = true;
    // With nothing queued it waits for the pool reference, not for its first connection (a thread's start away).
    const before = this.#unanswered === 0 && this.#order.quiet ? this.#reached.catch(() => {}) : this.#order.drainedAll();
    const closing = before.then(() => {
      this.#closeStarted = true;
      if (this.handles.any) throw sqlite3Error('BUSY', 'unable to close due to unfinalized statements or unfinished backups');
      return this.#shutdown();
    });
    this.#closing = closing;
    closing.then(
      () => {
        this.open = false;
        this.closed = true;
        invoke(done, this.#owner, null);
        this.#owner.emit('close');
      },
      (error: unknown) => {
        this.#closing = undefined;
        this.#closeStarted = false;
        this.deliverError(done, this.#owner, toSqlite3Error(error));
      },
    );
  }

  async #shutdown(): Promise<void> {
    await this.#transaction.abandon();
    await this.#session?.close();
    await this.#reference?.release();
  }
}
