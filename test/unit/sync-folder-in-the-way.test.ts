// A folder replaced by a file elsewhere: what this device keeps inside the folder (ignored files,
// which exist nowhere else) is never deleted. Placing the file used to remove the folder with
// everything in it. Now the folder's synced contents go, the folder stays while it holds the
// device's own files, the path is reported as a problem naming them, and the file is placed once
// the user moves them away (a desktop's junk, such as .DS_Store, is not kept). Two real nodes on a
// local testnet, driven through the API.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import type { SpareService } from '../../main/engine/api/service.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

async function summary(s: SpareService): Promise<FolderSummary | undefined> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]
}

describe('a folder replaced by a file', () => {
  it("keeps the files this device keeps inside, and places the file once they're moved", async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-in-the-way-')
    await fs.mkdir(path.join(aDir, 'x', 'sub'), { recursive: true })
    await fs.writeFile(path.join(aDir, '.spareignore'), '*.scratch\n')
    await fs.writeFile(path.join(aDir, 'x', 'a.txt'), 'synced\n')
    await fs.writeFile(path.join(aDir, 'x', 'sub', 'b.txt'), 'synced too\n')
    const { invite } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as {
      invite: string
    }
    await bs.call('folders.join', { invite, path: bDir })
    await waitFor(() => exists(path.join(bDir, 'x', 'sub', 'b.txt')), 60_000, 'B to get x/')
    const scratch = path.join(bDir, 'x', 'notes.scratch')
    await fs.writeFile(scratch, 'ignored: only at B\n')
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    await fs.rm(path.join(aDir, 'x'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'x'), 'now a file\n')
    // The synced files go; B's own file stays, and is named in the problem.
    await waitFor(
      async () => {
        const problem = (await summary(bs))?.problems.find((p) => p.path === '/x')
        const left = await fs.readdir(path.join(bDir, 'x')).catch(() => [])
        return (
          problem?.reason.startsWith('a folder here still holds /x/notes.scratch, which') &&
          left.length === 1
        )
      },
      60_000,
      'B to report the folder in the way, holding only its own file',
    )
    expect(await fs.readdir(path.join(bDir, 'x'))).toEqual(['notes.scratch'])
    expect(await fs.readFile(scratch, 'utf8')).toBe('ignored: only at B\n')
    // Nothing of this went back to A: A still has its file.
    expect(await fs.readFile(path.join(aDir, 'x'), 'utf8')).toBe('now a file\n')

    // The user moves the file away: the folder's file arrives, and the problem goes.
    await fs.rename(scratch, path.join(bDir, 'notes.scratch'))
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'x'), 'utf8').catch(() => '')) === 'now a file\n',
      30_000,
      'the file to be placed at B',
    )
    await waitFor(async () => !(await summary(bs))?.problems.some((p) => p.path === '/x'), 10_000)
    expect(await fs.readFile(path.join(bDir, 'notes.scratch'), 'utf8')).toBe('ignored: only at B\n')
    expect(await fs.readFile(path.join(aDir, 'x'), 'utf8')).toBe('now a file\n')
  }, 120_000)

  it('a folder moved away and replaced by a link to it arrives whole, moved and linked', async () => {
    // The files moved out of the folder are renamed at B, not deleted with the folder first.
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-in-the-way-')
    await fs.mkdir(path.join(aDir, 'photos'))
    await fs.writeFile(path.join(aDir, 'photos', '1.jpg'), 'one\n')
    await fs.writeFile(path.join(aDir, 'photos', '2.jpg'), 'two\n')
    const { invite } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as {
      invite: string
    }
    await bs.call('folders.join', { invite, path: bDir })
    await waitFor(() => exists(path.join(bDir, 'photos', '2.jpg')), 60_000, 'B to get photos/')
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    await fs.rename(path.join(aDir, 'photos'), path.join(aDir, 'photos-2023'))
    await fs.symlink('photos-2023', path.join(aDir, 'photos'))
    await waitFor(
      async () => (await fs.lstat(path.join(bDir, 'photos')).catch(() => null))?.isSymbolicLink(),
      30_000,
      'the link to arrive at B',
    ).catch(async (err: Error) => {
      const tree = await fs.readdir(bDir, { recursive: true }).catch(() => [])
      throw new Error(
        `${err.message}: ${JSON.stringify(tree)} ${JSON.stringify(await summary(bs))}`,
      )
    })
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)
    expect(await fs.readlink(path.join(bDir, 'photos'))).toBe('photos-2023')
    expect(await fs.readFile(path.join(bDir, 'photos-2023', '1.jpg'), 'utf8')).toBe('one\n')
    expect(await fs.readFile(path.join(bDir, 'photos-2023', '2.jpg'), 'utf8')).toBe('two\n')
    const s = await summary(bs)
    expect(s?.refused).toEqual([])
    expect(s?.problems).toEqual([])
  }, 120_000)

  it("a desktop's junk (.DS_Store and the like) does not keep the folder", async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-in-the-way-')
    await fs.mkdir(path.join(aDir, 'x', 'sub'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'x', 'sub', 'a.txt'), 'synced\n')
    const { invite } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as {
      invite: string
    }
    await bs.call('folders.join', { invite, path: bDir })
    await waitFor(() => exists(path.join(bDir, 'x', 'sub', 'a.txt')), 60_000, 'B to get x/')
    // Finder and Explorer were here (built-in ignores: never synced).
    await fs.writeFile(path.join(bDir, 'x', '.DS_Store'), 'finder')
    await fs.writeFile(path.join(bDir, 'x', 'sub', 'Thumbs.db'), 'explorer')
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    await fs.rm(path.join(aDir, 'x'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'x'), 'now a file\n')
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'x'), 'utf8').catch(() => '')) === 'now a file\n',
      30_000,
      'the file to be placed at B',
    )
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)
    expect((await summary(bs))?.problems).toEqual([])
  }, 120_000)
})
