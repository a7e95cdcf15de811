#!/usr/bin/env node
// CommonJS beside an ES module package, for require():
//  - dist/**/*.cjs beside every dist/**/*.js: the same module transformed to
//    CommonJS (not bundled again: relative requires go to the sibling .cjs,
//    so that build has one copy of every module), with `import.meta.url`
//    taken from the file's own path (workers and native files are found
//    beside it, as from the .js), a package's `import('x')` made a require,
//    and its exports plain properties, as a hand-written CommonJS module has
//    them (sinon and jest.spyOn can replace them). It serves what cannot load
//    ES modules: Jest's module registry (without --experimental-vm-modules),
//    Node before 22.12, tools that follow the `require` condition.
//  - dist/<entry>.sync.cjs for each entry point with a `module-sync`
//    condition: requires the ES module and copies its exports into plain
//    properties. Node >= 22.12 (`module-sync`) and Bun (`bun`) take it for
//    require(), so an app that both imports and requires the package gets
//    one copy of it, with exports replaceable as node-sqlite3's are.
//  - dist/**/*.d.cts beside every .d.ts, with relative specifiers .js -> .cjs.
//   node build-cjs.mjs [PACKAGE_DIR]   (default: this script's package)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = process.argv[2] ?? join(here, '..');
// esbuild is a build tool of this (core's) package; the script also builds its sibling packages.
const { transform } = createRequire(join(here, '..', 'package.json'))('esbuild');

/** The files under `dir` whose names end with `suffix`. */
function* filesIn(dir, suffix) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesIn(path, suffix);
    else if (entry.name.endsWith(suffix)) yield path;
  }
}

/** Strict, as the ES module is; and names the file's URL, for the copy's `import.meta.url`. */
const BANNER = '"use strict";\nconst __litepoolModuleUrl = require("node:url").pathToFileURL(__filename).href;';
/** Turns the exports (esbuild defines them as getters, which no one can replace) into plain properties. */
const PLAIN_EXPORTS = [
  '// Plain properties, as a hand-written CommonJS module has them.',
  'module.exports = Object.defineProperties({}, Object.fromEntries(Object.keys(Object.getOwnPropertyDescriptors(module.exports)).map((key) =>',
  '  [key, { value: module.exports[key], writable: key !== "__esModule", enumerable: key !== "__esModule", configurable: true }])));',
].join('\n');
const ANNOTATION = '// Annotate the CommonJS export names for ESM import in node:';

for (const file of filesIn(join(root, 'dist'), '.js')) {
  const { code } = await transform(readFileSync(file, 'utf8'), {
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    define: { 'import.meta.url': '__litepoolModuleUrl' },
    banner: BANNER,
    sourcefile: file,
    logLevel: 'warning',
  });
  let cjs = code
    .replace(/require\("(\.{1,2}\/[^"]+)\.js"\)/g, 'require("$1.cjs")')
    .replace(/\bimport\("([^"./][^"]*)"\)/g, 'Promise.resolve().then(() => require("$1"))');
  // Before the annotation, which Node's reader of CommonJS export names looks for at the end.
  const at = cjs.lastIndexOf(ANNOTATION);
  cjs = at === -1 ? `${cjs}${PLAIN_EXPORTS}\n` : `${cjs.slice(0, at)}${PLAIN_EXPORTS}\n${cjs.slice(at)}`;
  writeFileSync(file.replace(/\.js$/, '.cjs'), cjs);
}

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const target of Object.values(manifest.exports)) {
  const face = typeof target === 'object' ? target['module-sync'] : undefined;
  if (typeof face !== 'string') continue;
  const esmPath = join(root, target.import.default);
  const esm = `./${relative(dirname(join(root, face)), esmPath).replaceAll('\\', '/')}`;
  let names;
  try {
    names = Object.keys(await import(pathToFileURL(esmPath).href));
  } catch {
    // An entry that only runs where it belongs (the worker thread's): loaded for its effect, no exports.
    writeFileSync(join(root, face), `'use strict';\nrequire(${JSON.stringify(esm)});\n`);
    continue;
  }
  const lines = [
    "'use strict';",
    `// ${esm} for require() where ES modules load synchronously (Node >= 22.12, Bun): the one copy import() gets, its exports plain properties.`,
    `const esm = require(${JSON.stringify(esm)});`,
    "Object.defineProperty(exports, '__esModule', { value: true });",
    ...names.map((name) => `exports[${JSON.stringify(name)}] = esm[${JSON.stringify(name)}];`),
  ];
  writeFileSync(join(root, face), `${lines.join('\n')}\n`);
}

const SPECIFIER = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.js(['"])/g;
for (const file of filesIn(join(root, 'dist'), '.d.ts')) {
  const text = readFileSync(file, 'utf8')
    .replace(SPECIFIER, '$1$2.cjs$3')
    .replace(/\/\/# sourceMappingURL=.*$/m, '');
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text);
}
