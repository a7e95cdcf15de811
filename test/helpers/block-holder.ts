/**
 * A child process that holds the file lock inside a transaction, says
 * "holding", blocks its event loop past the stale time (another host takes the
 * lock meanwhile), then tries to go on. Prints what happened as JSON.
 */
import { createPool } from '@litepool/core';
import { fileLock } from '@litepool/core';

const [filename, blockMs] = process.argv.slice(2);
const pool = createPool({ filename: filename!, strategy: fileLock({ staleMs: 2000, updateMs: 1000, retryMs: 5 }) });
let code: string;
try {
  await pool.transaction(async (tx) => {
    await tx.run('UPDATE counter SET n = n + 100 WHERE id = 1');
    process.stdout.write('holding\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(blockMs));
    await tx.run('UPDATE counter SET n = n + 1000 WHERE id = 1');
  });
  code = 'committed';
} catch (error) {
  code = (error as { code?: string }).code ?? String(error);
}
// The process lives on, and the pool still works once the other host is done.
const after = await pool.get<{ n: number }>('SELECT n FROM counter WHERE id = 1');
await pool.close();
process.stdout.write(`${JSON.stringify({ code, after: after?.n })}\n`);
