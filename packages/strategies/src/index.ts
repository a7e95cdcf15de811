/**
 * @litepool/strategies: how a @litepool/core pool coordinates access.
 *
 * ```ts
 * import { createPool } from '@litepool/core';
 * import { wal } from '@litepool/strategies';
 * const pool = createPool({ filename: 'app.db', strategy: wal({ maxWalBytes: 16 << 20 }) });
 * ```
 */
export { wal, WalStrategy, type WalOptions, type ResolvedWalOptions } from './wal.js';
export { mutex, MutexStrategy, type MutexOptions } from './mutex.js';
export { singleWriter, SingleWriterStrategy, type SingleWriterOptions } from './single-writer.js';
export { fileLock, FileLockStrategy, type FileLockOptions, type ResolvedFileLockOptions } from './file-lock.js';
export { createStrategy, strategyNames } from './registry.js';
