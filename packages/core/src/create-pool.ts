/** Where a pool is made: options resolved, the backend bound (worker threads unless another is given). */
import { resolveOptions, type PoolOptions } from './config/options.js';
import { workerThreads } from './local/backend.js';
import { Pool } from './pool/pool.js';

/**
 * Creates a pool. Validates `options` synchronously (throwing
 * `ERR_INVALID_OPTIONS`); threads and connections start on first use. With
 * `backend`, the backend's connections take the place of worker threads.
 */
export function createPool(options: PoolOptions): Pool {
  return new Pool(resolveOptions(options, workerThreads));
}
