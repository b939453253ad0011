// How a host decides hosting requests, with real nodes on a local testnet: a donor (SpareNode)
// asked by two owners (SpareNodes). One requester's ledger check is held open (its ledger may
// take up to 2 minutes to check: the peer serving it decides how fast it comes); the host's own
// code is changed only there.
//   - Another owner's request is decided while that check goes on: it was held until every
//     requester's check had ended (and every later request behind it).
//   - The held one is decided once its check ends.
//   - With room for one folder, a request whose check ended does not take the room of an earlier
//     one still being checked: it waits, and hears the host is full once that one is decided.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import type { Hosting } from '../../main/engine/hosting/hosting.ts'
import type { FolderSummary } from '../../shared/contract.ts'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

useHostingTimers('audit=700,timeout=2000,receipt=600000,gone=600000,window=300,stall=2000')

interface SessionView {
  identity: string | null
}

/** The part of a node's Hosting this test changes (private to the class). */
interface HostingInside {
  requesterBalance(s: SessionView): Promise<number>
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

function hostsOf(node: SpareNode, id: string): NonNullable<FolderSummary['hosts']> {
  return node.listFolders().find((f) => f.id === id)?.hosts ?? []
}

async function share(node: SpareNode): Promise<string> {
  const src = path.join(await fx.tmpDir('spare-decide-src-'), 'src')
  await fs.mkdir(src, { recursive: true })
  await fs.writeFile(path.join(src, 'data.bin'), randomBytes(256 * 1024))
  return (await node.share(src)).folder.id
}

describe('deciding hosting requests', () => {
  it("decides a request while another requester's ledger is still being checked", async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    const slow = await fx.readyNode()
    // The slow requester's ledger check does not end until the test lets it.
    const inside = hostingOf(h)
    const realBalance = inside.requesterBalance.bind(inside)
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let slowChecks = 0
    inside.requesterBalance = async (s) => {
      if (s.identity === slow.nodeId) {
        slowChecks++
        await gate
      }
      return realBalance(s)
    }
    fx.defer(() => release())
    await h.setDonateLimits({ diskBytes: 1e9 })
    const slowFolder = await share(slow)
    await waitFor(() => slowChecks > 0, 60_000, "the slow requester's request at the host")

    const fast = await fx.readyNode()
    const fastFolder = await share(fast)
    await waitFor(
      () => hostsOf(fast, fastFolder).some((x) => x.host === h.nodeId),
      60_000,
      "the host to take the other owner's folder while the slow check goes on",
    )
    expect(hostsOf(slow, slowFolder)).toEqual([])

    release()
    await waitFor(
      () => hostsOf(slow, slowFolder).some((x) => x.host === h.nodeId),
      60_000,
      "the host to take the slow requester's folder once its check ended",
    )
  }, 180_000)

  it('a request does not take the room of an earlier one still being checked', async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    const slow = await fx.readyNode()
    const inside = hostingOf(h)
    const realBalance = inside.requesterBalance.bind(inside)
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let slowChecks = 0
    let fastChecks = 0
    let fastId = ''
    inside.requesterBalance = async (s) => {
      if (s.identity === slow.nodeId) {
        slowChecks++
        await gate
      }
      if (s.identity === fastId) fastChecks++
      return realBalance(s)
    }
    fx.defer(() => release())
    // Room for one of the two folders (each asks for 1.25 times its size and 1 MiB).
    await h.setDonateLimits({ diskBytes: 2_000_000 })
    const slowFolder = await share(slow)
    await waitFor(() => slowChecks > 0, 60_000, "the slow requester's request at the host")
    const fast = await fx.readyNode()
    fastId = fast.nodeId
    const fastFolder = await share(fast)
    await waitFor(() => fastChecks > 0, 60_000, "the other owner's request at the host")

    release()
    await waitFor(
      () => hostsOf(slow, slowFolder).some((x) => x.host === h.nodeId),
      60_000,
      "the host to take the earlier request's folder",
    )
    const hosting = (await h.donateStatus()).hosting.map((x) => x.folder)
    expect(hosting).toEqual([slowFolder])
    expect(hostsOf(fast, fastFolder)).toEqual([])
  }, 180_000)
})
