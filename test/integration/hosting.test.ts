// Donated disk through real daemons on a local testnet: donors keep a folder's encrypted cores,
// the folder stays available with its writer gone, hosts can't read it, audits catch a host that
// lost data, quotas hold, and receipts land in ledgers anyone can verify: storage receipts, and
// served receipts for the bytes a member fetched from the hosts (an overclaiming one is refused).
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { DonateStatus, FolderSummary, Ledger, LedgerReport } from '../../shared/contract.ts'
import {
  Cleanup,
  ROOT,
  type TestDaemon,
  localTestnet,
  startDaemon,
  tempDir,
  waitFor,
  waitForSameTree,
  writeRandomFile,
} from '../helpers/daemon.ts'

let cleanup: Cleanup
let network: string

beforeAll(() => {
  // Short audit and receipt periods so the test sees several (defaults: 10 min and 1 h).
  process.env.SPARE_HOSTING_TIMERS = 'audit=1500,timeout=3000,receipt=2500,gone=600000'
})
beforeEach(async () => {
  cleanup = new Cleanup()
  network = await localTestnet(cleanup)
})
afterEach(async () => {
  await cleanup.run()
})

async function donor(limit = '1GB'): Promise<TestDaemon> {
  const d = await startDaemon(cleanup, network)
  const st = await d.json<DonateStatus>(['donate', 'set', '--disk', limit])
  expect(st.disk.budget).toBeGreaterThan(0)
  return d
}

type Receipt = Ledger['recent'][number]
type ServedReceipt = Receipt & { body: { kind: 'served'; bytes: number; folder: string } }

function isServed(r: Receipt): r is ServedReceipt {
  return r.body.kind === 'served'
}

/**
 * Polls a node's ledger and keeps every served receipt it ever listed (by nonce: its recent list
 * holds only the last 20, and storage receipts keep coming).
 */
function servedSeen(d: TestDaemon): {
  poll: () => Promise<Ledger>
  all: Map<string, ServedReceipt>
} {
  const all = new Map<string, ServedReceipt>()
  return {
    all,
    poll: async () => {
      const l = await d.json<Ledger>(['ledger'])
      for (const r of l.recent) if (isServed(r)) all.set(r.body.nonce, r)
      return l
    },
  }
}

