/**
 * Turns the `strategy` option into a Strategy instance: an instance as given,
 * a name or a config object built by the strategy registry, or the default
 * for where the database lives.
 */
import { isStrategy, type Strategy, type StrategyConfig } from '../strategy.js';
import { createStrategy } from '../strategies/registry.js';

/** The strategy for a pool: `value` as given, or the default for where the database lives. */
export function resolveStrategy(value: Strategy | string | StrategyConfig | undefined, networkFilesystem: boolean): Strategy {
  if (isStrategy(value)) return value;
  const config: StrategyConfig =
    value === undefined ? { name: networkFilesystem ? 'file-lock' : 'single-writer' } : typeof value === 'string' ? { name: value } : value;
  return createStrategy(config);
}
