#!/usr/bin/env node
// Builds the litepool_interrupt SQLite extension (native/interrupt.c) for this
// platform into native/<platform>-<arch>/, against the SQLite headers that
// better-sqlite3 ships. It has no libc dependency, so the Linux build serves
// glibc and musl alike. Without a C compiler it says so and stops: the pool
// then runs without interrupts (statements past their limit fail their
// callers but run on).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'interrupt.c');
if (process.platform !== 'linux') {
  console.log(`litepool: the interrupt extension is built on Linux only (this is ${process.platform}); skipping`);
  process.exit(0);
}
const out = join(root, 'native', `${process.platform}-${process.arch}`, 'litepool_interrupt.so');
if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
const headers = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps', 'sqlite3');
const compiler = process.env.CC ?? 'cc';
if (spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.log(`litepool: no C compiler (${compiler}); the interrupt extension is not built, and statements cannot be interrupted`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const args = ['-O2', '-fPIC', '-shared', '-nostdlib', '-fno-stack-protector', '-Wall', '-Werror', `-I${headers}`, '-o', out, source];
const result = spawnSync(compiler, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
