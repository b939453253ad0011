// Names that sync fine between two Linux peers but can't exist on another OS: what Windows refuses
// outright, and paths that differ only by case or Unicode normalization, which a case-insensitive
// (Windows, macOS) or normalizing (macOS) file system folds into one.

const MAX_SEGMENT_BYTES = 255
const FORBIDDEN_CHARS = '<>:"|?*\\'
/** Device names Windows reserves, with or without an extension ('con.txt'). */
const RESERVED_NAMES = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])$/i

/**
 * Why the drive key ('/a/b.txt') can't be created on Windows, as a short sentence naming the
 * offending segment; null when every segment is fine. Checked per segment: at most 255 UTF-8 bytes,
 * no control character, none of < > : " | ? * \, not a reserved device name, no trailing space or
 * dot.
 */
export function portabilityProblem(key: string): string | null {
  for (const seg of key.split('/')) {
    if (seg === '') continue
    const name = JSON.stringify(seg)
    if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES)
      return `${name} is longer than ${MAX_SEGMENT_BYTES} bytes`
    for (const ch of seg) {
      const code = ch.charCodeAt(0)
      if (code < 0x20) {
        const hex = code.toString(16).padStart(2, '0')
        return `${name} contains the control character 0x${hex}, which Windows does not allow`
      }
      if (FORBIDDEN_CHARS.includes(ch))
        return `${name} contains ${JSON.stringify(ch)} which Windows does not allow`
    }
    // Windows ignores trailing spaces before the extension too: 'CON .txt' is the console.
    const base = seg.split('.')[0]!.replace(/ +$/, '')
    if (RESERVED_NAMES.test(base))
      return `${name} is a device name that Windows reserves (${base.toUpperCase()})`
    if (seg.endsWith(' ')) return `${name} ends with a space, which Windows does not allow`
    if (seg.endsWith('.')) return `${name} ends with a dot, which Windows does not allow`
  }
  return null
}

/** The form two keys share when a case-insensitive, normalizing file system sees them as one. */
export function caseKey(key: string): string {
  return key.normalize('NFC').toLowerCase()
}

/**
 * Groups of paths that would land on the same name on a case-insensitive or normalizing file
 * system: '/Readme.md' and '/README.md', 'café' in NFC and in NFD. Each group is sorted, and the
 * groups are sorted by their first path.
 *
 * Parent folders count: every folder above a key takes part as a path of its own. A clash is
 * reported at the shallowest segment where the spellings differ, so '/Docs/a' and '/docs/a' give
 * the group ['/Docs', '/docs'], not the files; and '/Docs/a' and '/docs/b' clash the same way,
 * as both folders would merge into one. Paths that differ at the parent and again in the last
 * segment ('/Docs/a' vs '/docs/A') are reported at both levels.
 */
export function findCaseClashes(keys: Iterable<string>): string[][] {
  const groups = new CaseGroups()
  for (const key of keys) groups.add(key)
  return groups.clashes()
}

/** `findCaseClashes` a key at a time, for walks that pause between keys. */
export class CaseGroups {
  /** caseKey → the one path seen with it, or the paths when more than one (most have one). */
  private readonly groups = new Map<string, string | Set<string>>()

  add(key: string): void {
    if (!this.addOne(key)) return
    // Parent folders: stop at the first one already seen, its own parents are in already.
    for (let i = key.lastIndexOf('/'); i > 0; i = key.lastIndexOf('/', i - 1)) {
      if (!this.addOne(key.slice(0, i))) break
    }
  }

  clashes(): string[][] {
    const clashes: string[][] = []
    for (const group of this.groups.values()) {
      if (typeof group === 'string') continue
      const paths = [...group].sort()
      // Same last segment everywhere: the difference is in a parent, reported at that level.
      const last = lastSegment(paths[0]!)
      if (paths.every((p) => lastSegment(p) === last)) continue
      clashes.push(paths)
    }
    return clashes.sort((a, b) => compare(a[0]!, b[0]!))
  }

  /** False when `p` was seen already. */
  private addOne(p: string): boolean {
    const ck = caseKey(p)
    const group = this.groups.get(ck)
    if (group === undefined) {
      this.groups.set(ck, p)
      return true
    }
    if (typeof group === 'string') {
      if (group === p) return false
      this.groups.set(ck, new Set([group, p]))
      return true
    }
    if (group.has(p)) return false
    group.add(p)
    return true
  }
}

function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
