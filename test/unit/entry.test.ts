import { describe, expect, it } from 'vitest'
import type { DriveEntry, DriveEntryValue } from 'hyperdrive'
import { parseRemoteEntry } from '../../main/engine/folders/entry.ts'

const BLOB = { blockOffset: 3, blockLength: 2, byteOffset: 1000, byteLength: 5000 }

function entry(key: string, value: Partial<DriveEntryValue>): DriveEntry {
  return {
    seq: 1,
    key,
    value: { executable: false, linkname: null, blob: null, metadata: null, ...value },
  }
}

function file(over: Partial<DriveEntryValue> = {}, meta: Record<string, unknown> = {}): DriveEntry {
  return entry('/a/file.txt', {
    blob: { ...BLOB },
    metadata: { kind: 'file', mtime: 1_700_000_000_000, size: 5000, ...meta },
    ...over,
  })
}

describe('parseRemoteEntry: valid entries', () => {
  it('parses a file', () => {
    const e = parseRemoteEntry(file())
    expect(e.key).toBe('/a/file.txt')
    expect(e.meta).toEqual({ kind: 'file', mtime: 1_700_000_000_000, size: 5000 })
    expect(e.blob).toEqual(BLOB)
    expect(e.executable).toBe(false)
    expect(e.linkname).toBeNull()
    expect(e.version).toMatch(/^f:/)
  })

  it('takes the size of a file from its blob, not from the claimed metadata', () => {
    const e = parseRemoteEntry(file({}, { size: 1 }))
    expect(e.meta.size).toBe(5000)
  })

  it('parses an empty file (no blob) as size 0', () => {
    const e = parseRemoteEntry(file({ blob: null }, { size: 123 }))
    expect(e.blob).toBeNull()
    expect(e.meta.size).toBe(0)
  })

  it('parses a packed file: where it starts in the block it shares', () => {
    const e = parseRemoteEntry(file({}, { packed: 4096 }))
    expect(e.meta.packed).toBe(4096)
    expect(e.blob).toEqual(BLOB)
    expect(parseRemoteEntry(file()).meta.packed).toBeUndefined()
  })

  it('refuses a packed file with a bad offset or no blob', () => {
    for (const packed of [-1, 1.5, '12', null]) {
      expect(() => parseRemoteEntry(file({}, { packed }))).toThrow('entry has no valid metadata')
    }
    expect(() => parseRemoteEntry(file({ blob: null }, { packed: 0 }))).toThrow(
      'packed file entry has no blob',
    )
    // A reader reads a pack whole: a "pack" of 10,000 blocks would be 640 MB in memory.
    const huge = { ...BLOB, blockLength: 10_000 }
    expect(() => parseRemoteEntry(file({ blob: huge }, { packed: 0 }))).toThrow(
      'packed file entry spans too many blocks',
    )
    expect(
      parseRemoteEntry(file({ blob: { ...BLOB, blockLength: 4 } }, { packed: 0 })).blob,
    ).not.toBeNull()
  })

  it('drops a packed offset from folders and symlinks', () => {
    const d = parseRemoteEntry(
      entry('/d', { metadata: { kind: 'dir', mtime: 5, size: 0, packed: 3 } }),
    )
    expect(d.meta).toEqual({ kind: 'dir', mtime: 5, size: 0 })
  })

  it('parses an executable file', () => {
    expect(parseRemoteEntry(file({ executable: true })).executable).toBe(true)
  })

  it('parses a directory', () => {
    const e = parseRemoteEntry(
      entry('/a/dir', { metadata: { kind: 'dir', mtime: 5, size: 0 }, executable: true }),
    )
    expect(e.meta.kind).toBe('dir')
    expect(e.blob).toBeNull()
    expect(e.linkname).toBeNull()
    expect(e.executable).toBe(false)
  })

  it('parses a symlink and never marks it executable', () => {
    const e = parseRemoteEntry(
      entry('/l', {
        linkname: '../target.txt',
        executable: true,
        metadata: { kind: 'symlink', mtime: 7, size: 0 },
      }),
    )
    expect(e.meta.kind).toBe('symlink')
    expect(e.linkname).toBe('../target.txt')
    expect(e.blob).toBeNull()
    expect(e.executable).toBe(false)
  })

  it('ignores extra metadata fields', () => {
    expect(() => parseRemoteEntry(file({}, { extra: 'x' }))).not.toThrow()
  })
})

