/**
 * dqlite's wire protocol, as its documentation describes it: messages of
 * 8-byte words, a one-word header (body size in words, type, schema
 * version), fields of fixed types (uint64, int64, float64, NUL-terminated
 * strings padded to a word, blobs with their size), parameter tuples with a
 * type byte per value, and result sets whose rows carry 4-bit column types.
 */

import { DqliteProtocolError } from './errors.js';

/** Bytes per word: every field and message is padded to whole words. */
export const WORD = 8;

/** The protocol version sent in the handshake. */
export const PROTOCOL_VERSION = 1n;

/** Request types. */
export const Request = {
  Leader: 0,
  Client: 1,
  Heartbeat: 2,
  Open: 3,
  ExecSql: 8,
  QuerySql: 9,
  Interrupt: 10,
  Cluster: 16,
} as const;

/** Response types. */
export const Response = {
  Failure: 0,
  Node: 1,
  Welcome: 2,
  Nodes: 3,
  Db: 4,
  Result: 6,
  Rows: 7,
  Empty: 8,
} as const;

/** Value types in parameter tuples and rows. */
export const ValueType = {
  Integer: 1,
  Float: 2,
  Text: 3,
  Blob: 4,
  Null: 5,
  UnixTime: 9,
  Iso8601: 10,
  Boolean: 11,
} as const;

/** A value as it crosses the wire. */
export type WireValue = number | bigint | string | Buffer | Uint8Array | boolean | null;

/** The most parameters one statement may carry (the count is one byte). */
export const MAX_PARAMETERS = 255;

/** SQLite's hard limit on the columns of a result (SQLITE_MAX_COLUMN at most). */
const MAX_COLUMNS = 32_767;

/** The word after the last row of a part: more rows follow in the next message. */
const ROWS_PART = 0xeeeeeeeeeeeeeeeen;
/** The word after the last row of a result set. */
const ROWS_DONE = 0xffffffffffffffffn;

const padded = (size: number): number => Math.ceil(size / WORD) * WORD;

/** Builds one message body, word by word. */
export class Writer {
  #buffer = Buffer.alloc(256);
  #offset = 0;

  #ensure(size: number): void {
    if (this.#offset + size <= this.#buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, this.#offset + size));
    this.#buffer.copy(grown, 0, 0, this.#offset);
    this.#buffer = grown;
  }

  uint64(value: number | bigint): this {
    this.#ensure(WORD);
    this.#buffer.writeBigUInt64LE(BigInt(value), this.#offset);
    this.#offset += WORD;
    return this;
  }

  int64(value: number | bigint): this {
    this.#ensure(WORD);
    this.#buffer.writeBigInt64LE(BigInt(value), this.#offset);
    this.#offset += WORD;
    return this;
  }

