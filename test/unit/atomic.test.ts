import { describe, expect, it, vi } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../../main/engine/util/atomic.ts'
import { modeOf, useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('writeFileAtomic', () => {
  it('writes string content and leaves no temp file', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'a.txt')
    await writeFileAtomic(file, 'héllo\n')
    expect(await fs.readFile(file, 'utf8')).toBe('héllo\n')
    expect(await fs.readdir(dir)).toEqual(['a.txt'])
  })

  it('writes binary content byte for byte', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'bin')
    const data = new Uint8Array(300_000).map((_, i) => (i * 7919) & 0xff)
    await writeFileAtomic(file, data)
    expect(Buffer.compare(await fs.readFile(file), Buffer.from(data))).toBe(0)
  })

  it('writes an empty file', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'empty')
    await writeFileAtomic(file, '')
    expect((await fs.stat(file)).size).toBe(0)
  })

  it('applies the requested mode regardless of the umask', async () => {
    const dir = await fx.tmpDir()
    const old = process.umask(0o077)
    try {
      await writeFileAtomic(path.join(dir, 'shared'), 'x', { mode: 0o644 })
    } finally {
      process.umask(old)
    }
    await writeFileAtomic(path.join(dir, 'secret'), 'x', { mode: 0o600 })
    expect(await modeOf(path.join(dir, 'secret'))).toBe(0o600)
    expect(await modeOf(path.join(dir, 'shared'))).toBe(0o644)
  })

  it('overwrites an existing file, replacing its mode', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'f')
    await fs.writeFile(file, 'old old old old', { mode: 0o666 })
    await fs.chmod(file, 0o666)
    const inodeBefore = (await fs.stat(file)).ino
    await writeFileAtomic(file, 'new', { mode: 0o600 })
    expect(await fs.readFile(file, 'utf8')).toBe('new')
    expect(await modeOf(file)).toBe(0o600)
    // Replaced by rename, not rewritten in place: a reader never sees a half-written file.
    expect((await fs.stat(file)).ino).not.toBe(inodeBefore)
    expect(await fs.readdir(dir)).toEqual(['f'])
  })

  it('keeps an open reader of the old file seeing the old content', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'f')
    await writeFileAtomic(file, 'version one')
    const handle = await fs.open(file, 'r')
    try {
      await writeFileAtomic(file, 'version two, longer')
      expect((await handle.readFile()).toString()).toBe('version one')
    } finally {
      await handle.close()
    }
    expect(await fs.readFile(file, 'utf8')).toBe('version two, longer')
  })

  it('creates missing parent directories', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'x', 'y', 'z.json')
    await writeFileAtomic(file, '{}')
    expect(await fs.readFile(file, 'utf8')).toBe('{}')
  })

  it('many concurrent writes to one file leave one whole version and no temp files', async () => {
    const dir = await fx.tmpDir()
    const file = path.join(dir, 'f')
    const versions = Array.from({ length: 20 }, (_, i) => `version ${i} `.repeat(1000))
    await Promise.all(versions.map((v) => writeFileAtomic(file, v)))
    expect(versions).toContain(await fs.readFile(file, 'utf8'))
    expect(await fs.readdir(dir)).toEqual(['f'])
  })

  it('fails without leaving a temp file when the target is a directory', async () => {
    const dir = await fx.tmpDir()
    const target = path.join(dir, 'taken')
    await fs.mkdir(target)
    await fs.writeFile(path.join(target, 'inner'), 'keep')
    await expect(writeFileAtomic(target, 'x', { mode: 0o600 })).rejects.toThrow()
    expect(await fs.readdir(dir)).toEqual(['taken'])
    expect(await fs.readFile(path.join(target, 'inner'), 'utf8')).toBe('keep')
  })

  // A full or failing disk makes the write or the fsync fail. The temp file must go with the
  // error: the sync index and the hosting state are saved every few seconds, and each failed save
  // used to leave one more `.NAME.*.tmp` (settings' copies holding folder keys) behind.
  it.each([['writeFile'], ['sync']] as const)(
    'removes its temp file when %s fails, and leaves the old file',
    async (step) => {
      const dir = await fx.tmpDir()
      const file = path.join(dir, 'settings.json')
      await writeFileAtomic(file, 'old')
      const probe = await fs.open(file, 'r')
      const proto = Object.getPrototypeOf(probe) as fs.FileHandle
      await probe.close()
      const failure = Object.assign(new Error('ENOSPC: no space left on device'), {
        code: 'ENOSPC',
      })
      const spy = vi.spyOn(proto, step).mockRejectedValue(failure)
      try {
        await expect(writeFileAtomic(file, 'new')).rejects.toThrow('ENOSPC')
      } finally {
        spy.mockRestore()
      }
      expect(await fs.readdir(dir)).toEqual(['settings.json'])
      expect(await fs.readFile(file, 'utf8')).toBe('old')
    },
  )
})
