// A peer that floods a host with hosting messages that decode but break the rules (here: receipts
// to countersign that are not receipts), with real nodes on a local testnet. Each was a strike and
// a warning: the peer could grow the log and the strikes file as fast as it sent. After
// MAX_RULE_BREAKS on one connection the host closes its hosting channel, as the net layer does
// after MAX_BAD_MESSAGES undecodable ones, and it logs at most a line a second for the peer.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import { HOSTING_TOPIC, MAX_RULE_BREAKS, type Hosting } from '../../main/engine/hosting/hosting.ts'
import type { Message } from '../../main/engine/hosting/messages.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface SessionView {
  identity: string | null
  msg: unknown
}

/** The parts of a node's Hosting this test drives (private to the class). */
interface HostingInside {
  sessions: Set<SessionView>
  send(s: SessionView, m: Message): void
  swarm: { join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void> }
  strikes(): Record<string, number>
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

const FLOOD = 200

describe('a flood of hosting messages that break the rules', () => {
  it('closes the hosting channel after a few, strikes and logs a bounded amount', async () => {
    await fx.testnet()
    const hDir = path.join(await fx.tmpDir('spare-flood-h-'), 'data')
    const h = await fx.readyNode({ dataDir: hDir, logLevel: 'warn' })
    await h.setDonateLimits({ diskBytes: 1e9 })
    const m = await fx.readyNode()
    const mInside = hostingOf(m)
    await mInside.swarm.join(HOSTING_TOPIC, { server: false, client: true })
    const toHost = await waitFor(
      () => [...mInside.sessions].find((s) => s.identity === h.nodeId && s.msg),
      30_000,
      'the peer connected to the host',
    )
    for (let i = 0; i < FLOOD; i++) {
      mInside.send(toHost, {
        t: 'receipt',
        id: 1000 + i,
        receipt: { body: { not: 'a receipt' }, hostSig: 'ab', ownerSig: null },
      })
    }
    const hInside = hostingOf(h)
    await waitFor(
      () => (hInside.strikes()[m.nodeId] ?? 0) >= MAX_RULE_BREAKS,
      20_000,
      'the strikes',
    )
    await new Promise((r) => setTimeout(r, 1500))
    expect(hInside.strikes()[m.nodeId]).toBe(MAX_RULE_BREAKS)
    // The host closed its hosting channel: the peer's side of it closed too.
    expect(toHost.msg).toBeNull()
    const log = await fs.readFile(path.join(hDir, 'logs', 'spare.log'), 'utf8')
    const lines = log.split('\n').filter((l) => l.includes('peer misbehaved'))
    // One right away, then at most one a second (the flood takes a few seconds at most).
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.length).toBeLessThan(10)
  }, 90_000)
})
