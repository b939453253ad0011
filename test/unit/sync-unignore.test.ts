// A rule taken out of .spareignore: what it hid is synced at once, not at the next full rescan
// (every 10 minutes) or the next start. Two real nodes share a folder on a local testnet.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

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

describe('a rule taken out of .spareignore', () => {
  it('syncs what it hid at once, both ways', async () => {
    const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-unignore-')
    await fs.writeFile(path.join(aDir, '.spareignore'), '*.log\n')
    await fs.writeFile(path.join(aDir, 'seen.txt'), 'seen\n')
    const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    await waitFor(() => exists(path.join(bDir, '.spareignore')), 60_000, 'B to get the rules')
    await waitFor(() => exists(path.join(bDir, 'seen.txt')), 60_000, 'B to get seen.txt')

    // Written while ignored: never sent.
    await fs.writeFile(path.join(aDir, 'a.log'), 'from A\n')
    await fs.writeFile(path.join(bDir, 'b.log'), 'from B\n')
    await new Promise((r) => setTimeout(r, 1500))
    expect(await exists(path.join(bDir, 'a.log'))).toBe(false)
    expect(await exists(path.join(aDir, 'b.log'))).toBe(false)

    // The rule goes at A; each side's log files now sync, though neither file changed since.
    await fs.writeFile(path.join(aDir, '.spareignore'), '*.tmp\n')
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, '.spareignore'), 'utf8').catch(() => '')) === '*.tmp\n',
      60_000,
      'B to get the new rules',
    )
    await waitFor(() => exists(path.join(bDir, 'a.log')), 15_000, "A's a.log to reach B")
    await waitFor(() => exists(path.join(aDir, 'b.log')), 15_000, "B's b.log to reach A")
    expect(await fs.readFile(path.join(aDir, 'b.log'), 'utf8')).toBe('from B\n')
    expect(await fs.readFile(path.join(bDir, 'a.log'), 'utf8')).toBe('from A\n')
  }, 120_000)
})
