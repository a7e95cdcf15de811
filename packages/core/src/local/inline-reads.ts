/**
 * Short reads on the calling thread: a one-shot read (of the pool or a
 * session) the pool knows only reads runs on a read-only connection of the calling thread, instead of a
 * round trip through a worker thread (a point read costs a few µs here, about
 * a hundred through a thread). Two bounds keep the event loop free: the read
 * watch interrupts a statement after 1-2 ms (it then runs on a worker, and its
 * SQL goes to workers for a while, longer at each failure in a row, as does
 * the SQL of a read that took longer than a turn's budget three runs in a
 * row), and after {@link TURN_BUDGET_MS} spent here in
 * one turn of the event loop, reads go to workers until the next turn.
 * Anything else that goes wrong here (SQLITE_BUSY, any error) sends the read
 * to a worker too, so every error a caller sees is a worker's.
 */
import type { InlineAnswer, InlineReader, Request } from '../backend.js';
import type { Strategy, StrategyHold } from '../strategy.js';
import { now, setImmediate } from '../timers.js';
import { Status, type WireError, type WireResponse, type WorkerConfig } from './protocol.js';
import { WATCH_MS } from './read-watch-loop.js';
import { ReadWatch, type WatchSlot } from './read-watch.js';
import { StatementRunner } from './statement-runner.js';

/** Time spent on reads here per event-loop turn, after which reads go to workers until the next turn. */
export const TURN_BUDGET_MS = 0.5;
/**
 * A pool's first reads lent to its idle writer before the connection here
 * opens: opening it (file, WAL index, schema) costs the calling thread about
 * 0.4 ms, a read lent to the writer about 0.05 ms more than one run here, so a
 * pool that reads a few times and closes (a test's) never opens it.
 */
export const LENT_BEFORE_OPEN = 8;
/** Runs in a row over a turn's budget that make a statement no short read (see `#ranLong`). */
const LONG_RUNS = 3;
/** Bound on the statements with a record here (see `StatementRecord`). */
const MAX_RECORDS = 1_000;
/**
 * How long a statement that failed here (ran past its budget, or failed) goes
 * to workers: 100 ms, doubled at each failure in a row up to 64 s, forgotten
 * at its next success. A machine short of CPU can stretch a fast statement
 * past its budget, so a failure costs it little and none is held against it
 * for good; one that is always slow costs the event loop 1-2 ms a minute
 * once its wait has grown (about 20 ms over its first minute).
 */
const EXCLUDED_MS = 100;
const MAX_EXCLUDED_MS = 64_000;

/** What the calling thread's connection opens with: a reader's config, less what only a worker thread has. */
export type InlineConfig = Omit<
  WorkerConfig,
  | 'role'
  | 'control'
  | 'claims'
  | 'origin'
  | 'awaitGo'
  | 'deferOpen'
  | 'setup'
  | 'procedures'
  | 'busyTimeoutMs'
  | 'onCallingThread'
  | 'interruptExtension'
  | 'nativeBinding'
  | 'nice'
>;

/** The interrupt extension and native binding the connections load, and where the read watch's thread comes from. */
export interface WatchSource {
  readonly extension: string;
  readonly nativeBinding: string | undefined;
  readonly workerFile: URL | string | undefined;
}

/** Where the read watch comes from: the backend's lookup of the interrupt extension, made once per process. */
export interface WatchSources {
  /** The source, looked up (the first lookup loads the extension on this thread); undefined when there is none. */
  find(): WatchSource | undefined;
  /** Whether there will be one, loading nothing: the lookup's answer once made, before it whether an extension is to load. */
  expected(): boolean;
}

/** A statement's failures count per settings (a session's quoting rule can make the same text fail or not). */
const keyOf = (request: Request): string => (request.settings === undefined ? request.sql : `${request.settings.id}\u0000${request.sql}`);

const WRITES: InlineAnswer = Object.freeze({ writes: true });

const isThenable = (value: unknown): value is PromiseLike<StrategyHold> => typeof (value as { then?: unknown } | null)?.then === 'function';

/**
 * What is held against a statement here, all forgotten at its next run within
 * a turn's budget: its failures in a row (each sent it to workers until
 * `until`, for longer each time) and its runs in a row that took longer than
 * a turn's budget.
 */
interface StatementRecord {
  strikes: number;
  until: number;
  longRuns: number;
}

