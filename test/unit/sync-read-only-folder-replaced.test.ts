// A folder replaced by a file, at a read-only member that made its own changes inside the folder
// (an edit of a synced file, new files), which it never sends. The folder's synced content goes
// (the logs keep it); the member's own changes must not, and the file must still take the path.
// Two real nodes on a local testnet, driven through the API.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import type { SpareService } from '../../main/engine/api/service.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface Shared {
  invite: string
  folder: { id: string }
}

async function summary(s: SpareService): Promise<FolderSummary> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]!
}

/** Every file below `dir` as "relative path: content", sorted. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) await walk(path.join(d, e.name), r)
      else out.push(`${r}: ${await fs.readFile(path.join(d, e.name), 'utf8')}`)
    }
  }
  await walk(dir, '')
  return out.sort()
}

describe('a folder replaced by a file at a read-only member', () => {
  it("keeps the member's own changes inside it, and places the file", async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-ro-replaced-')
    await fs.mkdir(path.join(aDir, 'x', 'sub'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'x', 'a.txt'), 'synced\n')
    await fs.writeFile(path.join(aDir, 'x', 'sub', 'b.txt'), 'synced too\n')
    const { folder } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    const { invite } = (await as.call('folders.invite', { id: folder.id, readOnly: true })) as {
      invite: string
    }
    await bs.call('folders.join', { invite, path: bDir })
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'x', 'sub', 'b.txt'), 'utf8').catch(() => '')) !== '',
      60_000,
      'B to get x/',
    )
    await waitFor(async () => (await summary(bs)).state === 'idle', 20_000)

    // B's own changes inside x/: an edit, a new file, a new file in a new folder.
    await fs.writeFile(path.join(bDir, 'x', 'a.txt'), 'my edit\n')
    await fs.writeFile(path.join(bDir, 'x', 'mine.txt'), 'my new file\n')
    await fs.mkdir(path.join(bDir, 'x', 'new'))
    await fs.writeFile(path.join(bDir, 'x', 'new', 'c.txt'), 'my new folder\n')
    await waitFor(
      async () => (await summary(bs)).localChanges.length >= 3,
      20_000,
      'B to note its changes',
    )

    // A replaces the folder by a file.
    await fs.rm(path.join(aDir, 'x'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'x'), 'now a file\n')
    let last: string[] = []
    await waitFor(
      async () => {
        last = await files(bDir).catch(() => [])
        return last.includes('x: now a file\n') && (await summary(bs)).state === 'idle'
      },
      60_000,
      'the file to take the path at B',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${last.join(' | ')}`)
    })
    const b = await files(bDir)
    // B's own changes are all still there (under a conflict name), nothing synced is.
    // (The edit was kept as a local copy when a.txt's deletion came, just before.)
    const mine = b.filter((f) => f.startsWith('x.sync-conflict-'))
    expect(mine.map((f) => f.replace(/^[^/]*\//, '')).sort(), b.join(' | ')).toEqual([
      expect.stringMatching(/^a\.sync-conflict-\d{8}-\d{6}-local\.txt: my edit\n$/),
      'mine.txt: my new file\n',
      'new/c.txt: my new folder\n',
    ])
    for (const f of mine) expect(f).toMatch(/^x\.sync-conflict-\d{8}-\d{6}-local\//)
    expect(b.filter((f) => !f.startsWith('x.sync-conflict-'))).toEqual(['x: now a file\n'])
    expect((await summary(bs)).problems).toEqual([])
    // Reported as B's own additions there, nothing left noted at the old paths.
    const noted = (await summary(bs)).localChanges
    expect(noted.length).toBeGreaterThan(0)
    for (const c of noted) expect(c.path).toMatch(/^\/x\.sync-conflict-\d{8}-\d{6}-local(\/|$)/)
    // Still B's own: never sent to A.
    expect(await files(aDir)).toEqual(['x: now a file\n'])
  }, 150_000)
})
