// Prints, for the runtime that runs this file (not under a test's loader,
// which resolves on its own), whether require() and import() of the drop-in
// give the same Database class, and whether require()'s exports can be
// replaced (sinon.stub(sqlite3, 'Database'), as with node-sqlite3).
import { createRequire } from 'node:module';

const required = createRequire(import.meta.url)('@litepool/core/sqlite3');
const imported = await import('@litepool/core/sqlite3');
let replaceable = true;
try {
  const { verbose } = required;
  required.verbose = () => required;
  required.verbose = verbose;
} catch {
  replaceable = false;
}
console.log(JSON.stringify({ oneCopy: imported.Database === required.Database, replaceable }));
