/** Strategies by name, so a pool can be configured from JSON or an environment variable. */
import { OptionsError } from '../errors.js';
import { describe, suggest } from '../config/checks.js';
import type { Strategy, StrategyConfig } from '../strategy.js';
import { fileLock, type FileLockOptions } from './file-lock.js';
import { mutex, type MutexOptions } from './mutex.js';
import { singleWriter, type SingleWriterOptions } from './single-writer.js';
import { wal, type WalOptions } from './wal.js';

type Factory = (options: StrategyConfig) => Strategy;

const FACTORIES: Readonly<Record<string, Factory>> = Object.freeze({
  wal: (options) => wal(options as WalOptions),
  mutex: (options) => mutex(options as MutexOptions),
  'single-writer': (options) => singleWriter(options as SingleWriterOptions),
  'file-lock': (options) => fileLock(options as FileLockOptions),
});

/** The names `createStrategy` (and `createPool({ strategy: name })`) accept. */
export const strategyNames: readonly string[] = Object.freeze(Object.keys(FACTORIES));

/** Builds a strategy from `{ name, ...options }`; the options are validated by the strategy. */
export function createStrategy(config: StrategyConfig): Strategy {
  const factory = FACTORIES[config.name];
  if (factory === undefined) {
    const hint = suggest(config.name, strategyNames);
    throw new OptionsError(
      `Unknown strategy ${describe(config.name)}${hint === undefined ? '' : `; did you mean "${hint}"?`} (known: ${strategyNames.join(', ')})`,
    );
  }
  return factory(config);
}
