// A version that names another writer's counter is read once that writer's log has reached it,
// and refused as made up if it still has not after a wait (CAUSAL_WAIT_MS, 20 s). The wait used
// to be judged as each log was visited: a joining device that spent the wait elsewhere (applying
// a big folder) refused the root's version on its next pass although the other writer's log had
// arrived meanwhile, only because that log came later in the pass. Three real nodes on a local
// testnet; the long apply is played by holding the joiner's next read of the logs until the
// other writer's log is on its disk, and running that read with its clock past the wait.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hypercore from 'hypercore'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

afterEach(() => {
  vi.restoreAllMocks()
})

interface Shared {
  invite: string
  folder: { id: string }
}

/** The parts of a two-way folder this test reaches into (private in SyncFolder). */
interface FolderInside {
  logs: Map<string, { core: Hypercore; read: number }>
  deferred: Map<string, number>
  readLogs(): Promise<void>
}

/**
 * waitFor on the monotonic clock: Date.now is moved forward for a moment while this test's waits
 * are polling.
 */
async function until(cond: () => unknown, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function summary(s: SpareService): Promise<FolderSummary | undefined> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]
}

async function read(p: string): Promise<string> {
  return fs.readFile(p, 'utf8').catch(() => '')
}

describe("the wait for another writer's log", () => {
  it('does not refuse a version whose log arrived while the device was busy', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-causal-')
    const [a, b, c] = [
      await fx.readyNode({ network }),
      await fx.readyNode({ network }),
      await fx.readyNode({ network }),
    ]
    const [aDir, bDir, cDir] = ['a', 'b', 'c'].map((n) => path.join(root, n)) as [
      string,
      string,
      string,
    ]
    await fs.mkdir(aDir)
    const [as, bs, cs] = [a, b, c].map((n) => new SpareService(n)) as [
      SpareService,
      SpareService,
      SpareService,
    ]
    const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as Shared
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    await waitFor(async () => (await summary(as))?.members === 2, 60_000, 'B admitted')
    await waitFor(async () => (await summary(bs))?.members === 2, 60_000)
    // B writes f.txt, then A changes it: A's version names B's counter.
    await fs.writeFile(path.join(bDir, 'f.txt'), 'from B\n')
    await waitFor(async () => (await read(path.join(aDir, 'f.txt'))) === 'from B\n', 30_000)
    await fs.writeFile(path.join(aDir, 'f.txt'), 'A after B\n')
    await waitFor(async () => (await read(path.join(bDir, 'f.txt'))) === 'A after B\n', 30_000)

    // C joins. Its first pass reads A's log (the root) before B's log is open: A's version
    // waits. C's next read of the logs is held until B's log is on C's disk, and runs with the
    // clock past the wait, as after a long apply.
    let offset = 0
    const realNow = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset)
    const { invite } = (await as.call('folders.invite', { id: shared.folder.id })) as {
      invite: string
    }
    const joined = (await cs.call('folders.join', { invite, path: cDir })) as Shared
    const folders = (c as unknown as { folders: Map<string, FolderInside> }).folders
    const inside = folders.get(joined.folder.id)
    if (!inside) throw new Error('C has no folder open')
    const realRead = inside.readLogs.bind(inside)
    let held = false
    inside.readLogs = async () => {
      if (!held && inside.deferred.size > 0) {
        held = true
        await until(
          () =>
            inside.logs.size >= 2 &&
            [...inside.logs.values()].every(
              (l) => l.core.length > 0 && l.core.contiguousLength === l.core.length,
            ),
          30_000,
          "B's log on C's disk",
        )
        // This read runs 30 s later than the wait began (only this one: the test's own waits
        // read the clock too).
        offset = 30_000
        try {
          return await realRead()
        } finally {
          offset = 0
        }
      }
      return realRead()
    }
    await until(() => held, 30_000, "C's version to wait for B's log")
    await until(
      async () => (await read(path.join(cDir, 'f.txt'))) === 'A after B\n',
      30_000,
      'f.txt at C',
    )
    await until(async () => (await summary(cs))?.state === 'idle', 30_000, 'C idle')
    expect((await summary(cs))?.refused).toEqual([])
  }, 120_000)
})
