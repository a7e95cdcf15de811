/**
 * Group commit has one policy (`groupCommit` in core) for every backend. Its
 * member outcome rules, as a table: first against the policy itself with a
 * scripted connection, then against the real backends that drive it: the
 * worker threads' one-shot groups and transaction groups, and a dqlite
 * cluster's one-shot groups (the rows that apply there). Every row checks
 * what each member was told and what is in the database.
 */
import Database from 'better-sqlite3';
import { createPool, driveGroup, type GroupOptions, type MemberOutcome, type Pool, type StepResult } from '@litepool/core';
import { dqlite } from '@litepool/dqlite';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCluster, type Cluster } from './helpers/dqlite-cluster.js';
import { tempDb } from './helpers/temp.js';
import { hasTool } from './helpers/tools.js';

/** How a scripted member behaves on each attempt. */
type Behaviour =
  'ok' | 'fails' | 'fails-kept' | 'leaves-a-deferred-violation' | 'fails-ending-transaction' | 'ended-by-another' | 'fatal' | 'skipped';

/** A connection that plays a script: each member's behaviour per attempt, and the COMMIT's. */
function scripted(members: readonly (Behaviour | readonly Behaviour[])[], commit: 'ok' | 'fails' = 'ok', options?: Partial<GroupOptions>) {
  let open = false;
  let attempt = -1;
  const runs = members.map(() => 0);
  let undone = 0;
  /** A member left a deferred violation in the open transaction: its COMMIT fails (`alone`). */
  let violated = false;
  const outcomes = driveGroup(members.length, { isolation: 'savepoint', maxAttempts: 3, ...options }, (step): StepResult => {
    if (step.kind === 'rollback-member') undone++;
    switch (step.kind) {
      case 'begin':
        attempt++;
        open = true;
        violated = false;
        return { ok: true, open };
      case 'commit':
        if (violated) return { ok: false, error: 'deferred violation', open, alone: true };
        if (commit === 'fails') return { ok: false, error: 'commit failed', open };
        open = false;
        return { ok: true, open };
      case 'rollback':
        open = false;
        return { ok: true, open };
      case 'member': {
        runs[step.index]!++;
        const script = members[step.index]!;
        const behaviour = typeof script === 'string' ? script : (script[attempt] ?? script.at(-1)!);
        switch (behaviour) {
          case 'ok':
            return { ok: true, value: `value ${step.index}`, open };
          case 'fails':
            return { ok: false, error: `error ${step.index}`, open, own: true };
          case 'leaves-a-deferred-violation':
            violated = true;
            return { ok: true, value: `value ${step.index}`, open };
          case 'fails-kept':
            return { ok: false, error: `error ${step.index}`, open, own: true, kept: true };
          case 'fails-ending-transaction':
            open = false;
            return { ok: false, error: `error ${step.index}`, open, own: true };
          case 'ended-by-another':
            open = false;
            return { ok: false, error: 'a stray interrupt', open, own: false };
          case 'fatal':
            return { ok: false, error: 'hold lost', open, fatal: true };
          case 'skipped':
            return { ok: false, skipped: true, open };
        }
        return { ok: false, open };
      }
      default:
        return { ok: true, open };
    }
  });
  return { outcomes, attempts: attempt + 1, runs, undone };
}

const ok = (i: number): MemberOutcome => ({ status: 'ok', value: `value ${i}` });
const failed = (error: unknown): MemberOutcome => ({ status: 'failed', error });

