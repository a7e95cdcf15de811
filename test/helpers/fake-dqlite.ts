/**
 * A scripted dqlite node on loopback, for the client's fault tests: it does
 * the handshake as a leader (Leader, Client, Open, Cluster), and answers each
 * EXEC_SQL / QUERY_SQL with whatever bytes the test's `answer` writes, well
 * formed or not. Its own small encoder (independent of the client's) builds
 * the well-formed replies, following dqlite's wire-protocol documentation.
 */
import { createServer, type Server, type Socket } from 'node:net';

const WORD = 8;

/** Message types of the protocol used here. */
export const Type = { Failure: 0, Node: 1, Welcome: 2, Nodes: 3, Db: 4, Result: 6, Rows: 7, Empty: 8 } as const;
/** Request types the answer is called for. */
export const ExecSql = 8;
export const QuerySql = 9;

/** The word after a result set's last row, and after a part with more to come. */
export const ROWS_DONE = 0xffffffffffffffffn;
export const ROWS_PART = 0xeeeeeeeeeeeeeeeen;

/** A value of a row, as the encoder writes it. */
export type RowValue = bigint | number | string | Buffer | null;

const word = (value: bigint): Buffer => {
  const buffer = Buffer.alloc(WORD);
  buffer.writeBigUInt64LE(BigInt.asUintN(64, value));
  return buffer;
};

/** A NUL-terminated string padded to a word. */
export function text(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const buffer = Buffer.alloc(Math.ceil((bytes.length + 1) / WORD) * WORD);
  bytes.copy(buffer);
  return buffer;
}

/** One uint64 word. */
export function uint64(value: bigint | number): Buffer {
  return word(BigInt(value));
}

/** A whole message: the header (body size in words, type) and the body. */
export function frame(type: number, body: Buffer, sizeWords = body.length / WORD): Buffer {
  const header = Buffer.alloc(WORD);
  header.writeUInt32LE(sizeWords, 0);
  header[4] = type;
  return Buffer.concat([header, body]);
}

/** A Rows body: column names, then each row (a 4-bit type per value, padded), then `marker`. */
export function rowsBody(columns: readonly string[], rows: readonly (readonly RowValue[])[], marker = ROWS_DONE): Buffer {
  const parts: Buffer[] = [uint64(columns.length), ...columns.map(text)];
  for (const row of rows) {
    const header = Buffer.alloc(Math.ceil(Math.ceil(columns.length / 2) / WORD) * WORD);
    const values: Buffer[] = [];
    row.forEach((value, i) => {
      const [type, ...encoded] = encodeValue(value);
      header[i >> 1]! |= i % 2 === 0 ? type : type << 4;
      values.push(...encoded);
    });
    parts.push(header, ...values);
  }
  parts.push(word(marker));
  return Buffer.concat(parts);
}

/** A value's type code and its words. */
function encodeValue(value: RowValue): [number, ...Buffer[]] {
  if (value === null) return [5, uint64(0)];
  if (typeof value === 'bigint') return [1, uint64(value)];
  if (typeof value === 'string') return [3, text(value)];
  if (typeof value === 'number') {
    const float = Buffer.alloc(WORD);
    float.writeDoubleLE(value);
    return [2, float];
  }
  const padded = Buffer.alloc(Math.ceil(value.length / WORD) * WORD);
  value.copy(padded);
  return [4, uint64(value.length), padded];
}

/** A Failure body: a code and a message. */
export function failureBody(code: number, message: string): Buffer {
  return Buffer.concat([uint64(code), text(message)]);
}

/** A Result body: last insert id and rows affected. */
export function resultBody(lastInsertId: number, changes: number): Buffer {
  return Buffer.concat([uint64(lastInsertId), uint64(changes)]);
}

/** What the test does with one EXEC_SQL or QUERY_SQL: write the reply (or nothing) on `socket`. */
export type Answer = (request: { type: number; sql: string }, socket: Socket) => void;

/** A running fake node. */
export interface FakeNode {
  readonly address: string;
  /** Replaces how statements are answered. */
  answer: Answer;
  /** Statements received so far. */
  readonly statements: { type: number; sql: string }[];
  close(): Promise<void>;
}

/** The well-formed answer: `SELECT` gives one row `{ one: 1 }`, anything else one change. */
export const wellFormed: Answer = ({ type }, socket) => {
  socket.write(type === QuerySql ? frame(Type.Rows, rowsBody(['one'], [[1n]])) : frame(Type.Result, resultBody(1, 1)));
};

/** Starts a fake node on a free loopback port. */
export async function fakeDqlite(answer: Answer = wellFormed): Promise<FakeNode> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!greeted) {
        if (pending.length < WORD) return;
        pending = pending.subarray(WORD);
        greeted = true;
      }
      while (pending.length >= WORD) {
        const size = pending.readUInt32LE(0) * WORD;
        if (pending.length < WORD + size) return;
        const type = pending[4]!;
        const body = pending.subarray(WORD, WORD + size);
        pending = pending.subarray(WORD + size);
        respond(socket, type, body);
      }
    });
  });
  const respond = (socket: Socket, type: number, body: Buffer): void => {
    if (type === 0) socket.write(frame(Type.Node, Buffer.concat([uint64(1), text(node.address)])));
    else if (type === 1) socket.write(frame(Type.Welcome, uint64(15_000)));
    else if (type === 3) socket.write(frame(Type.Db, uint64(0)));
    // The cluster: this node alone, a voter.
    else if (type === 16) socket.write(frame(Type.Nodes, Buffer.concat([uint64(1), uint64(1), text(node.address), uint64(0)])));
    else if (type === ExecSql || type === QuerySql) {
      const sql = body.toString('utf8', WORD, body.indexOf(0, WORD));
      node.statements.push({ type, sql });
      node.answer({ type, sql }, socket);
    } else socket.write(frame(Type.Empty, uint64(0)));
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const node: FakeNode = {
    address: `127.0.0.1:${port}`,
    answer,
    statements: [],
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return node;
}
