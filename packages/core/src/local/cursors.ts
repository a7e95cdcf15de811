/**
 * A connection's open cursors (`pool.iterate`): each answers its rows a
 * chunk at a time. The rows stepped before an error are the caller's, as
 * better-sqlite3's own `iterate` yields them: the chunk that holds them is
 * answered, and the error answers the next request for that cursor.
 */
import type { CursorChunk } from '../types.js';
import { chunkOk, codeOf, isInterrupt, leavesStateUnknown } from './answers.js';
import type { WireRequest, WireResponse } from './protocol.js';

/** A cursor whose statement failed after some rows: its next step throws that error. */
function failing(error: unknown): IterableIterator<unknown> {
  return {
    next: () => {
      throw error;
    },
    [Symbol.iterator]() {
      return this;
    },
  };
}

/** The open cursors of one connection, by number. */
export class Cursors {
  readonly #open = new Map<number, IterableIterator<unknown>>();
  #next = 1;

  /** How many cursors are open. */
  get size(): number {
    return this.#open.size;
  }

  /** Opens a cursor on `rows` and answers its first chunk. */
  open(rows: IterableIterator<unknown>, chunkRows: number): CursorChunk {
    const cursor = this.#next++;
    this.#open.set(cursor, rows);
    return this.chunk(cursor, chunkRows);
  }

  /** The cursor's next chunk of at most `chunkRows` rows; a cursor that is gone has none left. Throws the statement's error. */
  chunk(cursor: number, chunkRows: number): CursorChunk {
    const iterator = this.#open.get(cursor);
    if (iterator === undefined) return { cursor, rows: [], done: true };
    const rows: unknown[] = [];
    try {
      while (rows.length < chunkRows) {
        const step = iterator.next();
        if (step.done === true) {
          this.#open.delete(cursor);
          return { cursor, rows, done: true };
        }
        rows.push(step.value);
      }
    } catch (error) {
      // An interrupt (a timeout, a cancel) or a connection left in doubt ends the cursor now: its rows are moot.
      if (rows.length === 0 || isInterrupt(error) || leavesStateUnknown(codeOf(error))) {
        this.#open.delete(cursor);
        throw error;
      }
      this.#open.set(cursor, failing(error));
    }
    return { cursor, rows, done: false };
  }

  /** Closes one cursor (its statement is reset). */
  close(cursor: number): void {
    this.#open.get(cursor)?.return?.();
    this.#open.delete(cursor);
  }

  /** The answer to `request`: its cursor's next chunk of at most `chunkRows` rows (`next`), or its end (`close-cursor`). */
  answer(request: WireRequest, chunkRows: number, pack: boolean): WireResponse {
    const cursor = request.cursor ?? 0;
    if (request.op === 'close-cursor') this.close(cursor);
    const chunk = request.op === 'close-cursor' ? { cursor, rows: [], done: true } : this.chunk(cursor, chunkRows);
    return chunkOk(request.seq, chunk, pack);
  }

  /** Closes every cursor; never throws (their statements go with the connection either way). */
  clear(): void {
    for (const iterator of this.#open.values()) {
      try {
        iterator.return?.();
      } catch {
        // Gone with the connection.
      }
    }
    this.#open.clear();
  }
}