/** A pool's connection on the calling thread, and when it may be used. */
export class InlineReads implements InlineReader {
  /** Reads answered here (since start). */
  count = 0;
  #watch: ReadWatch | undefined;
  #slot: WatchSlot | undefined;
  #runner: StatementRunner | undefined;
  /** Set for good: the pool closed, the connection cannot open, or the strategy wants reads to wait for a hold. */
  #off = false;
  #spent = 0;
  #turnEnds = false;
  /** Reads lent to the writer before the connection here opened. */
  #lent = 0;
  /** See {@link readsBeforeWriter}: whether the file was readable then (undefined until asked). */
  #readableEarly: boolean | undefined;
  /** What is held against statements here: see {@link StatementRecord}. */
  readonly #records = new Map<string, StatementRecord>();

  /**
   * @param config what the connection opens with
   * @param strategy the pool's strategy (its read holds)
   * @param sources where the read watch comes from. The watch starts at the
   *   first read offered once the writer has opened, not before: a cold
   *   start's writer thread starts first.
   * @param readableEarly whether the file may be read before the writer has opened it (see readable-early.ts)
   */
  constructor(
    private readonly config: InlineConfig,
    private readonly strategy: Strategy,
    private readonly sources: WatchSources,
    private readonly readableEarly: () => boolean,
  ) {}

