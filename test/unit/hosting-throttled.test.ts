// Audits of a host whose hosting download is rate limited, with real nodes on a local testnet: a
// donor (SpareNode) keeping an owner's (SpareNode) two-way folder.
//   - An honest host fetching slowly answers its audits in time: an audit reaches it on the same
//     throttled connection as the blocks it fetches, behind them, and a 16-block batch (1 MiB of
//     64 KiB blocks) at this rate takes about four audit timeouts to come through.
//   - A throttled host that keeps nothing still fails its audits and is replaced.
//   - An owner whose own upload is throttled far below its host's download sends its audits
//     behind the blocks it uploads: the host is not failed for the time they spend in the owner's
//     own queue.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hypercore from 'hypercore'
import type { SpareNode } from '../../main/engine/node.ts'
import type { Hosting } from '../../main/engine/hosting/hosting.ts'
import type { FolderSummary } from '../../shared/contract.ts'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// Audits every 700 ms with 2 s to answer (defaults: 10 min and 10 s).
useHostingTimers('audit=700,timeout=2000,receipt=600000,gone=600000,window=100,stall=5000')

/** The hosting download rate: a 1 MiB batch takes 4 s, twice the audit timeout. */
const RATE = 256 * 1024
const SIZE = 3 * 1024 * 1024
/** The owner's hosting upload in the second test, and its folder's size. */
const OWNER_UP = 128 * 1024
const OWNER_SIZE = 2 * 1024 * 1024

/** The parts of a node's Hosting this test looks at or changes (private to the class). */
interface HostingInside {
  pump: (...args: unknown[]) => void
  cores: Map<string, { core: Hypercore }>
  state: { banned: Record<string, string[]> }
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

function hostsOf(node: SpareNode, id: string): NonNullable<FolderSummary['hosts']> {
  return node.listFolders().find((f) => f.id === id)?.hosts ?? []
}

/** Collects every audit failure reason the owner records for `host` until stopped. */
function watchAudits(a: SpareNode, id: string, host: string): { reasons: Set<string> } {
  const out = { reasons: new Set<string>() }
  const timer = setInterval(() => {
    const last = hostsOf(a, id).find((x) => x.host === host)?.lastAudit
    if (last && !last.ok && last.reason) out.reasons.add(last.reason)
  }, 50)
  fx.defer(() => clearInterval(timer))
  return out
}

describe('audits of a throttled host', () => {
  it('an honest host fetching at a low rate passes; one that keeps nothing fails', async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    await h.setDonateLimits({ diskBytes: 1e9, downBytesPerSec: RATE })
    const a = await fx.readyNode()
    const src = path.join(await fx.tmpDir('spare-throttled-src-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(SIZE))
    const { folder } = await a.share(src)
    const id = folder.id
    const audits = watchAudits(a, id, h.nodeId)

    // Fetching takes about SIZE / RATE (12 s): audits every 700 ms meanwhile.
    await waitFor(
      async () => {
        const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
        return held && held.bytes >= SIZE && hostsOf(a, id).some((x) => x.auditsPassed > 0)
      },
      90_000,
      'the throttled host holding the folder and passing an audit',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; audit failures: ${[...audits.reasons].join(', ')}`)
    })
    expect([...audits.reasons].filter((r) => r === 'no answer in time')).toEqual([])
    expect(hostingOf(a).state.banned[id] ?? []).not.toContain(h.nodeId)
    expect(hostsOf(a, id).find((x) => x.host === h.nodeId)).toBeDefined()

    // Now it keeps nothing (and fetches nothing more): still throttled, it must fail and go.
    const inside = hostingOf(h)
    inside.pump = () => {}
    for (const { core } of inside.cores.values()) {
      if (core.length > 0) await core.clear(0, core.length)
    }
    await waitFor(
      () => (hostingOf(a).state.banned[id] ?? []).includes(h.nodeId),
      30_000,
      'the owner to replace a throttled host that keeps nothing',
    )
  }, 180_000)
})

describe('audits from a throttled owner', () => {
  it("an honest host is not failed for the time an audit waits in the owner's upload", async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    await h.setDonateLimits({ diskBytes: 1e9 })
    const a = await fx.readyNode()
    // The owner uploads at OWNER_UP: its audits wait behind the blocks it sends the host (about
    // 2 s for what the pipe holds, the audit timeout), audited every 700 ms as it uploads.
    await a.setDonateLimits({ upBytesPerSec: OWNER_UP })
    const src = path.join(await fx.tmpDir('spare-throttled-src-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(OWNER_SIZE))
    const { folder } = await a.share(src)
    const id = folder.id
    const audits = watchAudits(a, id, h.nodeId)

    await waitFor(
      async () => {
        const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
        const passed = hostsOf(a, id).find((x) => x.host === h.nodeId)?.auditsPassed ?? 0
        return held && held.bytes >= OWNER_SIZE / 4 && passed >= 5
      },
      60_000,
      'the host holding a quarter of the folder and passing audits',
    ).catch(async (err: Error) => {
      const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)?.bytes
      const passed = hostsOf(a, id).find((x) => x.host === h.nodeId)?.auditsPassed
      throw new Error(
        `${err.message}; held ${held}, passed ${passed}, audit failures: ${[...audits.reasons].join(', ')}`,
      )
    })
    expect([...audits.reasons].filter((r) => r === 'no answer in time')).toEqual([])
    expect(hostingOf(a).state.banned[id] ?? []).not.toContain(h.nodeId)
  }, 180_000)
})
