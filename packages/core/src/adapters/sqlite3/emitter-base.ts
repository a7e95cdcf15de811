/**
 * node-sqlite3's classes are not EventEmitter subclasses: its JavaScript
 * copies EventEmitter's methods onto their prototypes. So `instanceof
 * EventEmitter` is false there, and an object holds no fields of its own
 * until a listener is added: spreading `this` in a `run` callback (or
 * JSON.stringify) gives `{ lastID, changes }` alone. These helpers make the
 * drop-in's objects alike.
 */
import { EventEmitter } from 'node:events';

/** A base class with EventEmitter's methods (all for…in finds on its prototype) and none of its constructor's fields. */
export const EmitterBase = (() => {
  class Base {}
  const methods = EventEmitter.prototype as unknown as Record<string, unknown>;
  for (const key in methods) (Base.prototype as Record<string, unknown>)[key] = methods[key];
  return Base;
})() as unknown as typeof EventEmitter;

/** Sets a read-only field that spreads, JSON and Object.keys skip, as node-sqlite3's native fields are. */
export function hiddenField(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: false, writable: false, configurable: false });
}
