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
import { conflictName } from '../../main/engine/sync/conflict-name.ts'
import { twoNodes, useFixtures, waitFor, watchGaps } from '../helpers/unit-fixtures.ts'

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
    // The path never stands empty while the new version is on its way: the edit stays in place
    // until the version replaces it (it was moved aside first, before). Looked at on every turn
    // of the event loop, which the node's fetch takes several of.
    const gaps = watchGaps(bFile)
    await fs.writeFile(path.join(aDir, 'shared.txt'), 'v2 from A\n')
    await waitFor(async () => (await fs.readFile(bFile, 'utf8')) === 'v2 from A\n', 60_000)
    expect(gaps.stop()).toBe(0)
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

  it("a read-only member's edits are kept when the folder deletes the file, and no copy replaces another", async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-noted-')
    await fs.writeFile(path.join(aDir, 'gone.txt'), 'v1\n')
    await fs.writeFile(path.join(aDir, 'busy.txt'), 'v1\n')
    const { folder } = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    const { invite } = (await as.call('folders.invite', { id: folder.id, readOnly: true })) as {
      invite: string
    }
    await bs.call('folders.join', { invite, path: bDir })
    await waitFor(async () => (await contents(bDir).catch(() => [])).length === 2, 60_000)
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    await fs.writeFile(path.join(bDir, 'gone.txt'), 'edit of a file A deletes\n')
    await fs.writeFile(path.join(bDir, 'busy.txt'), 'edit of a file A changes\n')
    // The copy's name comes from the clock: every name it could take in the next two minutes is
    // taken already, by files of B's own that must stay as they are.
    const now = Date.now()
    for (let t = now; t < now + 120_000; t += 1000) {
      const decoy = conflictName('/busy.txt', t, 'local').slice(1)
      await fs.writeFile(path.join(bDir, decoy), `decoy ${t}\n`)
    }
    await waitFor(
      async () => (await summary(bs))?.localChanges.some((c) => c.path === '/busy.txt'),
      20_000,
      'B to note its local changes',
    )
    await fs.rm(path.join(aDir, 'gone.txt'))
    await fs.writeFile(path.join(aDir, 'busy.txt'), 'v2 from A\n')
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'busy.txt'), 'utf8')) === 'v2 from A\n' &&
        !(await fs.stat(path.join(bDir, 'gone.txt')).catch(() => null)),
      60_000,
      'B to take both changes',
    )
    await waitFor(async () => (await summary(bs))?.state === 'idle', 20_000)

    const files = await contents(bDir)
    const kept = (text: string): string | undefined =>
      files.find((f) => f.endsWith(`: ${text}\n`))?.split(':')[0]
    expect(kept('edit of a file A deletes'), files.join(' | ')).toMatch(
      /^gone\.sync-conflict-\d{8}-\d{6}-local\.txt$/,
    )
    expect(kept('edit of a file A changes'), files.join(' | ')).toMatch(
      /^busy\.sync-conflict-\d{8}-\d{6}-local\d+\.txt$/,
    )
    expect(files.filter((f) => f.includes(': decoy '))).toHaveLength(120)
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
