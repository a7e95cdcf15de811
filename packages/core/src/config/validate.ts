/**
 * Checks of a call's arguments, on the main thread, before anything is
 * queued: a value that cannot cross to a worker thread, or that SQLite cannot
 * bind, is refused here with a message naming it, never later as a raw
 * DataCloneError or a misleading "too few parameter values".
 */
import { ArgumentError } from '../errors.js';
import { describe, isPlainObject, msOption, optionsObject, signalOption } from './checks.js';

const BINDABLE = 'a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array';

/** Why `value` cannot be bound, or undefined when it can. */
function unbindable(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'string':
      return undefined;
    case 'undefined':
      return 'is undefined: to bind SQL NULL pass null';
    case 'boolean':
      return `is a boolean: ${BINDABLE} (pass 1 or 0)`;
    case 'function':
      return `is a function: ${BINDABLE}`;
    case 'symbol':
      return `is a symbol: ${BINDABLE}`;
  }
  if (value === null || value instanceof Uint8Array) return undefined;
  const object = value as object;
  if (object instanceof Date) return `is a Date: ${BINDABLE} (pass date.toISOString() or date.getTime())`;
  if (ArrayBuffer.isView(object)) return `is a ${object.constructor.name}: ${BINDABLE} (wrap its bytes in a Buffer)`;
  if (Array.isArray(object)) return `is an array: ${BINDABLE} (nested arrays cannot be bound; JSON.stringify it for a JSON column)`;
  if (!isPlainObject(object)) {
    const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
    return `is an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'}: ${BINDABLE}`;
  }
  return `is an object: ${BINDABLE} (nested objects cannot be bound; JSON.stringify it for a JSON column)`;
}

/** The error for a bad parameter value, or undefined when every value can be bound. */
function checkValues(params: object): ArgumentError | undefined {
  if (Array.isArray(params)) {
    for (let i = 0; i < params.length; i++) {
      const problem = unbindable(params[i]);
      if (problem !== undefined) return new ArgumentError(`params[${i}] ${problem}`);
    }
    return undefined;
  }
  for (const key of Object.keys(params)) {
    const problem = unbindable((params as Record<string, unknown>)[key]);
    if (problem !== undefined) return new ArgumentError(`params.${key} ${problem}`);
  }
  return undefined;
}

/**
 * Returns the error for a bad `sql` or `params`, or undefined when they are
 * fine. `exec` takes an empty script (a no-op, as in SQLite).
 */
export function checkCall(sql: unknown, params: unknown, emptyAllowed = false): ArgumentError | undefined {
  if (typeof sql !== 'string' || (sql.length === 0 && !emptyAllowed)) {
    return new ArgumentError(`sql must be a non-empty string, got ${describe(sql)}`);
  }
  if (params === undefined) return undefined;
  try {
    if (typeof params !== 'object' || params === null || !(Array.isArray(params) || isPlainObject(params))) {
      return new ArgumentError(`params must be an array (positional) or a plain object (named), got ${describe(params)}`);
    }
    return checkValues(params);
  } catch (error) {
    // A Proxy whose trap throws, a getter that throws: the caller hears it as a typed error, from a rejected promise.
    return new ArgumentError(`params could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const OPTION_KEYS = ['signal', 'timeoutMs'];

/** Returns the error (an `OptionsError`) for bad per-call options `{ signal, timeoutMs }`, or undefined. */
export function checkQueryOptions(options: unknown): Error | undefined {
  if (options === undefined) return undefined;
  try {
    const { signal, timeoutMs } = optionsObject('options', options, OPTION_KEYS);
    signalOption('options.signal', signal);
    msOption('options.timeoutMs', timeoutMs, 0);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
