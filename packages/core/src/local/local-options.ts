/**
 * The options of the worker-threads backend (the local file's), checked when
 * it binds to a pool: the file, the strategy, PRAGMAs (against SQLite's own
 * list), the modules that run in each worker, and where the worker's files are.
 */
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { OptionsError } from '../errors.js';
import { booleanOption, describe, integerOption, isPlainObject, optionsObject, suggest } from '../config/checks.js';
import type { PragmaValue, Strategy, StrategyConfig } from '../strategy.js';
import type { ResolvedPoolOptions } from '../config/options.js';
import { parseFilename, type DatabaseLocation } from './filename.js';
import { knownPragmas, WIDE_PRAGMAS } from './sqlite-build.js';

const RESOURCE_LIMIT_KEYS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
const PRAGMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRAGMA_WORD = /^-?[A-Za-z0-9_.]+$/;

const INT32_MAX = 2 ** 31 - 1;

function validatePragmas(value: unknown, nativeBinding: string | undefined): Readonly<Record<string, PragmaValue>> {
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) {
    throw new OptionsError(`options.pragmas must be an object of PRAGMA names to values, got ${describe(value)}`);
  }
  const known = Object.keys(value).length > 0 ? knownPragmas(nativeBinding) : undefined;
  const pragmas: Record<string, PragmaValue> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!PRAGMA_NAME.test(name)) throw new OptionsError(`options.pragmas has an invalid PRAGMA name ${describe(name)}`);
    const lower = name.toLowerCase();
    if (lower === 'journal_mode') {
      throw new OptionsError(
        'options.pragmas.journal_mode is chosen by the strategy; pick a strategy instead (wal, mutex, single-writer, file-lock)',
      );
    }
    if (known !== undefined && !known.has(lower)) {
      const hint = suggest(lower, [...known]);
      throw new OptionsError(
        `options.pragmas.${name} is not a PRAGMA this SQLite knows${hint === undefined ? '' : `; did you mean ${hint}?`}`,
      );
    }
    const limit = WIDE_PRAGMAS.has(lower) ? Number.MAX_SAFE_INTEGER : INT32_MAX;
    const ok =
      typeof raw === 'boolean' ||
      (typeof raw === 'number' && Number.isFinite(raw) && Math.abs(raw) <= limit) ||
      (typeof raw === 'string' && PRAGMA_WORD.test(raw));
    if (!ok) {
      throw new OptionsError(
        `options.pragmas.${name} must be a number between -${limit} and ${limit}, a boolean or a bare word such as FULL, got ${describe(raw)}`,
      );
    }
    pragmas[name] = raw;
  }
  return Object.freeze(pragmas);
}

function validateResourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  optionsObject('options.workerResourceLimits', value, RESOURCE_LIMIT_KEYS);
  for (const key of RESOURCE_LIMIT_KEYS) {
    const limit = (value as Record<string, unknown>)[key];
    if (limit !== undefined && !(typeof limit === 'number' && Number.isFinite(limit) && limit > 0 && limit <= 1_048_576)) {
      throw new OptionsError(`options.workerResourceLimits.${key} must be a number of MB from 1 to 1048576, got ${describe(limit)}`);
    }
  }
  return Object.freeze({ ...value });
}

function validateStrategy(value: unknown): Strategy | string | StrategyConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.length === 0) throw new OptionsError('options.strategy must not be an empty string');
    return value;
  }
  if (typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string') {
    return value as Strategy | StrategyConfig;
  }
  throw new OptionsError(
    `options.strategy must be a strategy instance, a name such as "wal", or a config object { name: "wal", … }, got ${describe(value)}`,
  );
}

function validateWorkerFile(value: unknown): string | URL | undefined {
  if (value === undefined) return undefined;
  if ((typeof value === 'string' && value.length > 0) || value instanceof URL) return value;
  throw new OptionsError(`options.workerFile must be a path or a file URL, got ${describe(value)}`);
}

/** A module option (a path or a file URL) as a file URL; the file must exist. */
function validateModule(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && value.length > 0) url = value.startsWith('file:') ? new URL(value) : pathToFileURL(resolve(value));
  else throw new OptionsError(`${where} must be a path or a file URL, got ${describe(value)}`);
  if (url.protocol !== 'file:') throw new OptionsError(`${where} must be a file, got ${url.href}`);
  if (statSync(fileURLToPath(url), { throwIfNoEntry: false })?.isFile() !== true) {
    throw new OptionsError(`${where}: ${fileURLToPath(url)} does not exist`);
  }
  return url.href;
}

function validatePath(where: string, value: unknown, falseAllowed = false): string | false | undefined {
  if (value === undefined || (falseAllowed && value === false)) return value;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new OptionsError(`${where} must be a path${falseAllowed ? ' or false' : ''}, got ${describe(value)}`);
}

/** The worker-threads backend's options, resolved (each as in {@link ResolvedPoolOptions}). */
export interface LocalOptions extends Pick<
  ResolvedPoolOptions,
  | 'strategy'
  | 'pragmas'
  | 'workerResourceLimits'
  | 'setup'
  | 'procedures'
  | 'workerFile'
  | 'nativeBinding'
  | 'interruptExtension'
  | 'inlineReads'
  | 'workerNice'
> {
  /** The database file, as an absolute path (or `:memory:`). */
  readonly filename: string;
  /** Where it is and how it opens (a file or memory, read-only or not). */
  readonly location: DatabaseLocation;
}

/** Checks and resolves the local-file options of a pool (`given`: the pool options as passed). */
export function resolveLocalOptions(given: Readonly<Record<string, unknown>>): LocalOptions {
  const nativeBinding = validatePath('options.nativeBinding', given.nativeBinding) as string | undefined;
  const location = parseFilename(given.filename);
  return {
    filename: location.path,
    location,
    strategy: validateStrategy(given.strategy),
    pragmas: validatePragmas(given.pragmas, nativeBinding),
    workerResourceLimits: validateResourceLimits(given.workerResourceLimits),
    setup: validateModule('options.setup', given.setup),
    procedures: validateModule('options.procedures', given.procedures),
    workerFile: validateWorkerFile(given.workerFile),
    nativeBinding,
    interruptExtension: validatePath('options.interruptExtension', given.interruptExtension, true),
    inlineReads: booleanOption('options.inlineReads', given.inlineReads, true),
    workerNice: integerOption('options.workerNice', given.workerNice, constants.priority.PRIORITY_BELOW_NORMAL, 0, {
      max: constants.priority.PRIORITY_LOW,
    }),
  };
}
