// Prints whether require() and import() of the drop-in give the same Database
// class on the runtime that runs this file (not under a test's loader, which
// resolves on its own).
import { createRequire } from 'node:module';

const required = createRequire(import.meta.url)('@litepool/core/sqlite3');
const imported = await import('@litepool/core/sqlite3');
console.log(JSON.stringify(imported.Database === required.Database));
