// What a hostile host can make an owner countersign, with real nodes on a local testnet: a donor
// (SpareNode) keeping an owner's (SpareNode) two-way folder. The dishonest side is Spare's own
// hosting code, with its receipts sent by hand: fakes only at that edge.
//   - A host that sends several storage receipts for one period at once must get one of them
//     countersigned, not each (the owner would pay for the period several times over).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import type { Hosting } from '../../main/engine/hosting/hosting.ts'
import type { Message } from '../../main/engine/hosting/messages.ts'
import {
  newReceiptBody,
  signAs,
  type KeyPair,
  type SignedReceipt,
} from '../../main/engine/ledger/receipt.ts'
import type { FolderSummary } from '../../shared/contract.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

let savedTimers: string | undefined
beforeAll(() => {
  savedTimers = process.env.SPARE_HOSTING_TIMERS
  // Short periods so a test sees audits and receipts (defaults: 10 min and 1 h).
  process.env.SPARE_HOSTING_TIMERS =
    'audit=700,timeout=2000,receipt=1200,gone=600000,window=100,stall=300'
})
afterAll(() => {
  if (savedTimers === undefined) delete process.env.SPARE_HOSTING_TIMERS
  else process.env.SPARE_HOSTING_TIMERS = savedTimers
})

interface SessionView {
  identity: string | null
  msg: unknown
}

/** The parts of a node's Hosting this test drives or changes (private to the class). */
interface HostingInside {
  sessions: Set<SessionView>
  send(s: SessionView, m: Message): void
  proposeReceipts: () => Promise<void>
  deps: { identity: KeyPair }
  state: {
    hosts: Record<
      string,
      Array<{ host: string; lastReceiptTo: number; auditsSinceReceipt: number }>
    >
  }
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

function hostsOf(node: SpareNode, id: string): NonNullable<FolderSummary['hosts']> {
  return node.listFolders().find((f) => f.id === id)?.hosts ?? []
}

const SIZE = 1024 * 1024

describe('storage receipts from a hostile host', () => {
  it('countersigns one of several receipts sent at once for the same period', async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    await h.setDonateLimits({ diskBytes: 1e9 })
    const a = await fx.readyNode()
    const src = path.join(await fx.tmpDir('spare-receipts-src-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(SIZE))
    const { folder } = await a.share(src)
    const id = folder.id
    await waitFor(
      async () => {
        const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
        return held && held.bytes >= SIZE && hostsOf(a, id).some((x) => x.auditsPassed > 0)
      },
      60_000,
      'the host holding the folder and passing an audit',
    )
    // The host proposes no receipt of its own from now on; the test sends them.
    const host = hostingOf(h)
    host.proposeReceipts = async () => {}
    const record = (): { lastReceiptTo: number; auditsSinceReceipt: number } => {
      const r = hostingOf(a).state.hosts[id]?.find((x) => x.host === h.nodeId)
      if (!r) throw new Error('the owner has no record of its host')
      return r
    }
    await waitFor(() => record().auditsSinceReceipt > 0, 20_000, 'an audit passed since a receipt')
    const s = [...host.sessions].find((x) => x.identity === a.nodeId && x.msg)
    if (!s) throw new Error('the host has no session with the owner')

    const from = record().lastReceiptTo
    const to = Date.now()
    const replies: Array<Extract<Message, { t: 'countersign' }>> = []
    const realSend = hostingOf(a).send.bind(hostingOf(a))
    hostingOf(a).send = (peer, m) => {
      if (m.t === 'countersign' && m.id >= 90_000) replies.push(m)
      realSend(peer, m)
    }
    for (let i = 0; i < 3; i++) {
      const body = newReceiptBody({
        kind: 'storage',
        host: h.nodeId,
        owner: a.nodeId,
        folder: id,
        bytes: SIZE,
        from,
        to,
        audits: 1,
      })
      const receipt: SignedReceipt = {
        body,
        hostSig: signAs(body, host.deps.identity, 'host'),
        ownerSig: '',
      }
      host.send(s, { t: 'receipt', id: 90_000 + i, receipt: { ...receipt, ownerSig: null } })
    }
    await waitFor(() => replies.length === 3, 10_000, 'the owner to answer all three')
    const signed = (a.ledger().recent as SignedReceipt[]).filter(
      (r) => r.body.kind === 'storage' && r.body.host === h.nodeId && r.body.from === from,
    )
    expect(replies.filter((m) => m.sig !== null)).toHaveLength(1)
    expect(signed).toHaveLength(1)
  }, 120_000)
})
