/**
 * One TCP connection to a dqlite node: the handshake, then requests and
 * responses in order (dqlite answers a connection's requests one at a time;
 * a result set may come in several messages). Nothing here retries: a
 * broken connection fails what is in flight with `SocketClosedError`, saying
 * whether each request had been written to the socket.
 *
 * Nothing the node sends is trusted: a message longer than `maxFrameBytes`,
 * an answer longer than `maxResultBytes` in all, a node silent for
 * `silenceTimeoutMs` while a request waits, or a reply its reader cannot
 * decode closes the connection and fails the request with a typed error;
 * no throw escapes the socket's callbacks, and memory stays within the limits.
 */
import { clock } from '@litepool/core';
import { createConnection, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { DqliteProtocolError, DqliteTlsError, ResultTooLargeError } from './errors.js';
import { PROTOCOL_VERSION, Reader, WORD } from './wire.js';

/** What one connection accepts from its node. */
export interface SocketLimits {
  /** Longest message body, in bytes. */
  readonly maxFrameBytes: number;
  /** Most bytes of all the messages answering one request (a result set in many parts). */
  readonly maxResultBytes: number;
  /** Longest silence of the node while a request waits for its answer, in ms (0: no limit). */
  readonly silenceTimeoutMs: number;
}

/** The limits when none are given: a 64 MiB message, a 256 MiB result, 30 s of silence. */
export const DEFAULT_LIMITS: SocketLimits = { maxFrameBytes: 64 * 2 ** 20, maxResultBytes: 256 * 2 ** 20, silenceTimeoutMs: 30_000 };

/**
 * TLS settings of the connections to the nodes (`node:tls` options: `ca`,
 * `cert`, `key`, `servername`, …); where to connect comes from the node's address.
 */
export type DqliteTlsOptions = Omit<ConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'timeout' | 'lookup'>;

/** How a connection is made: its limits and, for a cluster that speaks TLS, the TLS settings. */
export interface SocketOptions {
  /** What the connection accepts from the node; default: a 64 MiB message, a 256 MiB result, 30 s of silence. */
  readonly limits?: SocketLimits;
  /** TLS settings; undefined: plaintext. */
  readonly tls?: DqliteTlsOptions | undefined;
}

/**
 * Whether `error` is the TLS handshake refusing a certificate (ours or the
 * node's): OpenSSL's `ERR_SSL_*` alerts and Node's verification codes.
 * Asking again will not help; a closed socket is not one of these.
 */
function isTlsRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^ERR_SSL_|^ERR_TLS_CERT|CERT|SIGNATURE|ISSUER/.test(code);
}

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

/** No connection, or no answer, within the time allowed: says less about the node than what else went wrong. */
export class NoAnswerError extends SocketClosedError {}

/** A response: its type and body. */
export interface Message {
  readonly type: number;
  readonly body: Reader;
}

interface Waiter {
  /** Takes one message; true when the request is answered in full. May throw: the connection is then abandoned. */
  readonly take: (message: Message) => boolean;
  readonly fail: (error: Error) => void;
  sent: boolean;
  /** Bytes of the answer received so far. */
  received: number;
}

/** `host:port` (or `[v6]:port`) split for net.connect. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (match === null) throw new TypeError(`A dqlite node address is host:port, got ${JSON.stringify(address)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** A TLS refusal as `DqliteTlsError` (naming the node); any other error as it is. */
function tlsCause(address: string, error: Error): Error {
  return isTlsRefusal(error)
    ? new DqliteTlsError(`dqlite node ${address}: the TLS handshake failed: ${error.message}`, { cause: error })
    : error;
}

/** One connection to one node. */
export class DqliteSocket {
  readonly #socket: Socket;
  readonly #waiters: Waiter[] = [];
  /** The header of the message coming in, as far as it has arrived. */
  readonly #header = Buffer.alloc(WORD);
  #headerBytes = 0;
  /** The body of the message coming in (allocated once its header is read), and how much of it has arrived. */
  #body: Buffer | undefined;
  #bodyBytes = 0;
  #type = 0;
  #closed: SocketClosedError | undefined;
  /** Fires when the node stays silent while a request waits. */
  #silence: NodeJS.Timeout | undefined;

  /** Whether the node has answered anything on this connection. */
  #answered = false;

