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
export { createStrategy, strategyNames } from './registry.js';
