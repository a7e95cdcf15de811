/**
 * The Strategy interface: how a pool coordinates access to its database.
 *
 * The pool owns the plumbing (worker threads, queues, batching, routing,
 * transactions). A strategy decides coordination: the journal mode its
 * connections open with, what must be held around a read or a write (an
 * in-process lock, a cross-host file lock, or nothing beyond SQLite's own
 * locks), whether one-shot writes are group-committed, and what maintenance
 * the idle writer does. Implementations live in `@litepool/strategies`; a
 * custom object that satisfies this interface works too.
 */

/** The part a connection plays: the single writer, or one of the read-only readers. */
export type ConnectionRole = 'writer' | 'reader';

/** What a dispatch needs: reads on a reader, or writes (and transactions) on the writer. */
export type AccessKind = 'read' | 'write';

/** A PRAGMA value: numbers and booleans as is, strings as bare words (`FULL`, `NORMAL`). */
export type PragmaValue = string | number | boolean;

/** The SQLite journal modes a strategy may run in. */
export type JournalMode = 'wal' | 'delete' | 'truncate' | 'persist';

/** What a strategy guarantees, as flags the pool, tests and docs can rely on. */
export interface StrategyCapabilities {
  /** Correct when several processes on one host open the database, each with its own pool. */
  readonly crossProcess: boolean;
  /** Correct when several hosts open the database over a network or FUSE filesystem. */
  readonly networkSafe: boolean;
  /** Reads may run on several readers at once. */
  readonly concurrentReads: boolean;
  /** Reads may run while a write is in progress. */
  readonly readsDuringWrite: boolean;
}

/** Access granted by {@link Strategy.acquire}, given back with {@link StrategyHold.release}. */
export interface StrategyHold {
  /**
   * The cache epoch of this hold. A connection that last ran under a different
   * epoch drops its page cache (the pool reopens it) before running: another
   * host may have written since. Strategies without that concern return 0.
   */
  readonly epoch: number;
  /**
   * Aborts when the hold is lost (a cross-process lock taken over by another
   * process). The pool then stops sending work under it, rolls back, and
   * rejects with the signal's reason. Undefined when the hold cannot be lost.
   */
  readonly signal: AbortSignal | undefined;
  /**
   * Throws (a `LockCompromisedError`) when the hold can no longer be trusted,
   * even before `signal` has fired: e.g. the event loop stalled past the
   * lock's stale time. The pool calls it synchronously before sending work
   * under the hold, COMMIT included. Optional.
   */
  assertHeld?(): void;
  /** Gives the access back. The pool calls it exactly once per hold. */
  release(): void;
}

/** Group commit: many queued one-shot writes in one transaction, one COMMIT. */
export interface WriteBatching {
  /** Most one-shot writes committed together. */
  readonly maxBatch: number;
  /** Longest time the writer waits for more writes before it commits a batch that is not full. */
  readonly maxWaitMs: number;
  /**
   * Also group queued `pool.transaction` calls (mode `immediate`): one outer
   * transaction and one COMMIT for up to `maxBatch` of them, each in its own
   * SAVEPOINT (rolled back alone on a throw), each acknowledged only after the
   * shared COMMIT. A COMMIT that fails on a deferred constraint one member
   * violated runs each again in a transaction of its own (so only that one
   * fails); any other failed COMMIT (an I/O error) rejects every member.
   * Default: false.
   */
  readonly transactions?: boolean;
}

/** The writer connection, lent to {@link Strategy.onWriterIdle} for maintenance. */
export interface MaintenanceConnection {
  /** Runs a statement on the idle writer and returns its rows. */
  all(sql: string): Promise<Record<string, unknown>[]>;
}

/** What the pool tells a strategy when it starts. */
export interface StrategyContext {
  /** Absolute path of the database file. */
  readonly filename: string;
  /** Whether the database lives on a network or FUSE filesystem (NFS, SMB, sshfs, …). */
  readonly networkFilesystem: boolean;
}

/**
 * How a pool coordinates access. The pool calls {@link init} once before the
 * first connection opens, {@link acquire} around every dispatch (a batch of
 * one-shot statements, a transaction, a lease), {@link onWriterIdle} when the
 * writer has nothing queued, and {@link close} once when the pool closes.
 */
export interface Strategy {
  /** Stable name, also accepted by `createPool({ strategy: name })`. */
  readonly name: string;
  /** What the strategy guarantees. */
  readonly capabilities: StrategyCapabilities;
  /** The journal mode every connection uses; the writer sets it. */
  readonly journalMode: JournalMode;
  /**
   * When true, connections touch the database only under a hold: they open
   * lazily, with the first work sent under a hold, never when their thread
   * starts. Needed when SQLite's own locks are not seen by other hosts: a
   * connection opening outside the lock could take another host's live
   * journal for a hot one and roll it back. Default: false.
   */
  readonly openUnderHold?: boolean;
  /** When set, one-shot writes are group-committed in batches; when undefined each is its own transaction. */
  readonly writeBatching: WriteBatching | undefined;
  /**
   * Extra PRAGMAs a connection of `role` opens with (before the user's
   * `pragmas`, which win). `journal_mode` is not allowed here: use {@link journalMode}.
   */
  pragmas(role: ConnectionRole): Readonly<Record<string, PragmaValue>>;
  /**
   * Prepares the strategy for one database (create lock paths, refuse an
   * unsupported filesystem). Rejecting fails every request of the pool with
   * that error. Called once per pool; a strategy instance serves one pool.
   */
  init(context: StrategyContext): Promise<void>;
  /**
   * Grants access for one dispatch. May return synchronously when nothing must
   * be waited for. Rejects with the signal's reason when `signal` aborts.
   */
  acquire(kind: AccessKind, signal?: AbortSignal): StrategyHold | Promise<StrategyHold>;
  /** Maintenance when the writer has gone idle (a WAL checkpoint, …). Errors are counted, not thrown to callers. */
  onWriterIdle?(writer: MaintenanceConnection): Promise<void>;
  /** Strategy-specific figures merged into `pool.stats().strategy`. */
  stats?(): Readonly<Record<string, number | string | boolean>>;
  /** Releases what {@link init} took. Called once when the pool closes. */
  close(): Promise<void>;
}

/** A strategy by name with its options, as it can come from JSON or the environment. */
export interface StrategyConfig {
  /** The strategy's name: `wal`, `mutex`, `single-writer`, `file-lock`. */
  readonly name: string;
  /** The strategy's own options. */
  readonly [option: string]: unknown;
}

/** A hold with nothing to release, for strategies that rely on SQLite's own locks. */
export const FREE_HOLD: StrategyHold = Object.freeze({ epoch: 0, signal: undefined, release() {} });

/** Whether `value` looks like a {@link Strategy} instance rather than a config object. */
export function isStrategy(value: unknown): value is Strategy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Strategy).name === 'string' &&
    typeof (value as Strategy).acquire === 'function' &&
    typeof (value as Strategy).init === 'function'
  );
}
