/**
 * What the dqlite backend reads from SQL text alone: whether it only reads
 * (dqlite answers queries and executions with different requests, and the
 * pool routes by it without probing a reader), whether it is only
 * transaction control, and named parameters placed by SQLite's numbering.
 */
import { ArgumentError, parameters, statements, type Params } from '@litepool/core';
import type { WireValue } from './wire.js';

const READ_HEADS = new Set(['SELECT', 'VALUES', 'EXPLAIN']);
/** Transaction control: allowed on a read-only lease (a read transaction begins and ends with it). */
const CONTROL_HEADS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);
const WRITE_WORD = /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i;

/** What {@link readsOnly} found, by SQL text (apps reuse their SQL; bounded for those that build it). */
const readOnlySql = new Map<string, boolean>();

/** Whether `sql` only reads: its statements start with SELECT/VALUES/EXPLAIN, a PRAGMA that sets nothing, or a WITH that does not write. */
export function readsOnly(sql: string): boolean {
  let known = readOnlySql.get(sql);
  if (known === undefined) {
    known = scanReadsOnly(sql);
    if (readOnlySql.size >= 10_000) readOnlySql.clear();
    readOnlySql.set(sql, known);
  }
  return known;
}

function scanReadsOnly(sql: string): boolean {
  const found = statements(sql);
  if (found.length === 0) return true;
  return found.every(({ head, text }) => {
    const first = head[0];
    if (first === undefined) return true;
    if (READ_HEADS.has(first)) return true;
    if (first === 'PRAGMA') return !head.includes('=') && !(head.length > 2 && head[2] === '(' && head.length > 4);
    if (first === 'WITH') return !WRITE_WORD.test(text);
    return false;
  });
}

/** Whether `sql` is only transaction control (BEGIN, COMMIT, SAVEPOINT, …). */
export function controlsOnly(sql: string): boolean {
  return statements(sql).every(({ head }) => head[0] !== undefined && CONTROL_HEADS.has(head[0]));
}

/** Parameters as dqlite takes them: positional, named ones placed by SQLite's numbering of the statement. */
export function wireParams(sql: string, params: Params | undefined): WireValue[] {
  if (params === undefined) return [];
  if (Array.isArray(params)) return params as WireValue[];
  const named = params as Record<string, WireValue>;
  const values: WireValue[] = [];
  for (const parameter of parameters(sql)) {
    const key = parameter.name?.slice(1) ?? String(parameter.index);
    if (!(key in named)) throw new ArgumentError(`Missing named parameter ${parameter.name ?? `?${parameter.index}`}`);
    values[parameter.index - 1] = named[key] ?? null;
  }
  for (let i = 0; i < values.length; i++) values[i] ??= null;
  return values;
}

export const toObjects = (columns: readonly string[], rows: readonly unknown[][]): Record<string, unknown>[] =>
  rows.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i]])));
