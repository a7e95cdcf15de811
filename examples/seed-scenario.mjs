#!/usr/bin/env node
// The seed scenario: 64 async handlers x 50 read-modify-write increments with
// an await between the read and the write, once on one shared better-sqlite3
// connection (the naive way) and once through a litepool pool.
// Run: pnpm example   (after pnpm run setup)
import { createPool } from '@litepool/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HANDLERS = 64;
const INCREMENTS = 50;
const dir = mkdtempSync(join(tmpdir(), 'litepool-seed-'));
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Runs HANDLERS concurrent handlers, each calling `increment` INCREMENTS times; counts failed calls. */
async function runHandlers(increment) {
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: HANDLERS }, async () => {
      for (let i = 0; i < INCREMENTS; i++) {
        try {
          await increment();
        } catch {
          errors++;
        }
      }
    }),
  );
  return { errors, ms: performance.now() - started };
}

async function naive() {
  // better-sqlite3 is core's dependency; load it from there.
  const Database = createRequire(createRequire(import.meta.url).resolve('@litepool/core'))('better-sqlite3');
  const db = new Database(join(dir, 'naive.db'));
  db.exec('CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)');
  const { errors, ms } = await runHandlers(async () => {
    db.exec('BEGIN');
    const { n } = db.prepare('SELECT n FROM counter').get();
    await tick();
    db.prepare('UPDATE counter SET n = ?').run(n + 1);
    db.exec('COMMIT');
  });
  if (db.inTransaction) db.exec('COMMIT');
  const { n } = db.prepare('SELECT n FROM counter').get();
  db.close();
  return { errors, final: n, ms };
}

async function litepool() {
  const pool = createPool({ filename: join(dir, 'litepool.db') });
  await pool.exec('CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)');
  const { errors, ms } = await runHandlers(() =>
    pool.transaction(async (tx) => {
      const { n } = await tx.get('SELECT n FROM counter');
      await tick();
      await tx.run('UPDATE counter SET n = ?', [n + 1]);
    }),
  );
  const { n } = await pool.get('SELECT n FROM counter');
  await pool.close();
  return { errors, final: n, ms };
}

const expected = HANDLERS * INCREMENTS;
const rows = { 'one shared connection': await naive(), 'litepool (default strategy)': await litepool() };
console.log(`${HANDLERS} handlers x ${INCREMENTS} increments, expected final count ${expected}\n`);
console.log('| subject | failed calls | final count | lost updates | time (ms) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, r] of Object.entries(rows)) {
  console.log(`| ${name} | ${r.errors} | ${r.final} | ${expected - r.errors - r.final} | ${r.ms.toFixed(0)} |`);
}
rmSync(dir, { recursive: true, force: true });
const ok = rows['litepool (default strategy)'].errors === 0 && rows['litepool (default strategy)'].final === expected;
process.exit(ok ? 0 : 1);
