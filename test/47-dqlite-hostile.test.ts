/**
 * The dqlite client trusts nothing a node sends (issue 19): malformed,
 * oversized, endless or missing replies from a scripted node on loopback
 * become typed errors on that call, the connection is closed and opened
 * again, the process never crashes, memory stays within the limits. Ends
 * with a seeded fuzz run of mutated replies.
 */
import { createPool, type Pool } from '@litepool/core';
import { dqlite, type DqliteOptions } from '@litepool/dqlite';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import {
  QuerySql,
  ROWS_PART,
  Type,
  failureBody,
  fakeDqlite,
  frame,
  resultBody,
  rowsBody,
  text,
  uint64,
  wellFormed,
  type Answer,
  type FakeNode,
} from './helpers/fake-dqlite.js';
import { within } from './helpers/pool.js';

let node: FakeNode;
before(async () => {
  node = await fakeDqlite();
});
after(() => node.close());

function pool(options: Partial<DqliteOptions> = {}, statementTimeoutMs = 0): Pool {
  return createPool({
    backend: dqlite({ servers: [node.address], database: 'app', reconnectTimeoutMs: 1000, silenceTimeoutMs: 500, ...options }),
    statementTimeoutMs,
  });
}

/** Answers queries with `reply` (writes stay well formed). */
const onQuery =
  (reply: (socket: Socket) => void): Answer =>
  (request, socket) =>
    request.type === QuerySql ? reply(socket) : wellFormed(request, socket);

const code = (error: unknown): unknown => (error as { code?: unknown }).code;

/** Malformed replies to a query, each with the error its caller must get. */
const malformedQueries: [string, (socket: Socket) => void, string][] = [
  [
    'a column count of 2^31',
    (s) => s.write(frame(Type.Rows, Buffer.concat([uint64(2 ** 31), text('a'), uint64(-1n)]))),
    'ERR_DQLITE_PROTOCOL',
  ],
  [
    'an unknown value type',
    (s) => s.write(frame(Type.Rows, Buffer.concat([uint64(1), text('a'), uint64(7), uint64(0), uint64(-1n)]))),
    'ERR_DQLITE_PROTOCOL',
  ],
  ['a Failure without its message', (s) => s.write(frame(Type.Failure, uint64(1))), 'ERR_DQLITE_PROTOCOL'],
  ['a Failure with nothing in it', (s) => s.write(frame(Type.Failure, Buffer.alloc(0))), 'ERR_DQLITE_PROTOCOL'],
  ['an unexpected message type', (s) => s.write(frame(42, uint64(0))), 'ERR_DQLITE_PROTOCOL'],
  ['a Welcome instead of rows', (s) => s.write(frame(Type.Welcome, uint64(0))), 'ERR_DQLITE_PROTOCOL'],
  [
    'a row with no columns, then junk',
    (s) => s.write(frame(Type.Rows, Buffer.concat([uint64(0), uint64(12345), uint64(-1n)]))),
    'ERR_DQLITE_PROTOCOL',
  ],
  ['rows without an end marker', (s) => s.write(frame(Type.Rows, Buffer.concat([uint64(1), text('a')]))), 'ERR_DQLITE_PROTOCOL'],
  [
    'a blob that claims 2^40 bytes',
    (s) => s.write(frame(Type.Rows, Buffer.concat([uint64(1), text('a'), uint64(4), uint64(2 ** 40), uint64(0), uint64(-1n)]))),
    'ERR_DQLITE_PROTOCOL',
  ],
  [
    'a string without its NUL',
    (s) => s.write(frame(Type.Rows, Buffer.concat([uint64(1), Buffer.from('abcdefgh')]))),
    'ERR_DQLITE_PROTOCOL',
  ],
  ['a header announcing a 32 GiB message', (s) => s.write(frame(Type.Rows, Buffer.alloc(0), 0xffffffff)), 'ERR_DQLITE_PROTOCOL'],
  ['an empty message body', (s) => s.write(frame(Type.Rows, Buffer.alloc(0))), 'ERR_DQLITE_PROTOCOL'],
];

