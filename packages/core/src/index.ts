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
export { isBackend, PIPELINE_DEPTH } from './backend.js';
export type {
  Backend,
  BackendBinding,
  BackupProgress,
  CommonOptions,
  Connection,
  ConnectionHooks,
  InlineAnswer,
  InlineReader,
  Op,
  Pending,
  Reclaimed,
  Request,
  SendOptions,
  Settings,
} from './backend.js';
export { workerThreads } from './local/backend.js';
export { classify, onlyQueries, parameters, statements, summarize } from './sql/statements.js';
export { mayBeNoOp } from './sql/conditional-ddl.js';
export type { Parameter, StatementKind, StatementSpan, StatementSummary } from './sql/statements.js';
export { TransactionState, type TransactionStep } from './sql/transaction-state.js';
export { Pool } from './pool/pool.js';
export type { CloseOptions, PoolEvents } from './pool/pool.js';
export { LitepoolWarning } from './pool/warning.js';
export type { AcquireOptions, BackupOptions, RestoreOptions, TransactionOptions } from './pool/call-rules.js';
export type { BatchCounts, GroupCounts, PoolStats } from './pool/stats.js';
export type { Lease, LeaseRelease } from './pool/lease.js';
export type { Session, SessionOptions } from './pool/session.js';
export type { RowChange } from './pool/row-changes.js';
export type { PreparedStatement } from './pool/prepared.js';
export type { Queryable } from './pool/query-methods.js';
export type { Transaction, TransactionMode } from './pool/transaction-scope.js';
export type { CommitOptions, OpenTransaction } from './pool/open-transaction.js';
export { driveGroup, driveGroupAsync, failedOnAMember, groupCommit } from './pool/group-commit.js';
export type { GroupOptions, GroupStep, MemberOutcome, StepResult } from './pool/group-commit.js';
export { connectClient } from './pool/port-client.js';
export type { ClientTransaction, PoolClient } from './pool/port-client.js';
export { readOnlyProcedure, type Procedure, type ReadOnlyProcedure, type SetupContext } from './procedures.js';
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
export { filesystemType, isNetworkFsType, onNetworkFilesystem } from './local/filesystem.js';
export { sqliteBuild, type SqliteBuild } from './local/sqlite-build.js';
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
  CommitUnknownError,
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
export * as clock from './timers.js';
export { channels as diagnosticsChannels } from './diagnostics.js';
export type {
  BatchMessage,
  ConnectionReplacedMessage,
  LockWaitTrace,
  QueryTrace,
  TransactionGroupMessage,
  TransactionTrace,
} from './diagnostics.js';
