/** The figures `pool.stats()` reports, and how they are put together from the pool's lanes. */

/** Batches sent to connections, and the requests they carried. */
export interface BatchCounts {
  /** Batches sent. */
  readonly batches: number;
  /** Requests carried by those batches. */
  readonly requests: number;
}

/** Groups of transactions committed together, and the transactions they carried. */
export interface GroupCounts {
  /** Groups committed (or failed) together. */
  readonly groups: number;
  /** Transactions acknowledged in those groups. */
  readonly transactions: number;
}

/** A snapshot of the pool's state, from `pool.stats()`. */
export interface PoolStats {
  /** The strategy's name. */
  readonly strategy: string;
  /** Reader connections open now (`options.readers` at most, but for those opened while every reader was held: see `extraReaderIdleMs`). */
  readonly readers: number;
  /** Whether the writer connection is open now. */
  readonly writerOpen: boolean;
  /** Connections running work or lent out now (readers and writer). */
  readonly busy: number;
  /** Requests waiting for a connection now. */
  readonly queued: number;
  /** Of those, the ones waiting for the writer. */
  readonly queuedWrites: number;
  /** Requests that had to wait because every connection of their kind was busy (since start). */
  readonly waits: number;
  /** One-shot batches sent to the writer and the one-shot requests they carried (since start). */
  readonly writeBatches: BatchCounts;
  /** One-shot batches sent to readers and the one-shot requests they carried (since start). */
  readonly readBatches: BatchCounts;
  /** One-shot reads answered on the calling thread instead of a reader (since start; see the `inlineReads` option). */
  readonly inlineReads: number;
  /** Requests taken back from a connection stuck in a long statement and run on another (since start). */
  readonly moved: number;
  /**
   * Groups of transactions committed together and the transactions they carried
   * (since start; strategies with `writeBatching.transactions` only).
   */
  readonly transactionGroups: GroupCounts;
  /** Statements retried after SQLITE_BUSY (since start). */
  readonly retries: number;
  /** Connections that died and were replaced (since start). */
  readonly crashes: number;
  /** Idle-writer maintenance runs that failed (since start). */
  readonly maintenanceErrors: number;
  /** `open`, `closing` or `closed`. */
  readonly state: 'open' | 'closing' | 'closed';
  /** The strategy's own figures (WAL size, lock holds, …). */
  readonly strategyStats: Readonly<Record<string, number | string | boolean>>;
}

/** What one lane of connections (the writer's, the readers') counts. */
export interface LaneFigures {
  readonly open: number;
  readonly busy: number;
  readonly pending: number;
  readonly waits: number;
  readonly batches: number;
  readonly requests: number;
  readonly moved: number;
}

/** The figures that are the pool's own, not a lane's. */
type PoolFigures = Omit<PoolStats, 'readers' | 'writerOpen' | 'busy' | 'queuedWrites' | 'waits' | 'writeBatches' | 'readBatches' | 'moved'>;

/** A snapshot of the pool's state from its writer's lane, its readers' (if it has any), and its own figures. */
export function poolStats(writer: LaneFigures, readers: LaneFigures | undefined, own: PoolFigures): PoolStats {
  return {
    strategy: own.strategy,
    readers: readers?.open ?? 0,
    writerOpen: writer.open > 0,
    busy: writer.busy + (readers?.busy ?? 0),
    queued: own.queued,
    queuedWrites: writer.pending,
    waits: writer.waits + (readers?.waits ?? 0),
    writeBatches: { batches: writer.batches, requests: writer.requests },
    transactionGroups: own.transactionGroups,
    readBatches: { batches: readers?.batches ?? 0, requests: readers?.requests ?? 0 },
    inlineReads: own.inlineReads,
    moved: writer.moved + (readers?.moved ?? 0),
    retries: own.retries,
    crashes: own.crashes,
    maintenanceErrors: own.maintenanceErrors,
    state: own.state,
    strategyStats: own.strategyStats,
  };
}
