/**
 * What litepool's worker threads do as the process exits. Node joins every
 * worker thread before the process ends, and a thread inside a SQLite
 * statement never returns to JavaScript to be stopped: one runaway query
 * would keep the process alive for ever (past `close()`, `process.exit()`,
 * and a SIGTERM that arrives once the exit has begun).
 *
 * - A connection whose statements can be interrupted (the interrupt
 *   extension loaded) has what it runs interrupted in the 'exit' event, so
 *   its thread returns and is joined.
 * - A connection without interrupts that is still inside a statement when
 *   the process exits cannot be stopped at all: the process then ends at once,
 *   with its exit code, without joining threads (WASI's `proc_exit`, which
 *   calls the C library's `exit`). This listener is kept after the 'exit'
 *   listeners registered before the connection opened; ones added later do
 *   not run in that case.
 */

import type { WASI } from 'node:wasi';

/** A connection's thread, as the process exits. */
export interface ExitingThread {
  /** Interrupts what it runs; false when it runs a statement it cannot be interrupted from. */
  interruptRunning(): boolean;
}

const live = new Set<ExitingThread>();

function onExit(code: number): void {
  let stuck = false;
  for (const thread of live) if (!thread.interruptRunning()) stuck = true;
  if (stuck) exitWithoutJoining(code);
}

/** Watches `thread` as the process exits, until `exited` resolves or the returned function is called. */
export function guardExit(thread: ExitingThread, exited: Promise<void>): () => void {
  live.add(thread);
  // Moved to the end: the app's own 'exit' listeners, registered before, run first.
  process.off('exit', onExit);
  process.on('exit', onExit);
  const release = (): void => {
    live.delete(thread);
    if (live.size === 0) process.off('exit', onExit);
  };
  void exited.then(release);
  return release;
}

/**
 * A WebAssembly module whose `_start` calls WASI's `proc_exit` with the
 * imported global `env.code` (hand-assembled: types, imports, one function,
 * a memory, the exports WASI needs, the code).
 */
const PROC_EXIT_MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 0x08, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00],
  ...[0x02, 0x30, 0x02, 0x16, ...Buffer.from('wasi_snapshot_preview1'), 0x09, ...Buffer.from('proc_exit'), 0x00, 0x00],
  ...[0x03, ...Buffer.from('env'), 0x04, ...Buffer.from('code'), 0x03, 0x7f, 0x00],
  ...[0x03, 0x02, 0x01, 0x01],
  ...[0x05, 0x03, 0x01, 0x00, 0x01],
  ...[0x07, 0x13, 0x02, 0x06, ...Buffer.from('memory'), 0x02, 0x00, 0x06, ...Buffer.from('_start'), 0x00, 0x01],
  ...[0x0a, 0x08, 0x01, 0x06, 0x00, 0x23, 0x00, 0x10, 0x00, 0x0b],
]);

/** The part of the WebAssembly global used here (the package's `lib` does not declare it). */
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: Readonly<Record<string, Readonly<Record<string, unknown>>>>) => object;
  readonly Global: new (descriptor: { readonly value: 'i32'; readonly mutable: boolean }, value: number) => object;
};

/** Ends the process now with `code`, without joining its threads. */
function exitWithoutJoining(code: number): void {
  // WASI warns that it is experimental; this is its one use, at exit, where the warning would only confuse.
  const descriptor = Object.getOwnPropertyDescriptor(process, 'emitWarning');
  process.emitWarning = () => {};
  let wasi: WASI;
  try {
    // Loaded here, not at import: loading node:wasi is what prints Node's experimental warning.
    const { WASI } = process.getBuiltinModule('node:wasi');
    wasi = new WASI({ version: 'preview1', returnOnExit: false });
  } finally {
    if (descriptor !== undefined) Object.defineProperty(process, 'emitWarning', descriptor);
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(PROC_EXIT_MODULE), {
    wasi_snapshot_preview1: wasi.wasiImport,
    env: { code: new WebAssembly.Global({ value: 'i32', mutable: false }, code) },
  });
  wasi.start(instance);
}
