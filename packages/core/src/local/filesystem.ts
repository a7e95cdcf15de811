/**
 * Detects whether a path lives on a network or FUSE filesystem, where SQLite's
 * locks are unreliable and WAL cannot work (it needs shared memory on one host).
 */
import { readFileSync, realpathSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

const NETWORK_TYPES = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb',
  'smb2',
  'smb3',
  'smbfs',
  'fuse',
  'fuseblk',
  '9p',
  'afs',
  'ceph',
  'glusterfs',
  'lustre',
  'ncpfs',
  'coda',
  'davfs',
  'gpfs',
  'ocfs2',
  'gfs2',
  'beegfs',
  'orangefs',
]);

/** Whether a mount type from the mount table is a network or FUSE filesystem. */
export function isNetworkFsType(type: string): boolean {
  return NETWORK_TYPES.has(type) || type.startsWith('fuse.') || type.startsWith('nfs');
}

/** Unescapes the octal escapes (`\040` for a space) of /proc/mounts paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The nearest existing ancestor of `path`, resolved through symlinks. */
function existingRealPath(path: string): string {
  for (let current = path; ; current = dirname(current)) {
    try {
      return realpathSync(current);
    } catch {
      if (dirname(current) === current) return current;
    }
  }
}

/**
 * The filesystem type of the mount holding `path` (the longest mount point
 * that prefixes it, from /proc/mounts), or undefined where there is no mount
 * table (not Linux).
 */
export function filesystemType(path: string): string | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  const target = existingRealPath(path);
  let best: { point: string; type: string } | undefined;
  for (const line of table.split('\n')) {
    const [, rawPoint, type] = line.split(' ');
    if (rawPoint === undefined || type === undefined) continue;
    const point = unescapeMountPath(rawPoint);
    const inside = target === point || target.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (best === undefined || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/**
 * statfs magic numbers of local disk filesystems: a path on one needs no look
 * at the mount table (read and parsed per createPool, it was most of its time).
 * Linux's: ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, ZFS, F2FS.
 */
const LOCAL_MAGIC = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010]);

/** Whether `path` (its nearest existing ancestor) is on a local disk filesystem, by statfs; false when unsure. */
function surelyLocal(path: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return LOCAL_MAGIC.has(Number(statfsSync(existingRealPath(path)).type));
  } catch {
    return false; // a runtime without statfs: the mount table decides
  }
}

/** Whether the database file at `filename` is on a network or FUSE filesystem. */
export function onNetworkFilesystem(filename: string): boolean {
  if (surelyLocal(filename)) return false;
  const type = filesystemType(filename);
  return type !== undefined && isNetworkFsType(type);
}
