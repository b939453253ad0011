// A copy of a file or symlink that stays what it is when the original is replaced: how a local
// edit is kept as a conflict copy while it still stands at its path, so the path is never empty
// until the new version is renamed over it.
import { constants as fsConstants, promises as fs, type Stats } from 'node:fs'

/**
 * `dest` holds what `src` (`st`, a file or a symlink) holds: a hard link where the disk has them,
 * else a copy with the same mtime; a link is copied as a link, never followed. Fails with EEXIST
 * if `dest` exists, so nothing there is ever replaced.
 */
export async function keepCopy(src: string, dest: string, st: Stats): Promise<void> {
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(src), dest)
    const t = st.mtime
    await fs.lutimes(dest, t, t).catch(() => {})
    return
  }
  try {
    await fs.link(src, dest)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') {
      throw err
    }
  }
  await fs.copyFile(src, dest, fsConstants.COPYFILE_EXCL)
  await fs.utimes(dest, st.atime, st.mtime)
}
