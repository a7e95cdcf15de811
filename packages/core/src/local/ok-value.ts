/**
 * A successful result as the caller gets it: BLOBs turned back into Buffers,
 * and the rows it changed delivered to the session watching them first.
 */
import type { Settings } from '../backend.js';
import { deliverChanges } from '../pool/row-changes.js';
import { blobsToBuffers } from '../values.js';
import { Status } from './protocol.js';

/** The value of a result of status `OkBlobs` or `Changed` (see protocol.ts) for a request with `settings`. */
export function okValue(status: Status, value: unknown, settings: Settings | undefined): unknown {
  if (status !== Status.Changed) return blobsToBuffers(value);
  const [inner, result, log] = value as [Status, unknown, string];
  deliverChanges(settings, log);
  return inner === Status.OkBlobs ? blobsToBuffers(result) : result;
}