for (const [what, reply, expected] of malformedQueries) {
  test(`a query answered with ${what} fails with ${expected}; the pool goes on`, async (t) => {
    const p = pool();
    t.after(() => p.destroy());
    node.answer = onQuery(reply);
    await assert.rejects(within(5000, p.get('SELECT 1 AS one'), what), (error) => code(error) === expected);
    node.answer = wellFormed;
    assert.deepEqual(await within(5000, p.get('SELECT 1 AS one'), 'the next read'), { one: 1 });
  });
}

test('an endless multi-part result fails with ERR_RESULT_TOO_LARGE at maxResultBytes, and the node is cut off', async (t) => {
  const p = pool({ maxResultBytes: 1 << 20 });
  t.after(() => p.destroy());
  let parts = 0;
  node.answer = onQuery((socket) => {
    const part = frame(
      Type.Rows,
      rowsBody(
        ['a'],
        Array.from({ length: 64 }, () => ['x'.repeat(100)]),
        ROWS_PART,
      ),
    );
    // Sends parts until the client closes the connection (bounded: 100 MB at most).
    const more = (): void => {
      while (!socket.destroyed && parts < 10_000) {
        parts++;
        if (!socket.write(part)) return void socket.once('drain', more);
      }
    };
    more();
  });
  await assert.rejects(within(10_000, p.all('SELECT a FROM endless'), 'the endless query'), { code: 'ERR_RESULT_TOO_LARGE' });
  assert.ok(parts < 10_000, `the client stopped the stream (${parts} parts sent)`);
  node.answer = wellFormed;
  assert.deepEqual(await p.get('SELECT 1 AS one'), { one: 1 });
});

test('a message longer than maxFrameBytes is refused from its header, before its body arrives', async (t) => {
  const p = pool({ maxFrameBytes: 4096 });
  t.after(() => p.destroy());
  node.answer = onQuery((socket) => socket.write(frame(Type.Rows, rowsBody(['a'], [['x'.repeat(8000)]]))));
  await assert.rejects(p.get('SELECT a FROM big'), (error) => code(error) === 'ERR_DQLITE_PROTOCOL' && /maxFrameBytes/.test(String(error)));
});

test('a malformed reply inside a group of writes: ERR_LEADER_LOST (nothing applied); to its COMMIT: ERR_COMMIT_UNKNOWN', async (t) => {
  const p = pool();
  t.after(() => p.destroy());
  const shortResult = frame(Type.Result, uint64(1)); // a Result one word short
  for (const [statement, expected] of [
    ['INSERT', 'ERR_LEADER_LOST'], // one-shot writes run in a group transaction: closing the connection rolls it back
    ['COMMIT', 'ERR_COMMIT_UNKNOWN'], // the COMMIT may have been applied before its reply went wrong
  ] as const) {
    node.answer = (request, socket) => (request.sql.startsWith(statement) ? socket.write(shortResult) : wellFormed(request, socket));
    await assert.rejects(p.run('INSERT INTO t VALUES (1)'), (error) => {
      assert.equal(code(error), expected);
      assert.equal(code((error as Error).cause), 'ERR_DQLITE_PROTOCOL');
      return true;
    });
  }
  node.answer = wellFormed;
  assert.deepEqual(await p.run('INSERT INTO t VALUES (2)'), { changes: 1, lastInsertRowid: 1 });
});

test('a node that goes silent with statementTimeoutMs 0: reads and writes settle after silenceTimeoutMs, typed', async (t) => {
  const p = pool({ silenceTimeoutMs: 300, reconnectTimeoutMs: 800 }, 0);
  t.after(() => p.destroy());
  assert.deepEqual(await p.get('SELECT 1 AS one'), { one: 1 });
  node.answer = () => {}; // never answers a statement
  const [read, write] = await within(
    5000,
    Promise.allSettled([p.get('SELECT 1 AS one'), p.run('INSERT INTO t VALUES (1)')]),
    'calls to a silent node',
  );
  assert.equal(read.status, 'rejected');
  assert.equal(code(read.reason), 'ERR_CLUSTER_UNAVAILABLE'); // a read runs again elsewhere until reconnectTimeoutMs
  assert.equal(write.status, 'rejected');
  assert.equal(code(write.reason), 'ERR_LEADER_LOST'); // its group transaction went with the connection: nothing applied
  node.answer = wellFormed;
  assert.deepEqual(await within(5000, p.get('SELECT 1 AS one'), 'a read once the node answers'), { one: 1 });
});

