import { describe, expect, it } from 'vitest'
import { caseKey, findCaseClashes, portabilityProblem } from '../../../main/engine/sync/names.ts'

describe('portabilityProblem', () => {
  it.each([
    '/a',
    '/a/b/c.txt',
    '/.hidden',
    '/file with spaces.txt',
    '/日本語/ファイル.txt',
    '/émoji 📷/ok',
    '/console.txt',
    '/connect',
    '/com10',
    '/lpt0',
    '/COM1x.txt',
    '/.con',
    '/a..b',
    '/' + 'é'.repeat(127), // 254 bytes
    '/' + 'x'.repeat(255),
    '/',
  ])('accepts %s', (key) => {
    expect(portabilityProblem(key)).toBeNull()
  })

  it.each(['<', '>', ':', '"', '|', '?', '*', '\\'])('refuses %s in a name', (ch) => {
    expect(portabilityProblem(`/dir/a${ch}b`)).toBe(
      `${JSON.stringify(`a${ch}b`)} contains ${JSON.stringify(ch)} which Windows does not allow`,
    )
  })

  it('words the reason for the common case plainly', () => {
    expect(portabilityProblem('/x/a:b')).toBe('"a:b" contains ":" which Windows does not allow')
  })

  it('checks every segment, not only the last', () => {
    expect(portabilityProblem('/a?/b/c.txt')).toMatch(/^"a\?" contains "\?"/)
    expect(portabilityProblem('/a/nul/c.txt')).toMatch(/^"nul" is a device name/)
  })

  it.each(['00', '01', '09', '0a', '1b', '1f'])('refuses the control character 0x%s', (hex) => {
    const problem = portabilityProblem(`/a${String.fromCharCode(parseInt(hex, 16))}b`)
    expect(problem).toContain(`control character 0x${hex}, which Windows does not allow`)
  })

  it('allows DEL and other characters above 0x1f', () => {
    expect(portabilityProblem('/a\x7fb')).toBeNull()
    expect(portabilityProblem('/a\u00a0b')).toBeNull()
  })

  it.each(['/a/name ', '/name /b', '/a.', '/a/..b.', '/dir./x'])(
    'refuses a trailing space or dot in %j',
    (key) => {
      expect(portabilityProblem(key)).toMatch(/ends with a (space|dot), which Windows/)
    },
  )

  it.each([
    'CON',
    'con',
    'Prn',
    'AUX',
    'nul',
    'COM1',
    'com9',
    'LPT1',
    'lpt9',
    'con.txt',
    'NUL.tar.gz',
    'Aux.',
    'CON .txt',
    'COM¹',
    'lpt³.log',
  ])('refuses the reserved device name %s', (name) => {
    expect(portabilityProblem(`/a/${name}`)).toMatch(/is a device name that Windows reserves/)
  })

  it('refuses a segment longer than 255 UTF-8 bytes', () => {
    expect(portabilityProblem('/' + 'x'.repeat(256))).toMatch(/is longer than 255 bytes$/)
    // 128 two-byte characters: 128 characters but 256 bytes.
    expect(portabilityProblem('/a/' + 'é'.repeat(128) + '/b')).toMatch(/longer than 255 bytes/)
  })
})

describe('caseKey', () => {
  it('folds case and Unicode normalization', () => {
    expect(caseKey('/Docs/README.md')).toBe('/docs/readme.md')
    expect(caseKey('/cafe\u0301')).toBe(caseKey('/CAFÉ'))
    expect(caseKey('/caf\u00e9')).toBe('/caf\u00e9')
  })
})

describe('findCaseClashes', () => {
  it('finds nothing in distinct names', () => {
    expect(findCaseClashes(['/a', '/b', '/c/a', '/c/b', '/readme.md'])).toEqual([])
    expect(findCaseClashes([])).toEqual([])
  })

  it('groups names that differ only by case', () => {
    expect(findCaseClashes(['/README.md', '/x', '/Readme.md', '/readme.md'])).toEqual([
      ['/README.md', '/Readme.md', '/readme.md'],
    ])
  })

  it('groups names that differ only by Unicode normalization', () => {
    const nfc = '/caf\u00e9.txt'
    const nfd = '/cafe\u0301.txt'
    expect(findCaseClashes([nfc, nfd])).toEqual([[nfc, nfd].sort()])
  })

  it('ignores exact duplicates', () => {
    expect(findCaseClashes(['/a', '/a', '/b/c', '/b/c'])).toEqual([])
  })

  it('reports a parent clash as the folders, once, not the files under them', () => {
    expect(findCaseClashes(['/Docs/a', '/docs/a', '/Docs/b'])).toEqual([['/Docs', '/docs']])
  })

  it('reports folders that would merge even when the files under them differ', () => {
    expect(findCaseClashes(['/Docs/a.txt', '/docs/b.txt'])).toEqual([['/Docs', '/docs']])
  })

  it('reports a deep parent clash at its own depth', () => {
    expect(findCaseClashes(['/p/Q/r/s.txt', '/p/q/r/s.txt', '/p/q/t'])).toEqual([['/p/Q', '/p/q']])
  })

  it('counts folder keys given explicitly', () => {
    expect(findCaseClashes(['/Photos', '/photos/x.jpg'])).toEqual([['/Photos', '/photos']])
  })

  it('reports both levels when the parent and the name both differ', () => {
    expect(findCaseClashes(['/Docs/a', '/docs/A', '/docs/a'])).toEqual([
      ['/Docs', '/docs'],
      ['/Docs/a', '/docs/A', '/docs/a'],
    ])
  })

  it('sorts the groups and the paths inside them', () => {
    const clashes = findCaseClashes(new Set(['/z/B', '/z/b', '/A', '/a', '/m/X', '/m/x']))
    expect(clashes).toEqual([
      ['/A', '/a'],
      ['/m/X', '/m/x'],
      ['/z/B', '/z/b'],
    ])
  })
})