  /** Starts the read watch and takes this connection's slot in it, on first use (nothing more is tried if there is none). */
  #startWatch(): void {
    if (this.#slot !== undefined || this.#off) return;
    const source = this.sources.find();
    if (source === undefined) {
      this.#off = true;
      return;
    }
    const { extension, nativeBinding, workerFile } = source;
    this.#watch = ReadWatch.for(extension, nativeBinding, workerFile);
    this.#slot = this.#watch?.take();
    if (this.#slot === undefined) this.#off = true;
  }

  /** Whether reads here stopped for the rest of this turn, its budget used. */
  get spent(): boolean {
    return !this.#off && this.#spent >= TURN_BUDGET_MS;
  }

  /**
   * See {@link InlineReader.lends}: true while the read watch starts (it is
   * started here, at the first read offered once the file is ready), then for
   * the first {@link LENT_BEFORE_OPEN} reads before the connection opens. Once
   * it has opened, one field is read.
   */
  lends(fileReady: boolean): boolean {
    if (this.#runner !== undefined || this.#off) return false;
    // Before the file is ready the lookup is not made here: it loads better-sqlite3's addon on this thread, a block of
    // 1-2 ms the pool's first call would carry (the writer's open makes it, in a turn of its own, before anything runs).
    if (!fileReady) return this.sources.expected();
    this.#startWatch();
    if (this.#off) return false;
    return this.#watch?.ready !== true || this.#lent++ < LENT_BEFORE_OPEN;
  }

  /**
   * See {@link InlineReader.readsBeforeWriter}: only once a watch of this
   * process is running (a first pool's cold start must not start its thread
   * beside the writer's), and the file is readable before the writer opens it
   * (asked once).
   */
  readsBeforeWriter(): boolean {
    if (this.#off || !ReadWatch.anyReady()) return false;
    this.#readableEarly ??= this.readableEarly();
    if (!this.#readableEarly) return false;
    this.#startWatch();
    return this.#watch?.ready === true;
  }

  /** See {@link InlineReader.stopsLentReads}. */
  get stopsLentReads(): boolean {
    return this.sources.find() !== undefined;
  }

  /** Answers `request` here, or returns undefined: it then goes to a connection as usual. */
  run(request: Request, timeoutMs: number | undefined): InlineAnswer | undefined {
    if (this.#off || this.#spent >= TURN_BUDGET_MS) return undefined;
    this.#startWatch();
    const watch = this.#watch;
    const slot = this.#slot;
    if (watch === undefined || slot === undefined || !watch.ready) return undefined;
    if ((timeoutMs !== undefined && timeoutMs <= 2 * WATCH_MS) || this.#isExcluded(request)) return undefined;
    const runner = this.#connection(slot);
    if (runner === undefined) return undefined;
    const hold = this.strategy.acquire('read');
    if (isThenable(hold)) {
      // A strategy that makes reads wait for something: they are not for this thread.
      this.#off = true;
      void Promise.resolve(hold).then(
        (h) => h.release(),
        () => {},
      );
      return undefined;
    }
    if (hold.signal !== undefined || hold.epoch !== 0) {
      // A hold that can be lost, or a cache epoch to follow: a custom strategy's, for its readers, not this thread.
      hold.release();
      this.#off = true;
      return undefined;
    }
    const started = now();
    let response: WireResponse | undefined;
    try {
      response = this.#runHere(watch, slot, runner, request);
    } finally {
      hold.release();
      this.#spend(now() - started);
    }
    if (response === undefined) return undefined;
    // A probe whose statement writes: nothing ran, the writer answers.
    if (response.status === Status.Reroute) return WRITES;
    if (response.status !== Status.Failed) {
      this.count++;
      if (now() - started > TURN_BUDGET_MS) this.#ranLong(keyOf(request));
      else if (this.#records.size > 0) this.#records.delete(keyOf(request));
      return { writes: false, value: response.value };
    }
    const { code } = response.value as WireError;
    // An interrupt before its budget was up was meant for the statement before; SQLITE_BUSY passes.
    const passing = (code === 'SQLITE_INTERRUPT' && now() - started < WATCH_MS) || code?.startsWith('SQLITE_BUSY') === true;
    if (!passing) this.#exclude(this.#record(keyOf(request)));
    return undefined;
  }

  /** Closes the connection and gives its watch slot back. */
  close(): void {
    this.#off = true;
    this.#runner?.close();
    this.#runner = undefined;
    if (this.#slot !== undefined) this.#watch?.give(this.#slot);
    this.#slot = undefined;
  }

  /**
   * The connection, opened on first use; undefined if it cannot open (then
   * nothing runs here again). Opening is paid once per pool and is not counted
   * in the turn's budget: it would send the reads right after it to a reader,
   * which would then have to start.
   */
  #connection(slot: WatchSlot): StatementRunner | undefined {
    const runner = (this.#runner ??= this.#newRunner(slot));
    try {
      runner.ensureOpen(false);
      return runner;
    } catch {
      this.close();
      return undefined;
    }
  }

  /** The calling thread's connection, not yet opened: a reader's, with the watch's extension and slot. */
  #newRunner(slot: WatchSlot): StatementRunner {
    const source = this.sources.find();
    return new StatementRunner({
      ...this.config,
      interruptExtension: source?.extension,
      nativeBinding: source?.nativeBinding,
      role: 'reader',
      busyTimeoutMs: 0,
      onCallingThread: true,
      control: slot.control,
      claims: new Int32Array(1),
      origin: Math.floor(performance.timeOrigin + now()),
      awaitGo: false,
      deferOpen: false,
      setup: undefined,
      procedures: undefined,
      nice: 0,
    });
  }

  /** Runs the request on `runner` under the watch. */
  #runHere(watch: ReadWatch, slot: WatchSlot, runner: StatementRunner, request: Request): WireResponse | undefined {
    try {
      // A session's PRAGMAs and quoting rule, as a reader would switch to them.
      runner.useSettings(request.settings);
    } catch {
      return undefined;
    }
    const seq = watch.start(slot);
    try {
      runner.claim(seq);
      const { op, sql, params } = request;
      const probe = request.probe === true;
      return runner.run({
        seq,
        op,
        sql,
        params,
        probe,
        readOnly: true,
        inTransaction: false,
        final: false,
        keepOpen: false,
        cursor: undefined,
      });
    } finally {
      runner.idle();
      watch.end();
    }
  }

  /**
   * Counts `ms` against this turn's budget; the budget is renewed at the
   * turn's check phase. Not an unref'd immediate: Bun can leave one unrun
   * while ref'd ones keep coming, and a read waiting for the next turn then
   * found the budget spent at every turn (a busy loop; `test/54` under Bun).
   * A ref'd one runs in the same turn, so it keeps no process alive.
   */
  #spend(ms: number): void {
    this.#spent += ms;
    if (this.#turnEnds) return;
    this.#turnEnds = true;
    setImmediate(() => {
      this.#spent = 0;
      this.#turnEnds = false;
    });
  }

  #isExcluded(request: Request): boolean {
    if (this.#records.size === 0) return false;
    const record = this.#records.get(keyOf(request));
    return record !== undefined && now() < record.until;
  }

  /** The statement's record, made (the map kept within {@link MAX_RECORDS}) if it has none. */
  #record(key: string): StatementRecord {
    let record = this.#records.get(key);
    if (record === undefined) {
      if (this.#records.size >= MAX_RECORDS) this.#records.clear();
      record = { strikes: 0, until: 0, longRuns: 0 };
      this.#records.set(key, record);
    }
    return record;
  }

  /**
   * A run here that finished but took longer than a turn's budget: not a
   * short read if it does so {@link LONG_RUNS} times in a row (once a pause
   * of the thread, a GC or the scheduler, can stretch a short one), or once
   * more after it was sent to workers. Its next runs then go to workers.
   */
  #ranLong(key: string): void {
    const record = this.#record(key);
    record.longRuns++;
    if (record.longRuns >= LONG_RUNS || record.strikes > 0) this.#exclude(record);
  }

  /** Sends the statement to workers for a while: see {@link EXCLUDED_MS}. */
  #exclude(record: StatementRecord): void {
    record.strikes++;
    record.longRuns = 0;
    record.until = now() + Math.min(MAX_EXCLUDED_MS, EXCLUDED_MS * 2 ** (record.strikes - 1));
  }
}
