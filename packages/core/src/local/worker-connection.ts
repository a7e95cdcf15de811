/**
 * The main thread's handle on one worker thread and its connection: sends
 * batches, matches results to callers, and turns a dying worker into typed
 * rejections of everything it had in flight.
 */
import { Worker } from 'node:worker_threads';
import { WorkerCrashedError, type LitepoolError } from '../errors.js';
import { forEachResponse, packRequests, type FromWorker, type PackedResponses, type ToWorker, type WireError, type WireRequest, type WorkerConfig } from './protocol.js';
import { blobsToBuffers, fromWireError } from './values.js';

/** Someone waiting for one request's result. */
export interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Called instead of resolve/reject when a reader finds the statement writes. */
  reroute?(): void;
}

/** Options of one batch. */
export interface SendOptions {
  /** Reopen the connection first (its cache epoch is out of date). */
  readonly reopen?: boolean;
  /** Group-commit the batch (single-writer). */
  readonly group?: boolean;
  /** Shared flag the worker checks between requests; 1 means stop. */
  readonly abortFlag?: Int32Array | undefined;
}

/** What the pool hears from its connections. */
export interface ConnectionHooks {
  /** The worker died unexpectedly; its in-flight requests were rejected with `error`. */
  onCrash(error: LitepoolError): void;
  /** The worker retried statements that met SQLITE_BUSY. */
  onRetries(count: number): void;
}

const CLOSE_GRACE_MS = 10_000;

/** One worker thread owning one better-sqlite3 connection. */
export class WorkerConnection {
  /** The cache epoch this connection's page cache is valid for (-1: fresh). */
  epoch = -1;
  /** Set once the worker is gone; every later send rejects with it. */
  dead: LitepoolError | undefined;

  private readonly pending = new Map<number, Pending>();
  /** One resolver per batch sent, oldest first: a worker answers its batches in order. */
  private readonly batches: (() => void)[] = [];
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly hooks: ConnectionHooks,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts a worker and resolves once its connection is open; rejects with the open error otherwise. */
  static open(
    config: WorkerConfig,
    resourceLimits: Worker['resourceLimits'] | undefined,
    hooks: ConnectionHooks,
  ): Promise<WorkerConnection> {
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: config,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    const connection = new WorkerConnection(worker, hooks);
    return new Promise((resolve, reject) => {
      let settled = false;
      let lastError: unknown;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          settled = true;
          resolve(connection);
        } else if (message.type === 'open-failed') {
          settled = true;
          reject(fromWireError(message.error));
        } else if (message.type === 'results') {
          connection.settle(message.items, message.retries);
        }
      });
      worker.on('error', (error) => {
        lastError = error;
      });
      worker.once('exit', (code) => {
        const crash = new WorkerCrashedError(
          `The ${config.role} worker thread exited (code ${code})${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
          { cause: lastError },
        );
        if (!settled) {
          settled = true;
          reject(crash);
          return;
        }
        if (connection.dead !== undefined) return; // a requested close
        connection.dead = crash;
        connection.failAll(crash);
        hooks.onCrash(crash);
      });
    });
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a batch; each request's waiter settles when the worker answers. The
   * returned promise resolves once the whole batch is answered (or the worker
   * is gone); it never rejects.
   */
  send(items: readonly WireRequest[], waiters: readonly Pending[], options: SendOptions = {}): Promise<void> {
    if (this.dead !== undefined) {
      for (const waiter of waiters) waiter.reject(this.dead);
      return Promise.resolve();
    }
    for (let i = 0; i < items.length; i++) this.pending.set(items[i]!.id, waiters[i]!);
    const message: ToWorker = {
      type: 'batch',
      items: packRequests(items),
      reopen: options.reopen ?? false,
      group: options.group ?? false,
      abortFlag: options.abortFlag,
    };
    this.worker.postMessage(message);
    return new Promise((resolve) => this.batches.push(resolve));
  }

  /** Asks the worker to close its connection and exit; waits for it (terminates it after a grace period). */
  async close(): Promise<void> {
    if (this.dead === undefined) {
      this.dead = new WorkerCrashedError('The connection was closed');
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    }
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private settle(items: PackedResponses, retries: number): void {
    if (retries > 0) this.hooks.onRetries(retries);
    forEachResponse(items, (id, outcome, value) => {
      const waiter = this.pending.get(id);
      if (waiter === undefined) return;
      this.pending.delete(id);
      if (outcome === 'ok') waiter.resolve(value);
      else if (outcome === 'blobs') waiter.resolve(blobsToBuffers(value));
      else if (outcome === 'reroute') waiter.reroute?.();
      else waiter.reject(fromWireError(value as WireError));
    });
    this.batches.shift()?.();
  }

  private failAll(error: Error): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter.reject(error);
    for (const done of this.batches.splice(0)) done();
  }
}
