// Changes a device noted while it could not write (a read-only member, or a writer whose admission
// is still on its way) are the user's: a new version from the folder never overwrites them. They
// were lost before: the noted entry described the edited file, so the file "matched" the index and
// the new version was written over it with no copy kept, and a writer joining a folder lost its
// own differing files the same way. Two real nodes on a local testnet, driven through the API.
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

async function summary(s: SpareService): Promise<FolderSummary | undefined> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]
}

/** Every file directly in `dir`, as "name: content". */
async function contents(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const name of (await fs.readdir(dir)).sort()) {
    const p = path.join(dir, name)
    if ((await fs.lstat(p)).isFile()) out.push(`${name}: ${await fs.readFile(p, 'utf8')}`)
  }
  return out
}

describe('changes noted while a device cannot write', () => {
  it("a read-only member's edit is kept as a copy when a new version arrives", async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-noted-')
    await fs.writeFile(path.join(aDir, 'shared.txt'), 'v1\n')
    const { folder } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    const { invite } = (await as.call('folders.invite', { id: folder.id, readOnly: true })) as {
      invite: string
    }
    await bs.call('folders.join', { invite, path: bDir })
    const bFile = path.join(bDir, 'shared.txt')
    await waitFor(async () => (await fs.readFile(bFile, 'utf8').catch(() => '')) === 'v1\n', 60_000)
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    await fs.writeFile(bFile, 'my local edit\n')
    await waitFor(
      async () => (await summary(bs))?.localChanges.some((c) => c.path === '/shared.txt'),
      20_000,
      'B to note its local change',
    )
    await fs.writeFile(path.join(aDir, 'shared.txt'), 'v2 from A\n')
    await waitFor(async () => (await fs.readFile(bFile, 'utf8')) === 'v2 from A\n', 60_000)
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    const files = await contents(bDir)
    const copy = files.find((f) => f.endsWith(': my local edit\n'))
    expect(copy, files.join(' | ')).toMatch(/^shared\.sync-conflict-.*-local\.txt: /)
    // The copy is B's own: reported as a local addition, and never sent to A.
    const changes = (await summary(bs))?.localChanges ?? []
    expect(
      changes.some((c) => c.kind === 'added' && c.path.startsWith('/shared.sync-conflict-')),
    ).toBe(true)
    expect((await contents(aDir)).join(' | ')).not.toContain('my local edit')
  }, 120_000)

  it('a writer joining with its own copy of a file keeps it, and it reaches the others', async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-noted-')
    await fs.mkdir(bDir)
    await fs.writeFile(path.join(aDir, 'doc.txt'), "A's version\n")
    await fs.writeFile(path.join(bDir, 'doc.txt'), "B's laptop version\n")
    await fs.writeFile(path.join(bDir, 'only-b.txt'), 'only on B\n')
    const { invite } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    await bs.call('folders.join', { invite, path: bDir })
    await waitFor(async () => (await summary(bs))?.members === 2, 60_000, 'B to be admitted')

    // B's differing copy and its own file are kept and sent, whatever the order of events.
    await waitFor(
      async () => {
        const a = (await contents(aDir)).join(' | ')
        return a.includes(": B's laptop version\n") && a.includes('only-b.txt: only on B\n')
      },
      60_000,
      "B's files to reach A",
    )
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)
    const b = (await contents(bDir)).join(' | ')
    expect(b).toContain("doc.txt: A's version\n")
    expect(b).toContain(": B's laptop version\n")
    expect((await summary(bs))?.localChanges).toEqual([])
  }, 120_000)
})
