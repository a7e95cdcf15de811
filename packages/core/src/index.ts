/**
 * @litepool/core: many concurrent workers sharing one SQLite database.
 *
 * ```ts
 * import { createPool } from '@litepool/core';
 * const pool = createPool({ filename: 'app.db', strategy: 'wal' });
 * await pool.transaction(async (tx) => {
 *   const row = await tx.get<{ n: number }>('SELECT n FROM counter');
 *   await tx.run('UPDATE counter SET n = ?', [row!.n + 1]);
 * });
 * ```
 */
export { createPool, Pool } from './pool.js';
export type { AcquireOptions, PoolStats, TransactionOptions } from './pool.js';
export { Lease } from './session.js';
export { connectClient } from './port.js';
export type { ClientTransaction, PoolClient } from './port.js';
export type { Queryable, Row, Transaction, TransactionMode } from './session.js';
export type { BindValue, Params, RunResult } from './protocol.js';
export { DEFAULTS, defaultReaders } from './options.js';
export type { PoolOptions, ResolvedPoolOptions } from './options.js';
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
export { filesystemType, isNetworkFsType, onNetworkFilesystem } from './filesystem.js';
export { rejectUnknownKeys, integerOption, describe, suggest } from './options.js';
export {
  AbortError,
  AcquireTimeoutError,
  ArgumentError,
  LitepoolError,
  LockCompromisedError,
  OptionsError,
  PoolClosedError,
  QueryError,
  QueueFullError,
  SqliteError,
  StrategyError,
  TransactionError,
  WorkerCrashedError,
} from './errors.js';
export type { LitepoolErrorCode } from './errors.js';
