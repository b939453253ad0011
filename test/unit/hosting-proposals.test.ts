// A storage receipt proposal whose owner is slow to answer does not hold the host's hosting tick
// (audits, fetches, other folders' receipts), and is not proposed twice while it waits. Real nodes
// on a local testnet: a donor (SpareNode) keeping an owner's (SpareNode) two-way folder; the
// owner's hosting code takes receipts and never answers them (a slow or silent owner).
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import type { Hosting } from '../../main/engine/hosting/hosting.ts'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// Receipts due every 1.5 s; an owner has 8 s to answer one (and a host 8 s for an audit).
useHostingTimers('audit=700,timeout=8000,receipt=1500,gone=600000,window=100,stall=300')

const TIMEOUT = 8000

/** The parts of a node's Hosting this test looks at or changes (private to the class). */
interface HostingInside {
  ticking: boolean
  onReceipt: (...args: unknown[]) => Promise<void>
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

describe('a storage receipt the owner does not answer', () => {
  it('does not hold the hosting tick, and is not proposed again meanwhile', async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    await h.setDonateLimits({ diskBytes: 1e9 })
    const a = await fx.readyNode()
    let received = 0
    hostingOf(a).onReceipt = () => {
      received++
      return Promise.resolve()
    }
    const src = path.join(await fx.tmpDir('spare-proposals-src-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(256 * 1024))
    await a.share(src)
    await waitFor(() => received > 0, 60_000, 'a receipt proposed to the owner')
    const first = Date.now()
    // The tick goes on while the answer is awaited (it ran every 700 ms before the proposal).
    const hInside = hostingOf(h)
    await waitFor(() => !hInside.ticking, TIMEOUT / 2, 'the hosting tick to end')
    // And no second proposal for the same agreement beside the first.
    await new Promise((r) => setTimeout(r, first + (3 * TIMEOUT) / 4 - Date.now()))
    expect(received).toBe(1)
  }, 120_000)
})
