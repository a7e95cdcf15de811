// Opens, uses and closes SQLite connections in a loop: on the main thread, in
// worker threads, and through pools that close and open again. better-sqlite3
// 12 aborts the process this way on Node 24 (an assertion in a native
// destructor); the test asserts that this process exits 0 by itself.
//   node native-churn.mjs DIR [better-sqlite3 module path]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const [dir, driverPath] = isMainThread ? process.argv.slice(2) : workerData;
const Database = require(driverPath ?? 'better-sqlite3');
const ROUNDS = 30;

function churn(filename) {
  for (let round = 0; round < ROUNDS; round++) {
    const db = new Database(filename);
    db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 20; i++) insert.run(`r${round}-${i}`);
    db.prepare('SELECT count(*) AS n FROM t').get();
    for (const row of db.prepare('SELECT v FROM t LIMIT 5').iterate()) void row;
    db.close();
  }
}

if (!isMainThread) {
  churn(join(dir, `worker-${process.pid}-${Math.random()}.db`));
} else {
  churn(join(dir, 'main.db'));
  await Promise.all(
    Array.from({ length: 4 }, () => {
      const worker = new Worker(new URL(import.meta.url), { workerData: [dir, driverPath] });
      return new Promise((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
      });
    }),
  );
  if (driverPath === undefined) {
    // litepool's own reopening: pools closed and created again, and file-lock's reopen on every hold.
    const { createPool } = await import('@litepool/core');
    for (const strategy of ['wal', 'single-writer', 'file-lock', 'wal', 'file-lock']) {
      const pool = createPool({ filename: join(dir, 'pool.db'), strategy, readers: 2 });
      await pool.exec('CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, n INTEGER)');
      await pool.run('INSERT OR IGNORE INTO c VALUES (1, 0)');
      for (let i = 0; i < 10; i++) {
        await pool.transaction(async (tx) => {
          const row = await tx.get('SELECT n FROM c WHERE id = 1');
          await tx.run('UPDATE c SET n = ? WHERE id = 1', [row.n + 1]);
        });
        await Promise.all([pool.get('SELECT n FROM c'), pool.all('SELECT * FROM c')]);
        if (strategy === 'file-lock') await new Promise((resolve) => setTimeout(resolve, 5)); // let the hold lapse: reopen next time
      }
      await pool.close();
    }
  }
  console.log('ok');
}
