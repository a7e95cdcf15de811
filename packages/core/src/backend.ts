/**
 * Backends: where a pool's connections come from. The default is the
 * worker-thread kind, each thread owning a better-sqlite3 connection to a
 * local file. A backend replaces it with another kind (a dqlite cluster,
 * `@litepool/dqlite`), behind the same lanes: the pool's API, its queues,
 * leases, transactions and group commit stay what they are.
 */
import type { ResolvedPoolOptions } from './config/options.js';
import type { ConnectionFactory } from './pool/connection.js';
import type { Strategy } from './strategy.js';

/** Another kind of connection for a pool (`createPool({ backend })`). */
export interface Backend {
  /** Its kind, e.g. `dqlite`. */
  readonly kind: string;
  /** Where the database is, for messages and `pool.options.filename` (e.g. `dqlite://127.0.0.1:9001/app`). */
  readonly location: string;
  /** How the pool coordinates access on this backend (its writer batching and holds). */
  strategy(): Strategy;
  /** Opens its connections: the writer and the readers. */
  connections(options: ResolvedPoolOptions, strategy: Strategy): ConnectionFactory;
  /** Reader connections when `readers` is not given. */
  readonly defaultReaders: number;
}

/** Whether `value` looks like a {@link Backend}. */
export function isBackend(value: unknown): value is Backend {
  const candidate = value as Partial<Backend> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.kind === 'string' &&
    typeof candidate.location === 'string' &&
    typeof candidate.strategy === 'function' &&
    typeof candidate.connections === 'function'
  );
}
