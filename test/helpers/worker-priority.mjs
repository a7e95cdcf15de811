// Prints, as JSON, the nice value of this process's main thread and of the
// worker threads each of three pools used, opened and closed one after
// another on new files: a pool with `first` options, then one with `second`,
// then one with `first` again (which may take the threads the first parked).
// Linux only: it reads /proc/self/task.
//   node worker-priority.mjs DIR '{"first":{…},"second":{…},"mainNice":N}'
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { createPool } from '@litepool/core';

const [dir, json] = process.argv.slice(2);
const { first, second, mainNice } = JSON.parse(json);
// On Linux this is the main thread's own nice value; threads it starts inherit it.
if (mainNice !== undefined) setPriority(mainNice);

/** Each thread of the process: its id, name and nice value (field 19 of its stat line). */
function threads() {
  return readdirSync('/proc/self/task').flatMap((id) => {
    let stat;
    try {
      stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
    } catch (error) {
      if (error.code === 'ENOENT') return []; // the thread ended after the listing (a parked or reserve thread's timer)
      throw error;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(id), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), nice: Number(fields[16]) };
  });
}

/** The worker threads a pool with `options` used for a write and a read: started by it, or taken from the ones parked. */
async function workersOf(name, options) {
  const before = new Set(threads().map((t) => t.tid));
  const started = [];
  // A reserve (started for the process's next connection, see README) is counted apart: how soon one starts depends on the machine's speed.
  const onWorker = (worker) => worker.threadName !== 'litepool reserve' && started.push(worker);
  process.on('worker', onWorker);
  const pool = createPool({ filename: join(dir, `${name}.db`), readers: 1, inlineReads: false, ...options });
  await pool.run('CREATE TABLE t (x)');
  await pool.run('INSERT INTO t VALUES (1)');
  await pool.get('SELECT x FROM t');
  process.off('worker', onWorker);
  // litepool names its threads (the OS keeps 15 characters). Left out: the read watch, which lowers no priority, and
  // reserves, which lower theirs once their code has loaded (one may still be loading now).
  const after = threads().filter((t) => t.name.startsWith('litepool') && !/^litepool (read|reserv)/.test(t.name));
  const fresh = after.filter((t) => !before.has(t.tid));
  await pool.close();
  return { started: started.length, fresh, all: after };
}

const a = await workersOf('a', first);
const b = await workersOf('b', second);
const c = await workersOf('c', first);
const main = threads().find((t) => t.tid === process.pid);
console.log(JSON.stringify({ mainNice: main.nice, a, b, c }));
