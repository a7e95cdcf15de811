/**
 * `file-lock`: a cross-process, cross-host lock (proper-lockfile's mkdir
 * lock) around every read and write, rollback journal. One lock hold covers
 * every operation the pool has queued (up to `maxHoldMs`), and one-shot
 * writes are group-committed under it. Each new hold has a new cache epoch,
 * so connections reopen and never serve pages cached before another host
 * wrote. A compromised lock aborts the hold: in-flight work fails with
 * `ERR_LOCK_COMPROMISED` and nothing more is committed under it.
 */
import type { lock as takeLock } from 'proper-lockfile';
import { dirname } from 'node:path';
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { LockCompromisedError, OptionsError, StrategyError } from '../errors.js';
import { booleanOption, integerOption, msOption, optionsObject, stringOption } from '../config/checks.js';
import { MAX_BATCH } from '../config/options.js';
import type { PragmaValue, Strategy, StrategyCapabilities, StrategyContext, StrategyHold, WriteBatching } from '../strategy.js';
import { racedOnNetworkFs } from './network-races.js';
import { synchronousOption } from './synchronous.js';
import { clearImmediate, clearInterval, now, setImmediate, setInterval, setTimeout } from '../timers.js';

/** Options of {@link fileLock}. */
export interface FileLockOptions {
  /** The lock directory. Default: `<database>.lock` beside the database. */
  lockfilePath?: string;
  /** A lock whose mtime is older than this is stale and taken over, in ms (at least 2000). Default: 10000. */
  staleMs?: number;
  /** How often the holder refreshes the lock's mtime, in ms (at least 1000, below `staleMs`). Default: `staleMs / 2`. */
  updateMs?: number;
  /** Polling interval while another process holds the lock, in ms (1 to 60000, jittered). Default: 20. */
  retryMs?: number;
  /** Longest continuous hold while work keeps coming, in ms (1 to 60000); then the lock is released so other processes get a turn. Default: 250. */
  maxHoldMs?: number;
  /** Most one-shot writes (or grouped transactions) committed together under one hold, 1 to 10000. Default: 256. */
  maxBatch?: number;
  /**
   * Group queued `pool.transaction` calls too: one COMMIT (one journal, one
   * set of syncs through the mount) for many, each in its own SAVEPOINT, each
   * acknowledged after the shared COMMIT; after a COMMIT that fails on a
   * deferred constraint each runs again alone, and one that fails otherwise
   * (a lost lock) rejects every member. Default: false.
   */
  groupTransactions?: boolean;
  /** `synchronous` for every connection. Default: FULL. */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
}

const KEYS = ['lockfilePath', 'staleMs', 'updateMs', 'retryMs', 'maxHoldMs', 'maxBatch', 'groupTransactions', 'synchronous'];

/** The resolved options of a {@link FileLockStrategy}. */
export interface ResolvedFileLockOptions {
  /** The lock directory, if set (else `<database>.lock`). */
  readonly lockfilePath: string | undefined;
  /** Age after which a lock is taken over, in ms. */
  readonly staleMs: number;
  /** How often the holder refreshes the lock, in ms. */
  readonly updateMs: number;
  /** Polling interval while another process holds the lock, in ms. */
  readonly retryMs: number;
  /** Longest continuous hold, in ms. */
  readonly maxHoldMs: number;
  /** `synchronous` of every connection. */
  readonly synchronous: string;
}

let lockFunction: Promise<typeof takeLock> | undefined;

/** proper-lockfile, loaded when first used: importing it installs process-wide signal handlers (signal-exit). */
function loadLock(): Promise<typeof takeLock> {
  lockFunction ??= import('proper-lockfile').then((module) => module.lock);
  return lockFunction;
}

/** Passed to proper-lockfile so it never takes a lock over itself (about 24 days). */
const NEVER_STALE = 2 ** 31 - 1;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The file-lock strategy. One instance serves one pool. */
export class FileLockStrategy implements Strategy {
  readonly name = 'file-lock';
  readonly capabilities: StrategyCapabilities = Object.freeze({
    crossProcess: true,
    networkSafe: true,
    concurrentReads: true,
    readsDuringWrite: false,
  });
  readonly journalMode = 'delete' as const;
  /** Other hosts cannot see SQLite's locks: a connection opened outside the lock could roll back their live journal. */
  readonly openUnderHold = true;
  readonly writeBatching: WriteBatching;
  /** The resolved options. */
  readonly options: ResolvedFileLockOptions;

  #target = '';
  #lockPath = '';
  #held = false;
  #releaseLock: (() => Promise<void>) | undefined;
  #controller = new AbortController();
  #epoch = 0;
  #refs = 0;
  #heldSince = 0;
  #yielding = false;
  #pauseBeforeTake = false;
  #taking: Promise<void> | undefined;
  #releasing: Promise<void> | undefined;
  #linger: NodeJS.Immediate | undefined;
  #closed = false;
  #acquisitions = 0;
  #waitMs = 0;
  #holds = 0;
  #compromised = 0;

