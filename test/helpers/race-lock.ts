/**
 * A child process in the stale-takeover race: takes the file lock `rounds`
 * times; while holding it, proves exclusivity with an O_EXCL marker file; on
 * release it leaves a stale lock behind (as if it had died), so the next
 * acquisitions are stale takeovers raced by every process.
 */
import { fileLock } from '@litepool/core';
import { join } from 'node:path';
import { criticalSection, plantStaleLock, sleep } from './race-round.js';

// The exclusivity witness lives in `witnessDir` (default: `dir`): for mounts, the local directory behind them,
// since a FUSE mount's entry cache can answer an O_EXCL create from a stale entry without asking the server.
const [dir, rounds, witnessDir = dir] = process.argv.slice(2);
const lockfilePath = join(dir!, 'db.lock');
const strategy = fileLock({ lockfilePath, staleMs: 2000, retryMs: 2, maxHoldMs: 1 });
await strategy.init({ filename: join(dir!, 'db'), networkFilesystem: false });
let overlaps = 0;
for (let round = 0; round < Number(rounds); round++) {
  const hold = await strategy.acquire();
  if (!(await criticalSection(join(witnessDir!, 'holder')))) overlaps++;
  hold.release();
  await sleep(3); // the strategy releases after this turn of the event loop
  plantStaleLock(lockfilePath);
}
const stats = strategy.stats();
await strategy.close();
process.stdout.write(`${JSON.stringify({ held: Number(rounds), overlaps, staleTakeovers: stats.staleTakeovers })}\n`);
