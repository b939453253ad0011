// Give to get, through real daemons on a local testnet: a host with room for one of two folders
// asked at the same moment takes the one whose owner has the better ledger. The ledgers are
// real: one owner first hosts a folder for the host and earns countersigned storage receipts.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { DonateStatus, FolderSummary, Ledger } from '../../shared/contract.ts'
import {
  Cleanup,
  type TestDaemon,
  localTestnet,
  startDaemon,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/daemon.ts'

let cleanup: Cleanup
let network: string

beforeAll(() => {
  // Requests that arrive within 4 s of each other are decided together; an owner waits 10 s for
  // an answer (the window plus fetching and checking the requester's ledger).
  process.env.SPARE_HOSTING_TIMERS = 'audit=1500,timeout=10000,receipt=2500,gone=600000,window=4000'
})
beforeEach(async () => {
  cleanup = new Cleanup()
  network = await localTestnet(cleanup)
})
afterEach(async () => {
  await cleanup.run()
})

async function hostsOf(d: TestDaemon, id: string): Promise<FolderSummary['hosts']> {
  const f = (await d.folders()).find((x) => x.id === id)
  return f?.hosts ?? []
}

async function folderOf(seed: number): Promise<string> {
  const dir = path.join(await tempDir(cleanup), `folder-${seed}`)
  await writeRandomFile(path.join(dir, 'data.bin'), 3 * 1024 * 1024, seed)
  return dir
}

/** The log lines of a daemon, parsed (JSON lines). */
async function logOf(d: TestDaemon): Promise<Array<Record<string, unknown>>> {
  const text = await fs.readFile(path.join(d.dataDir, 'logs', 'spare.log'), 'utf8')
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

describe('give to get', () => {
  it('a host with room for one of two folders asked together takes the better balance', async () => {
    // P1 donates and will earn credit by hosting H's folder; P2 is a newcomer (balance 0).
    const p1 = await startDaemon(cleanup, network)
    await p1.json(['donate', 'set', '--disk', '6MB'])
    const h = await startDaemon(cleanup, network)
    // H announces itself as a donor with too little room for anything yet.
    await h.json(['donate', 'set', '--disk', '1MB'])
    const hFolder = (await h.json<{ folder: FolderSummary }>(['share', await folderOf(1)])).folder
    await waitFor(async () => (await hostsOf(h, hFolder.id)).length === 1, {
      timeoutMs: 60_000,
      what: "P1 to host H's folder",
    })
    await waitFor(async () => (await p1.json<Ledger>(['ledger'])).given > 0, {
      timeoutMs: 60_000,
      what: 'P1 to earn countersigned storage receipts from H',
    })
    const p2 = await startDaemon(cleanup, network)

    // Both share a folder of the same size; nobody has room for them yet.
    const [f1, f2] = await Promise.all(
      [
        [p1, 11],
        [p2, 12],
      ].map(
        async ([d, seed]) =>
          (
            await (d as TestDaemon).json<{ folder: FolderSummary }>([
              'share',
              await folderOf(seed as number),
            ])
          ).folder,
      ),
    )
    // Let P2 find H on the hosting topic (P1 is connected already: it hosts for H).
    await new Promise((r) => setTimeout(r, 6000))
    expect((await h.json<DonateStatus>(['donate'])).hosting).toEqual([])
    const p1Id = (await p1.json<Ledger>(['ledger'])).identity
    const p2Id = (await p2.json<Ledger>(['ledger'])).identity
    const [b1, b2] = [
      (await p1.json<Ledger>(['ledger'])).balance,
      (await p2.json<Ledger>(['ledger'])).balance,
    ]
    expect(b1).toBeGreaterThan(b2)

    // H now has room for one: its new hello reaches both owners at once, both ask together.
    await h.json(['donate', 'set', '--disk', '7MB'])
    await waitFor(async () => (await hostsOf(p1, f1!.id)).some((x) => x.agreedBytes > 0), {
      timeoutMs: 60_000,
      what: "H to take P1's folder",
    })
    const donated = await h.json<DonateStatus>(['donate'])
    expect(donated.hosting.map((x) => x.folder)).toEqual([f1!.id])
    expect(donated.hosting[0]!.owner).toBe(p1Id)
    expect(await hostsOf(p2, f2!.id)).toEqual([])

    // The two requests were decided together, P1's first, and P2 heard that H is full.
    const lines = await logOf(h)
    const decided = lines.find(
      (l) =>
        l.msg === 'deciding hosting requests that came together, best balance first' &&
        Array.isArray(l.requests) &&
        (l.requests as Array<{ folder: string }>).some((r) => r.folder === f2!.id),
    )
    expect(decided, 'no batch held both requests').toBeDefined()
    const order = (decided!.requests as Array<{ folder: string; balance: number }>).map(
      (r) => r.folder,
    )
    expect(order.indexOf(f1!.id)).toBeGreaterThanOrEqual(0)
    expect(order.indexOf(f1!.id)).toBeLessThan(order.indexOf(f2!.id))
    const p2Log = await logOf(p2)
    expect(
      p2Log.some(
        (l) => l.msg === 'a host declined' && String(l.reason).includes('this host is full'),
      ),
    ).toBe(true)
    expect(p1Id).not.toBe(p2Id)
  }, 180_000)
})
