#!/usr/bin/env node
// Installs the workspace with `pnpm install`.
//
// better-sqlite3 downloads a prebuilt binary where it can and otherwise compiles
// from source with node-gyp, which then fetches Node's headers from the
// internet. When the running Node ships its headers (a system or tarball
// install: <prefix>/include/node), point node-gyp at them so a source build
// works offline too. pnpm passes npm_config_* variables to install scripts;
// it ignores npm's own `nodedir` setting, hence the variable.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const env = { ...process.env };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_version.h'))) {
  env.npm_config_nodedir = prefix;
}
const args = ['install', ...(process.env.CI ? ['--frozen-lockfile'] : []), ...process.argv.slice(2)];
const result = spawnSync('pnpm', args, { stdio: 'inherit', env, shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
