// `.spareignore`: which paths of a shared folder never sync. The file uses gitignore syntax and sits
// at the folder's root; it syncs like any other file, so every peer applies the same rules. On top
// of the user's patterns a fixed list of temp and OS-junk names is always ignored and can't be
// negated. Matching is case-insensitive, the same on every OS, so all peers agree on a path.
import ignore from 'ignore'
import { TEMP_PREFIX } from '../folders/safe-path.ts'

export const IGNORE_FILE = '.spareignore'
const IGNORE_FILE_KEY = '/' + IGNORE_FILE

/** Always ignored, whatever `.spareignore` says (gitignore syntax). `*~` backups are kept. */
export const BUILTIN_IGNORES: readonly string[] = Object.freeze([
  // macOS
  '.DS_Store',
  '._*', // AppleDouble resource forks
  '.Spotlight-V100',
  '.Trashes',
  '.fseventsd',
  // Windows
  'Thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '$RECYCLE.BIN/',
  // Editors and office suites: lock and swap files
  '~$*', // Microsoft Office owner files
  '.~lock.*#', // LibreOffice
  '*.swp',
  '*.swx',
  '.*.swp',
  // Temp files and partial downloads
  '*.tmp',
  '*.crdownload',
  '*.part',
  // Spare's own
  TEMP_PREFIX + '*',
  '.spare/',
])

type Matcher = ReturnType<typeof ignore>

/**
 * The package keeps the answer for every path it was asked about, and for each of its parents,
 * for as long as the matcher lives. Both matchers are made again this often, so what they keep
 * is about the paths of the last few minutes (scans and full recounts ask about every path),
 * never every path the daemon ever looked at.
 */
export const MATCHER_LIFETIME_MS = 10 * 60 * 1000

export class IgnoreRules {
  private builtins: Matcher = ignore().add([...BUILTIN_IGNORES])
  private user: Matcher
  private madeAt: number

  private constructor(
    /** The user's patterns that were accepted, as written (line endings stripped). */
    readonly patterns: string[],
    /** Lines that were skipped, as 'line N: reason'. */
    readonly errors: string[],
    private readonly now: () => number,
  ) {
    this.user = ignore().add(patterns)
    this.madeAt = now()
  }

  /** Rules from the text of `.spareignore`; null (no file) gives the built-ins alone. */
  static parse(text: string | null, opts: { now?: () => number } = {}): IgnoreRules {
    const patterns: string[] = []
    const errors: string[] = []
    const lines = (text ?? '').replace(/^\uFEFF/, '').split('\n')
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      // Blank lines (trailing spaces are not significant) and comments hold no pattern.
      if (/^ *$/.test(line) || line.startsWith('#')) return
      const problem = patternProblem(line)
      if (problem) {
        errors.push(`line ${i + 1}: ${problem}`)
        return
      }
      try {
        // The package compiles a pattern lazily: try it alone first so a bad one can't break
        // matching later.
        const probe = ignore().add(line)
        probe.ignores('probe')
        probe.ignores('probe/dir/')
        patterns.push(line)
      } catch (err) {
        errors.push(`line ${i + 1}: ${(err as Error).message}`)
      }
    })
    return new IgnoreRules(patterns, errors, opts.now ?? Date.now)
  }

  /**
   * True when the drive key ('/a/b.txt') must not sync. `isDir` selects the directory form, which
   * dir-only patterns ('build/') need. A path inside an ignored directory is ignored too, and the
   * root `.spareignore` file never is. Throws for a key that is not rooted ('a/b') or escapes
   * the folder ('/a/../b').
   */
  ignores(key: string, isDir: boolean): boolean {
    if (!key.startsWith('/')) throw new Error(`not a drive key: ${JSON.stringify(key)}`)
    if (key === IGNORE_FILE_KEY && !isDir) return false
    let rel = key.replace(/^\/+|\/+$/g, '')
    if (rel === '') return false // the folder itself
    if (isDir) rel += '/'
    const now = this.now()
    if (now - this.madeAt > MATCHER_LIFETIME_MS) {
      this.madeAt = now
      this.builtins = ignore().add([...BUILTIN_IGNORES])
      this.user = ignore().add(this.patterns)
    }
    return this.builtins.ignores(rel) || this.user.ignores(rel)
  }
}

/** Why git would drop the line, for lines that the package drops silently. */
function patternProblem(line: string): string | null {
  // A trailing space escaped by a backslash is kept ('foo\ '); a backslash with nothing after it
  // escapes nothing, and git ignores the whole pattern.
  const backslashes = /\\*$/.exec(line)?.[0].length ?? 0
  if (backslashes % 2 === 1) return `"${line}" ends with a lone backslash`
  return null
}
