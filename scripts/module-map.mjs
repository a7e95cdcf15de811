#!/usr/bin/env node
// The module map: every source module of packages/*/src with its line count
// and its one job (the first sentence of its opening comment), as a Markdown
// table, read from the working tree or from a commit.
//   node scripts/module-map.mjs            (the working tree)
//   node scripts/module-map.mjs aa26424^   (as it was before a commit)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const ref = process.argv[2];

/** Source files (relative paths) and a way to read each, from the tree or from `ref`. */
function sources() {
  if (ref !== undefined) {
    const listed = execFileSync('git', ['ls-tree', '-r', '--name-only', ref, 'packages'], { cwd: root, encoding: 'utf8' });
    const paths = listed.split('\n').filter((path) => /^packages\/[^/]+\/src\/.*\.ts$/.test(path) && !path.endsWith('.d.ts'));
    return paths.map((path) => [path, () => execFileSync('git', ['show', `${ref}:${path}`], { cwd: root, encoding: 'utf8' })]);
  }
  const found = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push([relative(root, path), () => readFileSync(path, 'utf8')]);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    try {
      walk(join(root, 'packages', pkg, 'src'));
    } catch {
      // a package without sources
    }
  }
  return found.sort(([a], [b]) => a.localeCompare(b));
}

/** The first sentence of the module's opening block comment (or its first line comments). */
function job(source) {
  const text = source.replace(/^#!.*\n/, '');
  const block = /^\s*\/\*\*?([\s\S]*?)\*\//.exec(text);
  const comment = block !== null ? block[1] : (/^((?:\s*\/\/.*\n)+)/.exec(text)?.[1] ?? '');
  const prose = comment
    .split('\n')
    .map((line) => line.replace(/^\s*(\*|\/\/)\s?/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('@'))
    .join(' ');
  const sentence = /^(.*?[.])(\s|$)/.exec(prose)?.[1] ?? prose;
  return sentence.replaceAll('|', '\\|').slice(0, 160);
}

const rows = sources().map(([path, read]) => {
  const text = read();
  return { path, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), job: job(text) };
});
console.log(`| module | lines | job |\n| --- | ---: | --- |`);
for (const row of rows) console.log(`| \`${row.path}\` | ${row.lines} | ${row.job || '(no opening comment)'} |`);
const total = rows.reduce((sum, row) => sum + row.lines, 0);
const largest = Math.max(...rows.map((row) => row.lines));
console.log(`\n${rows.length} modules, ${total} lines, the largest ${largest} lines${ref === undefined ? '' : ` (at ${ref})`}.`);
