/**
 * A successful result as the caller gets it: BLOBs turned back into Buffers,
 * packed rows made into objects, and the rows it changed delivered to the
 * session watching them first.
 */
import type { Settings } from '../backend.js';
import type { CursorChunk } from '../types.js';
import { deliverChanges } from '../pool/row-changes.js';
import { blobsToBuffers } from '../values.js';
import { unpackRows, type PackedRows } from './packed-rows.js';
import { Status } from './protocol.js';

/** Whether `status` is a success other than {@link Status.Changed}. */
export const isOk = (status: Status): boolean =>
  status === Status.Ok || status === Status.OkBlobs || status === Status.OkRows || status === Status.OkChunk;

/** The value of a successful result of any status but `Ok` (see protocol.ts) for a request with `settings`. */
export function okValue(status: Status, value: unknown, settings: Settings | undefined): unknown {
  if (status === Status.OkRows) return unpackRows(value as PackedRows);
  if (status === Status.OkChunk) {
    const [cursor, done, packed] = value as [number, boolean, PackedRows];
    return { cursor, rows: unpackRows(packed), done } satisfies CursorChunk;
  }
  if (status !== Status.Changed) return blobsToBuffers(value);
  const [inner, result, log] = value as [Status, unknown, string];
  deliverChanges(settings, log);
  return inner === Status.Ok ? result : okValue(inner, result, settings);
}
