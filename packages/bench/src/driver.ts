/** What a benchmark workload needs from a driver: the subjects implement it, the workloads and the measuring loop use it. */

/** A value bound to a statement. */
export type Value = number | string | null;

/** What a workload needs from a driver. */
export interface Driver {
  get(query: string, params: Value[]): Promise<unknown>;
  all(query: string, params: Value[]): Promise<unknown[]>;
  run(query: string, params: Value[]): Promise<void>;
  /** Read-modify-write of `counter.n` for one id, the way users of this driver write it. */
  increment(id: number): Promise<void>;
  /**
   * The same increment as one call that runs next to the data: litepool's
   * procedure (`pool.call`); drivers without one use {@link increment}.
   */
  incrementInOneCall?(id: number): Promise<void>;
  /** A point read through a statement prepared once (drivers without prepared statements: {@link get}). */
  getPrepared?(query: string, params: Value[]): Promise<unknown>;
  /**
   * A plain synchronous operation for a workload, run in a loop with no
   * promise per operation (the one-core ceiling); undefined when the subject
   * has none for that workload.
   */
  plain?(workload: string): ((random: (n: number) => number) => void) | undefined;
  close(): Promise<void>;
}
