// Content stored again after its old blocks were dropped must reach the others. A start rebuilds
// the map of chunks this device stored from its whole log, expired versions included; the sweep
// that prunes it ran only an hour after the start, and by hash (another device's kept copy of the
// same content kept an entry naming this device's cleared blocks). A file copied back from a
// backup then named blocks that no longer exist, never arrived, and the folder stayed "syncing".
// Two real nodes on a local testnet; versions are kept 0 days so the blocks go at once.
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

async function read(p: string): Promise<string> {
  return fs.readFile(p, 'utf8').catch(() => '')
}

describe('content stored again after its versions expired', () => {
  it('reaches the other device after a restart', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-gc-restart-')
    const dataDir = path.join(root, 'data-a')
    const a = await fx.readyNode({ network, dataDir })
    const b = await fx.readyNode({ network })
    const [aDir, bDir] = [path.join(root, 'a'), path.join(root, 'b')]
    await fs.mkdir(aDir)
    const photo = 'photo bytes ' + 'x'.repeat(300_000) + '\n' // two chunks
    await fs.writeFile(path.join(aDir, 'old.jpg'), photo)
    const as = new SpareService(a)
    const bs = new SpareService(b)
    const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as {
      invite: string
      folder: { id: string }
    }
    const joined = (await bs.call('folders.join', { invite: shared.invite, path: bDir })) as {
      folder: { id: string }
    }
    await waitFor(async () => (await read(path.join(bDir, 'old.jpg'))) === photo, 60_000)
    await fs.rm(path.join(aDir, 'old.jpg'))
    await waitFor(async () => (await read(path.join(bDir, 'old.jpg'))) === '', 60_000)
    // Versions kept 0 days: the deleted photo's blocks are dropped everywhere.
    await as.call('folders.configure', { id: shared.folder.id, versionsDays: 0 })
    await bs.call('folders.configure', { id: joined.folder.id, versionsDays: 0 })
    await waitFor(async () => (await summary(as))?.state === 'idle', 20_000)
    await new Promise((r) => setTimeout(r, 1000))

    await a.close()
    const again = await fx.readyNode({ network, dataDir })
    const as2 = new SpareService(again)
    await waitFor(async () => (await summary(as2))?.state === 'idle', 30_000)
    // The user copies the photo back from a backup, beside a file of new content.
    await fs.writeFile(path.join(aDir, 'back.jpg'), photo)
    await fs.writeFile(path.join(aDir, 'control.txt'), 'fresh content\n')
    await waitFor(
      async () => (await read(path.join(bDir, 'control.txt'))) === 'fresh content\n',
      30_000,
    )
    await waitFor(
      async () => (await read(path.join(bDir, 'back.jpg'))) === photo,
      20_000,
      'the photo copied back to reach B',
    )
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)
    expect((await summary(bs))?.refused).toEqual([])
  }, 120_000)
})
