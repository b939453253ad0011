// keepCopy and renameKeeping: how a local edit becomes a conflict copy while it still stands at
// its path. The copy keeps its content when the original is replaced by a rename, a symlink is
// copied as a link (never followed, even when it dangles or points outside), nothing already at
// the copy's name is ever replaced, a failed rename leaves no copy behind (a retry would make a
// second), and a disk with no hard links, or no right to make a link, still keeps the edit. Real
// files under a temp folder; the file system's refusals are made by spies on node:fs.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { keepCopy, renameKeeping } from '../../main/engine/util/keep-copy.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('keepCopy', () => {
  it('keeps the content and mtime of a file replaced by a rename', async () => {
    const dir = await fx.tmpDir('spare-keep-')
    const file = path.join(dir, 'a.txt')
    await fs.writeFile(file, 'mine\n')
    const mtime = new Date('2024-03-01T10:00:00Z')
    await fs.utimes(file, mtime, mtime)
    const copy = path.join(dir, 'a.copy.txt')
    await keepCopy(file, copy, await fs.lstat(file))
    await fs.writeFile(path.join(dir, 'tmp'), 'theirs\n')
    await fs.rename(path.join(dir, 'tmp'), file)
    expect(await fs.readFile(file, 'utf8')).toBe('theirs\n')
    expect(await fs.readFile(copy, 'utf8')).toBe('mine\n')
    expect((await fs.lstat(copy)).mtimeMs).toBe(mtime.getTime())
  })

  it('copies a symlink as a link, never what it points at', async () => {
    const dir = await fx.tmpDir('spare-keep-')
    const outside = path.join(await fx.tmpDir('spare-keep-out-'), 'secret.txt')
    await fs.writeFile(outside, 'not the folder’s\n')
    for (const [name, target] of [
      ['out', outside],
      ['dangling', 'nowhere/at/all'],
    ] as const) {
      const link = path.join(dir, name)
      await fs.symlink(target, link)
      const copy = path.join(dir, `${name}.copy`)
      await keepCopy(link, copy, await fs.lstat(link))
      expect((await fs.lstat(copy)).isSymbolicLink()).toBe(true)
      expect(await fs.readlink(copy)).toBe(target)
    }
    expect((await fs.lstat(outside)).nlink).toBe(1)
  })

  it('refuses with EEXIST, and changes nothing, when the name is taken', async () => {
    const dir = await fx.tmpDir('spare-keep-')
    const file = path.join(dir, 'a.txt')
    const link = path.join(dir, 'l')
    const taken = path.join(dir, 'taken')
    await fs.writeFile(file, 'mine\n')
    await fs.symlink('a.txt', link)
    await fs.writeFile(taken, 'already here\n')
    for (const src of [file, link]) {
      await expect(keepCopy(src, taken, await fs.lstat(src))).rejects.toMatchObject({
        code: 'EEXIST',
      })
    }
    expect(await fs.readFile(taken, 'utf8')).toBe('already here\n')
    expect(await fs.readFile(file, 'utf8')).toBe('mine\n')
  })
})

describe('renameKeeping', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** A folder with the user's `doc.txt` ('mine') and the new version at `tmp` ('theirs'). */
  async function setup(): Promise<{ dir: string; doc: string; tmp: string; names: string[] }> {
    const dir = await fx.tmpDir('spare-keep-')
    const doc = path.join(dir, 'doc.txt')
    const tmp = path.join(dir, '.tmp-new')
    await fs.writeFile(doc, 'mine\n')
    await fs.writeFile(tmp, 'theirs\n')
    const names = [1, 2, 3].map((i) => path.join(dir, `doc.copy-${i}.txt`))
    return { dir, doc, tmp, names }
  }
  const nameFor =
    (names: string[]) =>
    (i: number): string =>
      names[i - 1]!

  it('keeps the edit at the first free name and puts the new version in its place', async () => {
    const { dir, doc, tmp, names } = await setup()
    await fs.writeFile(names[0]!, 'taken\n')
    const kept = await renameKeeping(tmp, doc, await fs.lstat(doc), nameFor(names))
    expect(kept).toBe(names[1])
    expect(await fs.readFile(doc, 'utf8')).toBe('theirs\n')
    expect(await fs.readFile(names[1]!, 'utf8')).toBe('mine\n')
    expect(await fs.readFile(names[0]!, 'utf8')).toBe('taken\n')
    expect((await fs.readdir(dir)).sort()).toEqual(['doc.copy-1.txt', 'doc.copy-2.txt', 'doc.txt'])
  })

  it('removes its copy when the rename fails, so a retry keeps the edit once', async () => {
    const { dir, doc, tmp, names } = await setup()
    const real = fs.rename.bind(fs)
    let refused = 0
    vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      if (to === doc && refused++ === 0) {
        // What Windows says when another program holds the file open.
        throw Object.assign(new Error('EPERM: operation not permitted, rename'), { code: 'EPERM' })
      }
      return real(from, to)
    })
    await expect(renameKeeping(tmp, doc, await fs.lstat(doc), nameFor(names))).rejects.toThrow(
      /EPERM/,
    )
    expect((await fs.readdir(dir)).sort()).toEqual(['.tmp-new', 'doc.txt'])
    expect(await fs.readFile(doc, 'utf8')).toBe('mine\n')
    expect(await renameKeeping(tmp, doc, await fs.lstat(doc), nameFor(names))).toBe(names[0])
    expect((await fs.readdir(dir)).sort()).toEqual(['doc.copy-1.txt', 'doc.txt'])
    expect(await fs.readFile(names[0]!, 'utf8')).toBe('mine\n')
  })

  it('copies the file on a disk with no hard links', async () => {
    const { doc, tmp, names } = await setup()
    const mtime = new Date('2024-03-01T10:00:00Z')
    await fs.utimes(doc, mtime, mtime)
    // FAT and exFAT on Windows: libuv turns ERROR_INVALID_FUNCTION into EISDIR.
    const link = vi
      .spyOn(fs, 'link')
      .mockRejectedValue(Object.assign(new Error('EISDIR: link'), { code: 'EISDIR' }))
    expect(await renameKeeping(tmp, doc, await fs.lstat(doc), nameFor(names))).toBe(names[0])
    expect(link).toHaveBeenCalled()
    expect(await fs.readFile(doc, 'utf8')).toBe('theirs\n')
    const copy = await fs.lstat(names[0]!)
    expect(copy.nlink).toBe(1)
    expect(copy.mtimeMs).toBe(mtime.getTime())
    expect(await fs.readFile(names[0]!, 'utf8')).toBe('mine\n')
  })

  it('moves a link aside where no link may be made', async () => {
    const { dir, tmp, names } = await setup()
    const doc = path.join(dir, 'l')
    await fs.symlink('mine.txt', doc)
    vi.spyOn(fs, 'symlink').mockRejectedValue(
      Object.assign(new Error('EPERM: symlink'), { code: 'EPERM' }),
    )
    expect(await renameKeeping(tmp, doc, await fs.lstat(doc), nameFor(names))).toBe(names[0])
    expect(await fs.readlink(names[0]!)).toBe('mine.txt')
    expect(await fs.readFile(doc, 'utf8')).toBe('theirs\n')
  })
})
