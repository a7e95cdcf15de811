import sqlite3 from '@litepool/core/sqlite3';
import { mkdtempSync } from 'node:fs';
const file = `${mkdtempSync('/tmp/alt-')}/a.db`;
const open = () => new Promise((r, j) => { const d = new sqlite3.Database(file, (e) => (e ? j(e) : r(d))); });
const k = Number(process.env.K ?? 4);
const dbs = []; for (let i = 0; i < k; i++) dbs.push(await open());
const get = (db, sql, p) => new Promise((r, j) => db.get(sql, p, (e, row) => (e ? j(e) : r(row))));
const run = (db, sql, p) => new Promise((r, j) => db.run(sql, p, (e) => (e ? j(e) : r())));
await run(dbs[0], 'CREATE TABLE t (id INTEGER PRIMARY KEY, v)', []);
for (let i = 0; i < 100; i++) await run(dbs[0], 'INSERT INTO t VALUES (?, ?)', [i, 'x' + i]);
for (const [label, n] of [['warm', 3000], ['measured', 20000]]) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await get(dbs[i % k], 'SELECT v FROM t WHERE id = ?', [i % 100]);
  const t1 = performance.now();
  for (let i = 0; i < n / 10; i++) await run(dbs[i % k], 'UPDATE t SET v = ? WHERE id = ?', ['y', i % 100]);
  const t2 = performance.now();
  if (label === 'measured') console.log(JSON.stringify({ k, getUs: +((t1 - t0) * 1000 / n).toFixed(1), runUs: +((t2 - t1) * 1000 / (n / 10)).toFixed(1) }));
}
for (const db of dbs) await new Promise((r) => db.close(r));