/** Lines of a daemon's log that match `re` (for failure messages). */
async function logLines(d: TestDaemon, re: RegExp): Promise<string> {
  const text = await fs.readFile(path.join(d.dataDir, 'logs', 'spare.log'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((l) => re.test(l))
    .slice(-15)
    .join('\n')
}

async function hostsOf(d: TestDaemon, id: string): Promise<FolderSummary['hosts']> {
  const f = (await d.folders()).find((x) => x.id === id)
  return f?.hosts ?? []
}

const SECRET_NAME = 'payroll-2026-confidential.txt'
const SECRET_TEXT = 'the vault combination is 31-7-2049, keep it safe\n'

async function secretFolder(): Promise<string> {
  const src = path.join(await tempDir(cleanup), 'src')
  await fs.mkdir(path.join(src, 'private-dir-x91'), { recursive: true })
  await fs.writeFile(path.join(src, 'private-dir-x91', SECRET_NAME), SECRET_TEXT.repeat(50))
  await writeRandomFile(path.join(src, 'photo.raw'), 3 * 1024 * 1024 + 5, 11)
  return src
}

async function grepDir(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = []
  for (const d of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!d.isFile()) continue
    const file = path.join(d.parentPath, d.name)
    if (file.includes(`${path.sep}logs${path.sep}`)) continue
    const buf = await fs.readFile(file)
    for (const n of needles) if (buf.includes(Buffer.from(n))) hits.push(`${file}: ${n}`)
  }
  return hits
}

describe('donated disk', () => {
  it('hosts keep a folder available with its writer gone, and can read none of it', async () => {
    const [h1, h2] = [await donor(), await donor()]
    const a = await startDaemon(cleanup, network)
    const src = await secretFolder()
    const { folder, invite } = await a.json<{ folder: FolderSummary; invite: string }>([
      'share',
      src,
    ])
    // Two hosts, each holding the whole folder.
    await waitFor(
      async () => {
        const hosts = await hostsOf(a, folder.id)
        return hosts.length === 2 && hosts.every((h) => h.bytes >= 3 * 1024 * 1024)
      },
      { timeoutMs: 90_000, what: 'two hosts holding the folder' },
    )
    // Audits pass, and receipts land in both ledgers.
    await waitFor(async () => (await hostsOf(a, folder.id)).every((h) => h.auditsPassed > 0), {
      timeoutMs: 60_000,
      what: 'audits',
    })
    await waitFor(async () => (await h1.json<Ledger>(['ledger'])).receipts > 0, {
      timeoutMs: 60_000,
      what: 'a receipt in the host ledger',
    })
    const aLedger = await a.json<Ledger>(['ledger'])
    expect(aLedger.received).toBeGreaterThan(0)
    const h1Ledger = await h1.json<Ledger>(['ledger'])
    expect(h1Ledger.given).toBeGreaterThan(0)
    const donated = await h1.json<DonateStatus>(['donate'])
    expect(donated.hosting).toHaveLength(1)
    expect(donated.hosting[0]!.folder).toBe(folder.id)

    const h2Ledger = await h2.json<Ledger>(['ledger'])
    await a.stop()
    const b = await startDaemon(cleanup, network)
    const dst = path.join(await tempDir(cleanup), 'dst')
    const bSeen = servedSeen(b)
    const hostSeen = [servedSeen(h1), servedSeen(h2)]
    // B's ledger lists its last 20 receipts: watch it so no served receipt is missed.
    let watching = true
    const watcher = (async () => {
      while (watching) {
        await bSeen.poll().catch(() => {})
        await new Promise((r) => setTimeout(r, 1000))
      }
    })()
    try {
      await b.json(['join', invite, dst])
      await waitForSameTree(src, dst, 90_000)

      // A third node checks the host's ledger over the network.
      const report = await b.json<LedgerReport>(['ledger', 'verify', h1Ledger.key])
      expect(report.valid).toBe(true)
      expect(report.identity).toBe(h1Ledger.identity)
      expect(report.receiptCount).toBeGreaterThan(0)

      // B fetched everything from the hosts: they bill it in served receipts B countersigned,
      // adding up to what they sent B (the folder's content, encrypted, and its log).
      const content = (await fs.stat(path.join(src, 'photo.raw'))).size
      const hostIds = new Set([h1Ledger.identity, h2Ledger.identity])
      const bId = (await bSeen.poll()).identity
      const billed = () =>
        [...bSeen.all.values()]
          .filter((r) => hostIds.has(r.body.host) && r.body.owner === bId)
          .reduce((n, r) => n + r.body.bytes, 0)
      await waitFor(async () => (await bSeen.poll(), billed() >= content * 0.95), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `served receipts at B for the ${content} bytes it fetched`,
      }).catch(async (err: Error) => {
        const re = /served|countersign/
        throw new Error(
          `${err.message} (so far ${billed()})\nB:\n${await logLines(b, re)}\n` +
            `H1:\n${await logLines(h1, re)}\nH2:\n${await logLines(h2, re)}`,
        )
      })
      // Every period billed: nothing more comes in.
      await new Promise((r) => setTimeout(r, 6000))
      await bSeen.poll()
      const total = billed()
      // At least the content; at most what two hosts sent, with Hypercore asking the second
      // for blocks the first was slow with (about 1.5-1.9 times the content here).
      expect(total).toBeGreaterThanOrEqual(content)
      expect(total).toBeLessThanOrEqual(content * 2.5 + 1024 * 1024)
      for (const r of bSeen.all.values()) {
        expect(r.body.folder).toBe(folder.id)
        expect(r.body.audits).toBe(0)
      }
      // The hosts hold the same receipts (both parties append).
      await waitFor(
        async () => {
          await Promise.all(hostSeen.map((w) => w.poll()))
          return [...bSeen.all.keys()].every((n) => hostSeen.some((w) => w.all.has(n)))
        },
        { timeoutMs: 20_000, what: "B's served receipts in the hosts' ledgers" },
      )
      const bLedger = await b.json<Ledger>(['ledger'])
      expect(bLedger.received).toBeGreaterThanOrEqual(total)
      expect(bLedger.strikes).toEqual({})
      // A third node verifies B's ledger: every signature, served receipts included.
      const c = await startDaemon(cleanup, network)
      const ofB = await c.json<LedgerReport>(['ledger', 'verify', bLedger.key])
      expect(ofB.valid).toBe(true)
      expect(ofB.identity).toBe(bId)
      expect(ofB.receipts.filter((r) => r.body.kind === 'served').length).toBeGreaterThan(0)
      const ofH1 = await c.json<LedgerReport>(['ledger', 'verify', h1Ledger.key])
      expect(ofH1.valid).toBe(true)
    } finally {
      watching = false
      await watcher
    }

    await h1.stop()
    await h2.stop()
    for (const h of [h1, h2]) {
      expect(
        await grepDir(h.dataDir, [SECRET_NAME, 'private-dir-x91', 'vault combination']),
      ).toEqual([])
    }
  }, 240_000)

  it('replaces a host that drops what it keeps: it fails its audits, and the folder keeps R hosts', async () => {
    const liar = await lyingHost()
    const a = await startDaemon(cleanup, network)
    const src = await secretFolder()
    const { folder } = await a.json<{ folder: FolderSummary }>(['share', src])
    // The only donor yet, so the owner takes it first; honest ones come after.
    await waitFor(async () => (await hostsOf(a, folder.id)).some((h) => h.host === liar.identity), {
      timeoutMs: 60_000,
      what: 'the lying host to be chosen',
    })
    const [h1, h2] = [await donor(), await donor()]
    await Promise.race([
      liar.dropped,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the lying host never fetched the folder')), 60_000),
      ),
    ])
    await waitFor(
      async () => {
        const hosts = await hostsOf(a, folder.id)
        return (
          hosts.length === 2 &&
          !hosts.some((h) => h.host === liar.identity) &&
          hosts.every((h) => h.auditsPassed > 0)
        )
      },
      { timeoutMs: 90_000, what: 'the liar replaced by honest hosts that pass audits' },
    )
    const ids = new Set([
      (await h1.json<Ledger>(['ledger'])).identity,
      (await h2.json<Ledger>(['ledger'])).identity,
    ])
    expect(new Set((await hostsOf(a, folder.id)).map((h) => h.host))).toEqual(ids)
    // Its overclaiming receipts were refused and counted against it; none reached the ledger.
    const ledger = await a.json<Ledger>(['ledger'])
    expect(ledger.strikes[liar.identity]).toBeGreaterThan(0)
    expect(ledger.recent.some((r) => r.body.host === liar.identity)).toBe(false)
  })

  it('refuses a served receipt that claims more than the member fetched from that host, and counts it', async () => {
    const liar = await lyingHost('overclaim-served')
    const h1 = await donor()
    const a = await startDaemon(cleanup, network)
    const src = await secretFolder()
    const { folder, invite } = await a.json<{ folder: FolderSummary; invite: string }>([
      'share',
      src,
    ])
    await waitFor(
      async () => {
        const hosts = await hostsOf(a, folder.id)
        return (
          hosts.length === 2 &&
          hosts.some((h) => h.host === liar.identity) &&
          hosts.every((h) => h.bytes >= 3 * 1024 * 1024)
        )
      },
      { timeoutMs: 90_000, what: 'the liar and an honest host holding the folder' },
    )
    const honest = (await h1.json<Ledger>(['ledger'])).identity
    await a.stop()
    const b = await startDaemon(cleanup, network)
    const dst = path.join(await tempDir(cleanup), 'dst')
    await b.json(['join', invite, dst])
    await waitForSameTree(src, dst, 90_000)
    await waitFor(
      async () => ((await b.json<Ledger>(['ledger'])).strikes[liar.identity] ?? 0) > 0,
      {
        timeoutMs: 30_000,
        what: "the liar's served receipts refused and counted at B",
      },
    )
    const ledger = await b.json<Ledger>(['ledger'])
    expect(ledger.recent.some((r) => r.body.host === liar.identity && isServed(r))).toBe(false)
    expect(ledger.strikes[honest]).toBeUndefined()
    expect(await liar.overclaimed()).toBeGreaterThan(0)
    const log = await fs.readFile(path.join(b.dataDir, 'logs', 'spare.log'), 'utf8')
    expect(log).toMatch(/served receipt refused: the receipt claims \d+ bytes served/)
  })

  it('keeps to its limits: refuses when full, evicts when the limit drops, cuts off growth past what was agreed', async () => {
    const h = await donor('6MB')
    const a1 = await startDaemon(cleanup, network)
    const a2 = await startDaemon(cleanup, network)
    const src1 = path.join(await tempDir(cleanup), 'one')
    const src2 = path.join(await tempDir(cleanup), 'two')
    await writeRandomFile(path.join(src1, 'a.bin'), 3 * 1024 * 1024, 1)
    await writeRandomFile(path.join(src2, 'b.bin'), 3 * 1024 * 1024, 2)
    const f1 = (await a1.json<{ folder: FolderSummary }>(['share', src1])).folder
    await waitFor(async () => (await hostsOf(a1, f1.id)).length === 1, {
      timeoutMs: 60_000,
      what: 'the first folder hosted',
    })
    // Full: the second folder is refused.
    const f2 = (await a2.json<{ folder: FolderSummary }>(['share', src2])).folder
    await new Promise((r) => setTimeout(r, 5000))
    expect(await hostsOf(a2, f2.id)).toEqual([])
    expect((await h.json<DonateStatus>(['donate'])).hosting.map((x) => x.folder)).toEqual([f1.id])
    // More room: the second folder is taken too.
    await h.json(['donate', 'set', '--disk', '20MB'])
    await waitFor(async () => (await hostsOf(a2, f2.id)).length === 1, {
      timeoutMs: 60_000,
      what: 'the second folder hosted',
    })
    await waitFor(async () => (await h.json<DonateStatus>(['donate'])).usedBytes > 6e6, {
      timeoutMs: 60_000,
      what: 'both folders fetched',
    })
    // Less room: evicted down to the limit, and the owner hears of it.
    const shrunk = await h.json<DonateStatus>(['donate', 'set', '--disk', '4MB'])
    expect(shrunk.hosting).toHaveLength(1)
    expect(shrunk.usedBytes).toBeLessThanOrEqual(4e6)
    const kept = shrunk.hosting[0]!.folder
    const [gone, owner] = kept === f1.id ? [f2, a2] : [f1, a1]
    await waitFor(async () => (await hostsOf(owner, gone.id)).length === 0, {
      what: 'the owner told of the eviction',
    })
    // Growth past the agreed size: refused, and the host stops at it (one batch at most).
    const keptOwner = kept === f1.id ? a1 : a2
    const keptDir = kept === f1.id ? src1 : src2
    await h.json(['donate', 'set', '--disk', '8MB'])
    await writeRandomFile(path.join(keptDir, 'more.bin'), 12 * 1024 * 1024, 3)
    await waitFor(
      async () =>
        ((await keptOwner.folders()).find((f) => f.id === kept)?.bytes ?? 0) > 14 * 1024 * 1024,
      { what: 'the owner to import the new file' },
    )
    await new Promise((r) => setTimeout(r, 6000))
    const after = await h.json<DonateStatus>(['donate'])
    const entry = after.hosting.find((x) => x.folder === kept)!
    expect(entry.bytes).toBeLessThanOrEqual(entry.agreedBytes + 4 * 1024 * 1024)
    expect(after.usedBytes).toBeLessThanOrEqual(8e6 + 4 * 1024 * 1024)
    // Bad limits are refused with a clear message, and nothing changes.
    const bad = await h.cli(['donate', 'set', '--disk', '5 XB'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/unknown unit/)
    expect((await h.cli(['donate', 'set'])).code).toBe(2)
    expect((await h.json<DonateStatus>(['donate'])).limits.diskBytes).toBe(8e6)
  })
})

