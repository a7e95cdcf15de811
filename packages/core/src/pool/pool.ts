/**
 * The pool: the public face of litepool. Every method is a thin door into
 * the engine (pool/engine.ts), which routes statements, lends connections,
 * runs transactions and manages the lifecycle; the pool adds its events.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { BackupProgress } from '../backend.js';
import { msOption, optionsObject } from '../config/checks.js';
import type { Resolved, ResolvedPoolOptions } from '../config/options.js';
import { toError } from '../errors.js';
import type { Strategy } from '../strategy.js';
import type { Params, QueryOptions, Row, RunResult } from '../types.js';
import { restoreOptions, type AcquireOptions, type BackupOptions, type RestoreOptions, type TransactionOptions } from './call-rules.js';
import { Engine } from './engine.js';
import type { Lease } from './lease.js';
import { PortServer } from './port-server.js';
import { PoolPreparedStatement, type PreparedStatement } from './prepared.js';
import type { Queryable } from './query-methods.js';
import { POOL_SCOPE } from './scope.js';
import { restoreInto } from './restore.js';
import { PoolSession, type Session, type SessionOptions } from './session.js';
import type { PoolStats } from './stats.js';
import type { OpenTransaction } from './open-transaction.js';
import type { Transaction } from './transaction-scope.js';
import { LitepoolWarning } from './warning.js';

/** Options of {@link Pool.close}. */
export interface CloseOptions {
  /** How long to let queued work, transactions and leases finish before destroying the pool, in ms. Default: the pool's `closeTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** The events of a {@link Pool}. */
export interface PoolEvents {
  /**
   * A warning: a lease held past `leakDetectionMs`, a lease released inside a
   * transaction, a statement that could not be stopped. With no listener,
   * warnings go to `process.emitWarning`.
   */
  warning: [warning: LitepoolWarning];
}

/** A pool of SQLite connections. Create it with `createPool`. */
export class Pool extends EventEmitter<PoolEvents> implements Queryable {
  /** The strategy in use. */
  readonly strategy: Strategy;
  /** The options after defaults, frozen. */
  readonly options: ResolvedPoolOptions;

  readonly #engine: Engine;
  readonly #warned = new Set<string>();

  /** @internal Use `createPool`. */
  constructor(resolved: Resolved) {
    super();
    this.#engine = new Engine(resolved, (code, message, once) => this.#warn(code, message, once));
    this.options = this.#engine.options;
    this.strategy = this.#engine.strategy;
  }

  run(sql: string, params?: Params, options?: QueryOptions): Promise<RunResult> {
    return this.#engine.query('run', sql, params, options, POOL_SCOPE) as Promise<RunResult>;
  }

  get<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T | undefined> {
    return this.#engine.query('get', sql, params, options, POOL_SCOPE) as Promise<T | undefined>;
  }

  all<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.#engine.query('all', sql, params, options, POOL_SCOPE) as Promise<T[]>;
  }

