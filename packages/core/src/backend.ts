/**
 * The backend contract: where a pool's connections come from and what the
 * pool asks of them. The default backend is worker threads, each owning a
 * better-sqlite3 connection to a local file (`local/`); `@litepool/dqlite`
 * is another. Above this line everything is the same for every backend: the
 * pool's API, its lanes and queues, routing, leases, transactions and group
 * commit. A third backend is written by implementing {@link Backend} and
 * {@link Connection} and passing the contract suite (test/helpers/contract.ts).
 */
import type { LitepoolError } from './errors.js';
import type { ConnectionRole, PragmaValue, Strategy, StrategyContext } from './strategy.js';
import type { Params } from './types.js';

/** Batches a lane keeps sent to one connection at once: one running, one waiting behind it (connections size their queues by it). */
export const PIPELINE_DEPTH = 2;

/** What a request asks a connection to do. */
export type Op = 'run' | 'get' | 'all' | 'values' | 'exec' | 'iterate' | 'next' | 'close-cursor' | 'backup' | 'call';

/** Whether `op` reads rows in one shot (`get`, `all`, `values`): what may run on the calling thread, in a reader's snapshot, or again. */
export function readsRows(op: Op): boolean {
  return op === 'get' || op === 'all' || op === 'values';
}

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
  /** Run-time limits (SQLite's `SQLITE_LIMIT_*` category → value), set on the connection while these settings are in force. */
  readonly limits: Readonly<Record<number, number>>;
  /** Report the rows its statements change (SQLite's update hook) with each result. */
  readonly watchChanges: boolean;
  /** SQLite extensions (shared libraries, as `sqlite3_load_extension` takes them) loaded into a connection before it runs these settings' requests; SQLite cannot unload one, so it stays loaded there. */
  readonly extensions: readonly string[];
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
  /** What to do. */
  readonly op: Op;
  /** The SQL (a backup's destination path, a procedure's name). */
  readonly sql: string;
  /** Its parameters (a backup's `[method, pagesPerStep]`, a procedure's arguments). */
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
  /** With `final`: if SQLite keeps the transaction open after the COMMIT failed (an unmet deferred constraint), keep it. */
  readonly keepOpen?: boolean;
  /** A read the readers lent to an idle writer (none of them was open): if it runs long there, it is stopped and given back to them. */
  readonly lent?: boolean;
}

/** Someone waiting for one request's result, with the limits of that call. */
export interface Pending {
  /** Called with the result. */
  resolve(value: unknown): void;
  /** Called with the request's error. */
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
  /**
   * The cache epoch of the strategy hold the batch runs under (see
   * `StrategyHold.epoch`): a connection that last ran under another epoch
   * drops what it cached (a worker reopens its connection) before running.
   */
  readonly epoch?: number;
  /** Group-commit the batch: one transaction, each request its own member (see pool/group-commit.ts). */
  readonly group?: boolean;
  /** One-shot statements (not a lease's): each must leave the connection in autocommit. */
  readonly oneShot?: boolean;
  /** Aborts when the strategy's hold is lost: run nothing more of the batch, commit nothing. */
  readonly holdSignal?: AbortSignal;
}

/** What a pool hears from a connection. */
export interface ConnectionHooks {
  /** The connection died unexpectedly; its in-flight requests were rejected with `error`. */
  onCrash(error: LitepoolError): void;
  /** The connection retried statements that met SQLITE_BUSY. */
  onRetries(count: number): void;
  /** A statement has run for a while with requests waiting behind it on this connection (see {@link Connection.reclaim}). */
  onStall(connection: Connection): void;
  /** Reads the connection stopped before answering them (one holding earlier answers of its batch, or a read lent to the writer) and gives back: the pool runs them again, first, on its readers. */
  onReturned(items: readonly Reclaimed[]): void;
  /** Something the application should know about (a statement abandoned, a leader changed, …). */
  onWarning(code: string, message: string): void;
}

