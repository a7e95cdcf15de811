/** Values as they cross a thread boundary. */

/** BLOBs arrive as Uint8Array (postMessage drops the Buffer class): view them as Buffers again, without copying. */
export function blobsToBuffers(value: unknown): unknown {
  return convert(value, 0, undefined);
}

/**
 * A procedure may return a cyclic object (structured clone keeps cycles).
 * Rows (an array of flat objects) never reach depth 2, so objects are
 * remembered only from there: a cycle goes deeper without end, and is met
 * again there.
 */
function convert(value: unknown, depth: number, seen: Set<object> | undefined): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value === null || typeof value !== 'object') return value;
  let visited = seen;
  if (depth >= 2) {
    visited ??= new Set<object>();
    if (visited.has(value)) return value;
    visited.add(value);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) value[i] = convert(item, depth + 1, visited);
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const field = record[key];
    if (typeof field === 'object' && field !== null) record[key] = convert(field, depth + 1, visited);
  }
  return value;
}
