/**
 * The same pool API over a real 3-node dqlite cluster on loopback (issue 12):
 * the wire client, the contract suite, read-modify-write transactions across
 * awaits, the drop-ins, and SIGKILL of the leader under load.
 */
import { createPool, type Pool } from '@litepool/core';
import { drizzle } from '@litepool/core/drizzle';
import sqlite3 from '@litepool/core/sqlite3';
import { ClusterUnavailableError, DqliteClient, dqlite } from '@litepool/dqlite';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { contractSuite } from './helpers/contract.js';
import { startCluster, type Cluster } from './helpers/dqlite-cluster.js';
import { buildNode } from './helpers/dqlite-node.js';
import { hasTool } from './helpers/tools.js';
import { runCounter, setupCounter } from './helpers/workloads.js';

const available = hasTool('dqlite-demo');
if (!available && process.env.CI) throw new Error('CI is missing dqlite-demo (.ci/run should install go-dqlite)');

/** One cluster for the file's suites that do not kill nodes. */
let shared: Cluster | undefined;
const stopShared: (() => Promise<void>)[] = [];

function backend(database = `db-${randomUUID()}`, servers = shared!.servers): ReturnType<typeof dqlite> {
  return dqlite({ servers: [...servers], database, reconnectTimeoutMs: 20_000 });
}

