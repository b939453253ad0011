// streamFile: how the owner streams a big file into the content core. It reads 16 blocks at a
// time with the next read in flight, into two buffers that take turns, and writes 256 KiB blocks;
// what reaches the sink must be the file, byte for byte, every block full but the last, however
// the file's size falls against the reads, and however long the sink holds the blocks it is
// given before it stores them.
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHUNK, readFull, streamFile } from '../../main/engine/folders/owner.ts'

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spare-stream-file-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/**
 * A sink that behaves like hyperblobs' write stream: it keeps the blocks it is given, without
 * copying them, until it has 16, and calls back for the 16th only once they are "stored" (copied,
 * a few milliseconds later); the rest at once. A block overwritten while it is held shows up in
 * `stored`.
 */
function heldSink(opts: { highWaterMark?: number; failAfter?: number } = {}): {
  sink: Writable
  stored: Buffer[]
} {
  const stored: Buffer[] = []
  let held: Buffer[] = []
  let seen = 0
  const store = (): void => {
    for (const b of held) stored.push(Buffer.from(b))
    held = []
  }
  const sink = new Writable({
    highWaterMark: opts.highWaterMark,
    write(block: Buffer, _enc, cb) {
      seen++
      if (opts.failAfter !== undefined && seen > opts.failAfter) {
        cb(new Error('store failed'))
        return
      }
      held.push(block)
      if (held.length < 16) return cb()
      setTimeout(() => {
        store()
        cb()
      }, 3)
    },
    final(cb) {
      setTimeout(() => {
        store()
        cb()
      }, 3)
    },
  })
  return { sink, stored }
}

async function descriptorsOn(file: string): Promise<boolean> {
  if (process.platform !== 'linux') return false
  const fds = await fs.readdir('/proc/self/fd')
  const targets = await Promise.all(
    fds.map((fd) => fs.readlink(path.join('/proc/self/fd', fd)).catch(() => '')),
  )
  return targets.includes(file)
}

describe('streamFile', () => {
  const READ = 16 * CHUNK
  const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, READ - 1, READ, READ + 1, 5 * READ + 12345]
  for (const size of sizes) {
    it(`gives a file of ${size} bytes whole, in full blocks but the last`, async () => {
      const file = path.join(dir, `f-${size}`)
      const data = randomBytes(size)
      await fs.writeFile(file, data)
      const { sink, stored } = heldSink()
      await streamFile(file, sink)
      expect(Buffer.concat(stored).equals(data)).toBe(true)
      expect(stored.length).toBe(Math.ceil(size / CHUNK))
      for (const b of stored.slice(0, -1)) expect(b.length).toBe(CHUNK)
      if (stored.length) expect(stored[stored.length - 1]!.length).toBeGreaterThan(0)
      expect(sink.writableFinished).toBe(true)
    })
  }

  it('does not read into blocks a sink still holds when its writes never wait', async () => {
    // A high-water mark above the file: no write returns false, so streamFile never learns when
    // the blocks are stored, and must not read into their buffer again.
    const file = path.join(dir, 'no-wait')
    const data = randomBytes(4 * READ + 777)
    await fs.writeFile(file, data)
    const { sink, stored } = heldSink({ highWaterMark: 64 * READ })
    await streamFile(file, sink)
    expect(Buffer.concat(stored).equals(data)).toBe(true)
  })

  it('stops reading, destroys the sink and closes the file when the file changes', async () => {
    const file = path.join(dir, 'changed')
    await fs.writeFile(file, randomBytes(4 * READ))
    const { sink, stored } = heldSink()
    let asked = 0
    await expect(streamFile(file, sink, async () => ++asked < 2)).rejects.toThrow(
      /changed while read/,
    )
    expect(asked).toBe(2)
    expect(sink.destroyed).toBe(true)
    expect(stored.length).toBeLessThanOrEqual(16)
    expect(await descriptorsOn(file)).toBe(false)
  })

  it('fails with the sink, closing the file, when the sink fails', async () => {
    const file = path.join(dir, 'sink-fails')
    await fs.writeFile(file, randomBytes(4 * READ))
    const { sink } = heldSink({ failAfter: 20 })
    await expect(streamFile(file, sink)).rejects.toThrow(/store failed/)
    expect(await descriptorsOn(file)).toBe(false)
  })

  it('fails with the file system error for a missing file, and destroys the sink', async () => {
    const { sink } = heldSink()
    await expect(streamFile(path.join(dir, 'missing'), sink)).rejects.toMatchObject({
      code: 'ENOENT',
    })
    expect(sink.destroyed).toBe(true)
  })
})

describe('readFull', () => {
  /** A file of `src` whose reads return at most `most` bytes each, as network file systems may. */
  function shortReads(src: Buffer, dst: Buffer, most: number) {
    let pos = 0
    return async (at: number, length: number): Promise<number> => {
      const n = Math.min(length, most, src.length - pos)
      src.copy(dst, at, pos, pos + n)
      pos += n
      return n
    }
  }

  it('reads on until the length is in when reads come back short', async () => {
    const src = randomBytes(10_000)
    const dst = Buffer.alloc(8192)
    expect(await readFull(shortReads(src, dst, 1000), 8192)).toBe(8192)
    expect(dst.equals(src.subarray(0, 8192))).toBe(true)
  })

  it('stops at the end of the file', async () => {
    const src = randomBytes(2500)
    const dst = Buffer.alloc(8192)
    expect(await readFull(shortReads(src, dst, 1000), 8192)).toBe(2500)
    expect(dst.subarray(0, 2500).equals(src)).toBe(true)
  })
})
