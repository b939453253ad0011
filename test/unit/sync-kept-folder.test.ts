// A folder deleted elsewhere that a device must keep (something it does not sync is still inside)
// stays on that device only: it must never be sent back as a new folder, to the device that
// deleted it or to anyone. Two real nodes share a folder on a local testnet; B keeps an ignored
// file inside a folder that A deletes. A read-only member keeps it quietly, not as its own change.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface Shared {
  invite: string
  folder: { id: string }
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

/** Longer than a scan of each applied path takes to come (RECHECK_AFTER_APPLY_MS, 750 ms). */
const SETTLE_MS = 2500

async function deletedWithIgnoredInside(readOnly: boolean): Promise<{
  aDir: string
  bDir: string
  bs: SpareService
}> {
  const network = await fx.testnet()
  const dir = await fx.tmpDir('spare-kept-')
  const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
  const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
  await fs.mkdir(path.join(aDir, 'docs', 'deep'), { recursive: true })
  await fs.writeFile(path.join(aDir, '.spareignore'), '*.scratch\n')
  await fs.writeFile(path.join(aDir, 'docs', 'deep', 'readme.txt'), 'read me\n')
  await fs.writeFile(path.join(aDir, 'keep.txt'), 'stays\n')
  const as = new SpareService(a)
  const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
  const { invite } = readOnly
    ? ((await as.call('folders.invite', { id: shared.folder.id, readOnly })) as { invite: string })
    : shared
  const bs = new SpareService(b)
  await bs.call('folders.join', { invite, path: bDir })
  const bReadme = path.join(bDir, 'docs', 'deep', 'readme.txt')
  await waitFor(() => exists(bReadme), 60_000, 'B to get docs/deep/readme.txt')
  // Ignored: never synced, so Spare must not delete it when the folder is deleted elsewhere.
  await fs.writeFile(path.join(bDir, 'docs', 'deep', 'notes.scratch'), 'mine\n')
  await new Promise((r) => setTimeout(r, 300))

  await fs.rm(path.join(aDir, 'docs'), { recursive: true })
  await waitFor(async () => !(await exists(bReadme)), 60_000, 'the deletion to reach B')
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  return { aDir, bDir, bs }
}

describe('a deleted folder kept for what is inside', () => {
  it('stays only where it is kept, and is not sent back as a new folder', async () => {
    const { aDir, bDir, bs } = await deletedWithIgnoredInside(false)
    expect(await fs.readFile(path.join(bDir, 'docs', 'deep', 'notes.scratch'), 'utf8')).toBe(
      'mine\n',
    )
    expect(await exists(path.join(aDir, 'docs'))).toBe(false)
    expect(await exists(path.join(aDir, 'keep.txt'))).toBe(true)
    const [folder] = (await bs.call('folders.list', {})) as FolderSummary[]
    expect(folder?.state).toBe('idle')
    expect(folder?.error ?? null).toBe(null)

    // Once what kept it is gone, a folder made again by the user at B is new, and is sent.
    await fs.rm(path.join(bDir, 'docs'), { recursive: true })
    await new Promise((r) => setTimeout(r, 500))
    await fs.mkdir(path.join(bDir, 'docs'))
    await waitFor(() => exists(path.join(aDir, 'docs')), 60_000, 'the new docs folder to reach A')
  }, 120_000)

  it('at a read-only member, is not reported as its own change', async () => {
    const { bDir, bs } = await deletedWithIgnoredInside(true)
    expect(await exists(path.join(bDir, 'docs', 'deep', 'notes.scratch'))).toBe(true)
    const [folder] = (await bs.call('folders.list', {})) as FolderSummary[]
    expect(folder?.role).toBe('reader')
    expect(folder?.localChanges ?? []).toEqual([])
  }, 120_000)
})