  private constructor(
    socket: Socket,
    readonly address: string,
    private readonly limits: SocketLimits,
    encrypted: boolean,
  ) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#receive(chunk);
      } catch (error) {
        this.#abandon(error);
      }
    });
    // A TLS node closes (or resets) a plaintext connection before answering anything.
    const hint = (): string =>
      this.#answered || encrypted ? '' : ' before answering (a node that speaks TLS does this to a client without the tls option)';
    socket.on('error', (error) =>
      this.#fail(new SocketClosedError(`dqlite node ${address}: ${error.message}${hint()}`, true, { cause: tlsCause(address, error) })),
    );
    socket.on('close', () => this.#fail(new SocketClosedError(`dqlite node ${address} closed the connection${hint()}`, true)));
  }

  /**
   * Connects to `address` (over TLS with `options.tls`, never falling back to
   * plaintext) and sends the protocol version; rejects after `timeoutMs`,
   * with `DqliteTlsError` when the TLS handshake refuses a certificate.
   */
  static connect(address: string, timeoutMs: number, options: SocketOptions = {}): Promise<DqliteSocket> {
    const { host, port } = parseAddress(address);
    const limits = options.limits ?? DEFAULT_LIMITS;
    const tls = options.tls;
    return new Promise((resolve, reject) => {
      const socket =
        tls === undefined
          ? createConnection({ host, port, noDelay: true })
          : // Node sends no SNI for an IP address; a name is checked against the certificate's DNS names, an IP against its IP addresses.
            connectTls({ ...(isIP(host) === 0 ? { servername: host } : {}), ...tls, host, port }).setNoDelay(true);
      const timer = clock.setTimeout(() => {
        socket.destroy();
        reject(new NoAnswerError(`dqlite node ${address}: no connection within ${Math.round(timeoutMs)} ms`, false));
      }, timeoutMs);
      socket.once('error', (error) => {
        clock.clearTimeout(timer);
        const refusal = tlsCause(address, error);
        reject(
          refusal instanceof DqliteTlsError
            ? refusal
            : new SocketClosedError(`dqlite node ${address}: ${error.message}`, false, { cause: error }),
        );
      });
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        clock.clearTimeout(timer);
        socket.setKeepAlive(true, 1_000);
        const version = Buffer.alloc(WORD);
        version.writeBigUInt64LE(PROTOCOL_VERSION);
        socket.write(version);
        resolve(new DqliteSocket(socket, address, limits, tls !== undefined));
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
        received: 0,
      };
      this.#waiters.push(waiter);
      this.#watchSilence();
      this.#socket.write(message);
      waiter.sent = true;
    });
  }

  /** Closes the connection; what is in flight fails. Idempotent. */
  close(): void {
    this.#fail(new SocketClosedError(`dqlite connection to ${this.address} closed`, true));
    this.#socket.destroy();
  }

  /** Reads messages out of `chunk`, copying each body once into a buffer of its announced size. */
  #receive(chunk: Buffer): void {
    this.#silence?.refresh();
    this.#answered = true;
    let at = 0;
    while (this.#closed === undefined) {
      if (this.#body === undefined) {
        const take = Math.min(WORD - this.#headerBytes, chunk.length - at);
        chunk.copy(this.#header, this.#headerBytes, at, at + take);
        this.#headerBytes += take;
        at += take;
        if (this.#headerBytes < WORD) return;
        const size = this.#header.readUInt32LE(0) * WORD;
        if (size > this.limits.maxFrameBytes) {
          throw new DqliteProtocolError(
            `dqlite node ${this.address} announced a ${size}-byte message, more than maxFrameBytes (${this.limits.maxFrameBytes})`,
          );
        }
        this.#headerBytes = 0;
        this.#type = this.#header[4]!;
        // The whole body in this chunk (the usual case): read in place, no copy.
        if (chunk.length - at >= size) {
          const body = chunk.subarray(at, at + size);
          at += size;
          this.#deliver(body);
          if (at === chunk.length) return;
          continue;
        }
        this.#body = Buffer.allocUnsafe(size);
        this.#bodyBytes = 0;
      }
      const take = Math.min(this.#body.length - this.#bodyBytes, chunk.length - at);
      chunk.copy(this.#body, this.#bodyBytes, at, at + take);
      this.#bodyBytes += take;
      at += take;
      if (this.#bodyBytes < this.#body.length) return;
      const body = this.#body;
      this.#body = undefined;
      this.#deliver(body);
      if (at === chunk.length) return;
    }
  }

  #deliver(body: Buffer): void {
    const waiter = this.#waiters[0];
    if (waiter === undefined) throw new DqliteProtocolError(`dqlite node ${this.address} sent a message no request asked for`);
    waiter.received += WORD + body.length;
    if (waiter.received > this.limits.maxResultBytes) throw new ResultTooLargeError(this.limits.maxResultBytes);
    if (!waiter.take({ type: this.#type, body: new Reader(body) })) return;
    this.#waiters.shift();
    if (this.#waiters.length === 0) this.#stopWatchingSilence();
  }

  /** While a request waits, the node must send something every `silenceTimeoutMs`. */
  #watchSilence(): void {
    if (this.#silence !== undefined || this.limits.silenceTimeoutMs === 0) return;
    const ms = this.limits.silenceTimeoutMs;
    this.#silence = clock.setTimeout(() => {
      this.#silence = undefined;
      this.#abandon(new SocketClosedError(`dqlite node ${this.address} sent nothing for ${ms} ms while a request waited`, true));
    }, ms);
  }

  #stopWatchingSilence(): void {
    clock.clearTimeout(this.#silence);
    this.#silence = undefined;
  }

  /** The node broke the protocol (or went silent): the request being answered fails with `error`, the connection is closed. */
  #abandon(error: unknown): void {
    const reason = error instanceof Error ? error : new DqliteProtocolError(String(error));
    const head = this.#waiters.shift();
    this.close();
    head?.fail(reason);
  }

  #fail(error: SocketClosedError): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    this.#stopWatchingSilence();
    this.#body = undefined;
    for (const waiter of this.#waiters.splice(0)) waiter.fail(new SocketClosedError(error.message, waiter.sent, { cause: error.cause }));
  }
}
