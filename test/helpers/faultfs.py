#!/usr/bin/env python3
"""A passthrough FUSE filesystem that fails on command, for fault-injection tests.

    faultfs.py SOURCE MOUNTPOINT CONTROL

Every operation passes through to SOURCE, except while the file CONTROL
names a fault: `write` makes write() fail with EIO, `fsync` makes fsync()
fail with EIO (both only for files whose name contains `.db`). Writing the
control file switches faults on and off without remounting. Runs in the
foreground until unmounted.
"""
import errno
import os
import sys

from fusepy import FUSE, FuseOSError, Operations


class FaultFS(Operations):
    def __init__(self, source, control):
        self.source = source
        self.control = control

    def _path(self, path):
        return os.path.join(self.source, path.lstrip('/'))

    def _fault(self, op, path):
        if '.db' not in path:
            return
        try:
            with open(self.control) as f:
                faults = f.read().split()
        except FileNotFoundError:
            return
        if op in faults:
            raise FuseOSError(errno.EIO)

    # Metadata
    def access(self, path, mode):
        if not os.access(self._path(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        st = os.lstat(self._path(path))
        return {key: getattr(st, key) for key in ('st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size', 'st_uid')}

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._path(path))

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        keys = ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')
        return {key: getattr(st, key) for key in keys}

    def chmod(self, path, mode):
        os.chmod(self._path(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._path(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._path(path), times)

    # Directory entries
    def mkdir(self, path, mode):
        os.mkdir(self._path(path), mode)

    def rmdir(self, path):
        os.rmdir(self._path(path))

    def unlink(self, path):
        os.unlink(self._path(path))

    def rename(self, old, new):
        os.rename(self._path(old), self._path(new))

    # Files
    def open(self, path, flags):
        return os.open(self._path(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._path(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, length, offset, fh):
        return os.pread(fh, length, offset)

    def write(self, path, data, offset, fh):
        self._fault('write', path)
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        with open(self._path(path), 'r+') as f:
            f.truncate(length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)

    def fsync(self, path, datasync, fh):
        self._fault('fsync', path)
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)


if __name__ == '__main__':
    source, mountpoint, control = sys.argv[1:4]
    # Caches off: every write and fsync reaches this process (and the fault), and nothing stale is served.
    FUSE(FaultFS(source, control), mountpoint, foreground=True, nothreads=False, direct_io=True, entry_timeout=0, attr_timeout=0, negative_timeout=0)
