/**
 * node-sqlite3's classes are native: called without `new`, they throw
 * "Class constructors cannot be invoked without 'new'", a message apps and
 * test suites match. An ES class says "Class constructor X cannot be…", so
 * the exported classes are this thin proxy, which only changes that call.
 */

/** A class constructor. */
type Constructor = abstract new (...args: never[]) => unknown;

/** `Class`, throwing node-sqlite3's TypeError when called without `new`; `new`, `instanceof`, `extends` and its prototype are the class's own. */
export function newOnly<C extends Constructor>(Class: C): C {
  return new Proxy(Class, {
    apply(): never {
      throw new TypeError("Class constructors cannot be invoked without 'new'");
    },
  });
}
