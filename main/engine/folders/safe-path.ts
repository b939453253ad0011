// Paths that arrive from peers are hostile until proven otherwise. A drive key must be a clean,
// absolute, forward-slash path inside the folder; anything else is refused with a reason.
// Before writing, every parent on disk is checked with lstat so a symlinked parent can never
// redirect a write outside the folder.
import { promises as fs } from 'node:fs'
import path from 'node:path'

export const TEMP_PREFIX = '.spare-tmp-'
export const MAX_PATH_BYTES = 4096
export const MAX_SEGMENT_BYTES = 255

/** Returns the folder-relative segments of a drive key, or throws with the reason it is refused. */
export function validateRemotePath(key: string): string[] {
  if (typeof key !== 'string' || key.length === 0) throw new Error('empty path')
  if (key.includes('\0')) throw new Error('path contains a NUL byte')
  if (key.includes('\\')) throw new Error('path contains a backslash')
  if (Buffer.byteLength(key, 'utf8') > MAX_PATH_BYTES) throw new Error('path is too long')
  if (!key.startsWith('/')) throw new Error('path is not rooted in the folder')
  if (/^\/[a-zA-Z]:/.test(key) || key.startsWith('//'))
    throw new Error('path is absolute outside the folder')
  const segments = key.slice(1).split('/')
  for (const seg of segments) {
    if (seg === '') throw new Error('path has an empty segment')
    if (seg === '.' || seg === '..') throw new Error('path escapes the folder')
    if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES)
      throw new Error('a path segment is too long')
    // Control characters are invalid on Windows and a terminal-escape hazard everywhere.
    for (let i = 0; i < seg.length; i++) {
      if (seg.charCodeAt(i) < 0x20) throw new Error('path contains a control character')
    }
    if (seg.startsWith(TEMP_PREFIX)) throw new Error("path uses Spare's temp-file prefix")
  }
  return segments
}

export function toDiskPath(root: string, segments: string[]): string {
  const target = path.join(root, ...segments)
  const rel = path.relative(root, target)
  if (rel === '' || rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel)) {
    throw new Error('path escapes the folder')
  }
  return target
}

/**
 * Makes sure every parent of `segments` inside `root` is a real directory (creating missing ones)
 * and none is a symlink. Throws when a parent is a symlink or a file.
 */
export async function ensureSafeParents(root: string, segments: string[]): Promise<string> {
  let dir = root
  for (const seg of segments.slice(0, -1)) {
    dir = path.join(dir, seg)
    let st
    try {
      st = await fs.lstat(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      try {
        await fs.mkdir(dir)
        continue
      } catch (mkdirErr) {
        if ((mkdirErr as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirErr
        st = await fs.lstat(dir) // something appeared meanwhile: check what it is
      }
    }
    if (st.isSymbolicLink())
      throw new Error(`a parent folder is a symlink: ${path.relative(root, dir)}`)
    if (!st.isDirectory()) throw new Error(`a parent is not a folder: ${path.relative(root, dir)}`)
  }
  return dir
}

/** True when every existing parent of the path is a real directory (no symlinks). */
export async function parentsAreSafe(root: string, segments: string[]): Promise<boolean> {
  let dir = root
  for (const seg of segments.slice(0, -1)) {
    dir = path.join(dir, seg)
    try {
      const st = await fs.lstat(dir)
      if (st.isSymbolicLink() || !st.isDirectory()) return false
    } catch {
      return true // missing parents: nothing beyond can exist
    }
  }
  return true
}

/** Converts an OS-relative path to a drive key ('/a/b'). */
export function toDriveKey(rel: string): string {
  return '/' + rel.split(path.sep).join('/')
}

/** '/a/b' -> '/a'; '/a' -> '/'. */
export function parentKey(key: string): string {
  const i = key.lastIndexOf('/')
  return i <= 0 ? '/' : key.slice(0, i)
}

/** Removes Spare's temp files (left by a crash mid-write) anywhere below `dir`. */
export async function removeStaleTemps(dir: string): Promise<void> {
  let entries
  try {
    entries = await fs.readdir(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const d of entries) {
    const abs = path.join(dir, d.name)
    if (d.name.startsWith(TEMP_PREFIX)) await fs.rm(abs, { force: true, recursive: true })
    else if (d.isDirectory()) await removeStaleTemps(abs)
  }
}