describe('the group-commit policy, with a scripted connection', () => {
  const rows: {
    rule: string;
    members: (Behaviour | Behaviour[])[];
    commit?: 'ok' | 'fails';
    isolation?: 'savepoint' | 'rerun';
    outcomes: MemberOutcome[];
    attempts: number;
    runs: number[];
    /** Members rolled back to their savepoint, where the row is about that. */
    undone?: number;
  }[] = [
    {
      rule: 'every member succeeds: all acknowledged after one COMMIT',
      members: ['ok', 'ok', 'ok'],
      outcomes: [ok(0), ok(1), ok(2)],
      attempts: 1,
      runs: [1, 1, 1],
    },
    {
      rule: 'a member fails, the transaction stays open: it rolls back and rejects alone',
      members: ['ok', 'fails', 'ok'],
      outcomes: [ok(0), failed('error 1'), ok(2)],
      attempts: 1,
      runs: [1, 1, 1],
      undone: 1,
    },
    {
      rule: 'a one-statement member fails and SQLite settled it (undone, or part kept under ON CONFLICT FAIL): it rejects, and what SQLite left commits, as in autocommit',
      members: ['ok', 'fails-kept', 'ok'],
      outcomes: [ok(0), failed('error 1'), ok(2)],
      attempts: 1,
      runs: [1, 1, 1],
      undone: 0,
    },
    {
      rule: 'without savepoints too, a member SQLite settled does not make the others run again',
      members: ['ok', 'fails-kept', 'ok'],
      isolation: 'rerun',
      outcomes: [ok(0), failed('error 1'), ok(2)],
      attempts: 1,
      runs: [1, 1, 1],
      undone: 0,
    },
    {
      rule: 'a member SQLite settled runs again with the others when a later member ends the transaction',
      members: ['ok', 'fails-kept', 'fails-ending-transaction', 'ok'],
      outcomes: [ok(0), failed('error 1'), failed('error 2'), ok(3)],
      attempts: 2,
      runs: [2, 2, 1, 1],
      undone: 0,
    },
    {
      rule: 'COMMIT fails after a member SQLite settled: it keeps its own error, the others get the COMMIT’s',
      members: ['ok', 'fails-kept', 'ok'],
      commit: 'fails',
      outcomes: [failed('commit failed'), failed('error 1'), failed('commit failed')],
      attempts: 1,
      runs: [1, 1, 1],
    },
    {
      rule: 'COMMIT fails on what a member left (a deferred constraint): each member that ran is left to run again by itself (the driver runs it)',
      members: ['ok', 'leaves-a-deferred-violation', 'ok'],
      outcomes: [{ status: 'alone' }, { status: 'alone' }, { status: 'alone' }],
      attempts: 1,
      runs: [1, 1, 1],
    },
    {
      rule: 'the same without savepoints; a member that failed on its own before keeps its failure',
      members: ['ok', 'leaves-a-deferred-violation', 'fails', 'ok'],
      isolation: 'rerun',
      outcomes: [{ status: 'alone' }, { status: 'alone' }, failed('error 2'), { status: 'alone' }],
      attempts: 2,
      runs: [2, 2, 1, 1],
    },
    {
      rule: 'a member fails and SQLite ends the transaction: it rejects alone, the others run again and are acknowledged',
      members: ['ok', 'fails-ending-transaction', 'ok'],
      outcomes: [ok(0), failed('error 1'), ok(2)],
      attempts: 2,
      runs: [2, 1, 1],
    },
    {
      rule: 'the transaction ends by no fault of the member running (a stray interrupt): it runs again too',
      members: ['ok', ['ended-by-another', 'ok'], 'ok'],
      outcomes: [ok(0), ok(1), ok(2)],
      attempts: 2,
      runs: [2, 2, 1],
    },
    {
      rule: 'a fatal failure (a lost hold or leader): every member not acknowledged rejects with it',
      members: ['ok', 'fatal', 'ok'],
      outcomes: [failed('hold lost'), failed('hold lost'), failed('hold lost')],
      attempts: 1,
      runs: [1, 1, 0],
    },
    {
      rule: 'COMMIT fails: every member that ran rejects with its error; one that had failed keeps its own',
      members: ['ok', 'fails', 'ok'],
      commit: 'fails',
      outcomes: [failed('commit failed'), failed('error 1'), failed('commit failed')],
      attempts: 1,
      runs: [1, 1, 1],
    },
    {
      rule: 'a member cancelled before it started is skipped; the others commit',
      members: ['ok', 'skipped', 'ok'],
      outcomes: [ok(0), { status: 'skipped' }, ok(2)],
      attempts: 1,
      runs: [1, 1, 1],
    },
    {
      rule: 'without savepoints, a failing member rejects and the group runs again without it',
      members: ['ok', 'fails', 'ok'],
      isolation: 'rerun',
      outcomes: [ok(0), failed('error 1'), ok(2)],
      attempts: 2,
      runs: [2, 1, 1],
    },
    {
      rule: 'the transaction lost on every attempt: after the last, the members still pending reject',
      members: ['ended-by-another', 'ok'],
      outcomes: [failed('a stray interrupt'), failed('a stray interrupt')],
      attempts: 3,
      runs: [3, 0],
    },
  ];
  for (const row of rows) {
    test(row.rule, () => {
      const { outcomes, attempts, runs, undone } = scripted(row.members, row.commit, { isolation: row.isolation ?? 'savepoint' });
      assert.deepEqual(outcomes, row.outcomes);
      assert.equal(attempts, row.attempts);
      assert.deepEqual(runs, row.runs);
      if (row.undone !== undefined) assert.equal(undone, row.undone, 'members rolled back to their savepoint');
    });
  }
});

