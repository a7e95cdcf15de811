/**
 * One TCP connection to a dqlite node: the handshake, then requests and
 * responses in order (dqlite answers a connection's requests one at a time;
 * a result set may come in several messages). Nothing here retries: a
 * broken connection fails what is in flight with `SocketClosedError`, saying
 * whether each request had been written to the socket.
 */
import { clock } from '@litepool/core';
import { createConnection, type Socket } from 'node:net';
import { PROTOCOL_VERSION, Reader, WORD } from './wire.js';

/** The connection broke; `sent`: whether the request had been written before it did. */
export class SocketClosedError extends Error {
  /** @param message why @param sent whether the request was written @param options the socket's error as `cause` */
  constructor(
    message: string,
    readonly sent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A response: its type and body. */
export interface Message {
  readonly type: number;
  readonly body: Reader;
}

interface Waiter {
  /** Takes one message; true when the request is answered in full. */
  readonly take: (message: Message) => boolean;
  readonly fail: (error: SocketClosedError) => void;
  sent: boolean;
}

/** `host:port` (or `[v6]:port`) split for net.connect. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (match === null) throw new TypeError(`A dqlite node address is host:port, got ${JSON.stringify(address)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** One connection to one node. */
export class DqliteSocket {
  readonly #socket: Socket;
  readonly #waiters: Waiter[] = [];
  #pending: Buffer = Buffer.alloc(0);
  #closed: SocketClosedError | undefined;

  private constructor(
    socket: Socket,
    readonly address: string,
  ) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(new SocketClosedError(`dqlite node ${address}: ${error.message}`, true, { cause: error })));
    socket.on('close', () => this.#fail(new SocketClosedError(`dqlite node ${address} closed the connection`, true)));
  }

  /** Connects to `address` and sends the protocol version; rejects after `timeoutMs`. */
  static connect(address: string, timeoutMs: number): Promise<DqliteSocket> {
    const { host, port } = parseAddress(address);
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port, noDelay: true });
      const timer = clock.setTimeout(() => {
        socket.destroy();
        reject(new SocketClosedError(`dqlite node ${address}: no connection within ${timeoutMs} ms`, false));
      }, timeoutMs);
      socket.once('error', (error) => {
        clock.clearTimeout(timer);
        reject(new SocketClosedError(`dqlite node ${address}: ${error.message}`, false, { cause: error }));
      });
      socket.once('connect', () => {
        clock.clearTimeout(timer);
        socket.setKeepAlive(true, 1_000);
        const version = Buffer.alloc(WORD);
        version.writeBigUInt64LE(PROTOCOL_VERSION);
        socket.write(version);
        resolve(new DqliteSocket(socket, address));
      });
    });
  }

  /** Whether the connection broke or was closed. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Sends `message` and resolves with its response (with `collect`, every
   * message of a multi-part response: `collect` returns true on the last).
   */
  request(message: Buffer, collect?: (message: Message) => boolean): Promise<Message[]> {
    if (this.#closed !== undefined) return Promise.reject(new SocketClosedError(this.#closed.message, false, { cause: this.#closed }));
    return new Promise((resolve, reject) => {
      const messages: Message[] = [];
      const waiter: Waiter = {
        take: (response) => {
          messages.push(response);
          if (collect !== undefined && !collect(response)) return false;
          resolve(messages);
          return true;
        },
        fail: reject,
        sent: false,
      };
      this.#waiters.push(waiter);
      this.#socket.write(message);
      waiter.sent = true;
    });
  }

  /** Closes the connection; what is in flight fails. Idempotent. */
  close(): void {
    this.#fail(new SocketClosedError(`dqlite connection to ${this.address} closed`, true));
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= WORD) {
      const size = this.#pending.readUInt32LE(0) * WORD;
      if (this.#pending.length < WORD + size) return;
      const type = this.#pending[4]!;
      const body = this.#pending.subarray(WORD, WORD + size);
      this.#pending = this.#pending.subarray(WORD + size);
      const waiter = this.#waiters[0];
      if (waiter === undefined) continue; // nothing asked for it (a late part after a failure)
      if (waiter.take({ type, body: new Reader(Buffer.from(body)) })) this.#waiters.shift();
    }
  }

  #fail(error: SocketClosedError): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    for (const waiter of this.#waiters.splice(0)) waiter.fail(new SocketClosedError(error.message, waiter.sent, { cause: error.cause }));
  }
}
