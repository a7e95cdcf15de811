/**
 * A child process that takes the file lock, leaves a write uncommitted (a hot
 * journal), says "held", and waits to be killed.
 */
import { createPool } from '@litepool/core';
import { fileLock } from '@litepool/core';

const [filename, staleMs] = process.argv.slice(2);
const pool = createPool({ filename: filename!, strategy: fileLock({ staleMs: Number(staleMs) }) });
const lease = await pool.acquire({ write: true });
await lease.exec('BEGIN IMMEDIATE');
await lease.run('INSERT INTO counter (id, n) VALUES (2, 999)');
process.stdout.write('held\n');
setInterval(() => {}, 1000);
