// A published folder's reader keeps a conflict copy only of what its user changed, never of the
// owner's own content. Two real nodes on a local testnet.
// - Restart: the reader renamed the owner's new version into place and was killed before its
//   index was saved (it is saved every few seconds). Simulated with a clean stop (index saved
//   with the old version) and the new version then put in place as the reader would have: same
//   content, size and mtime as the owner's entry. The next start must adopt it.
// - The owner turns file y into folder y/: the reader's unedited copy of y is the owner's old
//   file, not the user's, and is removed; an edited copy is kept.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { publishTo, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')
const conflicts = async (dir: string): Promise<string[]> =>
  (await fs.readdir(dir)).filter((n) => n.includes('sync-conflict'))

interface Pair {
  network: string
  aDir: string
  bDir: string
  bData: string
  b: SpareNode
}

async function pair(): Promise<Pair> {
  const network = await fx.testnet()
  const dir = await fx.tmpDir('spare-spurious-')
  const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
  await fs.mkdir(aDir)
  await fs.writeFile(path.join(aDir, 'f.txt'), 'version one\n')
  await fs.writeFile(path.join(aDir, 'y'), 'file y\n')
  const a = await fx.readyNode({ network })
  const bData = path.join(await fx.tmpDir('spare-spurious-data-'), 'data')
  const b = await fx.readyNode({ network, dataDir: bData })
  await publishTo(a, b, aDir, bDir)
  await waitFor(
    async () =>
      (await read(path.join(bDir, 'f.txt'))) === 'version one\n' &&
      (await read(path.join(bDir, 'y'))) === 'file y\n',
    30_000,
    'first sync',
  )
  return { network, aDir, bDir, bData, b }
}

async function summary(node: SpareNode): Promise<FolderSummary> {
  const [f] = (await new SpareService(node).call('folders.list', {})) as FolderSummary[]
  return f!
}

/** The owner turns file y into folder y/ holding z. */
async function fileToFolder(aDir: string): Promise<void> {
  await fs.rm(path.join(aDir, 'y'))
  await fs.mkdir(path.join(aDir, 'y'))
  await fs.writeFile(path.join(aDir, 'y', 'z'), 'z\n')
}

describe('a published folder reader', () => {
  it('adopts after a restart the owner version it placed before its index was saved', async () => {
    const { network, aDir, bDir, bData, b } = await pair()
    await b.close() // index saved with version one
    const two = 'version two, longer\n'
    await fs.writeFile(path.join(aDir, 'f.txt'), two)
    // What the reader had placed when it was killed: the owner's bytes and mtime (whole ms).
    const st = await fs.lstat(path.join(aDir, 'f.txt'))
    await fs.writeFile(path.join(bDir, 'f.txt'), two)
    const t = new Date(Math.floor(st.mtimeMs))
    await fs.utimes(path.join(bDir, 'f.txt'), t, t)
    await fs.writeFile(path.join(aDir, 'later.txt'), 'later\n')
    // The owner's scan must have recorded the new version before the reader comes back.
    await new Promise((r) => setTimeout(r, 1500))
    const b2 = await fx.readyNode({ network, dataDir: bData })
    await waitFor(
      async () => (await read(path.join(bDir, 'later.txt'))) === 'later\n',
      30_000,
      'second sync',
    )
    expect(await read(path.join(bDir, 'f.txt'))).toBe(two)
    expect(await conflicts(bDir)).toEqual([])
    await new Promise((r) => setTimeout(r, 1000)) // local changes are classified after a debounce
    expect((await summary(b2)).localChanges).toEqual([])
  }, 60_000)

  it('removes its unedited copy of a file the owner turned into a folder', async () => {
    const { aDir, bDir, b } = await pair()
    await fileToFolder(aDir)
    await waitFor(async () => (await read(path.join(bDir, 'y', 'z'))) === 'z\n', 30_000, 'y/z at B')
    expect(await conflicts(bDir)).toEqual([])
    await new Promise((r) => setTimeout(r, 1000))
    expect((await summary(b)).localChanges).toEqual([])
  }, 60_000)

  it('keeps its user’s edit of a file the owner turned into a folder', async () => {
    const { aDir, bDir, b } = await pair()
    await fs.writeFile(path.join(bDir, 'y'), 'the reader’s edit of y\n')
    await waitFor(
      async () => (await summary(b)).localChanges.some((c) => c.path === '/y'),
      10_000,
      'the edit reported',
    )
    await fileToFolder(aDir)
    await waitFor(async () => (await read(path.join(bDir, 'y', 'z'))) === 'z\n', 30_000, 'y/z at B')
    const copies = await conflicts(bDir)
    expect(copies).toHaveLength(1)
    expect(copies[0]).toMatch(/^y\.sync-conflict-\d{8}-\d{6}-local$/)
    expect(await read(path.join(bDir, copies[0]!))).toBe('the reader’s edit of y\n')
  }, 60_000)
})
