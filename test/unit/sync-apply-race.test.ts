// A deletion made the moment a synced version lands must win: two real nodes share a two-way
// folder on a local testnet; at B the user deletes the file right after Spare renames the new
// version into place (the rename is wrapped to do so, at the exact moment a user could). The
// deletion must reach A, and the file must not come back at B.
import { afterEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
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

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

describe('two-way apply', () => {
  it('sends a deletion made right after a version is placed, after that version', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-race-')
    const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    await fs.mkdir(aDir)
    const shared = (await new SpareService(a).call('folders.share', { path: aDir })) as Shared
    await new SpareService(b).call('folders.join', { invite: shared.invite, path: bDir })

    const aFile = path.join(aDir, 'n.txt')
    const bFile = path.join(bDir, 'n.txt')
    await fs.writeFile(aFile, 'one\n')
    await waitFor(
      async () => (await fs.readFile(bFile, 'utf8').catch(() => '')) === 'one\n',
      60_000,
    )

    // The next version to land at B is deleted by "the user" as soon as it is in place.
    let deletedAtPlacing = false
    fs.rename = (async (from: string, to: string) => {
      await realRename(from, to)
      if (
        !deletedAtPlacing &&
        to === bFile &&
        path.basename(String(from)).startsWith(TEMP_PREFIX)
      ) {
        deletedAtPlacing = true
        await fs.rm(to)
      }
    }) as typeof fs.rename
    await fs.writeFile(aFile, 'two, longer\n')
    await waitFor(() => deletedAtPlacing, 60_000, 'B to place the new version')
    fs.rename = realRename

    // The deletion came after "two" at B, so it wins everywhere.
    await waitFor(async () => !(await exists(aFile)), 60_000, 'the deletion to reach A')
    await new Promise((r) => setTimeout(r, 1500))
    expect(await exists(bFile)).toBe(false)
    expect(await exists(aFile)).toBe(false)
  }, 120_000)
})
