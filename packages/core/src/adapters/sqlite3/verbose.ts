/**
 * node-sqlite3's `verbose()`: from then on, an error passed to a callback
 * of `Database` and `Statement` methods carries, in its stack, the call
 * that queued it (`--> in Database#run('INSERT …', [Function (anonymous)])`)
 * and the stack of that call, because the error itself is raised later,
 * from a worker thread's answer, where the app's frames are gone. Like
 * node-sqlite3, it changes the classes for the whole process, once.
 */
import { inspect } from 'node:util';

/** Methods whose callback errors get the call's trace, by class. */
const TRACED = {
  Database: ['prepare', 'get', 'run', 'all', 'each', 'map', 'close', 'exec'],
  Statement: ['bind', 'get', 'run', 'all', 'each', 'map', 'reset', 'finalize'],
} as const;

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Errors already given a trace (one error may pass through several traced callbacks). */
const traced = new WeakSet<Error>();

/** Appends the calling site to `error`'s stack, once. */
function addTrace(error: unknown, call: string, site: Error): void {
  if (!(error instanceof Error) || traced.has(error) || typeof error.stack !== 'string') return;
  traced.add(error);
  const siteFrames = (site.stack ?? '').split('\n').slice(2).join('\n');
  error.stack = `${error.stack}\n--> in ${call}\n${siteFrames}`;
}

/** `prototype[name]` wrapped so that its last argument, if a callback, adds the call's trace to an error it gets. */
function trace(prototype: Record<string, unknown>, className: string, name: string): void {
  const original = prototype[name] as Method;
  prototype[name] = function (this: unknown, ...args: unknown[]): unknown {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      const site = new Error();
      const call = `${className}#${name}(${args.map((arg) => inspect(arg, false, 0)).join(', ')})`;
      args[last] = function (this: unknown, ...results: unknown[]): unknown {
        addTrace(results[0], call, site);
        return (callback as Method).apply(this, results);
      };
    }
    return original.apply(this, args);
  };
}

let done = false;

/** Traces the methods of `classes` (once per process, as node-sqlite3's `verbose()`). */
export function enableTraces(classes: { readonly Database: { prototype: object }; readonly Statement: { prototype: object } }): void {
  if (done) return;
  done = true;
  for (const className of ['Database', 'Statement'] as const) {
    const prototype = classes[className].prototype as Record<string, unknown>;
    for (const name of TRACED[className]) trace(prototype, className, name);
  }
}
