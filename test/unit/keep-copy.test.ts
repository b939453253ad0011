// keepCopy: how a local edit becomes a conflict copy while it still stands at its path. The copy
// keeps its content when the original is replaced by a rename, a symlink is copied as a link
// (never followed, even when it dangles or points outside), and nothing already at the copy's
// name is ever replaced. Real files under a temp folder.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { keepCopy } from '../../main/engine/util/keep-copy.ts'
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
