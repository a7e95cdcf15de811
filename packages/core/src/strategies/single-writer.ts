/**
 * `single-writer`: every one-shot write goes through one queue to one writer,
 * which commits many of them in one transaction (group commit: one fsync for
 * many writes). Each write runs in its own SAVEPOINT, so a failing one
 * rejects alone, leaving what autocommit would (see group-commit.ts); none is
 * acknowledged before the COMMIT. Reads run in parallel as with `wal`;
 * `pool.transaction` still gets the writer alone.
 */
import { booleanOption, integerOption, optionsObject } from '../config/checks.js';
import { MAX_BATCH } from '../config/options.js';
import type { WriteBatching } from '../strategy.js';
import { WalStrategy, type WalOptions } from './wal.js';

/** Options of {@link singleWriter}. */
export interface SingleWriterOptions extends WalOptions {
  /** Most one-shot writes committed together, 1 to 10000. Default: 256. */
  maxBatch?: number;
  /** Longest wait for more writes before committing a batch that is not full, in ms (0 to 10000). 0 commits what has queued while the previous batch ran. Default: 0. */
  maxWaitMs?: number;
  /**
   * Group queued `pool.transaction` calls too: one COMMIT for many, each in
   * its own SAVEPOINT, each acknowledged after the shared COMMIT; after a
   * COMMIT that fails on a deferred constraint each runs again alone (so only
   * the one that violated it fails). Default: false.
   */
  groupTransactions?: boolean;
}

const BATCH_KEYS = ['maxBatch', 'maxWaitMs', 'groupTransactions'];

/** The single-writer strategy. One instance serves one pool. */
export class SingleWriterStrategy extends WalStrategy {
  override readonly writeBatching: WriteBatching;

  /** @param options see {@link SingleWriterOptions} */
  constructor(options?: SingleWriterOptions) {
    super(options, 'single-writer', BATCH_KEYS);
    const raw = optionsObject('single-writer', options, ['name', ...BATCH_KEYS, 'maxWalBytes', 'autoCheckpointPages', 'synchronous']);
    this.writeBatching = Object.freeze({
      maxBatch: integerOption('single-writer.maxBatch', raw.maxBatch, 256, 1, { max: MAX_BATCH }),
      maxWaitMs: integerOption('single-writer.maxWaitMs', raw.maxWaitMs, 0, 0, { max: 10_000 }),
      transactions: booleanOption('single-writer.groupTransactions', raw.groupTransactions, false),
    });
  }
}

/** Creates a {@link SingleWriterStrategy}: WAL, parallel readers, group-committed one-shot writes. */
export function singleWriter(options?: SingleWriterOptions): SingleWriterStrategy {
  return new SingleWriterStrategy(options);
}
