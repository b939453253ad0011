import { describe, expect, it } from 'vitest'
import {
  BUILTIN_IGNORES,
  IGNORE_FILE,
  IgnoreRules,
  MATCHER_LIFETIME_MS,
} from '../../../main/engine/sync/ignore.ts'
import { TEMP_PREFIX } from '../../../main/engine/folders/safe-path.ts'

const none = IgnoreRules.parse(null)

describe('built-in ignores', () => {
  it.each([
    ['/.DS_Store', false],
    ['/photos/.DS_Store', false],
    ['/photos/._IMG_0001.jpg', false],
    ['/.Spotlight-V100', true],
    ['/.Trashes', true],
    ['/.fseventsd', true],
    ['/.fseventsd/0000000001', false],
    ['/Thumbs.db', false],
    ['/pics/thumbs.db', false],
    ['/ehthumbs.db', false],
    ['/desktop.ini', false],
    ['/Music/Desktop.ini', false],
    ['/$RECYCLE.BIN', true],
    ['/$RECYCLE.BIN/S-1-5-21/$R1.txt', false],
    ['/docs/~$report.docx', false],
    ['/docs/.~lock.report.odt#', false],
    ['/src/.main.c.swp', false],
    ['/src/main.c.swp', false],
    ['/src/main.c.swx', false],
    ['/cache.tmp', false],
    ['/a/b/' + TEMP_PREFIX + 'x1y2', false],
    ['/.spare', true],
    ['/.spare/state.json', false],
    ['/Downloads/movie.mkv.crdownload', false],
    ['/Downloads/movie.mkv.part', false],
  ])('ignores %s', (key, isDir) => {
    expect(none.ignores(key, isDir)).toBe(true)
  })

  it.each([
    ['/notes.txt~', false],
    ['/readme.md', false],
    ['/DS_Store', false],
    ['/a.swp.txt', false],
    ['/partial', false],
    ['/.spare', false], // a file, not the state folder
    ['/spare-tmp-x', false],
    ['/$RECYCLE.BIN', false], // the pattern is for the folder
    ['/docs', true],
    ['/tmp', true],
  ])('keeps %s', (key, isDir) => {
    expect(none.ignores(key, isDir)).toBe(false)
  })

  it('can not be negated by the user', () => {
    const rules = IgnoreRules.parse('!.DS_Store\n!*.tmp\n')
    expect(rules.errors).toEqual([])
    expect(rules.ignores('/.DS_Store', false)).toBe(true)
    expect(rules.ignores('/a/b.tmp', false)).toBe(true)
  })

  it('is a frozen list', () => {
    expect(Object.isFrozen(BUILTIN_IGNORES)).toBe(true)
    expect(BUILTIN_IGNORES).toContain('.DS_Store')
  })
})

