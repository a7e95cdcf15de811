/** External tools some suites need: skipped outside CI when missing, a failure in CI. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Whether `tool` is on the PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns true when every tool is present. Otherwise skips the test, except
 * under CI, where a missing tool is a failure (`.ci/run` installs them).
 */
export function needTools(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`CI is missing ${missing.join(', ')} (.ci/run should install them)`);
  t.skip(`needs ${missing.join(', ')}`);
  return false;
}

/** Unmounts a FUSE mount. */
export function unmount(target: string): void {
  spawnSync(hasTool('fusermount3') ? 'fusermount3' : 'fusermount', ['-u', target], { stdio: 'ignore' });
}

/**
 * Mounts `source` at `parent/name` with bindfs (a FUSE filesystem). Unmount it
 * (with {@link unmount}) before the directory holding it is removed.
 */
export function bindfsMount(source: string, parent: string, name: string): string {
  const target = join(parent, name);
  mkdirSync(target, { recursive: true });
  execFileSync('bindfs', ['--no-allow-other', source, target]);
  return target;
}
