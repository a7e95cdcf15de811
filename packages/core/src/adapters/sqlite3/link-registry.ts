/** Every live `Database`'s {@link Link}, found from the `Database` object by the classes that are handed one. */
import type { Link } from './link.js';

/** Every live database's link, by its `Database` object. */
const links = new WeakMap<object, Link>();

/** Registers `link` as `owner`'s. */
export function register(owner: object, link: Link): void {
  links.set(owner, link);
}

/** The link of a `Database`; a TypeError, as in node-sqlite3, for anything else. */
export function linkOf(database: unknown): Link {
  const link = typeof database === 'object' && database !== null ? links.get(database) : undefined;
  if (link === undefined) throw new TypeError('Database object expected');
  return link;
}
