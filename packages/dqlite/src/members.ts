/**
 * The cluster's members as a pool knows them: the addresses it was given
 * (kept: they are the user's) and the members the leader last listed. Every
 * new leader connection asks for the list, and a busy pool asks again every
 * `refreshMs`, so nodes added later are found after the given ones are gone.
 */
import { clock } from '@litepool/core';
import type { DqliteClient } from './client.js';

/** What a pool knows of the cluster's members. */
export class Members {
  #learned: readonly string[] = [];
  #askedAt = -Infinity;

  /** @param seeds the addresses given in the options @param refreshMs how often a busy pool asks the leader again */
  constructor(
    readonly seeds: readonly string[],
    private readonly refreshMs: number,
  ) {}

  /** Every address worth asking who leads: the given ones and the listed members. */
  get servers(): readonly string[] {
    return [...new Set([...this.seeds, ...this.#learned])];
  }

  /** Whether the list is older than `refreshMs`. */
  get due(): boolean {
    return clock.now() - this.#askedAt >= this.refreshMs;
  }

  /** Asks the leader on `client` for the members. A failure is left to the request that uses the connection next. */
  async refresh(client: DqliteClient): Promise<void> {
    this.#askedAt = clock.now();
    try {
      this.#learned = (await client.cluster()).map((node) => node.address);
    } catch {
      // The connection broke or the leader moved: the next request finds out and reconnects.
    }
  }
}
