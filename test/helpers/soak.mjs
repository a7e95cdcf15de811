// The soak of test/35, in a process of its own with plain Node: the RSS it
// samples is litepool's and the app's, not a TypeScript loader's (under tsx
// the same load levels off ~200 MiB higher and keeps growing for a minute).
// 32 handlers mix every kind of call on one pool for SOAK_MS; calls that fail
// on purpose are checked here. Prints one JSON line with the counts, the
// final rows and stats, and the RSS samples (with the readers open then).
//   node soak.mjs DIR SOAK_MS
import { AbortError, ArgumentError, createPool, SqliteError, StatementTimeoutError } from '@litepool/core';
import { join } from 'node:path';

const [dir, soakArg] = process.argv.slice(2);
const SOAK_MS = Number(soakArg);
const HANDLERS = 32;
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) AS n FROM c';
const unexpected = [];

/** Records a call that should have failed with `type` and did not, or failed otherwise. */
const expectFailure = (call, type) =>
  call.then(
    () => unexpected.push(`succeeded, expected ${type.name}`),
    (error) => {
      if (!(error instanceof type)) unexpected.push(`expected ${type.name}, got ${String(error)}`);
    },
  );
/** Records an error other than `type` (the call may also succeed). */
const allowFailure = (call, type) =>
  call.then(
    () => {},
    (error) => {
      if (!(error instanceof type)) unexpected.push(`expected ${type.name} or success, got ${String(error)}`);
    },
  );

/** One random operation; resolves how many increments it made. */
async function operation(pool, random) {
  const pick = random();
  if (pick < 0.35) await pool.get('SELECT v FROM kv WHERE id = ?', [1 + Math.floor(random() * 1000)]);
  else if (pick < 0.45) await pool.all('SELECT id, v FROM kv WHERE id BETWEEN ? AND ?', [1, 50]);
  else if (pick < 0.6)
    await pool.run('UPDATE kv SET v = ? WHERE id = ?', [`u${Math.floor(random() * 1e6)}`, 1 + Math.floor(random() * 1000)]);
  else if (pick < 0.75) {
    await pool.transaction(async (tx) => {
      const row = await tx.get('SELECT n FROM counter WHERE id = 1');
      await new Promise((resolve) => setImmediate(resolve));
      await tx.run('UPDATE counter SET n = ? WHERE id = 1', [row.n + 1]);
    });
    return 1;
  } else if (pick < 0.8) {
    let rows = 0;
    for await (const row of pool.iterate('SELECT id FROM kv')) {
      void row;
      if (++rows === 10) break;
    }
  } else if (pick < 0.85) {
    const lease = await pool.acquire();
    try {
      await lease.get('SELECT count(*) AS n FROM kv');
    } finally {
      await lease.release();
    }
  } else if (pick < 0.9) await expectFailure(pool.get('SELEC oops'), SqliteError);
  else if (pick < 0.93) await expectFailure(pool.run('INSERT INTO kv VALUES (?, ?)', [1, () => 1]), ArgumentError);
  else if (pick < 0.96) {
    const controller = new AbortController();
    const call = pool.get(SLOW, [], { signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await allowFailure(call, AbortError);
  } else await allowFailure(pool.get(SLOW, [], { timeoutMs: 10 }), StatementTimeoutError);
  return 0;
}

const pool = createPool({ filename: join(dir, 'soak.db'), strategy: 'single-writer' });
try {
  await pool.exec(`
    CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER);
    INSERT INTO counter VALUES (1, 0);
    INSERT INTO kv (id, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x, hex(randomblob(40)) FROM c;`);
  const samples = [];
  const started = performance.now();
  const sampler = setInterval(
    () => samples.push({ at: performance.now() - started, rss: process.memoryUsage.rss(), readers: pool.stats().readers }),
    1_000,
  );
  let increments = 0;
  let operations = 0;
  const end = started + SOAK_MS;
  await Promise.all(
    Array.from({ length: HANDLERS }, async (_, handler) => {
      let state = handler * 7919 + 1;
      const random = () => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return state / 2 ** 31;
      };
      while (performance.now() < end) {
        const made = await operation(pool, random); // not `increments += await …`: that reads increments before the await
        increments += made;
        operations++;
      }
    }),
  );
  clearInterval(sampler);
  const { queued, crashes } = pool.stats();
  const counter = await pool.get('SELECT n FROM counter');
  const integrity = await pool.get('PRAGMA integrity_check');
  process.stdout.write(`${JSON.stringify({ operations, increments, counter, integrity, queued, crashes, unexpected, samples })}\n`);
} finally {
  await pool.close();
}