describe('dqlite backend', { skip: available ? false : 'needs dqlite-demo (apt-get install go-dqlite)', timeout: 300_000 }, () => {
  before(async () => {
    // A context for the helper: its after-hooks run when the suite ends.
    const hooks: { after: (fn: () => Promise<void>) => void; skip: () => void } = {
      after: (fn) => stopShared.push(fn),
      skip: () => {},
    };
    shared = await startCluster(hooks as never);
  });
  after(async () => {
    for (const stop of stopShared) await stop();
  });

  test('the wire client: leader discovery from any node, every SQLite type, multi-part result sets, errors with their codes', async () => {
    const servers = shared!.servers;
    const leader = await shared!.leader();
    const follower = servers.find((s) => s !== leader)!;
    const client = await DqliteClient.connect([follower], `wire-${randomUUID()}`, 10_000);
    try {
      assert.equal(client.leader, leader, 'a follower names the leader, and the client goes there');
      await client.exec('CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)', []);
      await client.exec('INSERT INTO t VALUES (?, ?, ?, ?, ?)', [2n ** 62n, 1.25, 'héllo ✓', Buffer.from([0, 1, 255]), null]);
      const { columns, rows } = await client.query('SELECT i, r, s, b, n FROM t', [], true);
      assert.deepEqual(columns, ['i', 'r', 's', 'b', 'n']);
      assert.deepEqual(rows, [[2n ** 62n, 1.25, 'héllo ✓', Buffer.from([0, 1, 255]), null]]);
      const many = await client.query(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000) SELECT x, printf('%050d', x) FROM c",
        [],
        false,
      );
      assert.equal(many.rows.length, 30_000, 'rows spanning several messages all arrive');
      assert.deepEqual(many.rows.at(-1), [30_000, '30000'.padStart(50, '0')]);
      await client.exec('CREATE TABLE u (id INTEGER PRIMARY KEY)', []);
      await client.exec('INSERT INTO u VALUES (1)', []);
      await assert.rejects(client.exec('INSERT INTO u VALUES (1)', []), (error: { toSqliteError(): { code: string } }) => {
        assert.equal(error.toSqliteError().code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
        return true;
      });
    } finally {
      client.close();
    }
  });

  describe('contract', () => {
    contractSuite('dqlite', {
      strategy: 'dqlite',
      pool: (t) => {
        const pool = createPool({ backend: backend() });
        t.after(() => pool.destroy());
        return Promise.resolve(pool);
      },
      reopen: (pool) =>
        createPool({ backend: dqlite({ servers: [...shared!.servers], database: pool.options.filename.split('/').at(-1)! }) }),
    });
  });

  test('32 callers x 20 read-modify-write transactions with an await between read and write: exact, no errors', async (t) => {
    const pool = createPool({ backend: backend() });
    t.after(() => pool.close());
    await setupCounter(pool);
    const result = await runCounter(pool, 32, 20, true);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(await pool.get('SELECT n FROM counter'), { n: 640 });
    assert.ok(pool.stats().writeBatches.requests >= 0);
  });

  test('one-shot writes are group-committed; the drop-ins work unchanged (node-sqlite3 API, Drizzle)', async (t) => {
    const database = `drop-${randomUUID()}`;
    const pool = createPool({ backend: backend(database) });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run('INSERT INTO t (v) VALUES (?)', [`v${i}`])));
    const { writeBatches } = pool.stats();
    assert.ok(writeBatches.batches < writeBatches.requests, `grouped: ${writeBatches.requests} writes in ${writeBatches.batches} batches`);
    assert.deepEqual(await drizzle(pool).values('SELECT count(*) FROM t'), [[200]]);
    const db = await new Promise<InstanceType<typeof sqlite3.Database>>((resolve, reject) => {
      const opened = new sqlite3.Database(database, { backend: backend(database) }, (err) => (err ? reject(err) : resolve(opened)));
    });
    const row = await new Promise((resolve, reject) =>
      db.get('SELECT count(*) AS n FROM t', (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))),
    );
    assert.deepEqual(row, { n: 200 });
    // An exec script that inserts moves the counters the next run reports, as on a local file.
    await new Promise<void>((resolve, reject) => db.exec("INSERT INTO t (v) VALUES ('script')", (err) => (err ? reject(err) : resolve())));
    const counters = await new Promise((resolve, reject) =>
      db.run("UPDATE t SET v = 'x' WHERE id = 1", function (this: { lastID: number; changes: number }, err: Error | null) {
        if (err) reject(err);
        else resolve({ lastID: this.lastID, changes: this.changes });
      }),
    );
    assert.deepEqual(counters, { lastID: 201, changes: 1 });
    // A dqlite node loads no extension for a client: refused, not silently ignored.
    const refused = await new Promise<Error | null>((resolve) => db.loadExtension('/any/ext.so', resolve));
    assert.match(String(refused), /SQLITE_MISUSE: loadExtension: this pool's backend cannot load SQLite extensions/);
    await new Promise<void>((resolve) => db.close(() => resolve()));
    // Backups and restores need the local worker threads: refused with a message that names each.
    await assert.rejects(pool.backup('/tmp/never-written.db'), /pool.backup\(\) is not available on a dqlite backend/);
    await assert.rejects(pool.restore('/tmp/never-read.db'), /restore\(\) is not available on a dqlite backend/);
    assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 201 });
  });

  test('commit({ keepOpenOnFailure }): a COMMIT refused on a deferred constraint keeps the transaction on the leader, to repair and commit', async (t) => {
    const pool = createPool({ backend: backend(`keep-${randomUUID()}`) });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)');
    const tx = await pool.begin();
    await tx.run('INSERT INTO c VALUES (7)');
    await assert.rejects(tx.commit({ keepOpenOnFailure: true }), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    assert.equal(tx.active, true);
    assert.deepEqual(await tx.all('SELECT pid FROM c'), [{ pid: 7 }]);
    await tx.run('INSERT INTO p VALUES (7)');
    await tx.commit({ keepOpenOnFailure: true });
    assert.deepEqual(await pool.all('SELECT pid FROM c JOIN p ON p.id = c.pid'), [{ pid: 7 }]);
    // Without the option the failed COMMIT rolls back, and the leader's connection takes new work.
    const plain = await pool.begin();
    await plain.run('INSERT INTO c VALUES (9)');
    await assert.rejects(plain.commit(), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    assert.deepEqual(await pool.all('SELECT pid FROM c'), [{ pid: 7 }]);
    await pool.run('INSERT INTO p VALUES (1)');
  });

  test('close() and destroy() settle with the cluster unreachable; a pool that cannot find a leader fails its callers with ERR_CLUSTER_UNAVAILABLE', async () => {
    const nowhere = dqlite({ servers: ['127.0.0.1:1', '127.0.0.1:2'], database: 'x', connectTimeoutMs: 1_000 });
    const pool = createPool({ backend: nowhere });
    await assert.rejects(pool.get('SELECT 1'), (error: unknown) => error instanceof ClusterUnavailableError);
    await pool.close();
    const other = createPool({ backend: nowhere });
    const pending = other.run('SELECT 1').catch((error: unknown) => error);
    await other.destroy();
    assert.ok((await pending) instanceof Error);
  });
});

