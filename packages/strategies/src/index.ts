/**
 * @litepool/strategies: kept so that code written for litepool 0.1 keeps
 * working. The strategies now live in `@litepool/core`, which exports the
 * same names; import them from there.
 *
 * ```ts
 * import { createPool, wal } from '@litepool/core';
 * const pool = createPool({ filename: 'app.db', strategy: wal({ maxWalBytes: 16 << 20 }) });
 * ```
 */
export {
  wal,
  WalStrategy,
  mutex,
  MutexStrategy,
  singleWriter,
  SingleWriterStrategy,
  fileLock,
  FileLockStrategy,
  createStrategy,
  strategyNames,
} from '@litepool/core';
export type {
  WalOptions,
  ResolvedWalOptions,
  MutexOptions,
  SingleWriterOptions,
  FileLockOptions,
  ResolvedFileLockOptions,
} from '@litepool/core';
