// readBlocks: how the owner reads a big file for import. It reads 16 blocks at a time with the
// next read in flight, and hands out 256 KiB blocks; the blocks must be the file, byte for byte,
// every one full but the last, however the file's size falls against the reads.
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHUNK, readBlocks } from '../../main/engine/folders/owner.ts'

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spare-read-blocks-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

async function blocksOf(file: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const b of readBlocks(file)) out.push(Buffer.from(b))
  return out
}

describe('readBlocks', () => {
  const READ = 16 * CHUNK
  const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, READ - 1, READ, READ + 1, 2 * READ + 12345]
  for (const size of sizes) {
    it(`gives a file of ${size} bytes back whole, in full blocks but the last`, async () => {
      const file = path.join(dir, `f-${size}`)
      const data = randomBytes(size)
      await fs.writeFile(file, data)
      const blocks = await blocksOf(file)
      expect(Buffer.concat(blocks).equals(data)).toBe(true)
      expect(blocks.length).toBe(Math.ceil(size / CHUNK))
      for (const b of blocks.slice(0, -1)) expect(b.length).toBe(CHUNK)
      if (blocks.length) expect(blocks[blocks.length - 1]!.length).toBeGreaterThan(0)
    })
  }

  it('closes the file when the reader stops early, with a read still in flight', async () => {
    const file = path.join(dir, 'early')
    await fs.writeFile(file, randomBytes(3 * READ))
    const seen: Buffer[] = []
    for await (const b of readBlocks(file)) {
      seen.push(b)
      break
    }
    expect(seen[0]!.length).toBe(CHUNK)
    // The handle is closed: on Linux, no descriptor of this process still points at the file.
    if (process.platform === 'linux') {
      const fds = await fs.readdir('/proc/self/fd')
      const targets = await Promise.all(
        fds.map((fd) => fs.readlink(path.join('/proc/self/fd', fd)).catch(() => '')),
      )
      expect(targets).not.toContain(file)
    }
  })

  it('fails with the file system error for a missing file', async () => {
    await expect(blocksOf(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
