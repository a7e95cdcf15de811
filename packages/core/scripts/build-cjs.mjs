#!/usr/bin/env node
// CommonJS faces for an ES module package (Node >= 22.12 can require() ES
// modules), so that `require()` callers and TypeScript's `module: node16`
// CommonJS files (.cts) get CommonJS types instead of error TS1479:
//  - dist/<entry>.cjs for each entry point of the `exports` map's `require`
//    condition: requires './<entry>.js' and copies each of its exports
//    (`exports.name = …`, with `__esModule`, so a default export reads as one);
//  - dist/**/*.d.cts beside every .d.ts, with relative specifiers .js -> .cjs.
//   node build-cjs.mjs [PACKAGE_DIR]   (default: this script's package)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

for (const target of Object.values(manifest.exports)) {
  const cjs = typeof target === 'object' ? target.require?.default : undefined;
  if (cjs === undefined) continue;
  const esmPath = join(root, target.import.default);
  const esm = `./${relative(dirname(join(root, cjs)), esmPath).replaceAll('\\', '/')}`;
  let names;
  try {
    names = Object.keys(await import(pathToFileURL(esmPath).href));
  } catch {
    // An entry that only runs where it belongs (the worker thread's): loaded for its effect, no exports.
    writeFileSync(join(root, cjs), `'use strict';\nrequire(${JSON.stringify(esm)});\n`);
    continue;
  }
  const lines = [
    "'use strict';",
    `// CommonJS face of ${esm} (Node >= 22.12 loads ES modules with require()).`,
    `const esm = require(${JSON.stringify(esm)});`,
    "Object.defineProperty(exports, '__esModule', { value: true });",
    ...names.map((name) => `exports[${JSON.stringify(name)}] = esm[${JSON.stringify(name)}];`),
  ];
  writeFileSync(join(root, cjs), `${lines.join('\n')}\n`);
}

function* declarations(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarations(path);
    else if (entry.name.endsWith('.d.ts')) yield path;
  }
}

const SPECIFIER = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.js(['"])/g;
for (const file of declarations(join(root, 'dist'))) {
  const text = readFileSync(file, 'utf8')
    .replace(SPECIFIER, '$1$2.cjs$3')
    .replace(/\/\/# sourceMappingURL=.*$/m, '');
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text);
}
