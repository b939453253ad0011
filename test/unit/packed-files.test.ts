// Small files of a published folder share blocks ("packs", folders/owner.ts): two real nodes on a
// local testnet, an owner with files on both sides of the packing limit, a reader that must
// mirror every one byte for byte, and the owner's drive, which must hold far fewer blocks than
// files. Then a change to one packed file, and a deletion, must reach the reader too.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hyperdrive from 'hyperdrive'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface Shared {
  invite: string
  folder: { id: string }
}

async function tree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  async function walk(dir: string): Promise<void> {
    for (const d of await fs.readdir(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name)
      if (d.isDirectory()) await walk(abs)
      else out.set(path.relative(root, abs), (await fs.readFile(abs)).toString('hex'))
    }
  }
  await walk(root)
  return out
}

async function sameTree(a: string, b: string): Promise<boolean> {
  // A file listed and then deleted by the reader before it is read: not the same yet, look again.
  const gone = (err: NodeJS.ErrnoException): null => {
    if (err.code === 'ENOENT') return null
    throw err
  }
  const [ta, tb] = [await tree(a).catch(gone), await tree(b).catch(gone)]
  if (!ta || !tb) return false
  if (ta.size !== tb.size) return false
  for (const [k, v] of ta) if (tb.get(k) !== v) return false
  return true
}

/** The owner's open drive (private to the node: this test looks inside). */
function ownerDrive(node: SpareNode, id: string): Hyperdrive {
  const folders = (node as unknown as { folders: Map<string, { drive: Hyperdrive | null }> })
    .folders
  const drive = folders.get(id)?.drive
  if (!drive) throw new Error('the owner has no drive open')
  return drive
}

describe('packed small files', () => {
  it('mirrors files that share blocks byte for byte, and their changes', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-packed-')
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    // Sizes around the limits: empty, tiny, exactly 16 KiB (packed), one byte more (not), and
    // enough small ones to fill several packs of 64 KiB.
    const sizes = [0, 1, 7, 16 * 1024, 16 * 1024 + 1, 64 * 1024, 100_000]
    for (let i = 0; i < 200; i++) sizes.push(1 + ((i * 977) % 9000))
    for (const [i, size] of sizes.entries()) {
      const sub = path.join(aDir, `d${i % 7}`)
      await fs.mkdir(sub, { recursive: true })
      await fs.writeFile(path.join(sub, `f${i}.bin`), randomBytes(size))
    }
    const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
    const shared = (await new SpareService(a).call('folders.share', {
      path: aDir,
      mode: 'publish',
    })) as Shared
    const bs = new SpareService(b)
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    await waitFor(() => sameTree(aDir, bDir), 40_000, 'the reader to mirror every file').catch(
      async (err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(await bs.call('folders.list', {}))}`)
      },
    )

    const drive = ownerDrive(a, shared.folder.id)
    let packed = 0
    let files = 0
    for await (const e of drive.list('/', { recursive: true })) {
      const meta = e.value.metadata as { kind: string; packed?: number }
      if (meta.kind !== 'file') continue
      files++
      if (meta.packed !== undefined) packed++
    }
    const blobs = await drive.getBlobs()
    // Files of 1 byte to 16 KiB share blocks; the empty one and the bigger ones do not.
    expect(files).toBe(sizes.length)
    expect(packed).toBe(sizes.filter((s) => s > 0 && s <= 16 * 1024).length)
    expect(blobs.core.length).toBeLessThan(40)

    // A packed file changes, another is deleted, a new small one appears: all reach the reader.
    await fs.writeFile(path.join(aDir, 'd1', 'f1.bin'), 'changed\n')
    await fs.rm(path.join(aDir, 'd2', 'f2.bin'))
    await fs.writeFile(path.join(aDir, 'new.txt'), 'new\n')
    await waitFor(() => sameTree(aDir, bDir), 30_000, 'the changes to reach the reader').catch(
      async (err: Error) => {
        const [ta, tb] = [await tree(aDir), await tree(bDir)]
        const diff = [...new Set([...ta.keys(), ...tb.keys()])].filter(
          (k) => ta.get(k) !== tb.get(k),
        )
        throw new Error(
          `${err.message}: differ ${JSON.stringify(diff)} ${JSON.stringify(await bs.call('folders.list', {}))}`,
        )
      },
    )
    expect(await fs.readFile(path.join(bDir, 'd1', 'f1.bin'), 'utf8')).toBe('changed\n')
  }, 120_000)
})