/**
 * Starts the lying host (see test/helpers/lying-host.ts for its modes); resolves with its
 * identity, a promise of the moment it drops (mode drop) and how many served receipts it
 * overclaimed so far (mode overclaim-served).
 */
async function lyingHost(
  mode: 'drop' | 'overclaim-served' = 'drop',
): Promise<{ identity: string; dropped: Promise<void>; overclaimed: () => Promise<number> }> {
  const dir = await tempDir(cleanup, 'spare-liar-')
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/helpers/lying-host.ts'), network, dir, mode],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  )
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  )
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  let onDrop: () => void = () => {}
  let overclaimed = 0
  const dropped = new Promise<void>((r) => (onDrop = r))
  const identity = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const lines = out.split('\n')
      out = lines.pop() ?? '' // a line not ended yet waits for the rest
      for (const line of lines) {
        if (!line.startsWith('{')) continue
        const m = JSON.parse(line) as { identity?: string; dropped?: number; overclaimed?: number }
        if (m.identity) resolve(m.identity)
        if (m.dropped) onDrop()
        if (m.overclaimed) overclaimed += m.overclaimed
      }
    })
    child.once('exit', (code) => reject(new Error(`lying host exited ${code}: ${err}`)))
  })
  return { identity, dropped, overclaimed: () => Promise.resolve(overclaimed) }
}
