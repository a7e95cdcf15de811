/**
 * The contract between a lane and the connections it drives. A lane queues
 * requests, batches them and lends whole connections; a connection runs the
 * requests it is sent, in order, and answers each one. The worker-thread
 * connection (`local/`) implements it; so can any other kind of connection.
 */
import type { LitepoolError } from '../errors.js';
import type { ResolvedPoolOptions } from '../config/options.js';
import type { ConnectionRole, PragmaValue, Strategy } from '../strategy.js';
import type { Params } from '../types.js';

/** What a request asks a connection to do. */
export type Op = 'run' | 'get' | 'all' | 'values' | 'exec' | 'iterate' | 'next' | 'close-cursor' | 'backup' | 'call';

/**
 * Connection settings a session's statements run with (see `Pool.session`):
 * a connection switches to them before running the session's requests and
 * back to the pool's own before running anyone else's.
 */
export interface Settings {
  /** Identity: requests with the same id run with the same settings; a lane never batches two ids together. */
  readonly id: number;
  /** Connection-scoped PRAGMAs (foreign_keys, cache_size, …). */
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  /** Allow double-quoted string literals (node-sqlite3's default), when set. */
  readonly doubleQuotedStrings: boolean | undefined;
}

/** How far an online backup has come. */
export interface BackupProgress {
  /** Pages in the database being copied. */
  readonly totalPages: number;
  /** Pages still to copy. */
  readonly remainingPages: number;
}

/** One request inside a batch. */
export interface Request {
  readonly op: Op;
  readonly sql: string;
  readonly params: Params | undefined;
  /** A one-shot read sent to a reader before its route is known: answer `reroute` if the statement writes. */
  readonly probe?: boolean;
  /** Part of a read-only transaction or lease: refuse statements that write, even on the writer. */
  readonly readOnly?: boolean;
  /** Part of a transaction the pool began: fail with `ERR_TRANSACTION_ABORTED` if SQLite has ended it. */
  readonly inTransaction?: boolean;
  /** The cursor of `next` and `close-cursor`. */
  readonly cursor?: number;
  /** The settings of the session it belongs to (undefined: the pool's own). */
  readonly settings?: Settings;
  /** A prepared statement's id (see `Pool.prepare`): a connection that knows it gets the id instead of the SQL. */
  readonly statementId?: number;
  /** The pool's COMMIT of a transaction: if it fails, the connection rolls back at once (the next holder may already wait behind it). */
  readonly final?: boolean;
}

/** Someone waiting for one request's result, with the limits of that call. */
export interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Called instead of resolve/reject when a reader finds the statement writes. */
  reroute?(): void;
  /** For a probe that ran: whether its statement writes (called before resolve). */
  learn?(writes: boolean): void;
  /** For a backup: its progress after each step. */
  progress?(progress: BackupProgress): void;
  /** Longest time the statement may run once started, in ms; 0 or undefined: no limit. */
  readonly timeoutMs?: number;
  /** Stops the request: before it starts it never runs; while it runs it is interrupted. */
  readonly signal?: AbortSignal;
}

/** Options of one batch. */
export interface SendOptions {
  /** Reopen the connection first (its cache epoch is out of date, or its state must be reset). */
  readonly reopen?: boolean;
  /** Group-commit the batch: one transaction, each request in its own SAVEPOINT. */
  readonly group?: boolean;
  /** One-shot statements (not a lease's): each must leave the connection in autocommit. */
  readonly oneShot?: boolean;
  /** Shared flag the connection checks between requests; 1 means stop (the strategy's hold was lost). */
  readonly abortFlag?: Int32Array | undefined;
}

/** What a lane hears from a connection. */
export interface ConnectionHooks {
  /** The connection died unexpectedly; its in-flight requests were rejected with `error`. */
  onCrash(error: LitepoolError): void;
  /** The connection retried statements that met SQLITE_BUSY. */
  onRetries(count: number): void;
  /** A statement has run for a while with requests waiting behind it on this connection. */
  onStall(connection: Connection): void;
  /** Something the application should know about (a statement abandoned, …). */
  onWarning(code: string, message: string): void;
}

/** A request taken back from a connection before it started, to run elsewhere. */
export interface Reclaimed {
  readonly request: Request;
  readonly waiter: Pending;
}

/** One connection to the database, driven by a lane. */
export interface Connection {
  /** The cache epoch this connection's page cache is valid for (-1: must reopen before use). */
  epoch: number;
  /** Set once the connection is gone (crashed, closed, or given up as stuck); every later send rejects with it. */
  readonly dead: LitepoolError | undefined;
  /** Whether the connection's current statement has run long enough that it should take no more work. */
  readonly stalled: boolean;
  /**
   * Sends a batch; each request's waiter settles when it is answered. The
   * returned promise resolves once the whole batch is answered, taken back,
   * or the connection is gone; it never rejects.
   */
  send(requests: readonly Request[], waiters: readonly Pending[], options?: SendOptions): Promise<void>;
  /**
   * Holds `request` (a transaction's COMMIT, its writer already handed on)
   * to go in front of whatever is sent next on this connection, or alone on
   * the next turn: it always runs before anything sent after it. Optional: a
   * connection without it gets the request sent at once.
   */
  carry?(request: Request, waiter: Pending): void;
  /** Whether a transaction was open on the connection after its last answered request. */
  readonly transactionOpen: boolean;
  /** The procedures this connection can run (see `PoolOptions.procedures`), by name: whether each is read-only. */
  readonly procedures?: ReadonlyMap<string, boolean>;
  /** Takes back every request sent but not started (in order); they will not run here. */
  reclaim(): Reclaimed[];
  /** Stops everything sent: what has not started never runs, what runs is interrupted; callers get `reason`. */
  stopAll(reason: Error): void;
  /** Closes the connection: waits up to `graceMs` for it to finish, then gives it up. Never rejects. */
  close(graceMs?: number): Promise<void>;
}

/** How a pool opens its connections: the worker-thread kind, or another kind (a remote engine). */
export interface ConnectionFactory {
  /** Opens a connection playing `role`; its events go to `hooks`. */
  open(role: ConnectionRole, hooks: ConnectionHooks): Promise<Connection>;
  /** Releases what the factory holds. Called once when the pool has closed its connections. */
  close(): void;
}

/** Builds a pool's {@link ConnectionFactory} from its resolved options and strategy. */
export type ConnectionFactoryMaker = (options: ResolvedPoolOptions, strategy: Strategy) => ConnectionFactory;
