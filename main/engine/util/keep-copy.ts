// How a local edit becomes a conflict copy when a new version replaces it: copied while it still
// stands at its path, and the new version renamed over it, so the path is never empty.
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
    // Anything else means no hard link here (FAT and exFAT say EISDIR on Windows, FUSE ENOSYS,
    // SMB EACCES or EXDEV, others EPERM or ENOTSUP): a copy does.
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOENT') throw err
  }
  await fs.copyFile(src, dest, fsConstants.COPYFILE_EXCL)
  await fs.utimes(dest, st.atime, st.mtime)
}

/**
 * Renames `from` over `to`, keeping what `to` holds (`st`, a file or a symlink) at the first name
 * `nameFor(1)`, `nameFor(2)`, ... not taken yet, and returns that name. The copy is made while
 * `to` still stands (keepCopy), and removed again if the rename fails: what it copies is still
 * in place, and the next try keeps it once, not once per try. Where no copy can be made (a link
 * with no right to make links; a disk with no room for a copy), `to` is moved aside instead.
 */
export async function renameKeeping(
  from: string,
  to: string,
  st: Stats,
  nameFor: (i: number) => string,
): Promise<string> {
  let copy: string | null = null
  for (let i = 1; copy === null; i++) {
    const name = nameFor(i)
    try {
      await keepCopy(to, name, st)
      copy = name
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST' && i < 1000) continue
      if (code === 'EEXIST' || code === 'ENOENT') throw err
      return moveAside(from, to, nameFor)
    }
  }
  try {
    await fs.rename(from, to)
  } catch (err) {
    await fs.rm(copy, { force: true }).catch(() => {})
    throw err
  }
  return copy
}

async function moveAside(
  from: string,
  to: string,
  nameFor: (i: number) => string,
): Promise<string> {
  const name = await moveToFreeName(to, nameFor)
  await fs.rename(from, to)
  return name
}

/** Moves `p` to the first of `nameFor(1)`, `nameFor(2)`, ... not taken yet; returns that name. */
export async function moveToFreeName(p: string, nameFor: (i: number) => string): Promise<string> {
  for (let i = 1; ; i++) {
    const name = nameFor(i)
    if (await fs.lstat(name).catch(() => null)) continue // taken: never replaced
    await fs.rename(p, name)
    return name
  }
}
