/** One round of the stale-takeover race, shared by the litepool and plain proper-lockfile children. */
import { closeSync, mkdirSync, openSync, unlinkSync, utimesSync } from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** While holding the lock: proves exclusivity with an O_EXCL marker file. Returns false if another holder was inside. */
export async function criticalSection(marker: string): Promise<boolean> {
  let fd: number | undefined;
  try {
    fd = openSync(marker, 'wx');
  } catch {
    return false;
  }
  await sleep(1);
  closeSync(fd);
  unlinkSync(marker);
  return true;
}

/** After releasing: leaves a stale lock behind, as if its holder had died, unless another process took the lock first. */
export function plantStaleLock(lockfilePath: string): void {
  const longAgo = new Date(Date.now() - 60_000);
  try {
    mkdirSync(lockfilePath);
    utimesSync(lockfilePath, longAgo, longAgo);
  } catch {
    // another process took the lock first
  }
}
