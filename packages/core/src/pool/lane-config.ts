/** How a pool sets up a lane (lane.ts). */
import type { Connection } from '../backend.js';
import type { AccessKind, Strategy, WriteBatching } from '../strategy.js';
import type { QueryJob } from './wait-queue.js';

/** How a lane is set up by its pool. */
export interface LaneConfig {
  /** The pool's database, for diagnostics. */
  readonly database: string;
  /** Connections in this lane (1 for the writer). */
  readonly size: number;
  /**
   * Connections it may open beyond `size` while its connections are lent to
   * leases: held read transactions may wait on one another, as SQLite's
   * readers (never limited in number) never do. Default: none.
   */
  readonly extraForLeases?: number;
  /** How long those extra connections may go unneeded before they close, in ms. Default: Infinity (kept until the lane closes). */
  readonly extraIdleMs?: number;
  /** What the strategy is asked for around each dispatch. */
  readonly access: AccessKind;
  readonly strategy: Strategy;
  readonly maxBatch: number;
  readonly acquireTimeoutMs: number;
  /** Group commit settings (writer of a batching strategy), else undefined. */
  readonly group: WriteBatching | undefined;
  /**
   * Opens one connection; gives up when `signal` aborts (the lane is being
   * stopped). With `ready`, it may start at once but opens only once `ready` resolves.
   */
  readonly open: (signal: AbortSignal, ready?: Promise<void>) => Promise<Connection>;
  /** Passed before a connection opens (strategy init, the writer's first open); undefined once passed. */
  readonly gate: () => Promise<void> | undefined;
  /** Whether `open` takes the gate as `ready` (the connection starts while the gate is closed); else the gate is awaited first. */
  readonly startsEarly: boolean;
  /** Called when the lane has nothing queued and nothing running. */
  readonly onIdle?: () => void;
  /** Called when the lane's work may have changed: a job queued, one gone, the lane idle (see `Lanes.hasWork`). */
  readonly onWorkChange?: () => void;
  /**
   * Takes a one-shot job this lane cannot serve soon (every one of its
   * connections is stuck in a long statement); false if it will not. The
   * readers' lane hands known reads to the writer this way.
   */
  readonly overflow?: (job: QueryJob) => boolean;
}