  values<T extends unknown[] = unknown[]>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.#engine.query('values', sql, params, options, POOL_SCOPE) as Promise<T[]>;
  }

  /** Runs a script on the writer (a lone `CREATE … IF NOT EXISTS` or `DROP … IF EXISTS` may be answered by a reader: see sql/conditional-ddl.ts). */
  exec(sql: string, options?: QueryOptions): Promise<void> {
    return this.#engine.query('exec', sql, undefined, options, POOL_SCOPE) as Promise<void>;
  }

  /** Streams rows on a connection held until the loop ends (or breaks); a failing statement yields the rows before its error, then throws it. */
  iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    return this.#engine.stream<T>(sql, params, options, POOL_SCOPE);
  }

  /**
   * Runs `fn` in a transaction on a connection held until `fn` settles:
   * commits when it resolves, rolls back and rethrows when it throws. Use the
   * `tx` it receives for every statement inside.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return this.#engine.transaction(fn, options, POOL_SCOPE);
  }

  /**
   * Begins a transaction held until you end it with `commit()` or
   * `rollback()`, for code whose transactions are begin/commit calls rather
   * than a callback (an ORM's driver, a request spanning several handlers).
   * The same rules as {@link transaction}: end it, or its connection stays held.
   */
  begin(options?: TransactionOptions): Promise<OpenTransaction> {
    return this.#engine.begin(options, POOL_SCOPE);
  }

  /**
   * Leases a connection for exclusive use across awaits: the writer
   * (`write: true`) or a reader. Statements autocommit unless you BEGIN.
   * Call `release()` when done (in a `finally`): a transaction left open is
   * rolled back then, and a connection whose settings you changed is reset.
   */
  acquire(options?: AcquireOptions): Promise<Lease> {
    return this.#engine.acquire(options, POOL_SCOPE);
  }

  /**
   * A session: a view of the pool whose statements run with connection
   * settings of their own (`pragmas`, double-quoted strings), as if it had
   * its own connection, while it shares the pool's connections. A
   * connection-scoped `PRAGMA … = …` run through it changes its settings, not
   * a connection; TEMP objects and ATTACHed databases keep it on the writer,
   * where they live, until it closes. The node-sqlite3 drop-in makes one per
   * `Database`.
   */
  session(options: SessionOptions = {}): Session {
    const refused = this.#engine.lifecycle.refuse();
    if (refused !== undefined) throw refused;
    return new PoolSession(this.#engine, options);
  }

  /**
   * A prepared statement: its SQL is checked once, here, and crosses to each
   * connection once; each call sends only the statement's id and parameters,
   * and its route (reader or writer) is learnt on first use.
   */
  prepare(sql: string): PreparedStatement {
    return new PoolPreparedStatement(this.#engine, sql);
  }

  /**
   * Calls a procedure of the pool's `procedures` module by name: it runs in
   * a worker thread, synchronously, with the connection and `args` (values
   * that can cross threads: no functions). A write procedure runs on the
   * writer in a transaction of its own (under `single-writer`, group-committed
   * with other writes, in its own SAVEPOINT), acknowledged after COMMIT; one
   * marked read-only runs on a reader. Resolves with its return value;
   * rejects with what it threw (class, message and `code` kept).
   */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    return this.#engine.call(name, args) as Promise<T>;
  }

  /**
   * An online backup of the database to the file `destination`, taken on a
   * reader (the writer when there are none) from one consistent snapshot:
   * writers are not blocked in WAL mode, and with the rollback journal only
   * for as long as the copy holds its read lock. Resolves with the pages
   * copied once the copy is complete.
   */
  backup(destination: string, options?: BackupOptions): Promise<BackupProgress> {
    return this.#engine.backup(destination, options);
  }

  /**
   * Replaces the database with a copy of the database in the file `source`
   * (a backup, say), in one transaction on the writer: other connections see
   * the old database or the new one, never a mix, and a restore that fails
   * leaves the old one. Every table, view and trigger is dropped; the
   * source's are made again with their rows (rowids kept), indexes,
   * `user_version` and `application_id`; page size and encoding stay the
   * pool's. Rejects with `SQLITE_CANTOPEN` for a missing file, `SQLITE_NOTADB`
   * for one that is not a database, and `SQLITE_ERROR` for a source with
   * virtual tables (FTS, R*Tree: their contents are their modules') and for
   * the pool's own file. Resolves with the source's page count
   * (`remainingPages` 0). `options.signal` stops the wait for the writer.
   */
  async restore(source: string, options?: RestoreOptions): Promise<BackupProgress> {
    const { totalPages, remainingPages } = await restoreInto(this.#engine, source, restoreOptions(source, options, false), POOL_SCOPE);
    return { totalPages, remainingPages };
  }

  /**
   * A port for another thread (a worker thread the app runs itself): pass it
   * (in `transferList`) and build a client there with `connectClient(port)`,
   * which offers `run/get/all/exec/transaction` on this pool, sharing its
   * readers and its one writer. Closing the pool closes its clients after
   * their work drains; a client that closes rolls back what it left open.
   */
  connectPort(): MessagePort {
    const refused = this.#engine.lifecycle.refuse();
    if (refused !== undefined) throw refused;
    const { port1, port2 } = new MessageChannel();
    new PortServer(port1, this.#engine);
    return port2;
  }

  /** A snapshot of counters and gauges. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Stops accepting work, lets queued work, transactions and open leases
   * finish, then closes every connection. If that takes longer than
   * `timeoutMs` (default: the pool's `closeTimeoutMs`), what is left is
   * destroyed: queued calls and leases reject with `ERR_POOL_CLOSED` and
   * running statements are interrupted. Idempotent; never rejects (but for
   * bad options).
   */
  close(options?: CloseOptions): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = msOption('close.timeoutMs', optionsObject('close', options, ['timeoutMs']).timeoutMs, this.options.closeTimeoutMs);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return this.#engine.lifecycle.close(timeoutMs);
  }

  /**
   * Rejects queued work and revokes open leases now (with `ERR_POOL_CLOSED`,
   * `reason` as cause), interrupts running statements, then closes every
   * connection. Settles within about a second.
   */
  destroy(reason?: unknown): Promise<void> {
    return this.#engine.lifecycle.destroy(reason);
  }

  /** Reports a warning: as a `warning` event, or to process.emitWarning when nobody listens. */
  #warn(code: string, message: string, once = false): void {
    if (once) {
      if (this.#warned.has(code)) return;
      this.#warned.add(code);
    }
    const warning = new LitepoolWarning(code, message);
    if (this.listenerCount('warning') > 0) this.emit('warning', warning);
    else process.emitWarning(warning);
  }
}
