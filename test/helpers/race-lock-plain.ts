/**
 * The same race as race-lock.ts with proper-lockfile's own stale takeover
 * (rmdir, then mkdir): the contrast that shows the hazard is real.
 */
import lockfile from 'proper-lockfile';
import { join } from 'node:path';
import { criticalSection, plantStaleLock, sleep } from './race-round.js';

// The exclusivity witness lives in `witnessDir` (default: `dir`): for mounts, the local directory behind them,
// since a FUSE mount's entry cache can answer an O_EXCL create from a stale entry without asking the server.
const [dir, rounds, witnessDir = dir] = process.argv.slice(2);
const lockfilePath = join(dir!, 'db.lock');
let overlaps = 0;
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
  if (!(await criticalSection(join(witnessDir!, 'holder')))) overlaps++;
  await release().catch(() => {});
  plantStaleLock(lockfilePath);
}
process.stdout.write(`${JSON.stringify({ held: Number(rounds), overlaps, staleTakeovers: 0 })}\n`);
