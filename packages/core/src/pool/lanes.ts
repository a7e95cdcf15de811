/**
 * A pool's two lanes, built from its options and backend: the writer (one
 * connection) and the readers (none when the pool has no readers). Here too
 * is how their connections open (the hooks that count crashes and retries,
 * hand work back and report warnings), and what is done to both lanes at
 * once: counting what waits, draining, failing, stopping and closing.
 */
import type { BackendBinding, Connection, ConnectionHooks } from '../backend.js';
import { MAX_READERS, type ResolvedPoolOptions } from '../config/options.js';
import type { ConnectionRole } from '../strategy.js';
import { channels } from '../diagnostics.js';
import { Lane } from './lane.js';
import type { StartGate } from './start-gate.js';

/** What the lanes are told by the pool they belong to. */
export interface LanesHost {
  /** Opens the lanes' connections in order: the strategy's init, then the writer, then readers. */
  readonly gate: StartGate;
  /** Called when either lane's work may have changed (the pool then decides whether it keeps the process alive). */
  readonly onWorkChange: () => void;
  /** Called when the writer has nothing queued and nothing running (idle maintenance). */
  readonly onWriterIdle: () => void;
  /** Reports a warning; `once`: only the first time per pool. */
  readonly warn: (code: string, message: string, once?: boolean) => void;
}

/** The writer and the readers of one pool (see the module description). */
export class Lanes {
  readonly writer: Lane;
  /** Undefined when the pool has no readers: reads run on the writer. */
  readonly readers: Lane | undefined;
  /** Connections that died and were replaced. */
  crashes = 0;
  /** Statements retried after SQLITE_BUSY. */
  retries = 0;

  constructor(
    options: ResolvedPoolOptions,
    private readonly binding: BackendBinding,
    private readonly host: LanesHost,
  ) {
    const common = {
      database: binding.location,
      strategy: binding.strategy,
      maxBatch: options.maxBatch,
      acquireTimeoutMs: options.acquireTimeoutMs,
      startsEarly: binding.startsEarly === true,
      onWorkChange: host.onWorkChange,
    };
    this.writer = new Lane({
      ...common,
      size: 1,
      access: 'write',
      group: binding.strategy.writeBatching,
      open: (signal, ready) => this.#open('writer', signal, ready),
      gate: () => host.gate.writerGate(),
      onIdle: () => host.onWriterIdle(),
    });
    this.readers =
      options.readers > 0
        ? new Lane({
            ...common,
            size: options.readers,
            extraForLeases: MAX_READERS - options.readers,
            extraIdleMs: options.extraReaderIdleMs,
            access: 'read',
            group: undefined,
            open: (signal, ready) => this.#open('reader', signal, ready),
            gate: () => host.gate.readerGate(),
            // Every reader stuck in a long statement: reads run on the writer rather than wait.
            overflow: (job) => (this.writer.enqueue(job), true),
          })
        : undefined;
  }

  /** Jobs waiting for a connection in either lane. */
  get pending(): number {
    return this.writer.pending + (this.readers?.pending ?? 0);
  }

  /**
   * Whether either lane has work beyond `quietLeases` connections lent to
   * leases with nothing in flight: a queued job, or a connection serving.
   */
  hasWork(quietLeases: number): boolean {
    const queued = this.writer.pending + (this.readers?.pending ?? 0);
    return queued > 0 || this.writer.busy + (this.readers?.busy ?? 0) > quietLeases;
  }

  /** Resolves when nothing is queued or running in either lane. */
  async whenIdle(): Promise<void> {
    await Promise.all([this.writer.whenIdle(), this.readers?.whenIdle()]);
  }

  /** Rejects every job queued in either lane with `error`. */
  failQueued(error: Error): void {
    this.writer.failQueued(error);
    this.readers?.failQueued(error);
  }

  /** Stops every request running or sent on either lane's connections (the pool is being destroyed). */
  stopAll(reason: Error): void {
    this.writer.stopAll(reason);
    this.readers?.stopAll(reason);
  }

  /** Closes every connection, each given `graceMs` to finish what it runs: readers first, so WAL cleanup sees no other connection. */
  async close(graceMs: number | undefined): Promise<void> {
    await this.readers?.close(graceMs);
    await this.writer.close(graceMs);
  }

  #open(role: ConnectionRole, signal: AbortSignal, ready?: Promise<void>): Promise<Connection> {
    const lane = role === 'writer' ? this.writer : this.readers!;
    const { binding, host } = this;
    const hooks: ConnectionHooks = {
      onCrash: (error) => {
        this.crashes++;
        if (channels.connectionReplaced.hasSubscribers) channels.connectionReplaced.publish({ database: binding.location, role, error });
      },
      onRetries: (count) => void (this.retries += count),
      onStall: (connection) => lane.onStall(connection),
      onReturned: (items) => {
        const target = this.readers ?? lane;
        const runAgain = items.filter(({ request }) => request.op !== 'iterate');
        // A stream stopped on the writer streams on a reader, from its start (see lendsStream).
        for (const { request, waiter } of items) if (request.op === 'iterate') waiter.reroute?.();
        target.moved += items.length - runAgain.length;
        target.takeBack(runAgain);
      },
      onWarning: (code, message) => host.warn(code, message, code === 'LITEPOOL_NO_INTERRUPT'),
    };
    const opening = binding.open(role, hooks, signal, ready);
    // Readers open read-only and may start as soon as any writer connection has created the file.
    if (role === 'writer' && binding.strategy.openUnderHold !== true) {
      void opening.then(
        () => host.gate.writerOpened(),
        () => {},
      );
    }
    return opening;
  }
}