describe('IgnoreRules.parse', () => {
  it('negation re-includes a file after a wider pattern', () => {
    const rules = IgnoreRules.parse('*.log\n!keep.log\n')
    expect(rules.ignores('/debug.log', false)).toBe(true)
    expect(rules.ignores('/a/b/debug.log', false)).toBe(true)
    expect(rules.ignores('/keep.log', false)).toBe(false)
    expect(rules.ignores('/a/keep.log', false)).toBe(false)
  })

  it('can not re-include a file whose folder is ignored (gitignore rule)', () => {
    const rules = IgnoreRules.parse('logs/\n!logs/keep.log\n')
    expect(rules.ignores('/logs/keep.log', false)).toBe(true)
  })

  it('dir-only patterns match folders, not files of the same name', () => {
    const rules = IgnoreRules.parse('build/\n')
    expect(rules.ignores('/build', true)).toBe(true)
    expect(rules.ignores('/build', false)).toBe(false)
    expect(rules.ignores('/a/build', true)).toBe(true)
    expect(rules.ignores('/building', true)).toBe(false)
  })

  it('ignores everything inside an ignored folder', () => {
    const rules = IgnoreRules.parse('node_modules/\n/out\n')
    expect(rules.ignores('/node_modules/x/index.js', false)).toBe(true)
    expect(rules.ignores('/app/node_modules/x/y/z', true)).toBe(true)
    expect(rules.ignores('/out/deep/er/file.bin', false)).toBe(true)
    expect(rules.ignores('/src/out/file.bin', false)).toBe(false)
  })

  it('anchored patterns match at the root only', () => {
    const rules = IgnoreRules.parse('/top.txt\n')
    expect(rules.ignores('/top.txt', false)).toBe(true)
    expect(rules.ignores('/a/top.txt', false)).toBe(false)
  })

  it('patterns with a slash in the middle are anchored, others match at any depth', () => {
    const rules = IgnoreRules.parse('docs/*.pdf\nsecret.txt\n**/cache/**\n')
    expect(rules.ignores('/docs/a.pdf', false)).toBe(true)
    expect(rules.ignores('/x/docs/a.pdf', false)).toBe(false)
    expect(rules.ignores('/docs/sub/a.pdf', false)).toBe(false)
    expect(rules.ignores('/secret.txt', false)).toBe(true)
    expect(rules.ignores('/a/b/c/secret.txt', false)).toBe(true)
    expect(rules.ignores('/a/cache/b/c', false)).toBe(true)
  })

  it('matches case-insensitively', () => {
    const rules = IgnoreRules.parse('*.log\n')
    expect(rules.ignores('/DEBUG.LOG', false)).toBe(true)
  })

  it('skips comments and blank lines, and keeps escaped ones as patterns', () => {
    const rules = IgnoreRules.parse('# a comment\n\n   \n\\#notes\n*.bak   \n')
    expect(rules.patterns).toEqual(['\\#notes', '*.bak   '])
    expect(rules.errors).toEqual([])
    expect(rules.ignores('/# a comment', false)).toBe(false)
    expect(rules.ignores('/#notes', false)).toBe(true)
    expect(rules.ignores('/x.bak', false)).toBe(true)
  })

  it('reads CRLF line endings and a byte order mark', () => {
    const rules = IgnoreRules.parse('\uFEFF*.log\r\n# comment\r\n!keep.log\r\nbuild/\r\n')
    expect(rules.patterns).toEqual(['*.log', '!keep.log', 'build/'])
    expect(rules.ignores('/a.log', false)).toBe(true)
    expect(rules.ignores('/keep.log', false)).toBe(false)
    expect(rules.ignores('/build', true)).toBe(true)
  })

  it('reads a last line without a line ending', () => {
    const rules = IgnoreRules.parse('a.txt\nb.txt')
    expect(rules.ignores('/b.txt', false)).toBe(true)
  })

  it('never ignores the ignore file itself', () => {
    const rules = IgnoreRules.parse('*\n.spareignore\n')
    expect(rules.ignores('/' + IGNORE_FILE, false)).toBe(false)
    expect(rules.ignores('/other.txt', false)).toBe(true)
    // Only the one at the root holds the rules.
    expect(rules.ignores('/sub/' + IGNORE_FILE, false)).toBe(true)
  })

  it('collects lines git would drop, with their line number, and keeps the rest', () => {
    const rules = IgnoreRules.parse('*.log\nfoo\\\nbar\\ \n')
    expect(rules.errors).toEqual(['line 2: "foo\\" ends with a lone backslash'])
    expect(rules.patterns).toEqual(['*.log', 'bar\\ '])
    expect(rules.ignores('/bar ', false)).toBe(true)
    expect(rules.ignores('/foo', false)).toBe(false)
  })

  it('takes odd patterns without throwing', () => {
    const rules = IgnoreRules.parse('[\n[z-a]\n***\n!\n[[:foo:]]\n\\\\\n')
    expect(() => rules.ignores('/a/b', false)).not.toThrow()
  })

  it('null or empty text gives the built-ins alone', () => {
    for (const text of [null, '']) {
      const rules = IgnoreRules.parse(text)
      expect(rules.patterns).toEqual([])
      expect(rules.errors).toEqual([])
      expect(rules.ignores('/a.txt', false)).toBe(false)
      expect(rules.ignores('/.DS_Store', false)).toBe(true)
    }
  })
})

describe('IgnoreRules.ignores', () => {
  it('never ignores the folder itself', () => {
    expect(IgnoreRules.parse('*\n').ignores('/', true)).toBe(false)
  })

  it('refuses a key that is not rooted', () => {
    expect(() => none.ignores('a/b', false)).toThrow(/not a drive key/)
  })
})

describe('a long-lived IgnoreRules', () => {
  it('answers the same after its matchers are made again (their caches bounded)', () => {
    const text = 'build/\n*.log\n!keep.log\n/root-only.txt\ndocs/**/draft-*\n'
    const paths: Array<[string, boolean]> = []
    for (let i = 0; i < 300; i++) {
      const d = `/d${i % 37}`
      paths.push(
        [`${d}/f${i}.log`, false],
        [`${d}/keep.log`, false],
        [`${d}/build`, true],
        [`${d}/build/out${i}.o`, false],
        [`/root-only.txt`, false],
        [`${d}/root-only.txt`, false],
        [`/docs/a${i % 5}/draft-${i}.md`, false],
        [`/docs/a${i % 5}/final-${i}.md`, false],
        [`${d}/.DS_Store`, false],
        [`${d}/photo${i}.jpg`, false],
      )
    }
    let clock = 1_000_000
    const long = IgnoreRules.parse(text, { now: () => clock })
    const fresh = IgnoreRules.parse(text)
    const want = paths.map(([p, dir]) => fresh.ignores(p, dir))
    // Asked again and again while time passes: the matchers are made again several times.
    for (let round = 0; round < 4; round++) {
      expect(paths.map(([p, dir]) => long.ignores(p, dir))).toEqual(want)
      clock += MATCHER_LIFETIME_MS / 2 + 1
    }
    expect(want.filter(Boolean).length).toBeGreaterThan(paths.length / 3)
    expect(want.filter((a) => !a).length).toBeGreaterThan(paths.length / 3)
  })
})
