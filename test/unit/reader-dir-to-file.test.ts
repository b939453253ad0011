// A published folder's owner replaces a folder with a file (or a symlink) of the same name. Two
// real nodes on a local testnet. The reader must place the owner's file where its copy of the
// folder was: renaming over a folder fails (EISDIR, ENOTEMPTY), and a failure once let the
// reader's applied version move past the path for good. A folder that still holds the reader's
// own files is kept, under a conflict name, with those files in it.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import type { SpareService } from '../../main/engine/api/service.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

async function pair(): Promise<{ aDir: string; bDir: string; bs: SpareService }> {
  const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-dir-to-file-')
  for (const d of ['x', 's']) {
    await fs.mkdir(path.join(aDir, d))
    await fs.writeFile(path.join(aDir, d, 'inner.txt'), `inner of ${d}\n`)
  }
  await fs.writeFile(path.join(aDir, 'target.txt'), 'target\n')
  const shared = (await as.call('folders.share', { path: aDir, mode: 'publish' })) as {
    invite: string
  }
  await bs.call('folders.join', { invite: shared.invite, path: bDir })
  await waitFor(
    async () =>
      (await read(path.join(bDir, 'x', 'inner.txt'))) === 'inner of x\n' &&
      (await read(path.join(bDir, 's', 'inner.txt'))) === 'inner of s\n' &&
      (await read(path.join(bDir, 'target.txt'))) === 'target\n',
    30_000,
    'first sync',
  )
  return { aDir, bDir, bs }
}

async function summary(bs: SpareService): Promise<FolderSummary> {
  const [f] = (await bs.call('folders.list', {})) as FolderSummary[]
  return f!
}

/** The owner replaces its folder x with a file; resolves once the reader has the file. */
async function ownerMakesXAFile(aDir: string, bDir: string): Promise<void> {
  await fs.rm(path.join(aDir, 'x'), { recursive: true })
  await fs.writeFile(path.join(aDir, 'x'), 'now a file\n')
  await waitFor(
    async () => (await read(path.join(bDir, 'x'))) === 'now a file\n',
    30_000,
    'the file x at B',
  )
}

const conflictCopies = async (dir: string): Promise<string[]> =>
  (await fs.readdir(dir)).filter((n) => n.includes('sync-conflict'))

describe('a published folder reader, when the owner replaces a folder with a file', () => {
  it('places the file (and a symlink) where its copy of the folder was', async () => {
    const { aDir, bDir, bs } = await pair()
    await fs.rm(path.join(aDir, 'x'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'x'), 'now a file\n')
    await fs.rm(path.join(aDir, 's'), { recursive: true })
    await fs.symlink('target.txt', path.join(aDir, 's'))
    await waitFor(
      async () => (await read(path.join(bDir, 'x'))) === 'now a file\n',
      30_000,
      'the file x at B',
    )
    await waitFor(
      async () => (await fs.readlink(path.join(bDir, 's')).catch(() => null)) === 'target.txt',
      30_000,
      'the symlink s at B',
    )
    // The folders held nothing of the reader's: no conflict copy, nothing refused or local.
    expect(await conflictCopies(bDir)).toEqual([])
    const s = await summary(bs)
    expect(s.refused).toEqual([])
    await waitFor(async () => (await summary(bs)).localChanges.length === 0, 5000, 'no changes')
  }, 60_000)

  it('keeps a folder holding the reader’s own files as a conflict copy', async () => {
    const { aDir, bDir, bs } = await pair()
    await fs.writeFile(path.join(bDir, 'x', 'mine.txt'), 'the reader’s own file\n')
    await waitFor(
      async () => (await summary(bs)).localChanges.some((c) => c.path === '/x/mine.txt'),
      10_000,
      'the local addition reported',
    )
    await ownerMakesXAFile(aDir, bDir)
    const copies = await conflictCopies(bDir)
    expect(copies).toHaveLength(1)
    expect(copies[0]).toMatch(/^x\.sync-conflict-\d{8}-\d{6}-local$/)
    // The owner's file that was in it is gone (the owner deleted it); the reader's is kept.
    expect(await fs.readdir(path.join(bDir, copies[0]!))).toEqual(['mine.txt'])
    expect(await read(path.join(bDir, copies[0]!, 'mine.txt'))).toBe('the reader’s own file\n')
    await waitFor(
      async () => {
        const s = await summary(bs)
        return (
          s.localChanges.some((c) => c.path === `/${copies[0]}` && c.kind === 'added') &&
          !s.localChanges.some((c) => c.path.startsWith('/x/'))
        )
      },
      5000,
      'the conflict copy reported',
    )
    expect((await summary(bs)).refused).toEqual([])
  }, 60_000)

  it('keeps a folder holding only the reader’s empty folders; a desktop’s junk keeps nothing', async () => {
    // Empty folders the user made in the owner's folder were taken for a desktop's junk and
    // removed with it. A folder Spare placed, left holding only a .DS_Store when the owner
    // deleted it, still goes.
    const { aDir, bDir, bs } = await pair()
    await fs.mkdir(path.join(aDir, 'x', 'sub'))
    await fs.writeFile(path.join(aDir, 'x', 'sub', 'owners.txt'), 'the owner’s\n')
    await waitFor(
      async () => (await read(path.join(bDir, 'x', 'sub', 'owners.txt'))) === 'the owner’s\n',
      30_000,
      'x/sub at B',
    )
    await fs.mkdir(path.join(bDir, 'x', 'mine', 'deeper'), { recursive: true })
    await fs.writeFile(path.join(bDir, 'x', 'sub', '.DS_Store'), 'finder')
    await ownerMakesXAFile(aDir, bDir)
    const copies = await conflictCopies(bDir)
    expect(copies).toHaveLength(1)
    expect(await fs.readdir(path.join(bDir, copies[0]!), { recursive: true })).toEqual([
      'mine',
      path.join('mine', 'deeper'),
    ])
    expect((await summary(bs)).refused).toEqual([])
  }, 60_000)
})
