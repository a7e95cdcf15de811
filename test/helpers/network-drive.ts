/** Two "hosts" sharing one directory through FUSE mounts, set up by scripts/network-drive.sh. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { needTools } from './tools.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'network-drive.sh');

/** What each kind of mount needs on the PATH. */
export const MOUNT_TOOLS = { sshfs: ['sshfs', 'sshd', 'ssh-keygen'], bindfs: ['bindfs'] } as const;

/**
 * Mounts one fresh shared directory twice (`hostA`, `hostB`); unmounts and
 * removes everything after the test. Undefined when the tools are missing
 * outside CI (the test is skipped); in CI a missing tool fails the test.
 */
export function networkDrive(t: TestContext, kind: 'sshfs' | 'bindfs'): { hostA: string; hostB: string; share: string } | undefined {
  if (!needTools(t, ...MOUNT_TOOLS[kind])) return undefined;
  const dir = mkdtempSync(join(tmpdir(), `litepool-${kind}-`));
  const down = (): void => {
    execFileSync('bash', [script, 'down', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [hostA, hostB] = execFileSync('bash', [script, 'up', dir, kind], { encoding: 'utf8' }).trim().split('\n');
    t.after(down);
    return { hostA: hostA!, hostB: hostB!, share: join(dir, 'share') };
  } catch (error) {
    down();
    throw error;
  }
}
