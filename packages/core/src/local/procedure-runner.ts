/**
 * Calling the application's procedures in a worker thread. A write procedure
 * runs in a transaction of its own (BEGIN IMMEDIATE), or in a SAVEPOINT when
 * one is open (a group commit, a lease). Its result must be able to cross
 * back to the pool: that is checked inside the transaction, so a result that
 * cannot be sent rolls the write back instead of committing it unreported.
 */
import type Database from 'better-sqlite3';
import { codeOf, KindedError } from './answers.js';
import type { LoadedProcedure, WorkerCode } from './worker-code.js';

/** What a procedure threw, as the pool passes it on: SQLite's errors stay SQLite's; others keep their name, message, code and stack. */
function procedureError(error: unknown): unknown {
  if (error instanceof KindedError) return error;
  const code = codeOf(error);
  if (code?.startsWith('SQLITE_') === true) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  const kinded = new KindedError('procedure', original.message, code);
  Object.defineProperty(kinded, 'name', { value: original.name, configurable: true, writable: true });
  kinded.stack = original.stack;
  return kinded;
}

/**
 * A procedure's result, checked: not a promise (its transaction would end
 * first), and able to cross to the pool's thread. For a write procedure the
 * check runs inside its transaction, so a refusal rolls the write back.
 */
function sendable(name: string, result: unknown, write: boolean): unknown {
  const undone = write ? '; its transaction was rolled back' : '';
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new KindedError('query', `The procedure ${name} returned a promise: procedures run synchronously, inside their transaction`);
  }
  if (typeof result === 'object' && result !== null) {
    try {
      structuredClone(result);
    } catch (error) {
      throw new KindedError(
        'query',
        `The procedure ${name} returned a value that cannot be sent back to the pool (${error instanceof Error ? error.message : String(error)})${undone}`,
      );
    }
  } else if (typeof result === 'function' || typeof result === 'symbol') {
    throw new KindedError('query', `The procedure ${name} returned a ${typeof result}, which cannot be sent back to the pool${undone}`);
  }
  return result;
}

/** The procedures of one connection, with their transaction wrappers (made once per connection). */
export class ProcedureRunner {
  readonly #transactional = new Map<string, (...args: unknown[]) => unknown>();

  constructor(
    private readonly code: WorkerCode,
    private readonly moduleName: string | undefined,
  ) {}

  /** The connection closed: its wrappers go with it. */
  forget(): void {
    this.#transactional.clear();
  }

  /** Calls `name` with `args` on `db`: as it is when `readOnly`, else in a transaction (or SAVEPOINT) of its own. */
  call(db: Database.Database, name: string, args: readonly unknown[], readOnly: boolean): unknown {
    const procedure = this.code.procedures.get(name);
    if (procedure === undefined) {
      throw new KindedError('query', `No procedure named ${JSON.stringify(name)} in ${this.moduleName ?? '(no procedures module)'}`);
    }
    try {
      if (procedure.readOnly || readOnly) return sendable(name, (procedure.fn as (...values: unknown[]) => unknown)(db, ...args), false);
      return this.#inTransaction(db, name, procedure)(...args);
    } catch (error) {
      throw procedureError(error);
    }
  }

  #inTransaction(db: Database.Database, name: string, procedure: LoadedProcedure): (...args: unknown[]) => unknown {
    let wrapped = this.#transactional.get(name);
    if (wrapped === undefined) {
      const fn = procedure.fn as (...values: unknown[]) => unknown;
      const transaction = db.transaction((...args: unknown[]) => sendable(name, fn(db, ...args), true));
      // Outside a transaction, take the write lock at BEGIN (a read-then-write never fails on the upgrade);
      // inside one, better-sqlite3 nests it as a SAVEPOINT.
      wrapped = (...args: unknown[]) => (db.inTransaction ? transaction(...args) : transaction.immediate(...args));
      this.#transactional.set(name, wrapped);
    }
    return wrapped;
  }
}
