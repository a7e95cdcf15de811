/**
 * Where node-sqlite3's `Statement#get` is in its statement's rows: each
 * binding's rows are read once and stepped through, one per `get`; a call
 * that runs the statement to its end (`all`, `map`, `each`, `run` of one that
 * returns no rows) leaves no row for `get` (and nothing to run) until `reset`
 * or new parameters, as node-sqlite3 steps a statement that is done only
 * after a reset; `run` of a SELECT steps it once, leaving its rows from the
 * second on (none if it found none).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Row } from '../../index.js';

/** One statement's place in its rows. */
export class StepCursor {
  #generation = 0;
  /** The binding the rows below belong to (-1: none read). */
  #rowsOf = -1;
  #rows: Row[] | undefined;
  #next = 0;
  /** The first row, read alone and handed out, while the rest are not read: where they continue (see {@link placeAfter}). */
  #handed: Row | undefined;

  /** The binding calls made now belong to. */
  get generation(): number {
    return this.#generation;
  }

  /** New parameters or a reset: calls made from now on belong to a new binding, which starts at its first row. */
  rebind(): number {
    return ++this.#generation;
  }

  /** A reset runs (in call order): unless calls of a newer binding have stepped already, the next `get` starts over. */
  rewind(generation: number): void {
    if (this.#rowsOf < generation) this.#rowsOf = -1;
  }

  /**
   * A `run` of binding `generation` of a plain query, which node-sqlite3 runs
   * by resetting it and stepping it once: `row` is its first row (`get` goes
   * on after it), or undefined, and the binding is done (rows written since
   * are not read until a reset or new values).
   */
  steppedOnce(generation: number, row: Row | undefined): void {
    if (row === undefined) return this.exhaust(generation);
    this.#rowsOf = generation;
    this.#rows = undefined;
    this.#handed = row;
    this.#next = 1;
  }

  /** A call of binding `generation` ran the statement to its end. */
  exhaust(generation: number): void {
    this.#rowsOf = generation;
    this.#rows = [];
    this.#handed = undefined;
    this.#next = 0;
  }

  /**
   * The next row of binding `generation`: `load` reads the binding's rows the
   * first time, except that its first row, when `first` is given, is read
   * alone, and the rest only if a second `get` asks. Most `get`s of a binding
   * want its first row, and reading every row for it made each
   * `stmt.reset(); stmt.get(cb)` on a 5,000-row ORDER BY 10 ms instead of 1.
   * `first` re-runs the statement for the rest, so only a plain query may
   * pass it (a write with RETURNING would write twice); the rest continue
   * after that first row as found again ({@link placeAfter}).
   */
  async next(generation: number, load: () => Promise<Row[]>, first?: () => Promise<Row | undefined>): Promise<Row | undefined> {
    if (this.#rowsOf !== generation) {
      this.#rowsOf = generation;
      this.#rows = this.#handed = undefined;
      this.#next = 0;
    }
    if (this.#rows === undefined && this.#next === 0 && first !== undefined) {
      this.#next = 1;
      const row = await first();
      // No first row: the binding is done, and stays so (rows inserted since are not read) until reset or new values.
      if (row === undefined) this.exhaust(generation);
      return (this.#handed = row);
    }
    if (this.#rows === undefined) {
      const rows = await load();
      if (this.#handed !== undefined) this.#next = placeAfter(rows, this.#handed);
      this.#rows = rows;
      this.#handed = undefined;
    }
    return this.#rows[this.#next++];
  }
}

/**
 * Where rows read again continue after `handed`, the first row read alone
 * (an app may have changed the table since, as a loop that takes a row and
 * deletes or updates it does; node-sqlite3's cursor then moves on from
 * where it was): after the same row; else after the one row that has the
 * value of one of its columns, taken in order (the row, updated: its key is
 * still there); else from the first row (it was deleted, or no longer
 * matches).
 */
function placeAfter(rows: readonly Row[], handed: Row): number {
  const same = rows.findIndex((row) => isDeepStrictEqual(row, handed));
  if (same >= 0) return same + 1;
  for (const [column, value] of Object.entries(handed)) {
    const matches = (row: Row): boolean => isDeepStrictEqual(row[column], value);
    const at = rows.findIndex(matches);
    if (at >= 0 && rows.findLastIndex(matches) === at) return at + 1;
  }
  return 0;
}
