/**
 * Turns the `strategy` option into a Strategy instance. Names and config
 * objects are built by `@litepool/strategies`, loaded lazily with require()
 * so core has no static import of it (strategies imports core, not the
 * reverse). Node >= 20.19 can require() that ES module synchronously.
 */
import { createRequire } from 'node:module';
import { StrategyError } from '../errors.js';
import { isStrategy, type Strategy, type StrategyConfig } from '../strategy.js';

interface StrategiesModule {
  createStrategy(config: StrategyConfig): Strategy;
}

function loadStrategies(name: string): StrategiesModule {
  try {
    return createRequire(import.meta.url)('@litepool/strategies') as StrategiesModule;
  } catch (error) {
    throw new StrategyError(
      `Strategy "${name}" was given by name, which needs the @litepool/strategies package: install it, or pass a strategy instance`,
      'ERR_STRATEGY_UNAVAILABLE',
      { cause: error },
    );
  }
}

/** The strategy for a pool: `value` as given, or the default for where the database lives. */
export function resolveStrategy(
  value: Strategy | string | StrategyConfig | undefined,
  networkFilesystem: boolean,
): Strategy {
  if (isStrategy(value)) return value;
  const config: StrategyConfig =
    value === undefined ? { name: networkFilesystem ? 'file-lock' : 'wal' } : typeof value === 'string' ? { name: value } : value;
  return loadStrategies(config.name).createStrategy(config);
}