/** A request taken back from a connection before it started, to run elsewhere. */
export interface Reclaimed {
  /** The request. */
  readonly request: Request;
  /** Its caller. */
  readonly waiter: Pending;
}

/** One connection to the database, driven by a lane of the pool. */
export interface Connection {
  /** Set once the connection is gone (crashed, closed, or given up as stuck); every later send rejects with it. */
  readonly dead: LitepoolError | undefined;
  /** Whether a transaction was open on the connection after its last answered request. */
  readonly transactionOpen: boolean;
  /**
   * Sends a batch; each request's waiter settles when it is answered. The
   * returned promise resolves once the whole batch is answered, taken back,
   * or the connection is gone; it never rejects.
   */
  send(requests: readonly Request[], waiters: readonly Pending[], options?: SendOptions): Promise<void>;
  /**
   * Holds `request` (a transaction's COMMIT, its connection already handed
   * on) to go in front of whatever is sent next, or alone on the next turn:
   * it always runs before anything sent after it. Optional: without it the
   * pool sends the COMMIT and waits for it before handing the connection on.
   */
  carry?(request: Request, waiter: Pending): void;
  /** Its holder changed the connection's settings: it returns to the pool's own before it is used again. */
  reset(): void;
  /** Whether running under a hold of `epoch` would first (re)open it, which can fail. */
  opensFor(epoch: number): boolean;
  /** Stops everything sent: what has not started never runs, what runs is interrupted; callers get `reason`. */
  stopAll(reason: Error): void;
  /** Closes the connection: waits up to `graceMs` for it to finish, then gives it up. Never rejects. */
  close(graceMs?: number): Promise<void>;
  /** Whether its current statement has run long enough that it should take no more work (optional: head-of-line relief). */
  readonly stalled?: boolean;
  /** Takes back every request sent but not started, in order; they will not run here (optional: head-of-line relief). */
  reclaim?(): Reclaimed[];
}

/** What the calling thread made of a read: its result, or (a probe) that its statement writes, so it goes to the writer. */
export type InlineAnswer = { readonly writes: false; readonly value: unknown } | { readonly writes: true };

/** Reads answered on the calling thread, without a round trip to a connection. */
export interface InlineReader {
  /**
   * Answers `request` (a one-shot `get`, `all` or `values`; with `probe`, one
   * never seen, which may write) here, within a short time budget, or returns
   * undefined: the pool then sends it to a reader as usual. `timeoutMs` is
   * the caller's limit, if any.
   */
  run(request: Request, timeoutMs: number | undefined): InlineAnswer | undefined;
  /** Reads answered here since the pool started. */
  readonly count: number;
  /** Whether reads here stopped for the rest of this turn, its time budget used (they run again on the next). */
  readonly spent: boolean;
  /**
   * Asked only while no reader is open: whether the read offered now should
   * be lent to the writer (once nothing waits for it, runs on it or holds it
   * but reads lent before) rather than run here. A young pool's
   * reads are: while what bounds their time here (a thread of its own) is
   * starting, so they wait for no reader to start, and its first few before
   * the connection here opens, which costs more than their round trips to
   * the writer. `fileReady`: the writer has opened the file.
   */
  lends(fileReady: boolean): boolean;
  /**
   * Whether reads may run here before the writer has opened the file: it is
   * a database already, which the writer's open changes nothing of that a
   * read sees (it is in WAL mode, or the pool only reads), and what bounds a
   * read's time here is running. Absent: they may not.
   */
  readsBeforeWriter?(): boolean;
  /** Whether a read lent to the writer is stopped there if it runs long (the interrupt extension loads); absent: it is not, and no stream is lent. */
  readonly stopsLentReads?: boolean;
}

