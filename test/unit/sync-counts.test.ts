// `spare folders` counts of a two-way folder are kept from the paths that change (counts.ts),
// not walked every 2 s: every kind of change must reach them, on the device that made it and on
// the one it syncs to. Two real nodes share a folder on a local testnet.
import { describe, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import { conflictName } from '../../main/engine/sync/conflict-name.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface Shared {
  invite: string
  folder: { id: string }
}

interface Counted {
  files: number
  bytes: number
  localBytes: number
  conflicts: number
}

function counts(node: SpareNode): Counted & { state: string } {
  const f = node.listFolders()[0] as unknown as Counted & { state: string }
  return {
    state: f.state,
    files: f.files,
    bytes: f.bytes,
    localBytes: f.localBytes,
    conflicts: f.conflicts,
  }
}

/** Waits until the node's folder is idle with these counts, and checks they stay put. */
async function expectCounts(node: SpareNode, want: Counted, what: string): Promise<void> {
  await waitFor(
    () => {
      const c = counts(node)
      return (
        c.state === 'idle' &&
        c.files === want.files &&
        c.bytes === want.bytes &&
        c.localBytes === want.localBytes &&
        c.conflicts === want.conflicts
      )
    },
    30_000,
    `${what}: ${JSON.stringify(want)}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; counted ${JSON.stringify(counts(node))}`)
  })
}

describe("a two-way folder's counts", () => {
  it('follow adds, edits, deletes, conflict copies and ignore rules on both devices', async () => {
    const { a, b, as, bs, aDir, bDir } = await twoNodes(fx, 'spare-counts-')
    await fs.writeFile(path.join(aDir, 'one.txt'), 'x'.repeat(100))
    await fs.writeFile(path.join(aDir, 'two.txt'), 'x'.repeat(20))
    await fs.mkdir(path.join(aDir, 'sub'))
    await fs.writeFile(path.join(aDir, 'sub', 'three.log'), 'x'.repeat(3))
    const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    const all = { files: 3, bytes: 123, localBytes: 123, conflicts: 0 }
    await expectCounts(a, all, 'A after the first scan')
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    await expectCounts(b, all, 'B once it holds the folder')

    // An edit, a delete and a new file at A.
    await fs.writeFile(path.join(aDir, 'one.txt'), 'x'.repeat(1000))
    await fs.rm(path.join(aDir, 'two.txt'))
    await fs.writeFile(path.join(aDir, 'sub', 'four.txt'), 'x'.repeat(4))
    const edited = { files: 3, bytes: 1007, localBytes: 1007, conflicts: 0 }
    await expectCounts(a, edited, 'A after its edits')
    await expectCounts(b, edited, 'B after A edits')

    // A file named as a conflict copy counts as one, wherever it came from.
    const copy = conflictName('/one.txt', Date.UTC(2026, 0, 2, 3, 4, 5), 'ABCDEFG')
    await fs.writeFile(path.join(bDir, copy.slice(1)), 'x'.repeat(50))
    const withCopy = { files: 4, bytes: 1057, localBytes: 1057, conflicts: 1 }
    await expectCounts(b, withCopy, 'B after the copy')
    await expectCounts(a, withCopy, 'A after the copy')

    // A rule that hides a file already counted, then its removal.
    await fs.writeFile(path.join(aDir, '.spareignore'), '*.log\n')
    const hidden = { files: 4, bytes: 1057 - 3 + 6, localBytes: 1057 - 3 + 6, conflicts: 1 }
    await expectCounts(a, hidden, 'A with *.log ignored')
    await expectCounts(b, hidden, 'B with *.log ignored')
    await fs.writeFile(path.join(aDir, '.spareignore'), '#\n')
    const shown = { files: 5, bytes: 1057 + 2, localBytes: 1057 + 2, conflicts: 1 }
    await expectCounts(a, shown, 'A with the rule gone')
    await expectCounts(b, shown, 'B with the rule gone')
  }, 120_000)
})
