/**
 * Whether a database file may be read before the pool's writer opens it. The
 * writer's open creates a missing file and switches it to WAL; a read before
 * that could find no file, or hold a lock the switch waits for. A file that
 * is a database already and in WAL mode (or that the pool opens read-only,
 * so nothing switches it) reads the same before the writer's open as after.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const MAGIC = 'SQLite format 3\u0000';
/** Header bytes 18 and 19: the file format's write and read versions, 2 in WAL mode. */
const WAL_VERSION = 2;

/** See the module's comment; reads the file's 100-byte header (never throws: false when it cannot). */
export function readableBeforeWriter(path: string, readOnly: boolean): boolean {
  const header = Buffer.alloc(100);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (readSync(fd, header, 0, 100, 0) < 100 || header.toString('latin1', 0, 16) !== MAGIC) return false;
    return readOnly || (header[18] === WAL_VERSION && header[19] === WAL_VERSION);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
