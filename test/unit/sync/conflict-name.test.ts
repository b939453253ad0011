// Conflict copy names: Syncthing's convention, the same on every device, and always a name every
// device accepts. A long name used to give a copy whose last segment passed the 255-byte limit:
// every device refused the copy's op, and the losing version left the tree.
import { describe, expect, it } from 'vitest'
import {
  conflictName,
  conflictParts,
  isConflictName,
} from '../../../main/engine/sync/conflict-name.ts'
import { validateRemotePath } from '../../../main/engine/folders/safe-path.ts'

const AT = Date.UTC(2026, 10, 27, 5, 6, 7)
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8')
const last = (p: string): string => p.slice(p.lastIndexOf('/') + 1)

describe('conflictName', () => {
  it("follows Syncthing's convention", () => {
    expect(conflictName('/d/report.txt', AT, 'a1b2c3d4e5f6')).toBe(
      '/d/report.sync-conflict-20261127-050607-a1b2c3d4e5f6.txt',
    )
    expect(conflictName('/.bashrc', AT, 'local')).toBe(
      '/.bashrc.sync-conflict-20261127-050607-local',
    )
  })

  it('shortens a long name to fit, keeping the extension and whole characters', () => {
    const cases = [
      '/' + 'a'.repeat(250) + '.txt',
      '/docs/' + '漢'.repeat(80) + '.pdf', // 240 bytes: about 71 CJK characters were enough to fail
      '/' + '😀'.repeat(62) + '.jpg', // 4-byte characters
      '/x.' + 'e'.repeat(252), // a long extension
      '/' + 'd/'.repeat(2000) + 'f'.repeat(90) + '.txt', // near the whole path's limit
    ]
    for (const key of cases) {
      validateRemotePath(key)
      const copy = conflictName(key, AT, 'a1b2c3d4e5f6')
      expect(() => validateRemotePath(copy), copy.slice(-80)).not.toThrow()
      expect(bytes(last(copy))).toBeLessThanOrEqual(255)
      expect(isConflictName(copy)).toBe(true)
      expect(copy).not.toContain('\uFFFD')
      expect(Buffer.from(copy, 'utf8').toString('utf8')).toBe(copy) // no split character
      expect(conflictName(key, AT, 'a1b2c3d4e5f6')).toBe(copy) // the same on every device
    }
    const long = conflictName('/' + 'a'.repeat(250) + '.txt', AT, 'a1b2c3d4e5f6')
    expect(long.endsWith('-20261127-050607-a1b2c3d4e5f6.txt')).toBe(true)
    expect(bytes(last(long))).toBe(255)
  })

  it('says what a copy was made from, so a shortened one still finds its original', () => {
    for (const key of [
      '/d/report.txt',
      '/' + 'a'.repeat(250) + '.txt',
      '/docs/' + '漢'.repeat(80),
    ]) {
      const copy = conflictName(key, AT + 999, 'a1b2c3d4e5f6')
      const parts = conflictParts(copy)
      expect(parts?.device).toBe('a1b2c3d4e5f6')
      expect(parts?.mtime).toBe(AT) // the name keeps whole seconds
      // The folder looks for the sibling whose copy this is (conflicts(), keep copy).
      expect(conflictName(key, parts!.mtime, parts!.device)).toBe(copy)
    }
    expect(conflictParts('/d/plain.txt')).toBeNull()
  })
})
