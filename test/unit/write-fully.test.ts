// writeFully: a write that takes only part of what it was given (as one does when the disk fills
// up) is followed by more, until every byte is written or the device says it is full. A real
// file under a temp folder, through a real handle whose writes are cut short.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeFully, type Writable } from '../../main/engine/util/write-fully.ts'
import { isDiskFull } from '../../main/engine/folders/folder.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** `fh`, but each write takes at most `max` bytes; after `failAfter` writes, ENOSPC. */
function cutShort(fh: FileHandle, max: number, failAfter = Infinity): Writable & { calls: number } {
  const out = {
    calls: 0,
    write: (async (buf: Uint8Array, offset: number, length: number, position: number | null) => {
      if (++out.calls > failAfter) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        })
      }
      return fh.write(buf, offset, Math.min(length, max), position)
    }) as FileHandle['write'],
  }
  return out
}

describe('writeFully', () => {
  it('writes every byte when each write takes only part, where the handle is or at a position', async () => {
    const file = path.join(await fx.tmpDir('spare-write-'), 'f.bin')
    const data = randomBytes(10_007)
    const fh = await fs.open(file, 'w')
    try {
      const short = cutShort(fh, 1000)
      await writeFully(short, data, 0, 4000, null)
      await writeFully(short, data, 4000, data.length - 4000, null)
      expect(short.calls).toBe(11)
      // At a position: rewrite the middle from another buffer.
      const middle = randomBytes(2500)
      await writeFully(short, middle, 0, middle.length, 3000)
      data.set(middle, 3000)
    } finally {
      await fh.close()
    }
    expect((await fs.readFile(file)).equals(data)).toBe(true)
  })

  it('fails as a full disk when a later write fails, or when a write takes nothing', async () => {
    const file = path.join(await fx.tmpDir('spare-write-'), 'f.bin')
    const fh = await fs.open(file, 'w')
    try {
      const err = await writeFully(cutShort(fh, 1000, 2), randomBytes(5000), 0, 5000, null).then(
        () => null,
        (e: unknown) => e,
      )
      expect(isDiskFull(err)).toBe(true)
      const none: Writable = {
        write: (async () => ({
          bytesWritten: 0,
          buffer: Buffer.alloc(0),
        })) as unknown as FileHandle['write'],
      }
      const zero = await writeFully(none, randomBytes(10), 0, 10, null).then(
        () => null,
        (e: unknown) => e,
      )
      expect(isDiskFull(zero)).toBe(true)
      expect((zero as Error).message).toMatch(/no room/)
    } finally {
      await fh.close()
    }
    // What the first two writes took is there; nothing claims more.
    expect((await fs.stat(file)).size).toBe(2000)
  })
})
