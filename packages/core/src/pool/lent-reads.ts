/**
 * Where a read meant for the readers goes: a new pool's first row reads are
 * lent to its writer while no reader is open, nothing else waits for the
 * writer, runs on it or holds it, and the calling thread's connection has
 * not opened (see `InlineReader.lends`): on a cold start a first read then
 * waits for one thread to start, not two at once, and a pool that reads a
 * few times and closes opens no second connection. A lent read runs in a
 * batch of its own, and one that runs long there is stopped and given back
 * to the readers (see `Request.lent`), so nothing of the writer's waits
 * behind it. A small database's one-step backup is lent the same way.
 */
import { readsRows, type BackendBinding, type InlineReader, type Pending, type Request } from '../backend.js';
import { now } from '../timers.js';
import type { QueryJob } from './wait-queue.js';

/**
 * Lent reads waiting for the writer at once, beyond which a read goes to the
 * readers (starting one): the writer answers lent reads a batch each, and a
 * write sent after them waits for them, so a burst larger than this is for
 * a reader's batches.
 */
export const MAX_LENT_WAITING = 16;

/** What lending looks at of the writer's lane. */
export interface WriterLane {
  /** Nothing waits for it, runs on it or holds it but reads lent to it. */
  readonly unclaimed: boolean;
  /** Reads lent to it that wait for it. */
  readonly lentWaiting: number;
}

/**
 * Whether a read meant for the readers is lent to the writer (`true`):
 * nothing waits for the writer, runs on it or holds it but reads lent before
 * (so a lent read never waits behind a long write), and fewer than
 * {@link MAX_LENT_WAITING} of those wait. `'soon'` while no reader
 * is open but the writer is still claimed: a caller resumes before the lane
 * has counted the batch that answered it as done (a first read right after a
 * pool's first write), so the read is routed again on the next turn rather
 * than made to wait for a reader thread to start. The readers are looked at
 * first; the calling thread's reader is asked next, and once its connection
 * is open it answers from one field (and no read is lent from then on).
 */
export function lendsToWriter(
  request: Request,
  inline: InlineReader | undefined,
  ready: FileReady,
  readers: { readonly open: number },
  writer: WriterLane,
): boolean | 'soon' {
  if (ready === 'early' || ready === 'init') return false; // the calling thread answers it; the writer is still starting
  const lanes = writerTakes(readers, writer);
  return lanes !== false && readsRows(request.op) && inline?.lends(ready) === true ? lanes : false;
}

/**
 * Whether the calling thread may read the file: the writer has opened it
 * (`true`), it may before that (`'early'`), or it may once the strategy's
 * `init` has run (`'init'`: route the read again then).
 */
export type FileReady = boolean | 'early' | 'init';

/**
 * Whether the calling thread may read the file (see {@link FileReady}):
 * `'early'` while the writer is starting, once the strategy has checked the
 * file's place and the calling thread's reader can read it already (see
 * `InlineReader.readsBeforeWriter`): a pool opened while no thread is free
 * then answers its first reads without waiting for one to start.
 */
export function fileReady(
  gate: { readonly writerOpen: boolean; readonly initialized: boolean },
  inline: InlineReader | undefined,
): FileReady {
  if (gate.writerOpen) return true;
  if (inline?.readsBeforeWriter?.() !== true) return false;
  return gate.initialized ? 'early' : 'init';
}

/**
 * Whether a stream (`pool.iterate`) is first asked of the writer, whole: no
 * reader is open, nothing waits for the writer, runs on it or holds it, and
 * a read lent there can be stopped if it runs long. It is sent as a lent
 * read that answers only a result ending within one chunk (a longer one, or
 * one stopped, streams on a reader from its start), so a young pool's first
 * small stream waits for no reader to start and no cursor holds the writer.
 * Not while the writer is still opening a file that readers may open before
 * it: a reader then starts beside the writer, where a long stream would wait
 * for one to start after it. `'soon'`: as for {@link lendsToWriter}, ask
 * again on the next turn.
 */
export function lendsStream(
  binding: Pick<BackendBinding, 'inline' | 'readersBeforeWriter'>,
  writerOpen: boolean,
  readers: { readonly open: number },
  writer: WriterLane,
): boolean | 'soon' {
  const lanes = writerTakes(readers, writer);
  if (lanes === false || binding.inline?.stopsLentReads !== true) return false;
  return writerOpen || binding.readersBeforeWriter?.() !== true ? lanes : false;
}

/** Runs `retry` once the strategy's `init` has settled (see {@link FileReady}: `'init'`), whatever its outcome. */
export function afterInit(gate: { initialize(): Promise<void> }, retry: () => void): void {
  void gate.initialize().then(retry, retry);
}

/** Databases up to this size are backed up on an idle writer while no reader is open (see {@link lendsBackup}). */
export const MAX_LENT_BACKUP_BYTES = 4 * 1024 * 1024;

/**
 * Whether a one-step backup (`pagesPerStep: -1`) meant for a reader runs on
 * the writer: no reader is open, the writer has opened the file and nothing
 * waits for it, runs on it or holds it, and the database is small (`bytes`,
 * undefined when unknown), so the backup holds the writer a few ms instead of
 * waiting for a reader's thread to start (a young pool's first backup, a test
 * suite's). A backup in steps stays on a reader: writers go on between them.
 * `'soon'`: as for {@link lendsToWriter}, ask again on the next turn.
 */
export function lendsBackup(
  readers: { readonly open: number } | undefined,
  writer: WriterLane,
  fileReady: boolean,
  bytes: () => number | undefined,
): boolean | 'soon' {
  if (readers === undefined || !fileReady) return false;
  const lanes = writerTakes(readers, writer);
  if (lanes === false) return false;
  const size = bytes();
  return size !== undefined && size <= MAX_LENT_BACKUP_BYTES && lanes;
}

/** The lanes' part of either answer, looked at first (the calling thread's reader is asked only if it is not false). */
function writerTakes(readers: { readonly open: number }, writer: WriterLane): boolean | 'soon' {
  if (readers.open !== 0 || writer.lentWaiting >= MAX_LENT_WAITING) return false;
  return writer.unclaimed || 'soon';
}

/** The queue's job for a read meant for the readers; lent, it is marked so and sent in a batch of its own. */
export function readJob(request: Request, waiter: Pending, lent: boolean): QueryJob {
  return { kind: 'query', request: lent ? { ...request, lent } : request, waiter, enqueuedAt: now(), cancelled: false, alone: lent };
}