test('the limits are checked options', () => {
  for (const [key, value] of [
    ['maxFrameBytes', 0],
    ['maxResultBytes', -1],
    ['silenceTimeoutMs', 1.5],
    ['maxFrameBytes', 2 ** 40],
  ] as const) {
    assert.throws(() => dqlite({ servers: ['127.0.0.1:1'], database: 'x', [key]: value }), { code: 'ERR_INVALID_OPTIONS' });
  }
});

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A well-formed reply, then mutated: bytes flipped, words overwritten, cut short or lengthened, the type changed. */
function mutatedReply(next: () => number): Buffer {
  const pick = (n: number): number => Math.floor(next() * n);
  const columns = Array.from({ length: 1 + pick(4) }, (_, i) => `c${i}`);
  const values = [null, 7n, -1n, 2.5, 'text', Buffer.from('blob bytes'), ''];
  const rows = Array.from({ length: pick(4) }, () => columns.map(() => values[pick(values.length)]!));
  const kind = pick(3);
  const body =
    kind === 0 ? rowsBody(columns, rows) : kind === 1 ? failureBody(1 + pick(30), 'no such table: x') : resultBody(pick(100), pick(100));
  const type = kind === 0 ? Type.Rows : kind === 1 ? Type.Failure : Type.Result;
  const bytes = Buffer.from(body);
  for (let i = pick(4); i > 0 && bytes.length > 0; i--) bytes[pick(bytes.length)] = pick(256);
  if (next() < 0.3 && bytes.length >= 8)
    bytes.writeBigUInt64LE(BigInt.asUintN(64, BigInt(Math.floor(next() * 2 ** 53)) << BigInt(pick(12))), pick(bytes.length / 8) * 8);
  let sent = bytes;
  if (next() < 0.2) sent = bytes.subarray(0, pick(bytes.length / 8 + 1) * 8);
  if (next() < 0.1) sent = Buffer.concat([bytes, uint64(BigInt(pick(2 ** 30)))]);
  return frame(next() < 0.1 ? pick(16) : type, sent);
}

test('fuzz: 400 mutated replies (fixed seeds): every call settles, typed, and the process lives', async (t) => {
  const p = pool({ silenceTimeoutMs: 200, reconnectTimeoutMs: 400 });
  t.after(() => p.destroy());
  const typed = /^(ERR_DQLITE_PROTOCOL|ERR_RESULT_TOO_LARGE|ERR_CLUSTER_UNAVAILABLE|ERR_COMMIT_UNKNOWN|SQLITE_[A-Z_]+|ERR_[A-Z_]+)$/;
  const deadline = Date.now() + 60_000;
  const outcomes = { answered: 0, rejected: 0 };
  for (let seed = 1; seed <= 400 && Date.now() < deadline; seed++) {
    const next = random(seed);
    const reply = mutatedReply(next);
    node.answer = (_request, socket) => socket.write(reply);
    const call: Promise<unknown> = seed % 2 === 0 ? p.all('SELECT c0 FROM fuzz') : p.run('INSERT INTO fuzz VALUES (1)');
    try {
      await within(5000, call, `seed ${seed}`);
      outcomes.answered++;
    } catch (error) {
      assert.match(String(code(error)), typed, `seed ${seed}: ${String(error)}`);
      outcomes.rejected++;
    }
  }
  t.diagnostic(`${outcomes.answered} answered, ${outcomes.rejected} rejected with typed errors`);
  assert.ok(outcomes.rejected > 50, 'most mutations are caught');
  node.answer = wellFormed;
  assert.deepEqual(await p.get('SELECT 1 AS one'), { one: 1 });
});
