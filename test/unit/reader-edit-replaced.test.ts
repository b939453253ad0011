// A published folder's reader keeps its user's edit as a conflict copy when the owner's new version
// of the file arrives, and the path never stands empty meanwhile: the edit is copied (a hard link)
// and stays in place until the owner's version is renamed over it. Two real nodes on a local
// testnet; the path is looked at on every turn of the event loop.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { twoNodes, useFixtures, waitFor, watchGaps } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('a published folder reader', () => {
  it("keeps its user's edit as a copy, and the path never stands empty", async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-edit-replaced-')
    await fs.writeFile(path.join(aDir, 'doc.txt'), 'v1\n')
    const shared = (await as.call('folders.share', { path: aDir, mode: 'publish' })) as {
      invite: string
    }
    const summary = async (): Promise<FolderSummary> =>
      ((await bs.call('folders.list', {})) as FolderSummary[])[0]!
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    const bFile = path.join(bDir, 'doc.txt')
    await waitFor(async () => (await fs.readFile(bFile, 'utf8').catch(() => '')) === 'v1\n', 30_000)
    await fs.writeFile(bFile, 'my edit\n')
    await waitFor(
      async () => (await summary()).localChanges.some((c) => c.path === '/doc.txt'),
      10_000,
      'the edit reported',
    )

    const gaps = watchGaps(bFile)
    await fs.writeFile(path.join(aDir, 'doc.txt'), 'v2 from the owner\n')
    await waitFor(
      async () => (await fs.readFile(bFile, 'utf8')) === 'v2 from the owner\n',
      30_000,
      "the owner's version at B",
    )
    expect(gaps.stop()).toBe(0)

    const copies = (await fs.readdir(bDir)).filter((n) => n.includes('sync-conflict'))
    expect(copies).toHaveLength(1)
    expect(copies[0]).toMatch(/^doc\.sync-conflict-\d{8}-\d{6}-local\.txt$/)
    expect(await fs.readFile(path.join(bDir, copies[0]!), 'utf8')).toBe('my edit\n')
    await waitFor(
      async () => (await summary()).localChanges.some((c) => c.path === `/${copies[0]}`),
      10_000,
      'the copy reported as a local change',
    )
  }, 60_000)
})
