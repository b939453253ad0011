import { describe, expect, it, vi } from 'vitest'
import { promises as fs, appendFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import {
  chunkSizeFor,
  digestBuffer,
  digestFile,
  type FileDigest,
} from '../../../main/engine/sync/chunks.ts'
import { useFixtures } from '../../helpers/unit-fixtures.ts'

const fx = useFixtures()

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** Deterministic, incompressible-looking content. */
function content(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buf[i] = x & 0xff
  }
  return buf
}

/** The digest computed straight from its definition, with another BLAKE2b binding. */
function reference(buf: Buffer): FileDigest {
  const chunkSize = chunkSizeFor(buf.length)
  const raw: Buffer[] = []
  for (let pos = 0; pos < buf.length; pos += chunkSize) {
    raw.push(crypto.hash(buf.subarray(pos, pos + chunkSize)))
  }
  const size = Buffer.alloc(8)
  size.writeBigUInt64LE(BigInt(buf.length))
  return {
    hash: crypto.hash([...raw, size]).toString('hex'),
    size: buf.length,
    chunkSize,
    chunks: raw.map((h, i) => ({
      hash: h.toString('hex'),
      size: Math.min(chunkSize, buf.length - i * chunkSize),
    })),
  }
}

/**
 * A signal that runs `fn` when digestFile checks it before reading chunk `index` (it checks once
 * before opening the file, then before each chunk): a way to act at a known point of the read.
 */
function atChunk(
  index: number,
  fn: () => void,
  signal = new AbortController().signal,
): AbortSignal {
  const check = signal.throwIfAborted.bind(signal)
  let calls = 0
  vi.spyOn(signal, 'throwIfAborted').mockImplementation(() => {
    if (calls++ === index + 1) fn()
    check()
  })
  return signal
}

async function writeTemp(buf: Buffer, name = 'f.bin'): Promise<string> {
  const file = path.join(await fx.tmpDir(), name)
  await fs.writeFile(file, buf)
  return file
}

describe('chunkSizeFor', () => {
  it.each([
    [0, 128 * KiB],
    [1, 128 * KiB],
    [25_000_000, 128 * KiB],
    [2000 * 128 * KiB, 128 * KiB],
    [2000 * 128 * KiB + 1, 256 * KiB],
    [500 * MiB, 256 * KiB],
    [500 * MiB + 1, 512 * KiB],
    [1000 * MiB, 512 * KiB],
    [GiB, MiB],
    [2000 * MiB, MiB],
    [2000 * MiB + 1, 2 * MiB],
    [10 * GiB, 8 * MiB],
    [2000 * 16 * MiB, 16 * MiB],
    [100 * GiB, 16 * MiB],
    [4 * 1024 * GiB, 16 * MiB],
  ])('a %d-byte file gets %d-byte chunks', (size, expected) => {
    expect(chunkSizeFor(size)).toBe(expected)
  })

  it('is a power of two that keeps the file at 2000 chunks or fewer below the cap', () => {
    for (let size = 1; size < 64 * GiB; size = Math.ceil(size * 1.37)) {
      const c = chunkSizeFor(size)
      expect(Math.log2(c) % 1).toBe(0)
      if (c < 16 * MiB) expect(Math.ceil(size / c)).toBeLessThanOrEqual(2000)
      if (c > 128 * KiB) expect(Math.ceil(size / (c / 2))).toBeGreaterThan(2000)
    }
  })

  it.each([-1, 1.5, NaN, Infinity])('refuses the size %d', (size) => {
    expect(() => chunkSizeFor(size)).toThrow(RangeError)
  })
})