describe('parseRemoteEntry: versions', () => {
  const base = parseRemoteEntry(file()).version

  it('is stable for the same entry', () => {
    expect(parseRemoteEntry(file()).version).toBe(base)
  })

  it.each([
    ['content (byte offset)', file({ blob: { ...BLOB, byteOffset: 6000 } })],
    ['content (length)', file({ blob: { ...BLOB, byteLength: 5001 } })],
    ['content (emptied)', file({ blob: null })],
    ['mtime', file({}, { mtime: 1_700_000_000_001 })],
    ['the executable bit', file({ executable: true })],
  ])('differs when the %s differs', (_label, other) => {
    expect(parseRemoteEntry(other).version).not.toBe(base)
  })

  it('differs between a symlink target change and an mtime change', () => {
    const link = (linkname: string, mtime: number): string =>
      parseRemoteEntry(entry('/l', { linkname, metadata: { kind: 'symlink', mtime, size: 0 } }))
        .version
    const a = link('x', 1)
    expect(link('x', 1)).toBe(a)
    expect(link('y', 1)).not.toBe(a)
    expect(link('x', 2)).not.toBe(a)
  })

  it('differs between kinds', () => {
    const dir = parseRemoteEntry(entry('/x', { metadata: { kind: 'dir', mtime: 1, size: 0 } }))
    const f = parseRemoteEntry(entry('/x', { metadata: { kind: 'file', mtime: 1, size: 0 } }))
    const l = parseRemoteEntry(
      entry('/x', { linkname: 'd', metadata: { kind: 'symlink', mtime: 1, size: 0 } }),
    )
    expect(new Set([dir.version, f.version, l.version]).size).toBe(3)
  })
})

describe('parseRemoteEntry: malformed entries are refused', () => {
  it.each([
    ['no metadata', null],
    ['a string', 'file'],
    ['an array', []],
    ['an unknown kind', { kind: 'device', mtime: 1, size: 0 }],
    ['a missing kind', { mtime: 1, size: 0 }],
    ['a negative mtime', { kind: 'file', mtime: -1, size: 0 }],
    ['a fractional mtime', { kind: 'file', mtime: 1.5, size: 0 }],
    ['a string mtime', { kind: 'file', mtime: '1', size: 0 }],
    ['a missing size', { kind: 'file', mtime: 1 }],
    ['a negative size', { kind: 'file', mtime: 1, size: -5 }],
    ['an infinite size', { kind: 'file', mtime: 1, size: Infinity }],
  ])('metadata: %s', (_label, metadata) => {
    expect(() => parseRemoteEntry(entry('/x', { metadata }))).toThrow('entry has no valid metadata')
  })

  it.each([
    ['a negative offset', { ...BLOB, byteOffset: -1 }],
    ['a fractional length', { ...BLOB, byteLength: 1.5 }],
    ['a missing field', { blockOffset: 0, blockLength: 1, byteOffset: 0 }],
    ['a string field', { ...BLOB, byteLength: '10' }],
    ['a string', 'blob'],
    ['undefined', undefined],
  ])('blob: %s', (_label, blob) => {
    expect(() =>
      parseRemoteEntry(file({ blob: blob as unknown as DriveEntryValue['blob'] })),
    ).toThrow('file entry has an invalid blob reference')
  })

  it.each([
    ['null', null],
    ['empty', ''],
    ['a NUL byte', 'a\0b'],
    ['a number', 42],
  ])('symlink target: %s', (_label, linkname) => {
    expect(() =>
      parseRemoteEntry(
        entry('/l', {
          linkname: linkname as unknown as string,
          metadata: { kind: 'symlink', mtime: 1, size: 0 },
        }),
      ),
    ).toThrow('symlink entry has no valid target')
  })
})
