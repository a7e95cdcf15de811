/** Fresh database paths in temp directories, removed after the test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory for one test, deleted when the test ends. */
export function tempDir(t: TestContext, prefix = 'litepool-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A path for a database file that does not exist yet, in a fresh directory. */
export function tempDb(t: TestContext, name = 'test.db'): string {
  return join(tempDir(t), name);
}
