// A crash seconds after a version from another device was placed (before the local index was
// saved: it is saved every 5 s) must not turn that version into this device's own edit. The
// start's scan used to find the placed version on disk, unlike the saved index, and record it
// again as a new edit of this device's: concurrent with whatever came after it, so a deletion
// made meanwhile elsewhere was undone on every device. Two real nodes on a local testnet; the
// crash is played back from its traces on disk (the index as saved before, the file as placed).
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

async function summary(s: SpareService): Promise<FolderSummary | undefined> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]
}

async function read(p: string): Promise<string | null> {
  return fs.readFile(p, 'utf8').catch(() => null)
}

describe('a crash right after placing a version', () => {
  it('does not bring back a file deleted after that version', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-crash-place-')
    const bData = path.join(root, 'data-b')
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network, dataDir: bData })
    const [aDir, bDir] = [path.join(root, 'a'), path.join(root, 'b')]
    await fs.mkdir(aDir)
    const [aFile, bFile] = [path.join(aDir, 'f.txt'), path.join(bDir, 'f.txt')]
    await fs.writeFile(aFile, 'v1\n')
    const as = new SpareService(a)
    const bs = new SpareService(b)
    const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as {
      invite: string
      folder: { id: string }
    }
    const { folder } = (await bs.call('folders.join', { invite: shared.invite, path: bDir })) as {
      folder: { id: string }
    }
    await waitFor(async () => (await read(bFile)) === 'v1\n', 60_000)
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)
    // B's index as saved while it held v1 (the save after v1 landed).
    const indexFile = path.join(bData, 'folders', folder.id, 'sync-index.json')
    await waitFor(
      async () => ((await read(indexFile)) ?? '').includes('"/f.txt"'),
      20_000,
      'B to save its index',
    )
    const savedAtV1 = await fs.readFile(indexFile)

    await fs.writeFile(aFile, 'v2 from A\n')
    await waitFor(async () => (await read(bFile)) === 'v2 from A\n', 30_000)
    const placedAt = (await fs.stat(bFile)).mtime // v2's own mtime, as Spare placed it
    await fs.rm(aFile)
    await waitFor(async () => (await read(bFile)) === null, 30_000)
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)
    await b.close()
    // The crash: B had placed v2, but neither saved its index since v1 nor applied the deletion
    // (it holds the deletion in its copy of A's log, as when it arrived just before the crash).
    await fs.writeFile(indexFile, savedAtV1)
    await fs.writeFile(bFile, 'v2 from A\n')
    await fs.utimes(bFile, placedAt, placedAt)

    const again = await fx.readyNode({ network, dataDir: bData })
    const bs2 = new SpareService(again)
    await waitFor(async () => (await read(bFile)) === null, 30_000, 'B to apply the deletion')
    await waitFor(async () => (await summary(bs2))?.state === 'idle', 20_000)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await read(aFile)).toBe(null)
    expect(await read(bFile)).toBe(null)
    const versions = (await as.call('folders.versions', {
      id: shared.folder.id,
      path: '/f.txt',
    })) as Array<{ kind: string; current: boolean }>
    expect(versions.filter((v) => v.current).map((v) => v.kind)).toEqual(['deleted'])
  }, 120_000)
})