const SETUP = fileURLToPath(new URL('./fixtures/db-code/group-setup.mjs', import.meta.url));
/** A write that never ends (until interrupted). */
const RUNAWAY = 'INSERT INTO t SELECT 1000 + x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)';

/** One scenario: what the third of five members does, and what everyone is told. */
interface Scenario {
  readonly name: string;
  /** Member 3's statement (the others insert their id into t). */
  readonly sql: string;
  /** Its options. */
  readonly options?: { readonly timeoutMs: number };
  /** Before the group: done to the database (another connection's lock, a row already there). */
  readonly before?: (pool: Pool, filename: string) => Promise<() => void> | (() => void);
  /** What member 3 and the others are told: 'ok' or an error code. */
  readonly third: string;
  readonly others: string;
  /** The ids in t after the group. */
  readonly rows: number[];
  /** The same, where each member is a transaction (one that fails is undone whole), if different. */
  readonly transactionRows?: number[];
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'success', sql: 'INSERT INTO t VALUES (3)', third: 'ok', others: 'ok', rows: [1, 2, 3, 4, 5] },
  {
    name: 'constraint error',
    sql: 'INSERT INTO t VALUES (99)',
    before: async (pool) => {
      await pool.run('INSERT INTO t VALUES (99)');
      return () => {};
    },
    third: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    others: 'ok',
    rows: [1, 2, 4, 5, 99],
  },
  {
    // As in autocommit: ON CONFLICT FAIL leaves what the statement inserted before the conflict; a transaction that fails is undone.
    name: 'ON CONFLICT FAIL part-way',
    sql: 'INSERT OR FAIL INTO t SELECT column1 FROM (VALUES (30), (31), (99), (32))',
    before: async (pool) => {
      await pool.run('INSERT INTO t VALUES (99)');
      return () => {};
    },
    third: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    others: 'ok',
    rows: [1, 2, 4, 5, 30, 31, 99],
    transactionRows: [1, 2, 4, 5, 99],
  },
  {
    // A deferred foreign key fails the COMMIT, not the statement: each member runs again alone, so only its own fails.
    name: 'a deferred foreign key the member leaves unmet',
    sql: 'INSERT INTO fk VALUES (999)',
    before: async (pool) => {
      await pool.exec('CREATE TABLE fk (p INTEGER REFERENCES t (v) DEFERRABLE INITIALLY DEFERRED)');
      return () => {};
    },
    third: 'SQLITE_CONSTRAINT_FOREIGNKEY',
    others: 'ok',
    rows: [1, 2, 4, 5],
  },
  {
    // SQLite ends the group's transaction: the member is rejected, the others run again and commit.
    name: 'ON CONFLICT ROLLBACK',
    sql: 'INSERT OR ROLLBACK INTO t VALUES (99)',
    before: async (pool) => {
      await pool.run('INSERT INTO t VALUES (99)');
      return () => {};
    },
    third: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    others: 'ok',
    rows: [1, 2, 4, 5, 99],
  },
  {
    // The writer holds the write lock for the whole group, so a member's own statements never wait for one: busy
    // is met by the group's BEGIN, and then nothing of the group is applied.
    name: 'busy (another connection holds the write lock past the busy timeout)',
    sql: 'INSERT INTO t VALUES (3)',
    before: (_pool, filename) => {
      const holder = new Database(filename);
      holder.exec('BEGIN IMMEDIATE');
      return () => {
        holder.exec('ROLLBACK');
        holder.close();
      };
    },
    third: 'SQLITE_BUSY',
    others: 'SQLITE_BUSY',
    rows: [],
  },
  {
    name: 'interrupt (the member runs past its timeout)',
    sql: RUNAWAY,
    options: { timeoutMs: 150 },
    third: 'ERR_STATEMENT_TIMEOUT',
    others: 'ok',
    rows: [1, 2, 4, 5],
  },
  {
    name: 'crash before COMMIT (the worker dies in the middle of the group)',
    sql: 'INSERT INTO t VALUES (crash())',
    third: 'ERR_WORKER_CRASHED',
    others: 'ERR_WORKER_CRASHED',
    rows: [],
  },
];

