/**
 * @litepool/core: many concurrent workers sharing one SQLite database.
 *
 * ```ts
 * import { createPool, singleWriter } from '@litepool/core';
 * const pool = createPool({ filename: 'app.db', strategy: singleWriter({ maxBatch: 128 }) });
 * await pool.transaction(async (tx) => {
 *   const row = await tx.get<{ n: number }>('SELECT n FROM counter');
 *   await tx.run('UPDATE counter SET n = ?', [row!.n + 1]);
 * });
 * ```
 *
 * @module @litepool/core
 */
export { createPool } from './create-pool.js';
export { isBackend, type Backend } from './backend.js';
export type {
  Connection,
  ConnectionFactory,
  ConnectionFactoryMaker,
  ConnectionHooks,
  Op,
  Pending,
  Reclaimed,
  Request,
  SendOptions,
  Settings,
} from './pool/connection.js';
export { classify, parameters, statements, summarize } from './sql/statements.js';
export type { Parameter, StatementKind, StatementSpan, StatementSummary } from './sql/statements.js';
export { TransactionState, type TransactionStep } from './sql/transaction-state.js';
export { Pool, LitepoolWarning } from './pool/pool.js';
export type {
  AcquireOptions,
  BackupOptions,
  BatchCounts,
  CloseOptions,
  GroupCounts,
  PoolEvents,
  PoolStats,
  TransactionOptions,
} from './pool/pool.js';
export type { BackupProgress } from './pool/connection.js';
export { Lease } from './pool/lease.js';
export { Session } from './pool/pool-session.js';
export { PreparedStatement } from './pool/prepared.js';
export { readOnlyProcedure, type Procedure, type ReadOnlyProcedure, type SetupContext } from './procedures.js';
export type { SessionOptions } from './pool/pool-session.js';
export type { LeaseRelease } from './pool/lease.js';
export { connectClient } from './pool/port.js';
export type { ClientTransaction, PoolClient } from './pool/port.js';
export type { Queryable, Transaction, TransactionMode } from './pool/lease.js';
export type { BindValue, Params, QueryOptions, Row, RunResult } from './types.js';
export { DEFAULTS, defaultReaders, MAX_BATCH, MAX_READERS } from './config/options.js';
export { MAX_TIMER_MS } from './config/checks.js';
export type { Defaults, PoolOptions, ResolvedPoolOptions } from './config/options.js';
export { FREE_HOLD, isStrategy } from './strategy.js';
export type {
  AccessKind,
  ConnectionRole,
  JournalMode,
  MaintenanceConnection,
  PragmaValue,
  Strategy,
  StrategyCapabilities,
  StrategyConfig,
  StrategyContext,
  StrategyHold,
  WriteBatching,
} from './strategy.js';
export { wal, WalStrategy, type WalOptions, type ResolvedWalOptions } from './strategies/wal.js';
export { mutex, MutexStrategy, type MutexOptions } from './strategies/mutex.js';
export { singleWriter, SingleWriterStrategy, type SingleWriterOptions } from './strategies/single-writer.js';
export { fileLock, FileLockStrategy, type FileLockOptions, type ResolvedFileLockOptions } from './strategies/file-lock.js';
export { createStrategy, strategyNames } from './strategies/registry.js';
export { filesystemType, isNetworkFsType, onNetworkFilesystem } from './config/filesystem.js';
export {
  booleanOption,
  describe,
  enumOption,
  integerOption,
  msOption,
  optionsObject,
  rejectUnknownKeys,
  suggest,
} from './config/checks.js';
export type { IntegerRange } from './config/checks.js';
export {
  AbortError,
  AcquireTimeoutError,
  ArgumentError,
  ConnectionStateError,
  LitepoolError,
  LockCompromisedError,
  OptionsError,
  PoolClosedError,
  QueryError,
  QueueFullError,
  SetupError,
  SqliteError,
  StatementTimeoutError,
  StrategyError,
  TransactionError,
  WorkerCrashedError,
} from './errors.js';
export type { LitepoolErrorCode } from './errors.js';
