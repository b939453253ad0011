// A change is taken as recorded only once this device's log holds it. The local index used to
// record a version as soon as the scan saw it, before the batch of versions was appended: when
// the append failed (a full disk) or the scan stopped (the app quit while a later file was read),
// the edit was never sent, and after a restart the index matched the disk, so the folder's older
// version was written over the user's file. Real nodes on a local testnet; only the storage's
// append (a full disk) and one file's open (a slow disk) are wrapped, at the process edge.
import { afterEach, describe, expect, it } from 'vitest'
import fsCallbacks, { promises as fs } from 'node:fs'
import path from 'node:path'
import Hypercore from 'hypercore'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const realAppend = Hypercore.prototype.append
const realOpen = fs.open
const realOpenCallback = fsCallbacks.open

afterEach(() => {
  Hypercore.prototype.append = realAppend
  fs.open = realOpen
  fsCallbacks.open = realOpenCallback
})

interface Shared {
  folder: { id: string }
}

async function idle(s: SpareService): Promise<boolean> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]?.state === 'idle'
}

async function versionCount(s: SpareService, id: string, p: string): Promise<number> {
  return ((await s.call('folders.versions', { id, path: p })) as unknown[]).length
}

/** A node sharing a two-way folder holding doc.txt ("v1"), idle. */
async function sharedDoc(): Promise<{
  node: SpareNode
  svc: SpareService
  id: string
  dir: string
  file: string
  network: string
  dataDir: string
}> {
  const network = await fx.testnet()
  const root = await fx.tmpDir('spare-unappended-')
  const dataDir = path.join(root, 'data')
  const dir = path.join(root, 'folder')
  await fs.mkdir(dir)
  const file = path.join(dir, 'doc.txt')
  await fs.writeFile(file, 'v1\n')
  const node = await fx.readyNode({ network, dataDir })
  const svc = new SpareService(node)
  const { folder } = (await svc.call('folders.share', { path: dir, mode: 'sync' })) as Shared
  await waitFor(() => idle(svc), 30_000, 'the folder to be indexed')
  await waitFor(async () => (await versionCount(svc, folder.id, '/doc.txt')) === 1, 10_000)
  return { node, svc, id: folder.id, dir, file, network, dataDir }
}

describe('a change is recorded only once the log holds it', () => {
  it('an edit whose append met a full disk is recorded when room returns, and kept', async () => {
    const { node, svc, id, file, network, dataDir } = await sharedDoc()
    // The next append, of any core, fails as on a full disk; the ones after it succeed.
    let failed = 0
    Hypercore.prototype.append = async function (this: Hypercore, ...args) {
      if (failed === 0) {
        failed++
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        })
      }
      return realAppend.apply(this, args)
    } as typeof realAppend
    await fs.writeFile(file, 'v2: the user edit\n')
    await waitFor(() => failed === 1, 15_000, 'the append to fail')
    Hypercore.prototype.append = realAppend
    // The folder retries on its own (every few seconds) once there is room.
    await waitFor(
      async () => (await versionCount(svc, id, '/doc.txt')) === 2,
      30_000,
      'the edit to be recorded after the full disk',
    )
    await waitFor(() => idle(svc), 20_000)
    await node.close()

    const again = await fx.readyNode({ network, dataDir })
    const svc2 = new SpareService(again)
    await waitFor(() => idle(svc2), 30_000, 'idle after the restart')
    await new Promise((r) => setTimeout(r, 1500))
    expect(await fs.readFile(file, 'utf8')).toBe('v2: the user edit\n')
    expect(await versionCount(svc2, id, '/doc.txt')).toBe(2)
  }, 120_000)

  it('an edit seen by a scan that stopped before its append is recorded after the restart', async () => {
    const { node, id, dir, file, network, dataDir } = await sharedDoc()
    await node.close()
    // While Spare is off, the user edits doc.txt and adds a file that is slow to open (a big
    // file on a slow disk). The start's scan sees doc.txt's new version, then waits on the slow
    // file: the user quits then, before that version was appended.
    // (aa.txt goes first: a scan appends its first version at once, the rest in batches.)
    await fs.writeFile(path.join(dir, 'aa.txt'), 'new')
    await fs.writeFile(file, 'v2: the user edit\n')
    const slow = path.join(dir, 'zz-slow.bin')
    await fs.writeFile(slow, 'slow')
    let waiting = false
    fs.open = (async (p: Parameters<typeof realOpen>[0], ...rest: unknown[]) => {
      if (String(p) === slow) {
        waiting = true
        await new Promise((r) => setTimeout(r, 5000))
      }
      return (realOpen as (...a: unknown[]) => ReturnType<typeof realOpen>)(p, ...rest)
    }) as typeof realOpen
    // (A small file is read ahead through the callback API: util/fs-calls.ts.)
    fsCallbacks.open = ((p: Parameters<typeof realOpenCallback>[0], ...rest: unknown[]) => {
      const open = (): void => (realOpenCallback as (...a: unknown[]) => void)(p, ...rest)
      if (String(p) !== slow) return open()
      waiting = true
      setTimeout(open, 5000)
    }) as typeof realOpenCallback
    const stopped = await fx.readyNode({ network, dataDir })
    await waitFor(() => waiting, 15_000, 'the scan to reach the slow file')
    // The slow file is read ahead while doc.txt is recorded: give that a moment to finish.
    await new Promise((r) => setTimeout(r, 1000))
    await stopped.close()
    fs.open = realOpen
    fsCallbacks.open = realOpenCallback

    const again = await fx.readyNode({ network, dataDir })
    const svc = new SpareService(again)
    await waitFor(
      async () => (await versionCount(svc, id, '/doc.txt')) === 2,
      30_000,
      'the edit to be recorded after the restart',
    )
    await waitFor(() => idle(svc), 30_000, 'idle after the restart')
    await new Promise((r) => setTimeout(r, 1500))
    expect(await fs.readFile(file, 'utf8')).toBe('v2: the user edit\n')
  }, 120_000)
})
