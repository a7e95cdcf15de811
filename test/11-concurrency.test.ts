/**
 * Concurrency checkers for every strategy: a read-modify-write counter and
 * bank transfers, from 64 handlers in one process and from 4 child processes
 * with 16 handlers each. Counts are exact, totals conserved, no balance goes
 * negative, and (default settings, strategies claiming crossProcess) no
 * error (SQLITE_BUSY or any other) reaches a caller.
 */
import { createPool, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { runProcesses } from './helpers/processes.js';
import { STRATEGY_CASES, type StrategyCase } from './helpers/strategies.js';
import { tempDb } from './helpers/temp.js';
import { ACCOUNTS, OPENING_BALANCE, runBank, runCounter, setupBank, setupCounter, type WorkloadResult } from './helpers/workloads.js';

const PROCESSES = 4;
const HANDLERS_PER_PROCESS = 16;
const INCREMENTS = 10;
const TRANSFERS = 10;

async function prepared(t: TestContext, { config }: StrategyCase, setup: typeof setupCounter) {
  const filename = tempDb(t);
  const pool = createPool({ filename, strategy: config });
  t.after(() => pool.destroy());
  await setup(pool);
  return { filename, pool };
}

async function checkBank(pool: Pool): Promise<void> {
  const balances = await pool.all<{ balance: number }>('SELECT balance FROM account');
  assert.equal(balances.length, ACCOUNTS);
  assert.equal(
    balances.reduce((sum, { balance }) => sum + balance, 0),
    ACCOUNTS * OPENING_BALANCE,
    'total conserved',
  );
  assert.ok(
    balances.every(({ balance }) => balance >= 0),
    'no negative balance',
  );
  assert.deepEqual(await pool.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
}

function noErrors(results: readonly WorkloadResult[]): void {
  assert.deepEqual(
    results.flatMap((r) => r.errors),
    [],
    'no error reached a caller',
  );
  assert.equal(
    results.reduce((sum, r) => sum + r.outOfBounds, 0),
    0,
    'every read within [acknowledged, attempted]',
  );
}

for (const strategy of STRATEGY_CASES) {
  describe(`concurrency: ${strategy.label}`, () => {
    test('counter, 64 handlers in one process', async (t) => {
      const { pool } = await prepared(t, strategy, setupCounter);
      const result = await runCounter(pool, 64, INCREMENTS, true);
      noErrors([result]);
      assert.deepEqual(await pool.get('SELECT n FROM counter'), { n: 64 * INCREMENTS });
    });

    test(`counter, ${PROCESSES} processes x ${HANDLERS_PER_PROCESS} handlers`, async (t) => {
      const { filename, pool } = await prepared(t, strategy, setupCounter);
      await pool.close();
      const started = performance.now();
      const results = await runProcesses(PROCESSES, {
        filename,
        strategy: strategy.config,
        workload: 'counter',
        handlers: HANDLERS_PER_PROCESS,
        operations: INCREMENTS,
      });
      const check = createPool({ filename, strategy: strategy.config });
      t.after(() => check.close());
      const expected = PROCESSES * HANDLERS_PER_PROCESS * INCREMENTS;
      const { n } = (await check.get<{ n: number }>('SELECT n FROM counter'))!;
      t.diagnostic(
        `${strategy.label}: counter ${n}/${expected}, errors ${results.flatMap((r) => r.errors).length}, ${(performance.now() - started).toFixed(0)} ms`,
      );
      noErrors(results);
      assert.equal(n, expected);
      assert.equal(
        results.reduce((sum, r) => sum + r.acknowledged, 0),
        expected,
      );
    });

    test('bank transfers, 64 handlers in one process', async (t) => {
      const { pool } = await prepared(t, strategy, setupBank);
      const result = await runBank(pool, 64, TRANSFERS, 1);
      noErrors([result]);
      assert.equal(result.badAudits, 0, 'every audit saw the whole total');
      await checkBank(pool);
    });

    test(`bank transfers, ${PROCESSES} processes x ${HANDLERS_PER_PROCESS} handlers`, async (t) => {
      const { filename, pool } = await prepared(t, strategy, setupBank);
      await pool.close();
      const results = await runProcesses<WorkloadResult & { badAudits: number }>(PROCESSES, {
        filename,
        strategy: strategy.config,
        workload: 'bank',
        handlers: HANDLERS_PER_PROCESS,
        operations: TRANSFERS,
      });
      const check = createPool({ filename, strategy: strategy.config });
      t.after(() => check.close());
      t.diagnostic(
        `${strategy.label}: bank ${results.reduce((s, r) => s + r.acknowledged, 0)} transfers, errors ${results.flatMap((r) => r.errors).length}`,
      );
      noErrors(results);
      assert.equal(
        results.reduce((sum, r) => sum + r.badAudits, 0),
        0,
        'every audit saw the whole total',
      );
      await checkBank(check);
    });
  });
}
