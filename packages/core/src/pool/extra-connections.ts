/**
 * Connections a lane opened beyond its size close again once the lane has
 * gone `idleMs` without needing them. A lane opens extra connections while
 * its own are lent to leases (see `LaneConfig.extraForLeases`); kept until
 * the pool closed, one burst of leases would hold its threads (each a V8
 * isolate, tens of MiB) for the pool's life.
 *
 * Measured as a high-water mark rather than per connection: connections are
 * taken in turn, so under steady load none of them sits idle for long even
 * when fewer would do.
 */
import type { Pool } from 'generic-pool';
import { clearTimeout, setTimeout } from '../timers.js';

/** What the retirement sees of its lane. */
export interface ExtraConnectionsHost<R> {
  /** The lane's connections. */
  readonly pool: Pool<R>;
  /** Connections serving work or lent now. */
  busy(): number;
  /** Jobs waiting for a connection now. */
  queued(): number;
}

/** Closes a lane's extra connections after `idleMs` of not needing them. */
export class ExtraConnections<R> {
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The most connections busy at once since the last check. */
  #peak = 0;
  #stopped = false;

  /**
   * @param size connections the lane keeps (never retired)
   * @param idleMs how long extras may go unneeded (Infinity: never retired)
   */
  constructor(
    private readonly size: number,
    private readonly idleMs: number,
    private readonly host: ExtraConnectionsHost<R>,
  ) {}

  /** Notes how many connections are busy now (call when that rises). */
  noteBusy(busy: number): void {
    if (busy > this.#peak) this.#peak = busy;
  }

  /** Call when a connection is given back: starts the wait if extras are open. */
  released(): void {
    if (this.#timer !== undefined || this.#stopped || !Number.isFinite(this.idleMs) || this.host.pool.size <= this.size) return;
    this.#peak = this.host.busy();
    this.#timer = setTimeout(() => void this.#check(), this.idleMs);
    // An open pool with nothing to do must not keep its process alive for this.
    this.#timer.unref();
  }

  /** No more retirements (the lane is closing). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #check(): Promise<void> {
    this.#timer = undefined;
    let excess = this.host.pool.size - Math.max(this.size, this.#peak);
    while (excess-- > 0 && (await this.#retireIdle()));
    this.released();
  }

  /** Closes one idle connection; false if none is idle or work waits. */
  async #retireIdle(): Promise<boolean> {
    const { pool } = this.host;
    if (this.#stopped || pool.available === 0 || this.host.queued() > 0) return false;
    try {
      await pool.destroy(await pool.acquire());
      return true;
    } catch {
      return false; // the lane began to close meanwhile: its close ends every connection
    }
  }
}
