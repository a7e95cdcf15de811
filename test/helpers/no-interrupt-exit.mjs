// A pool without the interrupt extension (what a platform without it gets)
// whose reader or writer runs a statement that never ends; then the process
// ends in the way MODE says. It must end by itself: a thread stuck in SQLite
// must not keep it alive.
//   node no-interrupt-exit.mjs FILE MODE
//   MODE: close-read | close-write | exit-open | signal-open | file-lock-close
import { createPool } from '@litepool/core';

const [filename, mode] = process.argv.slice(2);
const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';
const RUNAWAY_WRITE = 'INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';
const closing = mode.endsWith('close') || mode.startsWith('close');
const pool = createPool({
  filename,
  interruptExtension: false,
  strategy: mode === 'file-lock-close' ? 'file-lock' : 'wal',
  readers: 1,
  statementTimeoutMs: closing ? 300 : 0,
  closeTimeoutMs: 1000,
});
pool.on('warning', () => {}); // LITEPOOL_NO_INTERRUPT and LITEPOOL_CONNECTION_ABANDONED are expected here
await pool.exec('CREATE TABLE IF NOT EXISTS t (v)');
const runaway = mode === 'close-write' ? pool.run(RUNAWAY_WRITE) : pool.get(RUNAWAY);
runaway.catch((error) => console.log(`runaway: ${error.code}`));
await new Promise((resolve) => setTimeout(resolve, 500));
// The pool still serves reads (on the writer, when the reader is the one stuck).
console.log(`read: ${JSON.stringify(await pool.get('SELECT 1 AS one'))}`);
if (closing) {
  const started = performance.now();
  await pool.close();
  console.log(`closed in ${Math.round(performance.now() - started)} ms`);
  process.exitCode = 3;
} else if (mode === 'exit-open') {
  process.exit(4);
} else {
  console.log('ready for a signal');
  setInterval(() => {}, 1000); // an app that runs until it is told to stop
}
