// A published folder's file changed without its size or mtime changing: on a filesystem whose
// clock ticks coarsely (HFS+ and FAT: 1-2 s; ext4: a few ms) a save within the same tick as the
// version the owner imported keeps both. The owner must still publish it, and a reader must
// write it, not take its copy of the old version (same size and mtime) for the new one.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hyperdrive from 'hyperdrive'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { publishTo, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

function ownerOf(node: SpareNode): { drive: Hyperdrive | null; state: string } {
  const folders = (
    node as unknown as { folders: Map<string, { drive: Hyperdrive | null; state: string }> }
  ).folders
  const folder = [...folders.values()][0]
  if (!folder?.drive) throw new Error('no drive open')
  return folder
}

describe('a published folder', () => {
  it('publishes and mirrors a change that kept the size and mtime', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-same-mtime-')
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    await fs.mkdir(aDir)
    const file = path.join(aDir, 'f.txt')
    await fs.writeFile(file, 'version one\n')
    // A clock of whole seconds, as on HFS+.
    const t = new Date(Math.floor(Date.now() / 1000) * 1000)
    await fs.utimes(file, t, t)
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network })
    await publishTo(a, b, aDir, bDir)
    await waitFor(
      async () => (await read(path.join(bDir, 'f.txt'))) === 'version one\n',
      30_000,
      'first sync',
    )
    // Saved again within the same tick of the clock: same size, same mtime.
    await fs.writeFile(file, 'version two\n')
    await fs.utimes(file, t, t)
    expect((await fs.lstat(file)).mtimeMs).toBe(t.getTime())
    await waitFor(
      async () => (await read(path.join(bDir, 'f.txt'))) === 'version two\n',
      15_000,
      'the second version on the reader',
    )
  }, 60_000)

  it('does not publish again a file of which only the ctime moved', async () => {
    const dir = await fx.tmpDir('spare-same-ctime-')
    const file = path.join(dir, 'f.txt')
    await fs.writeFile(file, 'content\n')
    const a = await fx.readyNode()
    await new SpareService(a).call('folders.share', { path: dir, mode: 'publish' })
    const owner = ownerOf(a)
    await waitFor(
      async () => (await owner.drive!.entry('/f.txt')) !== null && owner.state === 'idle',
      10_000,
      'the first import',
    )
    const version = owner.drive!.version
    // A chmod to the same mode moves the ctime only (as an extended attribute would).
    await new Promise((r) => setTimeout(r, 20))
    const { mode, ctimeMs } = await fs.lstat(file)
    await fs.chmod(file, mode)
    expect((await fs.lstat(file)).ctimeMs).not.toBe(ctimeMs)
    await new Promise((r) => setTimeout(r, 1000))
    await waitFor(() => owner.state === 'idle', 5000, 'the owner to settle')
    expect(owner.drive!.version).toBe(version)
  }, 30_000)

  it('publishes a big file rewritten within the tick of its mtime, not one whose ctime moves later', async () => {
    // Over 1 MiB, the ctime was never looked at (an attribute macOS sets on opening a file would
    // have the whole file read and published again): a rewrite keeping the size and the mtime
    // was missed. It counts now within a coarse clock's tick (2 s) of the published mtime, where
    // only such a write can have left the mtime as it was.
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-same-mtime-big-')
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    await fs.mkdir(aDir)
    const file = path.join(aDir, 'big.bin')
    const size = 2 * 1024 * 1024
    await fs.writeFile(file, Buffer.alloc(size, 'A'))
    // The mtime of a tick a few seconds ahead: the rewrite is made within it.
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000)
    await fs.utimes(file, t, t)
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network })
    await publishTo(a, b, aDir, bDir)
    const copy = path.join(bDir, 'big.bin')
    const holds = async (letter: string): Promise<boolean> =>
      (await fs.readFile(copy).catch(() => Buffer.alloc(0))).equals(Buffer.alloc(size, letter))
    await waitFor(() => holds('A'), 30_000, 'first sync')
    const owner = ownerOf(a)
    await waitFor(() => owner.state === 'idle', 10_000, 'the owner to settle')
    await new Promise((r) => setTimeout(r, Math.max(0, t.getTime() - Date.now())))
    // Rewritten in place within the tick: same size, same mtime.
    await fs.writeFile(file, Buffer.alloc(size, 'B'))
    await fs.utimes(file, t, t)
    const { ctimeMs } = await fs.lstat(file)
    expect(ctimeMs - t.getTime()).toBeLessThan(2000) // (the test's own premise)
    await waitFor(() => holds('B'), 15_000, 'the rewrite on the reader')

    // Its ctime moved long after its mtime (an attribute set, here a chmod to the same mode):
    // not read and published again.
    await waitFor(() => owner.state === 'idle', 10_000, 'the owner to settle')
    await new Promise((r) => setTimeout(r, Math.max(0, t.getTime() + 2100 - Date.now())))
    const version = owner.drive!.version
    await fs.chmod(file, (await fs.lstat(file)).mode)
    await new Promise((r) => setTimeout(r, 1500))
    await waitFor(() => owner.state === 'idle', 5000, 'the owner to settle')
    expect(owner.drive!.version).toBe(version)
  }, 60_000)
})
