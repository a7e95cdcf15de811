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

/** The job for a read meant for the readers, and whether it is lent to the writer. */
export function readerJob(
  request: Request,
  waiter: Pending,
  inline: InlineReader | undefined,
  readers: LaneState,
  writer: LaneState,
): { readonly job: QueryJob; readonly lent: boolean } {
  const lent = inline?.starting === true && readsRows(request.op) && readers.open === 0 && writer.idle;
  const job: QueryJob = {
    kind: 'query',
    request: lent ? { ...request, lent } : request,
    waiter,
    enqueuedAt: now(),
    cancelled: false,
    alone: lent,
  };
  return { job, lent };
}
