/**
 * The application's code that runs next to the data, in each worker thread:
 * the setup module (its `setup` export, or its default export, called with
 * every connection after it opens) and the procedures module (its exported
 * functions, called by name). Both are imported once per thread, before the
 * thread reports ready.
 */
import type Database from 'better-sqlite3';
import type { ConnectionRole } from '../strategy.js';
import { KindedError } from './answers.js';

/** What a setup function receives beside the connection. */
export interface SetupContext {
  /** The connection's role: `writer` or `reader` (readers are read-only). */
  readonly role: ConnectionRole;
  /** The database file. */
  readonly filename: string;
}

/** A procedure: synchronous, given the connection and the caller's arguments. */
export type ProcedureFunction = (db: Database.Database, ...args: never[]) => unknown;

/** One loaded procedure. */
export interface LoadedProcedure {
  readonly fn: ProcedureFunction;
  /** Declared read-only (`fn.readOnly = true`, see `readOnlyProcedure`): runs on a reader, outside a transaction. */
  readonly readOnly: boolean;
}

/** The code a worker loaded. */
export interface WorkerCode {
  readonly setup: ((db: Database.Database, context: SetupContext) => unknown) | undefined;
  readonly procedures: ReadonlyMap<string, LoadedProcedure>;
}

/** A module that failed to load or has the wrong shape (the pool reports it as `SetupError`). */
export class CodeLoadError extends Error {}

/** Exports of a procedures module that are not procedures. */
const NOT_PROCEDURES = new Set(['default', 'setup']);

async function load(href: string, what: 'setup' | 'procedures'): Promise<Record<string, unknown>> {
  try {
    return (await import(href)) as Record<string, unknown>;
  } catch (error) {
    throw new CodeLoadError(`The ${what} module ${href} could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Imports the setup and procedures modules named in the worker's config (either may be absent). */
export async function loadWorkerCode(setupHref: string | undefined, proceduresHref: string | undefined): Promise<WorkerCode> {
  let setup: WorkerCode['setup'];
  if (setupHref !== undefined) {
    const exports = await load(setupHref, 'setup');
    const found = typeof exports.setup === 'function' ? exports.setup : exports.default;
    if (typeof found !== 'function') {
      throw new CodeLoadError(`The setup module ${setupHref} exports no function named setup (nor a default export that is one)`);
    }
    setup = found as WorkerCode['setup'];
  }
  const procedures = new Map<string, LoadedProcedure>();
  if (proceduresHref !== undefined) {
    const exports = await load(proceduresHref, 'procedures');
    for (const [name, value] of Object.entries(exports)) {
      if (NOT_PROCEDURES.has(name) || typeof value !== 'function') continue;
      procedures.set(name, { fn: value as ProcedureFunction, readOnly: (value as { readOnly?: unknown }).readOnly === true });
    }
    if (procedures.size === 0) throw new CodeLoadError(`The procedures module ${proceduresHref} exports no functions`);
  }
  return { setup, procedures };
}

/** The setup module's function, on a connection that has just opened (a failure, or a promise returned, is a setup error). */
export function runSetup(
  db: Database.Database,
  code: WorkerCode,
  config: { readonly role: ConnectionRole; readonly filename: string; readonly setup: string | undefined },
): void {
  const { setup } = code;
  if (setup === undefined) return;
  const { role, filename } = config;
  let result: unknown;
  try {
    result = setup(db, { role, filename });
  } catch (error) {
    throw new KindedError(
      'setup',
      `The setup module ${config.setup} threw on a ${role} connection: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new KindedError(
      'setup',
      `The setup module ${config.setup} returned a promise: setup runs synchronously on each connection (await what it needs at the module's top level)`,
    );
  }
}
