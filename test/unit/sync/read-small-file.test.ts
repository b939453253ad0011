// readSmallFile: a file of one chunk read whole against the size its lstat gave, with real files.
import { afterAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readSmallFile } from '../../../main/engine/sync/sync-folder.ts'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
})

async function file(content: Buffer): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spare-small-'))
  dirs.push(dir)
  const f = path.join(dir, 'f.bin')
  await fs.writeFile(f, content)
  return f
}

describe('readSmallFile', () => {
  it('gives the content of a file that holds the size expected', async () => {
    const content = randomBytes(4096)
    expect((await readSmallFile(await file(content), 4096))?.equals(content)).toBe(true)
    const empty = await readSmallFile(await file(Buffer.alloc(0)), 0)
    expect(empty?.length).toBe(0)
  })

  it('gives null for a file that grew past it (read again later)', async () => {
    const f = await file(randomBytes(4097))
    expect(await readSmallFile(f, 4096)).toBeNull()
    expect(await readSmallFile(f, 0)).toBeNull()
  })

  it('fails with ECHANGED for a file that shrank under it', async () => {
    const f = await file(randomBytes(100))
    await expect(readSmallFile(f, 4096)).rejects.toMatchObject({ code: 'ECHANGED' })
  })

  it('fails with the system error for a path that is gone or not a file, and leaves no descriptor open', async () => {
    const fds = async (): Promise<number> => (await fs.readdir('/proc/self/fd')).length
    const dir = path.dirname(await file(Buffer.from('x')))
    const before = await fds()
    await expect(readSmallFile(path.join(dir, 'gone.bin'), 10)).rejects.toMatchObject({
      code: 'ENOENT',
    })
    await expect(readSmallFile(dir, 10)).rejects.toMatchObject({ code: 'EISDIR' })
    expect(await fds()).toBe(before)
  })
})
