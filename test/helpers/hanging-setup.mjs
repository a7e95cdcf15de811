// A pool whose setup module never finishes (it loops, or its top-level await
// never settles), a call waiting for it, then close() or destroy(). Prints how
// the pool settled; the process must then exit by itself, code 0.
//   node hanging-setup.mjs DB SETUP close|destroy
import { createPool } from '@litepool/core';

const [filename, setup, how] = process.argv.slice(2);
const pool = createPool({ filename, setup, closeTimeoutMs: 1000, acquireTimeoutMs: 60_000 });
const call = pool.get('SELECT 1').then(
  () => 'answered',
  (error) => error.code,
);
await new Promise((resolve) => setTimeout(resolve, 300));
const started = performance.now();
if (how === 'close') await pool.close();
else await pool.destroy();
console.log(JSON.stringify({ settledMs: Math.round(performance.now() - started), call: await call }));
