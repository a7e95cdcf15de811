/**
 * Filesystems that fail on purpose: a FUSE passthrough that returns EIO on
 * command (faultfs.py, python3-fusepy), and a tiny tmpfs that fills up. Both
 * are mounted by the test (as root) and unmounted after it.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unmount } from './tools.js';

const faultfs = join(dirname(fileURLToPath(import.meta.url)), 'faultfs.py');
const PYTHON = '/usr/bin/python3';

/** Whether the process may mount filesystems; outside CI a test without it is skipped, in CI it fails. */
export function needRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI) throw new Error('CI must run the fault-injection suites as root (they mount filesystems)');
  t.skip('needs root (mounts filesystems)');
  return false;
}

function mounted(point: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === point);
}

/** Waits (bounded) until `point` is a mount point. */
async function waitMounted(point: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (mounted(point)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${point} was not mounted within 5 s`);
}

/** A mounted faultfs: `dir` is the mount; `fail('write' | 'fsync' | '')` switches faults. */
export interface FaultyDrive {
  readonly dir: string;
  fail(...ops: ('write' | 'fsync')[]): void;
}

/** Mounts a faultfs over a fresh directory; undefined when skipped (no root or no fusepy outside CI). */
export async function faultyDrive(t: TestContext): Promise<FaultyDrive | undefined> {
  if (!needRoot(t)) return undefined;
  if (
    spawnSync(PYTHON, ['-c', 'import fusepy'], { stdio: 'ignore' }).status !== 0 ||
    spawnSync('fusermount3', ['--version'], { stdio: 'ignore' }).error !== undefined
  ) {
    if (process.env.CI) throw new Error('CI is missing python3-fusepy or fuse3 (.ci/run should install them)');
    t.skip('needs python3-fusepy and fuse3');
    return undefined;
  }
  // Not tempDir(): the mount must be gone before its directory is removed, in this one hook.
  const root = mkdtempSync(join(tmpdir(), 'litepool-faultfs-'));
  const source = join(root, 'source');
  const dir = join(root, 'mount');
  const control = join(root, 'control');
  mkdirSync(source);
  mkdirSync(dir);
  const child = spawn(PYTHON, [faultfs, source, dir, control], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.after(() => {
    unmount(dir);
    child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  await waitMounted(dir).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${stderr}`);
  });
  return { dir, fail: (...ops) => writeFileSync(control, ops.join(' ')) };
}

/** Mounts a tmpfs of `sizeKb` KiB; undefined when skipped (no root outside CI). */
export function tinyDisk(t: TestContext, sizeKb: number): string | undefined {
  if (!needRoot(t)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'litepool-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  t.after(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
