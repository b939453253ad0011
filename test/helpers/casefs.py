#!/usr/bin/python3
"""A case-insensitive, case-preserving file system for Spare's tests, as macOS (APFS) and Windows
(NTFS) disks behave: a name is found whatever its case, kept as it was first written, and a rename
that changes only the case changes the name. Linux's own file systems can't do this here (tmpfs
refuses `casefold`, this kernel's ext4 has no casefold feature, and Debian has no ciopfs).

Usage: casefs.py BACKING MOUNTPOINT. Every file lives in BACKING under its preserved name; this
process passes each call through, after finding the name a path means whatever its case. Runs in
the foreground until unmounted (umount MOUNTPOINT) or killed.

Comparison is by Unicode NFC then lower case, as Spare's own `caseKey` does.
"""

import errno
import os
import sys
import unicodedata

from fusepy import FUSE, FuseOSError, Operations


def fold(name):
    return unicodedata.normalize('NFC', name).lower()


class CaseFS(Operations):
    def __init__(self, root):
        self.root = os.path.realpath(root)

    # Names -----------------------------------------------------------------------------------

    def _entry(self, real_dir, name):
        """The name in real_dir that `name` means (itself when spelled so), or None."""
        if os.path.lexists(os.path.join(real_dir, name)):
            return name
        want = fold(name)
        try:
            for entry in os.listdir(real_dir):
                if fold(entry) == want:
                    return entry
        except OSError:
            return None
        return None

    def _real(self, path):
        """The backing path of an existing `path`; ENOENT when a segment is missing."""
        real = self.root
        for seg in [s for s in path.split('/') if s]:
            found = self._entry(real, seg)
            if found is None:
                raise FuseOSError(errno.ENOENT)
            real = os.path.join(real, found)
        return real

    def _new(self, path):
        """(backing path of the parent, the name found there or None, the name as asked)."""
        parent, name = os.path.split(path.rstrip('/'))
        real_parent = self._real(parent)
        return real_parent, self._entry(real_parent, name), name

    # Calls -----------------------------------------------------------------------------------

    def getattr(self, path, fh=None):
        st = os.lstat(self._real(path))
        keys = ('st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size',
                'st_uid', 'st_ino', 'st_atime_ns', 'st_mtime_ns', 'st_ctime_ns')
        out = {k: getattr(st, k) for k in keys}
        # fusepy hands the kernel seconds as floats; nanoseconds kept whole where it can.
        out['st_atime'] = st.st_atime_ns / 1e9
        out['st_mtime'] = st.st_mtime_ns / 1e9
        out['st_ctime'] = st.st_ctime_ns / 1e9
        return out

    def readdir(self, path, fh):
        # A folder that can be entered but not listed, as one without read permission is (root,
        # which the tests run as, may list anything): its name ends with '.unlistable'.
        if path.endswith('.unlistable'):
            raise FuseOSError(errno.EIO)
        return ['.', '..'] + os.listdir(self._real(path))

    def readlink(self, path):
        return os.readlink(self._real(path))

    def access(self, path, mode):
        if not os.access(self._real(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._real(path), mode)

    def chown(self, path, uid, gid):
        os.lchown(self._real(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._real(path), times, follow_symlinks=False)

    def statfs(self, path):
        sv = os.statvfs(self._real(path))
        keys = ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files',
                'f_flag', 'f_frsize', 'f_namemax')
        return {k: getattr(sv, k) for k in keys}

    def mkdir(self, path, mode):
        parent, found, name = self._new(path)
        if found is not None:
            raise FuseOSError(errno.EEXIST)
        os.mkdir(os.path.join(parent, name), mode)

    def rmdir(self, path):
        os.rmdir(self._real(path))

    def unlink(self, path):
        os.unlink(self._real(path))

    def symlink(self, target, source):
        parent, found, name = self._new(target)
        if found is not None:
            raise FuseOSError(errno.EEXIST)
        os.symlink(source, os.path.join(parent, name))

    def link(self, target, source):
        parent, found, name = self._new(target)
        if found is not None:
            raise FuseOSError(errno.EEXIST)
        os.link(self._real(source), os.path.join(parent, name))

    def rename(self, old, new):
        real_old = self._real(old)
        parent, found, name = self._new(new)
        dest = os.path.join(parent, name)
        if found is not None and found != name:
            existing = os.path.join(parent, found)
            if not os.path.samefile(existing, real_old) or os.path.islink(existing) != os.path.islink(real_old):
                # Replaces what is there under another spelling; the new spelling is kept.
                if os.path.isdir(existing) and not os.path.islink(existing):
                    if os.listdir(existing):
                        raise FuseOSError(errno.ENOTEMPTY)
                    if not os.path.isdir(real_old) or os.path.islink(real_old):
                        raise FuseOSError(errno.EISDIR)
                    os.rmdir(existing)
                else:
                    if os.path.isdir(real_old) and not os.path.islink(real_old):
                        raise FuseOSError(errno.ENOTDIR)
                    os.unlink(existing)
        os.rename(real_old, dest)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            with open(self._real(path), 'r+b') as f:
                f.truncate(length)

    def open(self, path, flags):
        return os.open(self._real(path), flags)

    def create(self, path, mode, fi=None):
        parent, found, name = self._new(path)
        if found is not None:
            return os.open(os.path.join(parent, found), os.O_WRONLY | os.O_TRUNC)
        return os.open(os.path.join(parent, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.stderr.write('usage: casefs.py BACKING MOUNTPOINT\n')
        sys.exit(2)
    # No kernel caching of names or attributes: a lookup by another spelling, or after a rename
    # that changed only the case, must ask this process again.
    FUSE(CaseFS(sys.argv[1]), sys.argv[2], foreground=True, nothreads=True, use_ino=True,
         entry_timeout=0, attr_timeout=0, negative_timeout=0, default_permissions=True)