describe('dqlite failover', { timeout: 300_000 }, () => {
  test('SIGKILL of the leader under load (litepool-dqlite-node): every caller settles, every acknowledged write survives, writes resume on the new leader; the node rejoins', async (t) => {
    const program = buildNode(t);
    if (program === undefined) return;
    const cluster = (await startCluster(t, { litepoolNode: program }))!;
    const pool: Pool = createPool({ backend: dqlite({ servers: [...cluster.servers], database: 'failover', reconnectTimeoutMs: 20_000 }) });
    t.after(() => pool.destroy());
    const warnings: string[] = [];
    pool.on('warning', (warning: { code: string }) => warnings.push(warning.code));
    await pool.exec('CREATE TABLE acked (id INTEGER PRIMARY KEY)');
    const acked = new Set<number>();
    const outcomes = new Map<string, number>();
    let next = 1;
    let stop = false;
    const callers = Array.from({ length: 16 }, async (_, caller) => {
      while (!stop) {
        const ids = caller % 2 === 0 ? [next++] : [next++, next++];
        try {
          if (ids.length === 1) await pool.run('INSERT INTO acked (id) VALUES (?)', [ids[0]!]);
          else
            await pool.transaction(async (tx) => {
              for (const id of ids) await tx.run('INSERT INTO acked (id) VALUES (?)', [id]);
            });
          for (const id of ids) acked.add(id);
          outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'other';
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const leader = await cluster.leader();
    const before = acked.size;
    const killedAt = performance.now();
    await cluster.kill(leader);
    // Writes resume: acknowledged ones grow again after the kill.
    while (acked.size <= before + 50 && performance.now() - killedAt < 30_000) await new Promise((resolve) => setTimeout(resolve, 50));
    const resumedMs = Math.round(performance.now() - killedAt);
    stop = true;
    const settled = await Promise.race([
      Promise.all(callers).then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 30_000)),
    ]);
    assert.equal(settled, true, 'every caller settled');
    assert.ok(acked.size > before + 50, `writes resumed on the new leader (${acked.size - before} acknowledged after the kill)`);
    const present = new Set((await pool.all<{ id: number }>('SELECT id FROM acked')).map((row) => row.id));
    const missing = [...acked].filter((id) => !present.has(id));
    assert.deepEqual(missing, [], 'every acknowledged write is present');
    const newLeader = await cluster.leader();
    assert.notEqual(newLeader, leader);
    assert.ok(warnings.includes('LITEPOOL_LEADER_CHANGED'), 'the pool reported the new leader');
    cluster.start(leader);
    // The killed node rejoins: asked directly, it names the leader again.
    const rejoined = await DqliteClient.connect([leader], 'failover', 30_000);
    rejoined.close();
    t.diagnostic(
      `writes resumed ${resumedMs} ms after SIGKILL of ${leader}; new leader ${newLeader}; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; ${acked.size} acknowledged, 0 missing`,
    );
  });
});

describe('litepool-dqlite-node', { timeout: 300_000 }, () => {
  test('built by one command (packages/dqlite/node/build.sh); a 3-node cluster of it serves a pool', async (t) => {
    const program = buildNode(t);
    if (program === undefined) return;
    const cluster = (await startCluster(t, { litepoolNode: program }))!;
    const pool = createPool({ backend: dqlite({ servers: [...cluster.servers], database: 'nodes' }) });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE t (v INTEGER)');
    await pool.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      await tx.run('INSERT INTO t VALUES (2)');
    });
    assert.deepEqual(await pool.get('SELECT sum(v) AS s FROM t'), { s: 3 });
  });
});