  /** @param options see {@link FileLockOptions} */
  constructor(options?: FileLockOptions) {
    const raw = optionsObject('file-lock', options, ['name', ...KEYS]);
    const lockfilePath = stringOption('file-lock.lockfilePath', raw.lockfilePath);
    const staleMs = msOption('file-lock.staleMs', raw.staleMs, 10_000, 2_000);
    const updateMs = msOption('file-lock.updateMs', raw.updateMs, Math.floor(staleMs / 2), 1_000);
    if (updateMs >= staleMs) {
      throw new OptionsError(`file-lock.updateMs must be below file-lock.staleMs (${staleMs}), got ${updateMs}`);
    }
    this.options = Object.freeze({
      lockfilePath,
      staleMs,
      updateMs,
      retryMs: integerOption('file-lock.retryMs', raw.retryMs, 20, 1, { max: 60_000 }),
      maxHoldMs: integerOption('file-lock.maxHoldMs', raw.maxHoldMs, 250, 1, { max: 60_000 }),
      synchronous: synchronousOption('file-lock.synchronous', raw.synchronous, 'FULL'),
    });
    this.writeBatching = Object.freeze({
      maxBatch: integerOption('file-lock.maxBatch', raw.maxBatch, 256, 1, { max: MAX_BATCH }),
      maxWaitMs: 0,
      transactions: booleanOption('file-lock.groupTransactions', raw.groupTransactions, false),
    });
  }

  pragmas(): Readonly<Record<string, PragmaValue>> {
    return { synchronous: this.options.synchronous };
  }