  float64(value: number): this {
    this.#ensure(WORD);
    this.#buffer.writeDoubleLE(value, this.#offset);
    this.#offset += WORD;
    return this;
  }

  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.includes(0)) throw new TypeError('dqlite strings cannot contain a NUL character');
    const size = padded(bytes.length + 1);
    this.#ensure(size);
    bytes.copy(this.#buffer, this.#offset);
    this.#buffer.fill(0, this.#offset + bytes.length, this.#offset + size);
    this.#offset += size;
    return this;
  }

  blob(value: Uint8Array): this {
    this.uint64(value.length);
    const size = padded(value.length);
    this.#ensure(size);
    this.#buffer.set(value, this.#offset);
    this.#buffer.fill(0, this.#offset + value.length, this.#offset + size);
    this.#offset += size;
    return this;
  }

  /** A parameter tuple: a count byte, a type byte per value (padded to a word), then the values. None: nothing at all. */
  parameters(values: readonly WireValue[]): this {
    if (values.length === 0) return this;
    if (values.length > MAX_PARAMETERS) throw new RangeError(`dqlite takes at most ${MAX_PARAMETERS} parameters, got ${values.length}`);
    const header = padded(1 + values.length);
    this.#ensure(header);
    this.#buffer.fill(0, this.#offset, this.#offset + header);
    this.#buffer[this.#offset] = values.length;
    values.forEach((value, i) => (this.#buffer[this.#offset + 1 + i] = typeOf(value)));
    this.#offset += header;
    for (const value of values) {
      if (value === null) this.int64(0);
      else if (typeof value === 'boolean') this.uint64(value ? 1 : 0);
      else if (typeof value === 'bigint') this.int64(value);
      else if (typeof value === 'number') {
        if (Number.isSafeInteger(value)) this.int64(value);
        else this.float64(value);
      } else if (typeof value === 'string') this.string(value);
      else this.blob(value);
    }
    return this;
  }

  /** The whole message: header (body size in words, type, schema version 0) and body. */
  message(type: number): Buffer {
    const message = Buffer.alloc(WORD + this.#offset);
    message.writeUInt32LE(this.#offset / WORD, 0);
    message[4] = type;
    this.#buffer.copy(message, WORD, 0, this.#offset);
    return message;
  }
}

function typeOf(value: WireValue): number {
  if (value === null) return ValueType.Null;
  if (typeof value === 'boolean') return ValueType.Boolean;
  if (typeof value === 'bigint') return ValueType.Integer;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? ValueType.Integer : ValueType.Float;
  if (typeof value === 'string') return ValueType.Text;
  return ValueType.Blob;
}

/** Reads one message body, trusting none of it: a read past its end is a protocol error, never a RangeError or a short value. */
export class Reader {
  #offset = 0;

  constructor(readonly body: Buffer) {}

  get done(): boolean {
    return this.#offset >= this.body.length;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.body.length - this.#offset;
  }

  #need(size: number, what: string): void {
    if (size > this.remaining) throw new DqliteProtocolError(`dqlite message: ${what} runs past the end of the message`);
  }

  uint64(): bigint {
    this.#need(WORD, 'a word');
    const value = this.body.readBigUInt64LE(this.#offset);
    this.#offset += WORD;
    return value;
  }

  int64(): bigint {
    this.#need(WORD, 'a word');
    const value = this.body.readBigInt64LE(this.#offset);
    this.#offset += WORD;
    return value;
  }

  float64(): number {
    this.#need(WORD, 'a word');
    const value = this.body.readDoubleLE(this.#offset);
    this.#offset += WORD;
    return value;
  }

  /** A count or size word, refused when it is more than `max`. */
  count(max: number, what: string): number {
    const value = this.uint64();
    if (value > BigInt(max)) throw new DqliteProtocolError(`dqlite message: ${what} of ${value} is more than the message can hold`);
    return Number(value);
  }

  string(): string {
    const end = this.body.indexOf(0, this.#offset);
    if (end < 0) throw new DqliteProtocolError('dqlite message: a string without its NUL');
    const value = this.body.toString('utf8', this.#offset, end);
    this.#offset = Math.min(this.body.length, this.#offset + padded(end - this.#offset + 1));
    return value;
  }

  blob(): Buffer {
    const size = this.count(this.remaining - WORD, 'a blob size');
    const value = Buffer.from(this.body.subarray(this.#offset, this.#offset + size));
    this.#offset = Math.min(this.body.length, this.#offset + padded(size));
    return value;
  }

  /** The next word, without consuming it (undefined at the end). */
  peekWord(): bigint | undefined {
    return this.#offset + WORD <= this.body.length ? this.body.readBigUInt64LE(this.#offset) : undefined;
  }

  /** The next byte. */
  byte(): number {
    this.#need(1, 'a byte');
    return this.body[this.#offset++]!;
  }
}

/** One part of a result set, and whether more parts follow in the next message. */
export interface RowsPart {
  readonly columns: readonly string[];
  readonly rows: unknown[][];
  readonly more: boolean;
}

/** How integers come back. */
export interface DecodeOptions {
  /** INTEGER values as bigint (true) or number (false, exact up to 2^53). */
  readonly safeIntegers: boolean;
}

/** Decodes a Rows response body: column names, then rows (a 4-bit type per column, padded to a word), then a part or end marker. */
export function decodeRows(reader: Reader, options: DecodeOptions): RowsPart {
  // Each column name takes at least a word; SQLite allows at most 32767 columns.
  const count = reader.count(Math.min(MAX_COLUMNS, Math.floor(reader.remaining / WORD) - 1), 'a column count');
  const columns: string[] = [];
  for (let i = 0; i < count; i++) columns.push(reader.string());
  const rows: unknown[][] = [];
  const headerSize = padded(Math.ceil(count / 2));
  for (;;) {
    const next = reader.peekWord();
    if (next === undefined) throw new DqliteProtocolError('dqlite message: rows without their end marker');
    if (next === ROWS_DONE) return { columns, rows, more: false };
    if (next === ROWS_PART) return { columns, rows, more: true };
    if (count === 0) throw new DqliteProtocolError('dqlite message: a row in a result without columns');
    const types: number[] = [];
    for (let i = 0; i < headerSize; i++) {
      const byte = reader.byte();
      types.push(byte & 0x0f, byte >> 4);
    }
    const row: unknown[] = [];
    for (let i = 0; i < count; i++) row.push(decodeValue(reader, types[i]!, options));
    rows.push(row);
  }
}

function decodeValue(reader: Reader, type: number, options: DecodeOptions): unknown {
  switch (type) {
    case ValueType.Integer: {
      const value = reader.int64();
      return options.safeIntegers ? value : Number(value);
    }
    case ValueType.Float:
      return reader.float64();
    case ValueType.Text:
      return reader.string();
    case ValueType.Blob:
      return reader.blob();
    case ValueType.Null:
      reader.uint64();
      return null;
    case ValueType.UnixTime: {
      const seconds = reader.int64();
      return options.safeIntegers ? seconds : Number(seconds);
    }
    case ValueType.Iso8601: {
      const text = reader.string();
      return text === '' ? null : text;
    }
    case ValueType.Boolean:
      return reader.int64() !== 0n ? 1 : 0;
    default:
      throw new DqliteProtocolError(`dqlite message: unknown value type ${type}`);
  }
}
