/**
 * A dqlite client: finds the leader (any node tells who leads), registers
 * with it, opens a database, and runs SQL with parameters. One client is one
 * connection to the leader; it does not reconnect (see connection.ts).
 */
import { clock, SqliteError } from '@litepool/core';
import { codeName, isLeadershipCode } from './codes.js';
import { ClusterUnavailableError, DqliteProtocolError, DqliteTlsError } from './errors.js';
import { DqliteSocket, NoAnswerError, SocketClosedError, type Message, type SocketOptions } from './socket.js';
import { Request, Response, Writer, decodeRows, type Reader, type WireValue } from './wire.js';

/** What the leader answered a statement that writes. */
export interface ExecResult {
  readonly lastInsertId: bigint;
  readonly rowsAffected: number;
}

/** A result set. */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: unknown[][];
}

/** A node of the cluster, as the leader knows it. */
export interface ClusterNode {
  readonly id: bigint;
  readonly address: string;
  /** `voter` (takes part in elections and commits), `standby` (replicates, may be promoted), `spare`. */
  readonly role: 'voter' | 'standby' | 'spare';
}

const ROLES = ['voter', 'standby', 'spare'] as const;

/** An error the node reported, with SQLite's (or dqlite's) result code. */
export class NodeFailure extends Error {
  /** @param code the numeric result code @param message the node's message */
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  /** Whether the node is not, or stopped being, the leader. */
  get leadership(): boolean {
    return isLeadershipCode(this.code);
  }

  /** As litepool's `SqliteError`, with the code's name (`SQLITE_CONSTRAINT_UNIQUE`). */
  toSqliteError(): SqliteError {
    return new SqliteError(this.message, codeName(this.code), { cause: this });
  }
}

function failure(message: Message): NodeFailure {
  const code = Number(message.body.uint64());
  return new NodeFailure(code, message.body.string());
}

function expect(message: Message | undefined, type: number, what: string): Reader {
  if (message === undefined) throw new DqliteProtocolError(`dqlite: no response to ${what}`);
  if (message.type === Response.Failure) throw failure(message);
  if (message.type !== type) throw new DqliteProtocolError(`dqlite: ${what} answered with message type ${message.type}, expected ${type}`);
  return message.body;
}

/** One connection to the leader, with a database open on it. */
export class DqliteClient {
  private constructor(
    readonly socket: DqliteSocket,
    readonly database: number,
    /** The leader's address. */
    readonly leader: string,
  ) {}