  async init(context: StrategyContext): Promise<void> {
    this.#target = context.filename;
    this.#lockPath = this.options.lockfilePath ?? `${context.filename}.lock`;
    try {
      await stat(dirname(this.#lockPath));
    } catch (error) {
      throw new StrategyError(
        `file-lock cannot create its lock at ${this.#lockPath}: the directory does not exist`,
        'ERR_STRATEGY_UNSUPPORTED',
        { cause: error },
      );
    }
  }

  acquire(): StrategyHold | Promise<StrategyHold> {
    this.#holds++;
    if (this.#held && !this.#yielding && now() - this.#heldSince > this.options.maxHoldMs) {
      // Held long enough: finish what runs, release, and let other processes in before taking it again.
      this.#yielding = true;
    }
    if (this.#held && !this.#yielding) return this.#grant();
    return this.#acquireSlow();
  }

  stats(): Readonly<Record<string, number | boolean>> {
    return {
      held: this.#held,
      holds: this.#holds,
      lockAcquisitions: this.#acquisitions,
      lockWaitMs: Math.round(this.#waitMs),
      staleTakeovers: this.#takeovers,
      compromised: this.#compromised,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#linger !== undefined) clearImmediate(this.#linger);
    await this.#taking?.catch(() => {});
    if (this.#held) await this.#unlock();
    await this.#releasing;
  }

  async #acquireSlow(): Promise<StrategyHold> {
    for (;;) {
      if (this.#closed) throw new StrategyError('The file-lock strategy is closed', 'ERR_STRATEGY_UNSUPPORTED');
      if (this.#releasing !== undefined) await this.#releasing;
      else if (this.#held && !this.#yielding) return this.#grant();
      else if (this.#held) await new Promise<void>((resolve) => this.#afterRelease.push(resolve));
      else {
        this.#taking ??= this.#take().finally(() => (this.#taking = undefined));
        await this.#taking;
      }
    }
  }

  #afterRelease: (() => void)[] = [];

  #grant(): StrategyHold {
    this.#refs++;
    if (this.#linger !== undefined) {
      clearImmediate(this.#linger);
      this.#linger = undefined;
    }
    const epoch = this.#epoch;
    const controller = this.#controller;
    let released = false;
    return {
      epoch,
      signal: controller.signal,
      assertHeld: () => this.#assertHeld(controller),
      release: () => {
        if (released) return;
        released = true;
        if (epoch !== this.#epoch || !this.#held) return; // a hold of a lock since lost
        if (--this.#refs === 0) this.#idle();
      },
    };
  }

  /** Nothing runs under the lock: release at once when yielding, else after this turn of the event loop (more work may follow). */
  #idle(): void {
    if (this.#yielding || this.#closed) {
      void this.#unlock();
      return;
    }
    this.#linger = setImmediate(() => {
      this.#linger = undefined;
      if (this.#refs === 0 && this.#held) void this.#unlock();
    });
  }

  async #take(): Promise<void> {
    if (this.#pauseBeforeTake) {
      this.#pauseBeforeTake = false;
      await sleep(this.options.retryMs * 2);
    }
    const started = now();
    for (;;) {
      if (this.#closed) throw new StrategyError('The file-lock strategy is closed', 'ERR_STRATEGY_UNSUPPORTED');
      const controller = new AbortController();
      try {
        const lock = await loadLock();
        const release = await lock(this.#target, {
          lockfilePath: this.#lockPath,
          realpath: false,
          // proper-lockfile's own takeover (rmdir, then mkdir) lets two processes both win (its issue 121):
          // it never sees a lock as stale here; #takeOverIfStale does it under a guard instead.
          stale: NEVER_STALE,
          update: this.options.updateMs,
          retries: 0,
          onCompromised: (error) => this.#onCompromised(controller, error),
        });
        this.#controller = controller;
        this.#releaseLock = release;
        this.#held = true;
        this.#refs = 0;
        this.#epoch++;
        this.#heldSince = now();
        this.#acquisitions++;
        this.#waitMs += this.#heldSince - started;
        this.#startHeartbeat();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ELOCKED' && !racedOnNetworkFs(error)) {
          throw new StrategyError(`file-lock could not take ${this.#lockPath}: ${(error as Error).message}`, 'ERR_STRATEGY_UNSUPPORTED', {
            cause: error,
          });
        }
        if (await this.#takeOverIfStale()) continue;
        await sleep(this.options.retryMs * (0.5 + Math.random()));
      }
    }
  }

  /**
   * Removes the lock if it is stale (mtime older than `staleMs`: its holder
   * died or hung), so the next mkdir can take it. Takers serialize on a guard
   * directory and re-check, under the guard, that the lock is still the same
   * stale one: a lock another taker has just created is fresh and stays.
   * Returns true when the caller should try to take the lock at once.
   */
  async #takeOverIfStale(): Promise<boolean> {
    const seen = await stat(this.#lockPath).catch(() => undefined);
    if (seen === undefined) return true;
    if (Date.now() - seen.mtimeMs <= this.options.staleMs) return false;
    const guard = `${this.#lockPath}.takeover`;
    try {
      await mkdir(guard);
    } catch (error) {
      if (racedOnNetworkFs(error)) return false; // try again
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      // A taker that died inside the guard leaves it behind: clear it once it is stale too.
      const guardStat = await stat(guard).catch(() => undefined);
      if (guardStat !== undefined && Date.now() - guardStat.mtimeMs > this.options.staleMs) await rmdir(guard).catch(() => {});
      return false;
    }
    try {
      const now = await stat(this.#lockPath).catch(() => undefined);
      if (now === undefined) return true;
      const same = now.ino === seen.ino && now.mtimeMs === seen.mtimeMs;
      if (!same || Date.now() - now.mtimeMs <= this.options.staleMs) return false;
      await rm(this.#lockPath, { recursive: true, force: true });
      this.#takeovers++;
      return true;
    } finally {
      await rmdir(guard).catch(() => {});
    }
  }

  #takeovers = 0;

  #unlock(): Promise<void> {
    const release = this.#releaseLock;
    this.#stopHeartbeat();
    this.#held = false;
    this.#releaseLock = undefined;
    this.#refs = 0;
    if (this.#yielding) {
      this.#yielding = false;
      this.#pauseBeforeTake = true;
    }
    this.#releasing = (async () => {
      try {
        await release?.();
      } catch {
        // Already compromised or removed: nothing left to release.
      } finally {
        this.#releasing = undefined;
        for (const resolve of this.#afterRelease.splice(0)) resolve();
      }
    })();
    return this.#releasing;
  }

  /**
   * Synchronous check before work is sent: if the event loop stalled so long
   * that proper-lockfile may have missed refreshing the lock's mtime, another
   * process may already have taken it over. Declare it lost now rather than
   * wait for proper-lockfile's timer, which runs only after queued work.
   */
  #assertHeld(controller: AbortController): void {
    if (!controller.signal.aborted) {
      const stalled = now() - this.#lastBeat;
      if (controller === this.#controller && this.#held && stalled > this.options.staleMs - this.options.updateMs) {
        this.#onCompromised(
          controller,
          new Error(`the event loop stalled for ${Math.round(stalled)} ms, past the lock's safe refresh window`),
        );
      }
    }
    if (controller.signal.aborted) throw controller.signal.reason as Error;
  }

  #lastBeat = 0;
  #heartbeat: NodeJS.Timeout | undefined;

  #startHeartbeat(): void {
    this.#lastBeat = now();
    this.#heartbeat ??= setInterval(() => (this.#lastBeat = now()), Math.max(10, Math.floor(this.options.updateMs / 4)));
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** proper-lockfile's default throws from a timer and kills the process; instead, abort the hold. */
  #onCompromised(controller: AbortController, error: Error): void {
    if (controller.signal.aborted) return;
    this.#compromised++;
    if (controller === this.#controller && this.#held) {
      const release = this.#releaseLock;
      this.#held = false;
      this.#releaseLock = undefined;
      this.#refs = 0;
      this.#yielding = false;
      this.#stopHeartbeat();
      // If the directory is still ours, remove it; if another process owns it now, this fails harmlessly.
      release?.().catch(() => {});
      for (const resolve of this.#afterRelease.splice(0)) resolve();
    }
    controller.abort(
      new LockCompromisedError(
        `The file lock ${this.#lockPath} was compromised (${error.message}): work under it was stopped and nothing more is committed under it`,
        { cause: error },
      ),
    );
  }
}

/** Creates a {@link FileLockStrategy}: a cross-host lock around every access, for network drives. */
export function fileLock(options?: FileLockOptions): FileLockStrategy {
  return new FileLockStrategy(options);
}