/** A pool for the table, its table created; `filename` for the scenarios that reach the file beside the pool. */
type TablePool = (t: TestContext, sql: string) => Promise<{ pool: Pool; filename: string }>;

/** A worker-thread pool for the table: group commit, the setup module, a short busy timeout. */
function workerPool(groupTransactions: boolean): TablePool {
  return async (t, sql) => {
    const filename = tempDb(t);
    const pool = createPool({
      filename,
      strategy: { name: 'single-writer', groupTransactions },
      setup: SETUP,
      busyTimeoutMs: 100,
      readers: 1,
    });
    t.after(() => pool.destroy());
    await prepareTable(pool, sql);
    return { pool, filename };
  };
}

async function prepareTable(pool: Pool, sql: string): Promise<void> {
  await pool.exec('CREATE TABLE t (v INTEGER PRIMARY KEY)');
  // Every statement of the table once, so none is probed on a reader during the group.
  for (const i of [1, 2, 3, 4, 5]) await pool.run(`INSERT INTO t VALUES (${i})`);
  await pool.run(sql, [], { timeoutMs: 50 }).catch(() => {}); // (a crash() here kills the writer, which is replaced)
  await pool.run('DELETE FROM t');
}

const outcome = (result: PromiseSettledResult<unknown>): string =>
  result.status === 'fulfilled' ? 'ok' : String((result.reason as { code?: unknown }).code);

async function runScenario(t: TestContext, scenario: Scenario, groupTransactions: boolean, make: TablePool): Promise<void> {
  const { pool, filename } = await make(t, scenario.sql);
  const cleanup = (await scenario.before?.(pool, filename)) ?? (() => {});
  try {
    // Holding the writer lets the five queue, so they run as one group.
    const gate = await pool.acquire({ write: true });
    const before = pool.stats();
    const statement = (i: number) => (i === 3 ? scenario.sql : `INSERT INTO t VALUES (${i})`);
    const members = [1, 2, 3, 4, 5].map((i) =>
      groupTransactions
        ? pool.transaction((tx) => tx.run(statement(i), [], i === 3 ? scenario.options : undefined))
        : pool.run(statement(i), [], i === 3 ? scenario.options : undefined),
    );
    void gate.release();
    const told = (await Promise.allSettled(members)).map(outcome);
    assert.deepEqual(told, [scenario.others, scenario.others, scenario.third, scenario.others, scenario.others]);
    const after = pool.stats();
    if (groupTransactions) assert.ok(after.transactionGroups.groups > before.transactionGroups.groups, 'the members ran as a group');
    else assert.ok(after.writeBatches.requests - before.writeBatches.requests >= 5, 'the members ran in group-committed batches');
  } finally {
    cleanup();
  }
  const rows = (await pool.all<{ v: number }>('SELECT v FROM t ORDER BY v')).map((row) => row.v);
  assert.deepEqual(rows, (groupTransactions ? scenario.transactionRows : undefined) ?? scenario.rows, 'what is in the file');
}

