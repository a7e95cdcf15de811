// A process whose pool is running a statement that never ends (no statement
// timeout), then ends in one of three ways; it must exit by itself, code 0.
//   node runaway-exit.mjs FILE close|destroy|exit
import { createPool } from '@litepool/core';

const [filename, how] = process.argv.slice(2);
const pool = createPool({ filename, statementTimeoutMs: 0, readers: 1 });
const runaway = pool.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c');
runaway.catch((error) => console.log(`runaway: ${error.code}`));
await pool.exec('CREATE TABLE IF NOT EXISTS t (v)'); // on the writer: the pool is up while its reader runs away
await new Promise((resolve) => setTimeout(resolve, 300));
const started = performance.now();
if (how === 'close') await pool.close({ timeoutMs: 300 });
else if (how === 'destroy') await pool.destroy();
else process.exit(0);
console.log(`${how} settled in ${Math.round(performance.now() - started)} ms`);
