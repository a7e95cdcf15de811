/**
 * Whether a one-shot read is answered at once on the calling thread (the
 * backend's {@link InlineReader}) instead of queued for a reader: only a
 * `get`, `all` or `values` that reads, of the pool or a session (not of
 * a transaction or lease; nothing pinned to the writer), once the writer has
 * opened (the file exists, in the strategy's journal mode; no reader needs to
 * have opened), and only while few reads sent to readers wait for their
 * answers: under load the calling thread is the bottleneck (it sends and
 * receives every reader's batches), and reads then cost it less batched
 * through readers than run here.
 */
import type { InlineReader, Pending, Request } from '../backend.js';
import type { Router } from './router.js';

/**
 * Answers `request` inline if it can; true if it did, or if the calling
 * thread found that a statement never seen writes (it then went to the
 * writer, through `toWriter`, without a probe on a reader).
 */
export function readNow(
  inline: InlineReader | undefined,
  fileReady: boolean,
  router: Pick<Router, 'readersQuiet' | 'knows' | 'remember'>,
  request: Request,
  caller: Pending,
  toWriter: () => void,
): boolean {
  if (inline === undefined || !fileReady || !router.readersQuiet) return false;
  if (request.op !== 'get' && request.op !== 'all' && request.op !== 'values') return false;
  const probe = !router.knows(request.sql);
  const answer = inline.run(probe ? { ...request, probe } : request, caller.timeoutMs);
  if (answer === undefined) return false;
  if (probe) router.remember(request.sql, answer.writes);
  if (answer.writes) toWriter();
  else caller.resolve(answer.value);
  return true;
}