for (const [label, groupTransactions] of [
  ['worker threads: one-shot writes', false],
  ['worker threads: transaction groups', true],
] as const) {
  describe(`member outcomes, ${label}`, () => {
    for (const scenario of SCENARIOS)
      test(scenario.name, (t) => runScenario(t, scenario, groupTransactions, workerPool(groupTransactions)));
  });
}

// dqlite: one-shot writes group-committed on the leader, members without savepoints ('rerun'). The rows that
// apply: the leader serializes writers (no busy), cannot interrupt a statement, and has no worker to crash (a lost
// leader is test/43's).
const dqliteAvailable = hasTool('dqlite-demo');
if (!dqliteAvailable && process.env.CI) throw new Error('CI is missing dqlite-demo (.ci/run should install go-dqlite)');
describe(
  'member outcomes, dqlite: one-shot writes',
  { skip: dqliteAvailable ? false : 'needs dqlite-demo (apt-get install go-dqlite)' },
  () => {
    let cluster: Cluster;
    const stops: (() => Promise<void>)[] = [];
    before(async () => {
      // A context for the helper: its after-hooks run when the suite ends.
      cluster = (await startCluster({ after: (stop: () => Promise<void>) => stops.push(stop), skip: () => {} } as never))!;
    });
    after(async () => {
      for (const stop of stops) await stop();
    });
    const dqlitePool: TablePool = async (t, sql) => {
      const pool = createPool({ backend: dqlite({ servers: [...cluster.servers], database: `outcomes-${randomUUID()}` }) });
      t.after(() => pool.destroy());
      await prepareTable(pool, sql);
      return { pool, filename: '' };
    };
    const applies = [
      'success',
      'constraint error',
      'ON CONFLICT FAIL part-way',
      'ON CONFLICT ROLLBACK',
      'a deferred foreign key the member leaves unmet',
    ];
    for (const scenario of SCENARIOS.filter((s) => applies.includes(s.name))) {
      test(scenario.name, (t) => runScenario(t, scenario, false, dqlitePool));
    }
  },
);

test('crash after COMMIT: a write that committed before its worker died is reported outcome-unknown (and is there); the one it died in is not there', async (t) => {
  // No grouping: each one-shot write commits on its own, and both travel in one batch to the writer.
  const filename = tempDb(t);
  const pool = createPool({ filename, strategy: 'wal', setup: SETUP, readers: 1 });
  t.after(() => pool.destroy());
  await pool.exec('CREATE TABLE t (v INTEGER PRIMARY KEY)');
  // Both statements once, so that neither is probed on a reader: both go to the writer in one batch.
  await pool.run('INSERT INTO t VALUES (1)');
  await pool.run('DELETE FROM t');
  await pool.run('INSERT INTO t VALUES (crash() + 0) ON CONFLICT DO NOTHING').catch(() => {}); // (the writer dies; it is replaced)
  const gate = await pool.acquire({ write: true });
  const committed = pool.run('INSERT INTO t VALUES (1)');
  const crashing = pool.run('INSERT INTO t VALUES (crash() + 0) ON CONFLICT DO NOTHING');
  void gate.release();
  const [first, second] = await Promise.allSettled([committed, crashing]);
  assert.equal(outcome(first), 'ERR_COMMIT_UNKNOWN');
  assert.equal(outcome(second), 'ERR_WORKER_CRASHED');
  assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 1 }]);
});
