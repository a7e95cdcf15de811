/**
 * Whether a one-shot read is answered at once on the calling thread (the
 * backend's {@link InlineReader}) instead of queued for a reader: only a
 * `get`, `all` or `values` known to read, of the pool or a session (not of
 * a transaction or lease; nothing pinned to the writer), once a reader has
 * opened (the file exists, in the strategy's journal mode), and only while
 * few reads sent to readers wait for their answers: under load the calling
 * thread is the bottleneck (it sends and receives every reader's batches),
 * and reads then cost it less batched through readers than run here.
 */
import type { InlineReader, Pending, Request } from '../backend.js';
import type { Lane } from './lane.js';
import type { Router } from './router.js';

/** Answers `request` inline if it can; true if `caller` has its answer. */
export function readNow(
  inline: InlineReader | undefined,
  readers: Pick<Lane, 'open'>,
  router: Pick<Router, 'readersQuiet'>,
  request: Request,
  caller: Pending,
): boolean {
  if (inline === undefined || readers.open === 0 || !router.readersQuiet) return false;
  if (request.op !== 'get' && request.op !== 'all' && request.op !== 'values') return false;
  const answer = inline.run(request, caller.timeoutMs);
  if (answer === undefined) return false;
  caller.resolve(answer.value);
  return true;
}
