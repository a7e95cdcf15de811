/**
 * The rules of calls: per-call options objects (a transaction's, a lease's,
 * a backup's) parsed into what the engine uses, and what a one-shot
 * statement may not do.
 */
import type { BackupProgress } from '../backend.js';
import {
  booleanOption,
  enumOption,
  functionOption,
  integerOption,
  msOption,
  optionsObject,
  signalOption,
  stringOption,
} from '../config/checks.js';
import { ArgumentError, ConnectionStateError, TransactionError } from '../errors.js';
import { summarize } from '../sql/statements.js';
import type { TransactionMode } from './transaction-scope.js';

/** Options of a backup (see `Pool.backup`). */
export interface BackupOptions {
  /**
   * `api` (default): SQLite's online backup API, in steps, from one snapshot
   * (it never restarts, and in WAL mode writers go on beside it); an existing
   * destination is overwritten. `vacuum`: VACUUM INTO, a compacted copy in one
   * statement; the destination must not exist.
   */
  readonly method?: 'api' | 'vacuum';
  /**
   * Pages copied per step with the backup API; -1 copies all at once (and a
   * database of up to 4 MiB, in a pool with no reader open, is then copied on
   * the idle writer rather than on a reader that must start first). Default: 100.
   */
  readonly pagesPerStep?: number;
  /** Called after each step with how far the backup has come. */
  readonly progress?: (progress: BackupProgress) => void;
  /**
   * Stops the wait for a connection: rejects with `ABORT_ERR`, nothing
   * written. A copy that has started runs to its end, and the backup resolves.
   */
  readonly signal?: AbortSignal;
  /**
   * How long a destination another connection holds (locked) is waited for
   * before the backup fails with SQLITE_BUSY, in ms; 0 fails at once.
   * Default: the pool's `busyTimeoutMs`.
   */
  readonly busyTimeoutMs?: number;
  /**
   * The schema to copy into the destination's main database: `main`
   * (default), `temp`, or an ATTACHed database's name. `temp` and attached
   * databases belong to a connection: copy them with `Session.backup`, from
   * the session that made them. `temp` needs the `api` method (SQLite's
   * VACUUM of temp copies nothing). Default: `main`.
   */
  readonly schema?: string;
}

/** Options of a restore (see `Pool.restore`). */
export interface RestoreOptions {
  /**
   * The schema replaced: `main` (default), or, through a session, `temp` or
   * an ATTACHed database's name (they belong to its connection: restore them
   * with `Session.restore`).
   */
  readonly schema?: string;
  /**
   * Stops the wait for the writer: rejects with `ABORT_ERR`, nothing changed.
   * A copy that has started runs to its end, and the restore resolves.
   */
  readonly signal?: AbortSignal;
}

/** Options of a transaction (see `Pool.transaction`). */
export interface TransactionOptions {
  /**
   * `immediate` (default): takes the write lock at BEGIN, so a read-then-write never fails on the lock upgrade.
   * `deferred`: as SQLite's BEGIN DEFERRED, no lock until needed: reads on a reader, the writer at the first
   * write (SQLITE_BUSY_SNAPSHOT if another connection committed since the first read). `read`: a reader, one
   * consistent snapshot, writes refused.
   */
  readonly mode?: TransactionMode;
}

/** Options of a lease (see `Pool.acquire`). */
export interface AcquireOptions {
  /** Lease the writer (true) or a reader (false, default). */
  readonly write?: boolean;
  /** Gives up waiting when it aborts; the promise rejects with `ABORT_ERR`. */
  readonly signal?: AbortSignal;
}

/**
 * One-shot statements run on whichever connection is free, and the next
 * caller gets that connection as they left it: transaction control and
 * changes to the connection's settings are refused there.
 */
