/**
 * Reading what SQL text does to its connection: statements split where
 * SQLite ends them (trigger bodies, strings, comments), and each classified.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify, onlyQueries, statementHeads, summarize } from '../packages/core/src/sql/statements.js';

const kinds = (sql: string): string[] => statementHeads(sql).map(classify);

test('statements split at semicolons, but not inside strings, quoted names or comments', () => {
  assert.deepEqual(kinds("SELECT ';'; INSERT INTO \"a;b\" VALUES ('x;y') -- ; COMMIT\n; /* ; BEGIN */ DELETE FROM t"), [
    'other',
    'other',
    'other',
  ]);
  assert.deepEqual(kinds("SELECT 'it''s'; BEGIN"), ['other', 'transaction']);
  assert.deepEqual(kinds('  ;;  ; '), []);
});

test('a trigger body (BEGIN … END;) is one statement, not transaction control', () => {
  const sql = `CREATE TRIGGER t AFTER INSERT ON a BEGIN
      UPDATE b SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END;
      INSERT INTO c VALUES (1);
    END;
    COMMIT;
    CREATE TEMP TRIGGER u AFTER DELETE ON a BEGIN DELETE FROM c; END`;
  assert.deepEqual(kinds(sql), ['other', 'transaction', 'state']);
});

test('transaction control and savepoints are told apart', () => {
  for (const sql of ['BEGIN', 'begin immediate', 'COMMIT', 'END TRANSACTION', 'ROLLBACK', '/* c */ rollback transaction']) {
    assert.deepEqual(kinds(sql), ['transaction'], sql);
  }
  for (const sql of ['SAVEPOINT a', 'RELEASE a', 'RELEASE SAVEPOINT a', 'ROLLBACK TO a', 'ROLLBACK TRANSACTION TO SAVEPOINT a']) {
    assert.deepEqual(kinds(sql), ['savepoint'], sql);
  }
  assert.equal(summarize('SAVEPOINT litepool_sp_1').poolSavepoint, true);
  assert.equal(summarize('SAVEPOINT mine').poolSavepoint, false);
});

test('statements that change the connection: connection-scoped PRAGMA sets, ATTACH, DETACH, TEMP objects', () => {
  for (const sql of [
    'PRAGMA foreign_keys = OFF',
    'pragma main.cache_size=-2000',
    'PRAGMA query_only(1)',
    "ATTACH 'x.db' AS x",
    'DETACH x',
    'CREATE TEMP TABLE t (v)',
    'CREATE TEMPORARY VIEW v AS SELECT 1',
    'CREATE TABLE IF NOT EXISTS temp.t (v)',
    'PRAGMA journal_mode = DELETE',
  ]) {
    assert.deepEqual(kinds(sql), ['state'], sql);
  }
  // Reading a PRAGMA, database-level PRAGMAs, and ordinary DDL change nothing of the connection.
  for (const sql of [
    'PRAGMA foreign_keys',
    'PRAGMA table_info(t)',
    'PRAGMA user_version = 3',
    'CREATE TABLE t (temp INTEGER, x)',
    'CREATE TABLE temperature (v)',
    'EXPLAIN BEGIN',
  ]) {
    assert.deepEqual(kinds(sql), ['other'], sql);
  }
  // Statements SQLite refuses inside a transaction (SQLITE_LOCKED for a checkpoint): never group-committed.
  for (const sql of ['VACUUM', 'PRAGMA wal_checkpoint', 'PRAGMA main.wal_checkpoint(TRUNCATE)'])
    assert.deepEqual(kinds(sql), ['standalone'], sql);
});

test('summaries name the first offending statement and are memoized', () => {
  const summary = summarize('INSERT INTO t VALUES (1); PRAGMA foreign_keys = OFF; BEGIN; VACUUM');
  assert.equal(summary.transaction, 'BEGIN');
  assert.equal(summary.state, 'PRAGMA FOREIGN_KEYS = OFF');
  assert.equal(summary.standalone, true);
  assert.equal(summarize('SELECT 1'), summarize('SELECT 1'));
});

test('a statement is known to write by its first word; anything that may only read is left for SQLite to tell', () => {
  for (const sql of [
    'INSERT INTO t VALUES (1)',
    '  /* a comment */ insert or replace into t values (1)',
    'REPLACE INTO t VALUES (1)',
    'UPDATE t SET x = 1',
    'DELETE FROM t',
    'CREATE TABLE t (x)',
    'CREATE INDEX i ON t (x)',
    'DROP TABLE t',
    'ALTER TABLE t ADD COLUMN y',
    'REINDEX',
    'ANALYZE',
    'INSERT INTO t VALUES (1); UPDATE t SET x = 2',
  ]) {
    assert.equal(summarize(sql).writes, true, sql);
  }
  for (const sql of [
    'SELECT 1',
    // A CTE may front a write or a read: the reader's prepare says which.
    'WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c',
    'WITH c AS (SELECT 1) SELECT * FROM c',
    'EXPLAIN INSERT INTO t VALUES (1)',
    'PRAGMA user_version',
    'VALUES (1)',
    'INSERT INTO t VALUES (1); SELECT 1',
    "SELECT 'INSERT'",
    '',
  ]) {
    assert.equal(summarize(sql).writes, false, sql);
  }
});

test('a script of queries alone is told by each statement’s first word, past comments and semicolons in strings', () => {
  for (const sql of ['SELECT 1', 'select 1; values (2)', "/* a; b */ SELECT ';' AS s; -- x; INSERT\n VALUES (1)", 'SELECT 1;;'])
    assert.equal(onlyQueries(sql), true, sql);
  for (const sql of [
    '',
    ';',
    'SELECT 1; INSERT INTO t VALUES (1)',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    'PRAGMA user_version',
    'EXPLAIN SELECT 1',
  ])
    assert.equal(onlyQueries(sql), false, sql);
});