  /**
   * Finds the leader among `servers` (all asked at once; each tells who
   * leads), connects to it, registers and opens `database`. Rejects with
   * `ERR_CLUSTER_UNAVAILABLE` when no leader answers within `timeoutMs`
   * (asked again and again until then), and with `ERR_DQLITE_TLS` as soon as
   * every node's TLS handshake refused a certificate (`options.tls`).
   */
  static async connect(
    servers: readonly string[],
    database: string,
    timeoutMs: number,
    options: SocketOptions = {},
  ): Promise<DqliteClient> {
    const deadline = clock.now() + timeoutMs;
    const failures: unknown[] = [];
    for (let round = 0; ; round++) {
      const left = deadline - clock.now();
      if (left <= 0) break;
      const tried = failures.length;
      const client = await DqliteClient.#firstLeader(servers, database, Math.min(left, 2_000), options, failures);
      if (client !== undefined) return client;
      // Every node refused a certificate: asking again would only repeat it.
      const refusals = failures.slice(tried).map(tlsRefusal);
      if (refusals.length === servers.length && refusals.every((refusal) => refusal !== undefined)) throw refusals[0]!;
      const wait = deadline - clock.now();
      if (wait <= 0) break;
      // No leader yet (an election takes a second or two): ask again soon, a little later each round.
      await new Promise((resolve) => clock.setTimeout(resolve, Math.min(wait, 25 * 2 ** Math.min(round, 3))));
    }
    // What a node said is worth more than that time ran out (the last round may have had a millisecond).
    const lastError = failures.findLast((error) => !(error instanceof NoAnswerError)) ?? failures.at(-1);
    throw new ClusterUnavailableError(
      `No dqlite leader answered within ${timeoutMs} ms (tried ${servers.join(', ')})${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      { cause: lastError },
    );
  }

  /**
   * Asks every server at once; the first leader connection wins (a dead
   * host's connect timeout does not delay the others). Undefined when none
   * knows a leader; failures are added to `failures`.
   */
  static #firstLeader(
    servers: readonly string[],
    database: string,
    timeoutMs: number,
    options: SocketOptions,
    failures: unknown[],
  ): Promise<DqliteClient | undefined> {
    return new Promise((resolve) => {
      let waiting = servers.length;
      let winner: DqliteClient | undefined;
      for (const server of servers) {
        DqliteClient.#tryLeader(server, database, timeoutMs, options)
          .then(
            (client) => {
              if (client === undefined || winner !== undefined) return client?.close();
              winner = client;
              resolve(client);
            },
            (error: unknown) => void failures.push(error),
          )
          .finally(() => {
            if (--waiting === 0 && winner === undefined) resolve(undefined);
          });
      }
    });
  }

  /**
   * Asks `server` who leads; connects to that leader (possibly `server`
   * itself). Undefined when no leader is known. Every step is bounded by
   * `timeoutMs` (a node in the middle of an election may not answer).
   */
  static async #tryLeader(server: string, database: string, timeoutMs: number, options: SocketOptions): Promise<DqliteClient | undefined> {
    const sockets: DqliteSocket[] = [];
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => {
        for (const socket of sockets) socket.close();
        reject(new NoAnswerError(`dqlite node ${server}: no answer within ${Math.round(timeoutMs)} ms`, false));
      }, timeoutMs);
    });
    expired.catch(() => {});
    const attempt = async (): Promise<DqliteClient | undefined> => {
      const asked = await DqliteSocket.connect(server, timeoutMs, options);
      sockets.push(asked);
      const leader = await askLeader(asked);
      if (leader === '') return undefined;
      let socket = asked;
      if (leader !== server) {
        asked.close();
        socket = await DqliteSocket.connect(leader, timeoutMs, options);
        sockets.push(socket);
        // The leader itself confirms it leads (it may have just stepped down).
        if ((await askLeader(socket)) !== leader) return undefined;
      }
      const [welcome] = await socket.request(new Writer().uint64(0).message(Request.Client));
      expect(welcome, Response.Welcome, 'client registration');
      const [opened] = await socket.request(new Writer().string(database).uint64(0).string('volatile').message(Request.Open));
      // The database id is the word's low 32 bits.
      const db = Number(expect(opened, Response.Db, `opening database ${database}`).uint64() & 0xffffffffn);
      return new DqliteClient(socket, db, leader);
    };
    try {
      const client = await Promise.race([attempt(), expired]);
      for (const socket of sockets) if (socket !== client?.socket) socket.close();
      return client;
    } catch (error) {
      for (const socket of sockets) socket.close();
      throw error;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.socket.closed;
  }

  /** Runs SQL that writes (every statement of it; parameters bind the first). */
  async exec(sql: string, params: readonly WireValue[]): Promise<ExecResult> {
    const [message] = await this.socket.request(new Writer().uint64(this.database).string(sql).parameters(params).message(Request.ExecSql));
    const body = expect(message, Response.Result, 'exec');
    return { lastInsertId: body.uint64(), rowsAffected: Number(body.uint64()) };
  }

  /** Runs a query: its columns and every row (all parts of the result set). */
  async query(sql: string, params: readonly WireValue[], safeIntegers: boolean): Promise<QueryResult> {
    let columns: readonly string[] = [];
    const rows: unknown[][] = [];
    let failed: NodeFailure | undefined;
    await this.socket.request(new Writer().uint64(this.database).string(sql).parameters(params).message(Request.QuerySql), (message) => {
      if (message.type === Response.Failure) {
        failed = failure(message);
        return true;
      }
      if (message.type !== Response.Rows) throw new DqliteProtocolError(`dqlite: a query answered with message type ${message.type}`);
      const part = decodeRows(message.body, { safeIntegers });
      columns = part.columns;
      for (const row of part.rows) rows.push(row);
      return !part.more;
    });
    if (failed !== undefined) throw failed;
    return { columns, rows };
  }

  /** The cluster's nodes and their roles, as the leader knows them. */
  async cluster(): Promise<ClusterNode[]> {
    const [message] = await this.socket.request(new Writer().uint64(1).message(Request.Cluster));
    const body = expect(message, Response.Nodes, 'the cluster request');
    const count = Number(body.uint64());
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < count; i++) {
      const id = body.uint64();
      const address = body.string();
      nodes.push({ id, address, role: ROLES[Number(body.uint64())] ?? 'spare' });
    }
    return nodes;
  }

  /** Closes the connection. */
  close(): void {
    this.socket.close();
  }
}

/** The certificate refusal behind a failed attempt, if that is what it was (during the handshake, or the node's alert right after it). */
function tlsRefusal(error: unknown): DqliteTlsError | undefined {
  if (error instanceof DqliteTlsError) return error;
  return error instanceof SocketClosedError && error.cause instanceof DqliteTlsError ? error.cause : undefined;
}

async function askLeader(socket: DqliteSocket): Promise<string> {
  const [answer] = await socket.request(new Writer().uint64(0).message(Request.Leader));
  const body = expect(answer, Response.Node, 'the leader request');
  body.uint64(); // its id
  return body.string();
}

export { SocketClosedError };
