// BlobWriter on a real Hypercore in a temp Corestore: the locations it hands out stay true when
// an append fails (a full disk), and a chunk is never queued twice by the retry that follows.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { BlobWriter, BLOCK_SIZE, type ChunkLocation } from '../../../main/engine/sync/blobs.ts'
import { useFixtures } from '../../helpers/unit-fixtures.ts'

const fx = useFixtures()

async function read(core: Hypercore, loc: ChunkLocation): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let i = 0; i < loc.blocks; i++) parts.push((await core.get(loc.block + i)) as Buffer)
  return Buffer.concat(parts)
}

describe('BlobWriter', () => {
  it('keeps its locations true through a failed append, and queues nothing twice', async () => {
    const store = new Corestore(await fx.tmpDir('spare-blobs-'))
    fx.defer(() => store.close())
    const core = store.get({ name: 'blobs' })
    await core.ready()
    const writer = new BlobWriter(core, core.key!.toString('hex'))
    const realAppend = core.append.bind(core)
    let full = true
    core.append = (async (...args: Parameters<typeof realAppend>) => {
      if (full)
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
      return realAppend(...args)
    }) as typeof core.append

    const a = randomBytes(9 * 1024 * 1024) // past the flush size: the next put flushes first
    const b = randomBytes(300 * 1024)
    const at = await writer.put(a)
    // The flush before b fails: b is not queued, and the caller will try it again.
    await expect(writer.put(b)).rejects.toThrow(/ENOSPC/)
    await expect(writer.put(b)).rejects.toThrow(/ENOSPC/)
    await expect(writer.flush()).rejects.toThrow(/ENOSPC/)
    expect(core.length).toBe(0)

    full = false // room again
    const bt = await writer.put(b)
    await writer.flush()
    expect(bt.block).toBe(at.block + at.blocks) // right after a: b was queued once
    expect(core.length).toBe(Math.ceil(a.length / BLOCK_SIZE) + Math.ceil(b.length / BLOCK_SIZE))
    expect((await read(core, at)).equals(a)).toBe(true)
    expect((await read(core, bt)).equals(b)).toBe(true)
  })

  it('copies a chunk it is given, and keeps one handed over as it is', async () => {
    // A scan reads a big file through one buffer, chunk after chunk: each put must copy. A small
    // file read for itself alone is handed over, and queued without a copy.
    const store = new Corestore(await fx.tmpDir('spare-blobs-'))
    fx.defer(() => store.close())
    const core = store.get({ name: 'blobs' })
    await core.ready()
    const writer = new BlobWriter(core, core.key!.toString('hex'))
    const reused = Buffer.alloc(300 * 1024, 1) // two blocks
    const first = await writer.put(reused)
    reused.fill(2) // the next chunk read into the same buffer
    const second = await writer.put(reused)
    const small = Buffer.alloc(4096, 3)
    const handed = await writer.put(small.subarray(0, 4000), true)
    small.fill(4) // never done by a caller that hands a buffer over: shows it was not copied
    await writer.flush()
    expect((await read(core, first)).equals(Buffer.alloc(300 * 1024, 1))).toBe(true)
    expect((await read(core, second)).equals(Buffer.alloc(300 * 1024, 2))).toBe(true)
    expect(handed.size).toBe(4000)
    expect((await read(core, handed)).equals(Buffer.alloc(4000, 4))).toBe(true)
  })
})
