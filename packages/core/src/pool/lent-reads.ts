/**
 * Where a read meant for the readers goes: a new pool's first row reads are
 * lent to its writer while no reader is open, nothing else waits for the
 * writer, runs on it or holds it, and the calling thread's connection has
 * not opened (see `InlineReader.lends`): on a cold start a first read then
 * waits for one thread to start, not two at once, and a pool that reads a
 * few times and closes opens no second connection. A lent read runs in a
 * batch of its own, and one that runs long there is stopped and given back
 * to the readers (see `Request.lent`), so nothing of the writer's waits
 * behind it.
 */
import { readsRows, type InlineReader, type Pending, type Request } from '../backend.js';
import { now } from '../timers.js';
import type { QueryJob } from './wait-queue.js';

/**
 * Whether a read meant for the readers is lent to the writer: nothing waits
 * for the writer, runs on it or holds it but reads lent before (so a lent
 * read never waits behind a long write). The lanes are looked at first; the
 * calling thread's reader is asked last, and once its connection is open it
 * answers from one field.
 */
export function lendsToWriter(
  request: Request,
  inline: InlineReader | undefined,
  fileReady: boolean,
  readers: { readonly open: number },
  writer: { readonly unclaimed: boolean },
): boolean {
  return readers.open === 0 && writer.unclaimed && readsRows(request.op) && inline?.lends(fileReady) === true;
}

/** The queue's job for a read meant for the readers; lent, it is marked so and sent in a batch of its own. */
export function readJob(request: Request, waiter: Pending, lent: boolean): QueryJob {
  return { kind: 'query', request: lent ? { ...request, lent } : request, waiter, enqueuedAt: now(), cancelled: false, alone: lent };
}
