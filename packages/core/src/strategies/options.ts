/** Validation helpers shared by the strategies' option parsers. */
import { OptionsError } from '../errors.js';
import { describe, rejectUnknownKeys } from '../config/options.js';

/** Checks that a strategy's options are a plain object with only `known` keys (plus `name`). */
export function checkStrategyOptions(strategy: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new OptionsError(`${strategy} options must be an object, got ${describe(options)}`);
  }
  rejectUnknownKeys(options, ['name', ...known], strategy);
  return options as Record<string, unknown>;
}

/** A number option in `[min, ∞)` (finite). */
export function numberOption(where: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new OptionsError(`${where} must be a finite number >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** A boolean option. */
export function booleanOption(where: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionsError(`${where} must be true or false, got ${describe(value)}`);
  return value;
}
