// Exceptions thrown in a callback and in a trace or change listener: node-sqlite3 lets them escape as uncaught, before
// the next turn of the event loop; they must not come back as database errors. Prints what it saw as JSON.
import { Database } from '@litepool/core/sqlite3';

const db = new Database(':memory:');
const seen = [];
let calls = 0;
process.on('uncaughtException', (error) => seen.push(`uncaught: ${error.message}`));
db.get('SELECT 1', () => {
  calls++;
  seen.push('callback');
  setImmediate(() => seen.push('next turn'));
  throw new Error('from the callback');
});
db.wait(() => {
  const tracer = () => {
    throw new Error('from a trace listener');
  };
  db.on('trace', tracer);
  db.get('SELECT 2 AS two', (err, row) => {
    seen.push(err === null ? `statement answered ${row.two}` : `statement failed: ${err.message}`);
    db.removeListener('trace', tracer);
    db.on('change', () => {
      throw new Error('from a change listener');
    });
    db.run('CREATE TABLE t (v)');
    db.run('INSERT INTO t VALUES (1)', function (err) {
      seen.push(err === null ? `insert answered ${this.changes}` : `insert failed: ${err.message}`);
      setTimeout(() => {
        console.log(JSON.stringify({ seen, calls }));
        db.close(() => process.exit(0));
      }, 20);
    });
  });
});
