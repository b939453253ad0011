// Donated disk through real daemons on a local testnet: donors keep a folder's encrypted cores,
// the folder stays available with its writer gone, hosts can't read it, audits catch a host that
// lost data, quotas hold, and receipts land in ledgers anyone can verify.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { DonateStatus, FolderSummary, Ledger, LedgerReport } from '../../shared/contract.ts'
import {
  Cleanup,
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

    await a.stop()
    const b = await startDaemon(cleanup, network)
    const dst = path.join(await tempDir(cleanup), 'dst')
    await b.json(['join', invite, dst])
    await waitForSameTree(src, dst, 90_000)

    // A third node checks the host's ledger over the network.
    const report = await b.json<LedgerReport>(['ledger', 'verify', h1Ledger.key])
    expect(report.valid).toBe(true)
    expect(report.identity).toBe(h1Ledger.identity)
    expect(report.receiptCount).toBeGreaterThan(0)

    await h1.stop()
    await h2.stop()
    for (const h of [h1, h2]) {
      expect(
        await grepDir(h.dataDir, [SECRET_NAME, 'private-dir-x91', 'vault combination']),
      ).toEqual([])
    }
  })
})
