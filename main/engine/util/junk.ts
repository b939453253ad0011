// Files a desktop leaves in any folder it shows (Finder's .DS_Store and AppleDouble files,
// Explorer's thumbnail caches and desktop.ini). A folder that holds nothing else may be removed with them when the folder it mirrors is replaced by a file:
// they are never anyone's data, and keeping them would block the file for good.
import { promises as fs } from 'node:fs'
import path from 'node:path'

const JUNK = /^(\.DS_Store|\._.+|Thumbs\.db|ehthumbs\.db|desktop\.ini)$/i

export function isJunkName(name: string): boolean {
  return JUNK.test(name)
}

/**
 * Whether the folder at `dir` holds only junk files, in it or in folders below it (at most
 * `limit` entries are looked at; past that, the answer is no).
 */
export async function onlyJunkInside(dir: string, limit = 1000): Promise<boolean> {
  let seen = 0
  const walk = async (d: string): Promise<boolean> => {
    const entries = await fs.readdir(d, { withFileTypes: true })
    for (const e of entries) {
      if (++seen > limit) return false
      if (e.isDirectory()) {
        if (!(await walk(path.join(d, e.name)))) return false
      } else if (!e.isFile() || !isJunkName(e.name)) return false
    }
    return true
  }
  try {
    return await walk(dir)
  } catch {
    return false
  }
}
