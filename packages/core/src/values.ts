/** Values as they cross a thread boundary. */

/** BLOBs arrive as Uint8Array (postMessage drops the Buffer class): view them as Buffers again, without copying. */
export function blobsToBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = blobsToBuffers(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = record[key];
      if (typeof field === 'object' && field !== null) record[key] = blobsToBuffers(field);
    }
  }
  return value;
}
