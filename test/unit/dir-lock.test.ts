// The data directory's lock file under many starts at once (main/engine/dir-lock.ts).
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { acquireDirLock, releaseDirLock } from '../../main/engine/dir-lock.ts'
import { deadPid, useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('acquireDirLock', () => {
  it.each([
    ['no lock file', async () => null],
    ['a stale lock file', async () => String(await deadPid())],
    ['an empty lock file', async () => ''],
  ])('of 20 starts at once with %s, exactly one gets the lock', async (_l, content) => {
    const dir = await fx.tmpDir()
    const lock = path.join(dir, 'spare.lock')
    const c = await content()
    for (let round = 0; round < 5; round++) {
      if (c !== null) await fs.writeFile(lock, c)
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => acquireDirLock(lock, dir)),
      )
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      expect(await fs.readFile(lock, 'utf8')).toBe(String(process.pid))
      // Nothing but the lock is left behind.
      expect(await fs.readdir(dir)).toEqual(['spare.lock'])
      await releaseDirLock(lock)
      expect(await fs.readdir(dir)).toEqual([])
    }
  })

  it('release leaves a lock that another process holds', async () => {
    const dir = await fx.tmpDir()
    const lock = path.join(dir, 'spare.lock')
    await fs.writeFile(lock, '1')
    await releaseDirLock(lock)
    expect(await fs.readFile(lock, 'utf8')).toBe('1')
  })
})

describe('a damaged lock file', () => {
  it('a directory in its place: refused, naming the file', async () => {
    const dir = await fx.tmpDir()
    const lock = path.join(dir, 'spare.lock')
    await fs.mkdir(lock)
    await expect(acquireDirLock(lock, dir)).rejects.toThrow(`the lock file ${lock} cannot be read`)
    expect((await fs.stat(lock)).isDirectory()).toBe(true)
  })

  it('a symlink to nothing is stale: taken over', async () => {
    const dir = await fx.tmpDir()
    const lock = path.join(dir, 'spare.lock')
    await fs.symlink(path.join(dir, 'gone'), lock)
    await acquireDirLock(lock, dir)
    expect(await fs.readFile(lock, 'utf8')).toBe(String(process.pid))
    expect((await fs.lstat(lock)).isFile()).toBe(true)
    await releaseDirLock(lock)
  })
})
