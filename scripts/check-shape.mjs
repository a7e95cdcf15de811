#!/usr/bin/env node
// The shape gate of `pnpm lint`: no import cycle among the packages' sources,
// no source module longer than MAX_LINES, and adapters that import only the
// public entry of @litepool/core. Imports are read with TypeScript's own
// pre-processor (type-only imports count: a cycle of types is still a cycle
// for whoever reads the code). ALLOWED lists the exceptions still tolerated,
// each to be removed as the code is reshaped; an exception no longer needed
// fails the gate too, so the allowance only ever shrinks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ts = createRequire(import.meta.url)('typescript');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 400;

/** Exceptions still allowed: cycles (their modules, sorted, joined by ' <-> ') and long modules. */
const ALLOWED = {
  cycles: [],
  long: [],
  /** Adapter modules still reaching past the public entry. */
  internalImports: [],
};

function sources(directory) {
  const found = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) found.push(...sources(path));
    else if (/\.(c|m)?ts$/.test(name) && !/\.d\.(c|m)?ts$/.test(name)) found.push(path);
  }
  return found;
}

const packages = join(root, 'packages');
const files = readdirSync(packages)
  .map((name) => join(packages, name, 'src'))
  .filter((src) => statSync(src, { throwIfNoEntry: false })?.isDirectory() === true)
  .flatMap(sources)
  .sort();
const known = new Set(files);
const rel = (path) => relative(root, path).split(sep).join('/');

/** The module a relative specifier names, if it is one of ours. */
function target(from, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier.replace(/\.(c|m)?js$/, ''));
  return [`${base}.ts`, `${base}.mts`, `${base}.cts`, join(base, 'index.ts')].find((candidate) => known.has(candidate));
}

const problems = [];
const edges = new Map();
const long = [];
const internal = new Set();
const adapters = join(packages, 'core', 'src', 'adapters');
const publicEntry = join(packages, 'core', 'src', 'index.ts');
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').length;
  if (lines > MAX_LINES) long.push(`${rel(file)} (${lines} lines)`);
  const out = new Set();
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    const found = target(file, fileName);
    if (found === undefined || found === file) continue;
    out.add(found);
    // An adapter is a client of the pool: it reaches core through the public entry only (or its own siblings).
    const inAdapters = file.startsWith(adapters + sep);
    if (inAdapters && found !== publicEntry && !found.startsWith(adapters + sep)) internal.add(rel(file));
    if (inAdapters && found !== publicEntry && !found.startsWith(adapters + sep) && !ALLOWED.internalImports.includes(rel(file))) {
      problems.push(`${rel(file)} imports ${rel(found)}: adapters use @litepool/core's public entry (src/index.ts)`);
    }
  }
  edges.set(file, out);
}

// Tarjan's strongly connected components: each component of more than one module is a cycle.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let counter = 0;
function visit(node) {
  index.set(node, counter);
  low.set(node, counter);
  counter++;
  stack.push(node);
  onStack.add(node);
  for (const next of edges.get(node) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(node, Math.min(low.get(node), low.get(next)));
    } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
  }
  if (low.get(node) !== index.get(node)) return;
  const component = [];
  let member;
  do {
    member = stack.pop();
    onStack.delete(member);
    component.push(rel(member));
  } while (member !== node);
  if (component.length > 1) cycles.push(component.sort().join(' <-> '));
}
for (const file of files) if (!index.has(file)) visit(file);

for (const cycle of cycles) if (!ALLOWED.cycles.includes(cycle)) problems.push(`import cycle: ${cycle}`);
for (const cycle of ALLOWED.cycles)
  if (!cycles.includes(cycle)) problems.push(`allowed cycle no longer exists (remove it from ALLOWED): ${cycle}`);
const longNames = long.map((entry) => entry.replace(/ \(.*$/, ''));
for (const entry of long)
  if (!ALLOWED.long.includes(entry.replace(/ \(.*$/, ''))) problems.push(`module over ${MAX_LINES} lines: ${entry}`);
for (const name of ALLOWED.long)
  if (!longNames.includes(name)) problems.push(`allowed long module is no longer long (remove it from ALLOWED): ${name}`);

for (const name of ALLOWED.internalImports) {
  if (!internal.has(name)) problems.push(`allowed adapter import no longer needed (remove it from ALLOWED): ${name}`);
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`check-shape: ${problem}`);
  process.exit(1);
}
console.log(
  `check-shape: ${files.length} modules; cycles, long modules and adapter imports within the allowance (still allowed: ${ALLOWED.cycles.length} cycles, ${ALLOWED.long.length} long modules, ${ALLOWED.internalImports.length} adapters past the public entry)`,
);
