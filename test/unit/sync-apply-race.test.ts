// A deletion made the moment a synced version lands must be seen: two real nodes share a folder
// on a local testnet; at B the user deletes the file right after Spare renames the new version
// into place (the rename is wrapped to do so, at the exact moment a user could). Two-way: the
// deletion must reach A, and the file must not come back at B. Published: B, a reader, must
// report it as its own local change.
import { afterEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { TEMP_PREFIX } from '../../main/engine/folders/safe-path.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const realRename = fs.rename

afterEach(() => {
  fs.rename = realRename
})

interface Shared {
  invite: string
  folder: { id: string }
}

/**
 * Wraps fs.rename so that the next version placed at `file` is deleted the instant it lands.
 * `holdMs`: the rename waits this long first, so the watcher has reported the temp file (its
 * folder is looked at while the file is being written, which a reader skips) before the rename
 * and the deletion, which the watcher then merges into nothing.
 */
function deleteWhenPlaced(file: string, holdMs = 0): { readonly done: boolean } {
  const state = { done: false }
  fs.rename = (async (from: string, to: string) => {
    const ours = !state.done && to === file && path.basename(String(from)).startsWith(TEMP_PREFIX)
    if (ours && holdMs) await new Promise((r) => setTimeout(r, holdMs))
    await realRename(from, to)
    if (ours) {
      state.done = true
      await fs.rm(to)
    }
  }) as typeof fs.rename
  return state
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

/**
 * A at A shares a folder (`mode`) with B; n.txt syncs once, then its next version is deleted at B
 * the instant it is placed (deleteWhenPlaced). Returns once that happened.
 */
async function deletedAsPlaced(
  mode: 'sync' | 'publish',
  holdMs = 0,
): Promise<{ aFile: string; bFile: string; bs: SpareService }> {
  const network = await fx.testnet()
  const dir = await fx.tmpDir('spare-race-')
  const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
  const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
  await fs.mkdir(aDir)
  const shared = (await new SpareService(a).call('folders.share', { path: aDir, mode })) as Shared
  const bs = new SpareService(b)
  await bs.call('folders.join', { invite: shared.invite, path: bDir })

  const aFile = path.join(aDir, 'n.txt')
  const bFile = path.join(bDir, 'n.txt')
  await fs.writeFile(aFile, 'one\n')
  await waitFor(async () => (await fs.readFile(bFile, 'utf8').catch(() => '')) === 'one\n', 60_000)

  // The next version to land at B is deleted by "the user" as soon as it is in place.
  const placed = deleteWhenPlaced(bFile, holdMs)
  await fs.writeFile(aFile, 'two, longer\n')
  await waitFor(() => placed.done, 60_000, 'B to place the new version')
  fs.rename = realRename
  return { aFile, bFile, bs }
}

describe('two-way apply', () => {
  it('sends a deletion made right after a version is placed, after that version', async () => {
    const { aFile, bFile } = await deletedAsPlaced('sync')
    // The deletion came after "two" at B, so it wins everywhere.
    await waitFor(async () => !(await exists(aFile)), 60_000, 'the deletion to reach A')
    await new Promise((r) => setTimeout(r, 1500))
    expect(await exists(bFile)).toBe(false)
    expect(await exists(aFile)).toBe(false)
  }, 120_000)

  it("shows a reader's deletion made the instant a version landed as its own change", async () => {
    const { bFile, bs } = await deletedAsPlaced('publish', 700)
    const localChanges = async (): Promise<FolderSummary['localChanges']> =>
      ((await bs.call('folders.list', {})) as FolderSummary[])[0]?.localChanges ?? []
    await waitFor(
      async () => (await localChanges()).some((c) => c.path === '/n.txt' && c.kind === 'deleted'),
      10_000,
      'B to report the deletion as its own change',
    )
    expect(await exists(bFile)).toBe(false)
  }, 120_000)
})
