/**
 * `wal`: WAL journal; readers run in parallel beside one writer; write
 * transactions begin IMMEDIATE. When the writer goes idle it checkpoints,
 * and truncates the WAL once it grows past `maxWalBytes`.
 */
import { stat } from 'node:fs/promises';
import { StrategyError } from '../errors.js';
import { integerOption, optionsObject } from '../config/checks.js';
import {
  FREE_HOLD,
  type MaintenanceConnection,
  type PragmaValue,
  type Strategy,
  type StrategyCapabilities,
  type StrategyContext,
  type StrategyHold,
} from '../strategy.js';
import { synchronousOption } from './synchronous.js';

/** Options of {@link wal}. */
export interface WalOptions {
  /** Truncate the WAL at idle checkpoints once it is larger than this many bytes. Default: 64 MiB. */
  maxWalBytes?: number;
  /** SQLite's own auto-checkpoint threshold in pages (`wal_autocheckpoint`). Default: 1000 (SQLite's default). */
  autoCheckpointPages?: number;
  /** `synchronous` for every connection: NORMAL is durable against crashes of the app, FULL also against power loss. Default: NORMAL. */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
}

const WAL_KEYS = ['maxWalBytes', 'autoCheckpointPages', 'synchronous'];

/** The resolved options of a {@link WalStrategy}. */
export interface ResolvedWalOptions {
  /** WAL size past which an idle checkpoint truncates it, in bytes. */
  readonly maxWalBytes: number;
  /** SQLite's own auto-checkpoint threshold, in pages. */
  readonly autoCheckpointPages: number;
  /** `synchronous` of every connection. */
  readonly synchronous: string;
}

/** Parses and validates {@link WalOptions}; `extraKeys` are other options the caller validates. */
export function resolveWalOptions(options: unknown, strategy = 'wal', extraKeys: readonly string[] = []): ResolvedWalOptions {
  const raw = optionsObject(strategy, options, ['name', ...WAL_KEYS, ...extraKeys]);
  return Object.freeze({
    maxWalBytes: integerOption(`${strategy}.maxWalBytes`, raw.maxWalBytes, 64 * 1024 * 1024, 0),
    autoCheckpointPages: integerOption(`${strategy}.autoCheckpointPages`, raw.autoCheckpointPages, 1000, 0, { max: 2 ** 31 - 1 }),
    synchronous: synchronousOption(`${strategy}.synchronous`, raw.synchronous, 'NORMAL'),
  });
}

/** The WAL strategy. One instance serves one pool. */
export class WalStrategy implements Strategy {
  readonly name: string;
  readonly capabilities: StrategyCapabilities = Object.freeze({
    crossProcess: true,
    networkSafe: false,
    concurrentReads: true,
    readsDuringWrite: true,
  });
  readonly journalMode = 'wal' as const;
  readonly writeBatching: Strategy['writeBatching'] = undefined;
  /** The resolved options. */
  readonly options: ResolvedWalOptions;

  #walFile = '';
  #walBytes = 0;
  #checkpoints = 0;
  #truncations = 0;

  /**
   * @param options see {@link WalOptions}
   * @param name for strategies built on this one (`single-writer`)
   * @param extraKeys option keys such a strategy validates itself
   */
  constructor(options?: WalOptions, name = 'wal', extraKeys: readonly string[] = []) {
    this.name = name;
    this.options = resolveWalOptions(options, name, extraKeys);
  }

  /** Why WAL cannot run on a network filesystem, for this strategy's name. */
  protected refuseNetwork(context: StrategyContext): void {
    if (!context.networkFilesystem) return;
    throw new StrategyError(
      `The ${this.name} strategy cannot run on ${context.filename}: it is on a network or FUSE filesystem, and WAL needs shared memory on one host (readers and writers on other hosts would corrupt or lose data). Use strategy "file-lock", which is the default there.`,
      'ERR_STRATEGY_UNSUPPORTED',
    );
  }

  pragmas(): Readonly<Record<string, PragmaValue>> {
    return { synchronous: this.options.synchronous, wal_autocheckpoint: this.options.autoCheckpointPages };
  }

  async init(context: StrategyContext): Promise<void> {
    this.refuseNetwork(context);
    this.#walFile = `${context.filename}-wal`;
  }

  acquire(): StrategyHold {
    return FREE_HOLD;
  }

  /** Checkpoints when the writer idles: PASSIVE normally, TRUNCATE once the WAL is past `maxWalBytes`. */
  async onWriterIdle(writer: MaintenanceConnection): Promise<void> {
    const before = await this.#measure();
    const truncate = before > this.options.maxWalBytes;
    const [result] = await writer.all(`PRAGMA wal_checkpoint(${truncate ? 'TRUNCATE' : 'PASSIVE'})`);
    // The figures change together, after the WAL's new size is known: stats() never shows a truncation with the old size.
    await this.#measure();
    this.#checkpoints++;
    if (truncate && result?.busy === 0) this.#truncations++;
  }

  stats(): Readonly<Record<string, number>> {
    return { walBytes: this.#walBytes, checkpoints: this.#checkpoints, walTruncations: this.#truncations };
  }

  async close(): Promise<void> {}

  async #measure(): Promise<number> {
    try {
      this.#walBytes = (await stat(this.#walFile)).size;
    } catch {
      this.#walBytes = 0;
    }
    return this.#walBytes;
  }
}

/** Creates a {@link WalStrategy}: WAL journal, parallel readers beside one writer. */
export function wal(options?: WalOptions): WalStrategy {
  return new WalStrategy(options);
}
