// A big file the owner finds being written (a download, a recording, a log) is not published
// while it changes, and its reads meanwhile must not pile up in the folder's store: each torn
// read of a streamed file leaves its blocks in the blobs core for good.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hyperdrive from 'hyperdrive'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface OwnerInternals {
  drive: Hyperdrive | null
  state: string
}

function ownerOf(node: SpareNode, id: string): OwnerInternals {
  const folders = (node as unknown as { folders: Map<string, OwnerInternals> }).folders
  const folder = folders.get(id)
  if (!folder?.drive) throw new Error('the owner has no drive open')
  return folder
}

describe('the owner of a published folder', () => {
  it('does not store copy after copy of a big file while it is being written', async () => {
    const root = await fx.tmpDir('spare-growing-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    const node = await fx.readyNode()
    const res = (await new SpareService(node).call('folders.share', {
      path: dir,
      mode: 'publish',
    })) as { folder: { id: string } }
    const owner = ownerOf(node, res.folder.id)
    await waitFor(() => owner.state === 'idle', 10_000, 'the first scan')
    const blobs = await owner.drive!.getBlobs()
    const before = blobs.core.byteLength
    // Written for 3 s: 8 MiB at first, then 128 KiB every 25 ms.
    const file = path.join(dir, 'growing.bin')
    const fh = await fs.open(file, 'w')
    await fh.write(Buffer.alloc(8 * 1024 * 1024, 1))
    const chunk = Buffer.alloc(128 * 1024, 2)
    const until = Date.now() + 3000
    while (Date.now() < until) {
      await fh.write(chunk)
      await new Promise((r) => setTimeout(r, 25))
    }
    await fh.close()
    const size = (await fs.stat(file)).size
    await waitFor(
      async () => (await owner.drive!.entry('/growing.bin'))?.value.blob?.byteLength === size,
      30_000,
      'the whole file to be published',
    )
    const stored = blobs.core.byteLength - before
    // The published copy, and at most a few torn reads besides.
    expect(stored, `${stored} bytes stored for a file of ${size}`).toBeLessThan(3 * size)
  }, 60_000)
})
