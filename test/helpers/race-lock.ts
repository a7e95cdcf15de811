/**
 * A child process in the stale-takeover race: takes the file lock `rounds`
 * times; while holding it, proves exclusivity with an O_EXCL marker file; on
 * release it leaves a stale lock behind (as if it had died), so the next
 * acquisitions are stale takeovers raced by every process.
 */
import { fileLock } from '@litepool/strategies';
import { closeSync, mkdirSync, openSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const [dir, rounds] = process.argv.slice(2);
const lockfilePath = join(dir!, 'db.lock');
const marker = join(dir!, 'holder');
const strategy = fileLock({ lockfilePath, staleMs: 2000, retryMs: 2, maxHoldMs: 1 });
await strategy.init({ filename: join(dir!, 'db'), networkFilesystem: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const longAgo = new Date(Date.now() - 60_000);
let overlaps = 0;
let held = 0;
for (let round = 0; round < Number(rounds); round++) {
  const hold = await strategy.acquire();
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
  hold.release();
  await sleep(3); // the strategy releases after this turn of the event loop
  try {
    mkdirSync(lockfilePath);
    utimesSync(lockfilePath, longAgo, longAgo);
  } catch {
    // another process took the lock first: no stale lock to plant this round
  }
}
const stats = strategy.stats();
await strategy.close();
process.stdout.write(`${JSON.stringify({ held, overlaps, staleTakeovers: stats.staleTakeovers })}\n`);
