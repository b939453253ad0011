// A published folder's reader tells its user's symlinks from the owner's by their target, not by
// their kind alone. Two real nodes on a local testnet: the reader's user points the owner's
// symlink elsewhere; that is a local change, and when the owner re-points the link too, the
// user's link is kept as a conflict copy.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const link = (p: string): Promise<string | null> => fs.readlink(p).catch(() => null)

describe('a published folder reader', () => {
  it('keeps a symlink its user re-pointed', async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-symlink-edit-')
    await fs.symlink('first.txt', path.join(aDir, 'l'))
    const shared = (await as.call('folders.share', { path: aDir, mode: 'publish' })) as {
      invite: string
    }
    const summary = async (): Promise<FolderSummary> =>
      ((await bs.call('folders.list', {})) as FolderSummary[])[0]!
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    await waitFor(
      async () => (await link(path.join(bDir, 'l'))) === 'first.txt',
      30_000,
      'first sync',
    )
    await fs.rm(path.join(bDir, 'l'))
    await fs.symlink('mine.txt', path.join(bDir, 'l'))
    await waitFor(
      async () =>
        (await summary()).localChanges.some((c) => c.path === '/l' && c.kind === 'modified'),
      10_000,
      'the re-pointed link reported',
    )
    await fs.rm(path.join(aDir, 'l'))
    await fs.symlink('second.txt', path.join(aDir, 'l'))
    await waitFor(
      async () => (await link(path.join(bDir, 'l'))) === 'second.txt',
      30_000,
      'the owner’s new link at B',
    )
    const copies = (await fs.readdir(bDir)).filter((n) => n.includes('sync-conflict'))
    expect(copies).toHaveLength(1)
    expect(copies[0]).toMatch(/^l\.sync-conflict-\d{8}-\d{6}-local$/)
    expect(await link(path.join(bDir, copies[0]!))).toBe('mine.txt')
  }, 60_000)
})