/** A backend bound to one pool: the place, the strategy, and how to open connections there. */
export interface BackendBinding {
  /** Where the database is, for `pool.options.filename` and messages (a path, `dqlite://…`). */
  readonly location: string;
  /** How access is coordinated there. */
  readonly strategy: Strategy;
  /** What the strategy's `init` is told. */
  readonly strategyContext: StrategyContext;
  /** The backend's own pool options after defaults; they become part of `pool.options`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The most readers the place allows, and why (an in-memory database: 0, one connection holds it); undefined: no limit of its own. */
  readonly maxReaders?: { readonly count: number; readonly reason: string };
  /**
   * Whether `open` takes `ready`: it may start at once (a thread, a socket)
   * but must not open the database before `ready` resolves. Otherwise the
   * pool calls `open` only once the connection may open.
   */
  readonly startsEarly?: boolean;
  /** Whether its connections load the extensions of a session's settings (`Settings.extensions`); a backend that cannot leaves this unset. */
  readonly loadsExtensions?: boolean;
  /** The database's size in bytes now (its file and WAL), where the backend can tell cheaply; undefined otherwise. */
  sizeBytes?(): number | undefined;
  /**
   * Whether readers may open before the writer has: the database is there
   * already and the writer's open changes nothing a reader sees (it is in WAL
   * mode and the strategy keeps it so, or the pool only reads). Absent:
   * readers wait for the writer.
   */
  readersBeforeWriter?(): boolean;
  /**
   * Opens a connection playing `role`; its events go to `hooks`. When
   * `signal` aborts before it is open (the pool is being destroyed), it stops
   * trying and rejects. With `ready` (see `startsEarly`), the database is
   * opened only once it resolves; if it rejects, `open` rejects with its error.
   */
  open(role: ConnectionRole, hooks: ConnectionHooks, signal: AbortSignal, ready?: Promise<void>): Promise<Connection>;
  /**
   * The procedures its connections can run, by name (true: read-only), known
   * once a connection has opened; undefined before, or when there are none.
   */
  procedures?(): ReadonlyMap<string, boolean> | undefined;
  /**
   * Whether `sql` only reads, when the backend can tell from the text alone;
   * undefined to let a reader find out (it prepares the statement). A
   * backend that answers is never sent probes.
   */
  readsOnly?(sql: string): boolean | undefined;
  /**
   * Answers short reads on the calling thread, where the backend can (see
   * {@link InlineReader}); the pool asks it only for one-shot reads (of the
   * pool or a session, with its settings) once the writer has opened (the file exists).
   */
  readonly inline?: InlineReader;
  /** Releases what the binding holds. Called once, after the pool has closed its connections. */
  close(): void;
}

/** The pool-wide options a backend may need, resolved, when it binds. */
export interface CommonOptions {
  /** Longest run of one statement, in ms (0: no limit). */
  readonly statementTimeoutMs: number;
  /** SQLite's busy timeout, in ms. */
  readonly busyTimeoutMs: number;
  /** INTEGER columns as bigint. */
  readonly safeIntegers: boolean;
  /** Most one-shot requests per batch. */
  readonly maxBatch: number;
  /** Rows per message of `iterate()`. */
  readonly iterateChunkRows: number;
}

/** A kind of connection for a pool: `createPool({ backend })` (default: worker threads on a local file). */
export interface Backend {
  /** Its kind, e.g. `worker-threads`, `dqlite`. */
  readonly kind: string;
  /** The pool options only this kind takes (besides the common ones); other kinds' options are refused with it. */
  readonly ownOptions: readonly string[];
  /** Reader connections when `readers` is not given. */
  readonly defaultReaders: number;
  /**
   * Binds the backend to one pool: checks the options that concern it
   * (throwing `OptionsError`), and says where the data is and how access is
   * coordinated. Synchronous, so that `createPool` throws what it finds.
   */
  bind(given: Readonly<Record<string, unknown>>, common: CommonOptions): BackendBinding;
}

/** Whether `value` looks like a {@link Backend}. */
export function isBackend(value: unknown): value is Backend {
  const candidate = value as Partial<Backend> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.kind === 'string' &&
    Array.isArray(candidate.ownOptions) &&
    typeof candidate.bind === 'function'
  );
}
