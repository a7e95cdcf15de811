/**
 * The same race as race-lock.ts with proper-lockfile's own stale takeover
 * (rmdir, then mkdir): the contrast that shows the hazard is real.
 */
import lockfile from 'proper-lockfile';
import { closeSync, mkdirSync, openSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const [dir, rounds] = process.argv.slice(2);
const lockfilePath = join(dir!, 'db.lock');
const marker = join(dir!, 'holder');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const longAgo = new Date(Date.now() - 60_000);
let overlaps = 0;
let held = 0;
for (let round = 0; round < Number(rounds); round++) {
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(join(dir!, 'db'), { lockfilePath, realpath: false, stale: 2000, retries: 0, onCompromised: () => {} });
      break;
    } catch {
      await sleep(2 * (0.5 + Math.random()));
    }
  }
  let fd: number | undefined;
  try {
    fd = openSync(marker, 'wx');
  } catch {
    overlaps++;
  }
  await sleep(1);
  if (fd !== undefined) {
    closeSync(fd);
    unlinkSync(marker);
  }
  held++;
  await release().catch(() => {});
  try {
    mkdirSync(lockfilePath);
    utimesSync(lockfilePath, longAgo, longAgo);
  } catch {
    // another process took the lock first
  }
}
process.stdout.write(`${JSON.stringify({ held, overlaps, staleTakeovers: 0 })}\n`);