export function refuseOneShot(sql: string, stateAllowed = false): Error | undefined {
  const { transaction, savepoint, state } = summarize(sql);
  const control = transaction ?? savepoint;
  if (control !== undefined) {
    return new TransactionError(
      `${control} cannot run as a one-shot statement: it would leave its connection inside a transaction for the next caller; use pool.transaction(fn), pool.begin(), or a lease from pool.acquire({ write: true })`,
      'ERR_TRANSACTION_CONTROL',
    );
  }
  if (state !== undefined && !stateAllowed) {
    return new ConnectionStateError(
      `${state} changes one connection's settings, and a one-shot statement runs on whichever connection is free: set PRAGMAs for every connection with createPool({ pragmas }) (or a setup module), or run this on a lease from pool.acquire(), whose connection is reset when released`,
    );
  }
  return undefined;
}

const MODES: readonly TransactionMode[] = ['immediate', 'deferred', 'read'];

/** A transaction's mode, from its options. */
export function transactionMode(options: TransactionOptions | undefined): TransactionMode {
  return enumOption('transaction.mode', optionsObject('transaction', options, ['mode']).mode, MODES, 'immediate');
}

/** A lease's options, checked. */
export function leaseOptions(options: AcquireOptions | undefined): { readonly write: boolean; readonly signal: AbortSignal | undefined } {
  const raw = optionsObject('acquire', options, ['write', 'signal']);
  return { write: booleanOption('acquire.write', raw.write, false), signal: signalOption('acquire.signal', raw.signal) };
}

/**
 * A backup's destination and options, checked, with their defaults; `pinned`:
 * the caller's session keeps state on one connection, where a schema other
 * than main (TEMP objects, an ATTACHed database) lives.
 */
export function backupOptions(
  destination: unknown,
  options: BackupOptions | undefined,
  pinned: boolean,
): {
  readonly method: 'api' | 'vacuum';
  readonly pagesPerStep: number;
  readonly progress: ((progress: BackupProgress) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  /** -1: the pool's. */
  readonly busyTimeoutMs: number;
  readonly schema: string;
} {
  const raw = optionsObject('backup', options, ['method', 'pagesPerStep', 'progress', 'signal', 'busyTimeoutMs', 'schema']);
  const schema = stringOption('backup.schema', raw.schema) ?? 'main';
  const name = schema.toLowerCase(); // as SQLite compares schema names
  if (typeof destination !== 'string' || destination.length === 0)
    throw new ArgumentError(`backup(destination) needs a file path, got ${typeof destination}`);
  if (name !== 'main' && !pinned)
    throw new ArgumentError(`backup: schema "${schema}" belongs to one connection; back it up with the session that made it`);
  // SQLite's VACUUM of temp does nothing, INTO a file too: it would leave no copy.
  if (name === 'temp' && raw.method === 'vacuum')
    throw new ArgumentError('backup: VACUUM INTO cannot copy the temp schema; use method "api"');
  return {
    method: enumOption('backup.method', raw.method, ['api', 'vacuum'], 'api'),
    pagesPerStep: raw.pagesPerStep === -1 ? -1 : integerOption('backup.pagesPerStep', raw.pagesPerStep, 100, 1, { max: 2 ** 31 - 1 }),
    progress: functionOption<(progress: BackupProgress) => void>('backup.progress', raw.progress),
    signal: signalOption('backup.signal', raw.signal),
    busyTimeoutMs: msOption('backup.busyTimeoutMs', raw.busyTimeoutMs, -1),
    schema,
  };
}

/** A restore's source and options, checked (`pinned` as for {@link backupOptions}). */
export function restoreOptions(
  source: unknown,
  options: RestoreOptions | undefined,
  pinned: boolean,
): { readonly schema: string; readonly signal: AbortSignal | undefined } {
  const raw = optionsObject('restore', options, ['schema', 'signal']);
  const schema = stringOption('restore.schema', raw.schema) ?? 'main';
  if (typeof source !== 'string' || source.length === 0) throw new ArgumentError(`restore(source) needs a file path, got ${typeof source}`);
  if (schema.toLowerCase() !== 'main' && !pinned)
    throw new ArgumentError(`restore: schema "${schema}" belongs to one connection; restore it with a session (session.restore)`);
  return { schema, signal: signalOption('restore.signal', raw.signal) };
}
