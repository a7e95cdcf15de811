/**
 * `@litepool/core/sqlite3`: node-sqlite3's API over litepool (see
 * ./sqlite3/index.ts).
 *
 * @module @litepool/core/sqlite3
 */
// The classes are named here, not only through `export *`: a declaration file
// whose only named export is `export *` reads to type checkers (attw) as a
// default export alone, although `require()` gives the named values too.
export { Database, Statement, Backup, cached, verbose } from './sqlite3/index.js';
export * from './sqlite3/index.js';
export { default } from './sqlite3/index.js';
