/**
 * Where a read meant for the readers goes: a new pool's first row reads are
 * lent to its writer while no reader is open, the writer is idle and the
 * calling thread cannot run reads yet (its read watch's thread is starting),
 * so a first read waits for one thread to start, not two at once. A lent read
 * runs in a batch of its own, and one that runs long there is stopped and
 * given back to the readers (see `Request.lent`), so nothing of the writer's
 * waits behind it.
 */
import { readsRows, type InlineReader, type Pending, type Request } from '../backend.js';
import { now } from '../timers.js';
import type { QueryJob } from './wait-queue.js';

/** What the choice needs to know of a lane. */
interface LaneState {
  readonly open: number;
  readonly idle: boolean;
}

/**
 * Whether a read meant for the readers is lent to the writer. The lanes are
 * looked at first: once a reader is open (every read but a new pool's
 * first) nothing else is asked.
 */
export function lendsToWriter(request: Request, inline: InlineReader | undefined, readers: LaneState, writer: LaneState): boolean {
  return readers.open === 0 && writer.idle && readsRows(request.op) && inline?.starting === true;
}

/** The queue's job for a read meant for the readers; lent, it is marked so and sent in a batch of its own. */
export function readJob(request: Request, waiter: Pending, lent: boolean): QueryJob {
  return { kind: 'query', request: lent ? { ...request, lent } : request, waiter, enqueuedAt: now(), cancelled: false, alone: lent };
}