describe('digestFile and digestBuffer', () => {
  it('gives an empty file no chunks and a well-defined hash', async () => {
    const d = await digestFile(await writeTemp(Buffer.alloc(0)))
    expect(d).toEqual(reference(Buffer.alloc(0)))
    expect(d.chunks).toEqual([])
    expect(d.size).toBe(0)
    expect(d.chunkSize).toBe(128 * KiB)
    expect(d.hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('digests a 1-byte file as one chunk', async () => {
    const buf = Buffer.from([0x61])
    const d = await digestFile(await writeTemp(buf))
    expect(d).toEqual(reference(buf))
    expect(d.chunks).toEqual([{ hash: crypto.hash(buf).toString('hex'), size: 1 }])
    expect(d.hash).not.toBe(digestBuffer(Buffer.alloc(0)).hash)
  })

  it('digests exactly one full chunk', async () => {
    const buf = content(128 * KiB)
    const d = await digestFile(await writeTemp(buf))
    expect(d.chunks.map((c) => c.size)).toEqual([128 * KiB])
    expect(d).toEqual(reference(buf))
  })

  it('starts a second chunk one byte past the boundary', async () => {
    const buf = content(128 * KiB + 1)
    const d = await digestFile(await writeTemp(buf))
    expect(d.chunks.map((c) => c.size)).toEqual([128 * KiB, 1])
    expect(d).toEqual(reference(buf))
  })

  it('changing one byte of a 3 MB file changes exactly one chunk hash', async () => {
    const a = content(3_000_000, 7)
    const b = Buffer.from(a)
    b[1_500_000] = b[1_500_000]! ^ 0xff
    const da = await digestFile(await writeTemp(a, 'a.bin'))
    const db = await digestFile(await writeTemp(b, 'b.bin'))
    expect(da.chunks).toHaveLength(Math.ceil(3_000_000 / (128 * KiB)))
    const changed = da.chunks.flatMap((c, i) => (c.hash === db.chunks[i]!.hash ? [] : [i]))
    expect(changed).toEqual([Math.floor(1_500_000 / (128 * KiB))])
    expect(da.hash).not.toBe(db.hash)
    expect(da).toEqual(reference(a))
    expect(db).toEqual(reference(b))
  })

  it('tells apart contents whose chunks are equal but sizes differ', () => {
    // One zero byte vs two: different chunks and sizes, so different hashes.
    expect(digestBuffer(Buffer.alloc(1)).hash).not.toBe(digestBuffer(Buffer.alloc(2)).hash)
    expect(digestBuffer(Buffer.from('ab')).hash).toBe(digestBuffer(Buffer.from('ab')).hash)
  })

  it.each([0, 1, 1000, 128 * KiB - 1, 128 * KiB, 256 * KiB + 17, 5 * MiB + 3])(
    'digestBuffer equals digestFile for %d bytes',
    async (size) => {
      const buf = content(size, size + 3)
      const fromFile = await digestFile(await writeTemp(buf))
      expect(digestBuffer(buf)).toEqual(fromFile)
      expect(fromFile).toEqual(reference(buf))
    },
  )

  it('digests a file with bigger chunks than the minimum', async () => {
    // Past 2000 * 128 KiB the chunks are 256 KiB: the last one is partial.
    const buf = content(2000 * 128 * KiB + 5)
    const d = await digestFile(await writeTemp(buf))
    expect(d.chunkSize).toBe(256 * KiB)
    expect(d.chunks).toHaveLength(1001)
    expect(d.chunks.at(-1)!.size).toBe(5)
    expect(d).toEqual(digestBuffer(buf))
    expect(d).toEqual(reference(buf))
  })

  it('rejects with ECHANGED when the file grows while it is read', async () => {
    const file = await writeTemp(content(MiB))
    const signal = atChunk(2, () => appendFileSync(file, 'more'))
    await expect(digestFile(file, { signal })).rejects.toMatchObject({ code: 'ECHANGED' })
  })

  it('rejects with ECHANGED when the file shrinks while it is read', async () => {
    const file = await writeTemp(content(MiB))
    const signal = atChunk(2, () => truncateSync(file, 1000))
    await expect(digestFile(file, { signal })).rejects.toMatchObject({ code: 'ECHANGED' })
  })

  it('rejects with ECHANGED when the file is rewritten in place while it is read', async () => {
    const file = await writeTemp(content(MiB))
    const signal = atChunk(2, () => {
      writeFileSync(file, content(MiB, 99))
      // A later modification time, even where timestamps are coarse.
      const later = new Date(Date.now() + 5000)
      utimesSync(file, later, later)
    })
    await expect(digestFile(file, { signal })).rejects.toMatchObject({ code: 'ECHANGED' })
  })

  it('rejects with the abort reason', async () => {
    const file = await writeTemp(content(1000))
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    await expect(digestFile(file, { signal: controller.signal })).rejects.toThrow('stop')
  })

  it('stops between chunks when aborted mid-way', async () => {
    const file = await writeTemp(content(MiB))
    const controller = new AbortController()
    const signal = atChunk(3, () => controller.abort(), controller.signal)
    await expect(digestFile(file, { signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect(signal.throwIfAborted).toHaveBeenCalledTimes(5) // before opening, then before chunks 0 to 3
  })

  it('rejects for a missing file and for a folder', async () => {
    const dir = await fx.tmpDir()
    await expect(digestFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(digestFile(dir)).rejects.toThrow(/not a regular file/)
  })
})
