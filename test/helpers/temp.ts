/** Fresh database paths in temp directories, removed after the test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A fresh directory for one test, deleted when the test ends. Hooks run in
 * the order they were added, so a pool opened after this is still open while
 * the directory goes: a file it creates meanwhile (a new connection's WAL)
 * makes the removal find the directory not empty, and it tries again.
 */
export function tempDir(t: TestContext, prefix = 'litepool-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));
  return dir;
}

/** A path for a database file that does not exist yet, in a fresh directory. */
export function tempDb(t: TestContext, name = 'test.db'): string {
  return join(tempDir(t), name);
}
