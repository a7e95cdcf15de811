// A child process holding a SQLite file with locking_mode=EXCLUSIVE inside BEGIN EXCLUSIVE, until release().
// Another process, because POSIX locks taken by this process's own other SQLite copy would not conflict.
import { spawn } from 'node:child_process';

const SCRIPT = `
const db = new (require('better-sqlite3'))(process.argv[1]);
db.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE held (x)');
process.stdout.write('held');
process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;

/** Resolves once `filename` is held; `release()` rolls back, closes and waits for the process to exit. */
export async function holdExclusively(filename) {
  const child = spawn(process.execPath, ['-e', SCRIPT, filename], { cwd: import.meta.dirname, stdio: ['pipe', 'pipe', 'inherit'] });
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
