/** Where the pool meets its default kind of connection. */
import type { PoolOptions } from './config/options.js';
import { workerConnections } from './local/factory.js';
import { Pool } from './pool/pool.js';

/**
 * Creates a pool. Validates `options` synchronously (throwing
 * `ERR_INVALID_OPTIONS`); threads and connections start on first use. With
 * `backend`, the backend's connections take the place of worker threads.
 */
export function createPool(options: PoolOptions): Pool {
  return new Pool(options, (resolved, strategy) =>
    resolved.backend === undefined ? workerConnections(resolved, strategy) : resolved.backend.connections(resolved, strategy),
  );
}
