#!/usr/bin/env node
// Pools created and destroyed at once, many in a row: each pool's first read
// starts its writer's thread, and the pool is destroyed two turns later, so
// threads pile up starting on a small machine and some are still loading
// better-sqlite3's addon when litepool gives up waiting for them to end.
// Exits 0 and prints the count of temp directories that could not be removed
// at once; a process that aborts (`FATAL ERROR: Error::New
// napi_get_last_error_info`) prints nothing. Build first (`pnpm build`).
//   node packages/bench/scripts/destroy-while-starting.mjs [--pools 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '@litepool/core';

const { values } = parseArgs({ options: { pools: { type: 'string', default: '300' } } });
const pools = Number(values.pools);
if (!Number.isInteger(pools) || pools < 1) throw new Error(`--pools must be a positive whole number, got ${values.pools}`);

const turn = () => new Promise((resolve) => setImmediate(resolve));
const LONG_READ = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT sum(x) AS s FROM c';
let notRemoved = 0;
for (let i = 0; i < pools; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-destroy-'));
  const pool = createPool({ filename: join(dir, 'test.db') });
  const read = pool.get(LONG_READ).catch(() => undefined);
  await turn();
  await turn();
  await pool.destroy();
  await read;
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    notRemoved++;
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 1_000);
  }
}
console.log(JSON.stringify({ pools, notRemovedAtOnce: notRemoved }));
