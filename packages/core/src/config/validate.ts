/** Cheap checks of a call's arguments, on the main thread, before anything is queued. */
import { ArgumentError } from '../errors.js';
import { describe } from './options.js';

function isParams(params: unknown): boolean {
  if (Array.isArray(params)) return true;
  if (typeof params !== 'object' || params === null) return false;
  const proto: unknown = Object.getPrototypeOf(params);
  return proto === Object.prototype || proto === null;
}

/** Returns the error for a bad `sql` or `params`, or undefined when they are fine. */
export function checkCall(sql: unknown, params: unknown, internal = false): ArgumentError | undefined {
  if (internal) return undefined;
  if (typeof sql !== 'string' || sql.length === 0) {
    return new ArgumentError(`sql must be a non-empty string, got ${describe(sql)}`);
  }
  if (params !== undefined && !isParams(params)) {
    return new ArgumentError(
      `params must be an array (positional) or a plain object (named), got ${describe(params)}`,
    );
  }
  return undefined;
}
