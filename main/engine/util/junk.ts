// Files a desktop leaves in any folder it shows (Finder's .DS_Store and AppleDouble files,
// Explorer's thumbnail caches and desktop.ini). A folder that holds nothing else may be removed
// with them when the folder it mirrors is deleted or replaced by a file: they are never anyone's
// data, and keeping them would keep the folder (or block the file) for good.
import { promises as fs } from 'node:fs'

const JUNK = /^(\.DS_Store|\._.+|Thumbs\.db|ehthumbs\.db|desktop\.ini)$/i

export function isJunkName(name: string): boolean {
  return JUNK.test(name)
}

/**
 * Whether the folder at `dir` holds only junk files (at most `limit` entries are looked at; past
 * that, the answer is no). A folder in it, even an empty one, is not junk: desktops leave files,
 * and a folder someone made (to fill later) is theirs. So that a folder Spare placed and whose
 * deletion left a desktop's junk in it is not kept for that, the deletion removes it with its
 * junk (deepest first: its parent then no longer holds it).
 */
export async function onlyJunkInside(dir: string, limit = 1000): Promise<boolean> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true })
    if (entries.length > limit) return false
    return entries.every((e) => e.isFile() && isJunkName(e.name))
  } catch {
    return false
  }
}
