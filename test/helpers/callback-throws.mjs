// A callback that throws: node-sqlite3 lets the exception escape as uncaught; it must not come back as a database error.
import { Database } from '@litepool/core/sqlite3';

const db = new Database(':memory:');
let calls = 0;
process.on('uncaughtException', (error) => {
  console.log(JSON.stringify({ message: error.message, calls }));
  db.close(() => process.exit(0));
});
db.get('SELECT 1', () => {
  calls++;
  throw new Error('from the callback');
});
