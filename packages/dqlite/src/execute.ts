/** One request of the pool as dqlite requests: statements that write as EXEC_SQL, queries as QUERY_SQL, results in the pool's shapes. */
import type { Request } from '@litepool/core';
import type { DqliteClient } from './client.js';
import { toObjects, wireParams } from './sql-text.js';

/** Runs `request` on the leader through `client` and answers in the shape the pool expects for its op. */
export async function execute(client: DqliteClient, request: Request, safeIntegers: boolean): Promise<unknown> {
  const { sql } = request;
  switch (request.op) {
    case 'exec':
      await client.exec(sql, []);
      return undefined;
    case 'run': {
      const result = await client.exec(sql, wireParams(sql, request.params));
      return {
        changes: result.rowsAffected,
        lastInsertRowid: safeIntegers ? result.lastInsertId : Number(result.lastInsertId),
      };
    }
    case 'next':
    case 'close-cursor':
      return { cursor: request.cursor ?? 0, rows: [], done: true };
    default: {
      const { columns, rows } = await client.query(sql, wireParams(sql, request.params), safeIntegers);
      if (request.op === 'values') return rows;
      const objects = toObjects(columns, rows);
      if (request.op === 'get') return objects[0];
      // iterate: the leader sends the whole result set; it is handed out as one chunk.
      return request.op === 'iterate' ? { cursor: 0, rows: objects, done: true } : objects;
    }
  }
}
