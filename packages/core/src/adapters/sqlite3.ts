/**
 * `@litepool/core/sqlite3`: node-sqlite3's API over litepool (see
 * ./sqlite3/index.ts).
 *
 * @module @litepool/core/sqlite3
 */
export * from './sqlite3/index.js';
export { default } from './sqlite3/index.js';
