/** The `synchronous` option the strategies share. */
import { enumOption } from '../config/checks.js';

/** SQLite's `synchronous` levels. */
export type Synchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

const LEVELS: readonly Synchronous[] = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

/** Validates a `synchronous` option value (any case); `fallback` when undefined. */
export function synchronousOption(where: string, value: unknown, fallback: Synchronous): Synchronous {
  return enumOption(where, typeof value === 'string' ? value.toUpperCase() : value, LEVELS, fallback);
}
