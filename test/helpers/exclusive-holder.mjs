// A child process holding a SQLite file with locking_mode=EXCLUSIVE inside BEGIN EXCLUSIVE, until release().
// Another process, because POSIX locks taken by this process's own other SQLite copy would not conflict.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const SCRIPT = `
const db = new (require(process.env.LITEPOOL_BETTER_SQLITE3))(process.env.LITEPOOL_HELD_FILE);
db.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE held (x)');
process.stdout.write('held');
process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;

/** Resolves once `filename` is held; `release()` rolls back, closes and waits for the process to exit. */
export async function holdExclusively(filename) {
  // By environment, not argv (where argv[1] lands after -e differs between Node, Bun and Deno); run beside the
  // held file, since Deno writes the evaluated script into its working directory.
  const env = {
    ...process.env,
    LITEPOOL_HELD_FILE: filename,
    LITEPOOL_BETTER_SQLITE3: createRequire(import.meta.url).resolve('better-sqlite3'),
  };
  const child = spawn(process.execPath, ['-e', SCRIPT], { cwd: dirname(filename), env, stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return {
    release: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', resolve);
        child.stdin.write('release');
      }),
    kill: () => child.kill(),
  };
}
