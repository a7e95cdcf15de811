/** The default strategy follows the filesystem: single-writer (WAL) locally, file-lock on network and FUSE mounts. */
import { createPool, filesystemType, isNetworkFsType, StrategyError, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDb } from './helpers/temp.js';
import { bindfsMount, needTools, unmount } from './helpers/tools.js';

test('network and FUSE mount types are recognised', () => {
  for (const type of ['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'fuse.bindfs', 'fuse', '9p', 'ceph', 'glusterfs']) {
    assert.equal(isNetworkFsType(type), true, type);
  }
  for (const type of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'zfs', 'apfs']) assert.equal(isNetworkFsType(type), false, type);
});

test('a local database defaults to single-writer, in WAL mode', async (t) => {
  const filename = tempDb(t);
  assert.equal(typeof filesystemType(filename), 'string');
  const pool = createPool({ filename });
  t.after(() => pool.close());
  assert.equal(pool.strategy.name, 'single-writer');
  assert.deepEqual(await pool.get('PRAGMA journal_mode'), { journal_mode: 'wal' });
});

test('on a FUSE mount the default is file-lock, and an explicit wal is refused with the reason', async (t) => {
  if (!needTools(t, 'bindfs')) return;
  const dir = mkdtempSync(join(tmpdir(), 'litepool-fuse-'));
  const source = join(dir, 'share');
  mkdirSync(source);
  const mount = bindfsMount(source, dir, 'mnt');
  const pools: Pool[] = [];
  try {
    assert.ok(isNetworkFsType(filesystemType(join(mount, 'app.db')) ?? ''), 'the bindfs mount is seen as FUSE');
    const pool = createPool({ filename: join(mount, 'app.db') });
    pools.push(pool);
    assert.equal(pool.strategy.name, 'file-lock');
    await pool.exec('CREATE TABLE t (v INTEGER)');
    await pool.run('INSERT INTO t VALUES (1)');
    assert.deepEqual(await pool.get('PRAGMA journal_mode'), { journal_mode: 'delete' });

    for (const strategy of ['wal', 'single-writer']) {
      const refused = createPool({ filename: join(mount, `${strategy}.db`), strategy });
      pools.push(refused);
      await assert.rejects(refused.get('SELECT 1'), (error: unknown) => {
        assert.ok(error instanceof StrategyError);
        assert.equal(error.code, 'ERR_STRATEGY_UNSUPPORTED');
        assert.match(error.message, /network or FUSE filesystem/);
        assert.match(error.message, /WAL needs shared memory on one host/);
        assert.match(error.message, /Use strategy "file-lock"/);
        return true;
      });
    }
  } finally {
    await Promise.all(pools.map((pool) => pool.destroy()));
    unmount(mount);
    rmSync(dir, { recursive: true, force: true });
  }
});
