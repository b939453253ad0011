// What a hostile host can make an owner countersign, with real nodes on a local testnet: a donor
// (SpareNode) keeping an owner's (SpareNode) two-way folder. The dishonest side is Spare's own
// hosting code, with its receipts sent by hand: fakes only at that edge.
//   - A host that sends several storage receipts for one period at once must get one of them
//     countersigned, not each (the owner would pay for the period several times over).
//   - A node killed between appending a receipt to its ledger and saving its hosting state comes
//     back with the state of before: the ledger is the record. An owner must not countersign the
//     period again; a host must go on from the end of the period it was paid for (proposing it
//     again is refused, forever, and a strike each time).
//   - A host that never got the owner's countersignature (the answer was lost) proposes the same
//     receipt again and the owner answers it again: no strike, each receipt once in each ledger.
//     The same receipt sent again while the owner is countersigning it gets the same answer; a
//     different receipt for that period is a conflict and a strike.
//   - A host that never got a member's countersignature of a served receipt takes it from the
//     member's ledger.
//   - A host refused as overlapping takes the receipt from the owner's ledger beside its timer: a
//     ledger check held open (up to 2 minutes) stops no other folder's receipts, and the folder's
//     own are not proposed again (refused, a strike each) until the check ends.
import { describe, expect, it } from 'vitest'
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
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// Short periods so a test sees audits and receipts (defaults: 10 min and 1 h).
useHostingTimers('audit=700,timeout=2000,receipt=1200,gone=600000,window=100,stall=300')

interface SessionView {
  identity: string | null
  msg: unknown
}

/** The parts of a node's Hosting this test drives or changes (private to the class). */
interface HostingInside {
  sessions: Set<SessionView>
  scores: { report(identity: string, ledgerKey: string): Promise<unknown> }
  send(s: SessionView, m: Message): void
  proposeReceipts: () => Promise<void>
  request(s: SessionView, m: Message & { id: number }, timeoutMs: number): Promise<Message>
  deps: { identity: KeyPair }
  state: {
    hosted: Array<{ folder: string; owner: string; proposal: unknown }>
    hosts: Record<
      string,
      Array<{ host: string; lastReceiptTo: number; auditsSinceReceipt: number }>
    >
  }
}

/** hosting.json as far as these tests rewind it. */
interface StateFile {
  hosted: Array<{ folder: string; lastReceiptTo: number; auditsAnswered: number }>
  hosts: Record<string, Array<{ host: string; lastReceiptTo: number; auditsSinceReceipt: number }>>
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

/** A donor `h` holding a folder of `a`'s, on nodes whose data dirs are returned for restarts. */
async function hostedFolder(): Promise<{
  h: SpareNode
  a: SpareNode
  id: string
  hDir: string
  aDir: string
  invite: string
}> {
  await fx.testnet()
  const hDir = path.join(await fx.tmpDir('spare-receipts-h-'), 'data')
  const aDir = path.join(await fx.tmpDir('spare-receipts-a-'), 'data')
  const h = await fx.readyNode({ dataDir: hDir })
  await h.setDonateLimits({ diskBytes: 1e9 })
  const a = await fx.readyNode({ dataDir: aDir })
  const src = path.join(await fx.tmpDir('spare-receipts-src-'), 'src')
  await fs.mkdir(src, { recursive: true })
  await fs.writeFile(path.join(src, 'data.bin'), randomBytes(SIZE))
  const { folder, invite } = await a.share(src)
  const id = folder.id
  await waitFor(
    async () => {
      const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
      return held && held.bytes >= SIZE && hostsOf(a, id).some((x) => x.auditsPassed > 0)
    },
    60_000,
    'the host holding the folder and passing an audit',
  )
  return { h, a, id, hDir, aDir, invite }
}

/** The owner's record of its host `h` for folder `id`. */
function recordOf(
  a: SpareNode,
  h: SpareNode,
  id: string,
): { lastReceiptTo: number; auditsSinceReceipt: number } {
  const r = hostingOf(a).state.hosts[id]?.find((x) => x.host === h.nodeId)
  if (!r) throw new Error('the owner has no record of its host')
  return r
}

/** A storage receipt for `id` from `from` to now, signed by the host `h` alone. */
function hostSigned(h: SpareNode, a: SpareNode, id: string, from: number): Message {
  const body = newReceiptBody({
    kind: 'storage',
    host: h.nodeId,
    owner: a.nodeId,
    folder: id,
    bytes: SIZE,
    from,
    to: Date.now(),
    audits: 1,
  })
  const hostSig = signAs(body, hostingOf(h).deps.identity, 'host')
  return { t: 'receipt', id: 0, receipt: { body, hostSig, ownerSig: null } }
}

/** Sends `m` from the host to the owner as request `id`; the owner's answer. */
async function sendToOwner(
  h: SpareNode,
  a: SpareNode,
  m: Message,
  id: number,
): Promise<Extract<Message, { t: 'countersign' }>> {
  const host = hostingOf(h)
  const s = [...host.sessions].find((x) => x.identity === a.nodeId && x.msg)
  if (!s) throw new Error('the host has no session with the owner')
  let reply: Extract<Message, { t: 'countersign' }> | null = null
  const owner = hostingOf(a)
  const realSend = owner.send.bind(owner)
  owner.send = (peer, out) => {
    if (out.t === 'countersign' && out.id === id) reply = out
    realSend(peer, out)
  }
  host.send(s, { ...m, id } as Message)
  await waitFor(() => reply !== null, 10_000, 'the owner to answer')
  owner.send = realSend
  return reply!
}

function folderOf(r: SignedReceipt): string | null {
  return r.body.kind === 'compute' ? null : r.body.folder
}

function storageReceipts(node: SpareNode, host: string): SignedReceipt[] {
  return (node.ledger().recent as SignedReceipt[]).filter(
    (r) => r.body.kind === 'storage' && r.body.host === host,
  )
}

/** Closes `node` and rewrites its hosting.json with `edit`, as a kill -9 before a save leaves it. */
async function closeAndRewind(
  node: SpareNode,
  dataDir: string,
  edit: (state: StateFile) => void,
): Promise<void> {
  await node.close()
  const file = path.join(dataDir, 'hosting.json')
  const state = JSON.parse(await fs.readFile(file, 'utf8')) as StateFile
  edit(state)
  await fs.writeFile(file, JSON.stringify(state))
}

describe('storage receipts from a hostile host', () => {
  it('countersigns one of several receipts sent at once for the same period', async () => {
    const { h, a, id } = await hostedFolder()
    // The host proposes no receipt of its own from now on; the test sends them.
    const host = hostingOf(h)
    host.proposeReceipts = async () => {}
    await waitFor(() => recordOf(a, h, id).auditsSinceReceipt > 0, 20_000, 'an audit to pass')
    const s = [...host.sessions].find((x) => x.identity === a.nodeId && x.msg)
    if (!s) throw new Error('the host has no session with the owner')

    const from = recordOf(a, h, id).lastReceiptTo
    const replies: Array<Extract<Message, { t: 'countersign' }>> = []
    const owner = hostingOf(a)
    const realSend = owner.send.bind(owner)
    owner.send = (peer, m) => {
      if (m.t === 'countersign' && m.id >= 90_000) replies.push(m)
      realSend(peer, m)
    }
    for (let i = 0; i < 3; i++) {
      host.send(s, { ...hostSigned(h, a, id, from), id: 90_000 + i } as Message)
    }
    await waitFor(() => replies.length === 3, 10_000, 'the owner to answer all three')
    expect(replies.filter((m) => m.sig !== null)).toHaveLength(1)
    expect(storageReceipts(a, h.nodeId).filter((r) => r.body.from === from)).toHaveLength(1)
  }, 120_000)
})

describe('storage receipts after a crash', () => {
  it('an owner whose state lost the last receipt does not countersign its period again', async () => {
    const { h, a, id, aDir } = await hostedFolder()
    hostingOf(h).proposeReceipts = async () => {}
    await waitFor(() => recordOf(a, h, id).auditsSinceReceipt > 0, 20_000, 'an audit to pass')
    const from = recordOf(a, h, id).lastReceiptTo
    const first = await sendToOwner(h, a, hostSigned(h, a, id, from), 90_001)
    expect(first.sig).not.toBeNull()
    expect(storageReceipts(a, h.nodeId)).toHaveLength(1)

    // Killed after the append, before the state was saved: it comes back with the period open.
    await closeAndRewind(a, aDir, (state) => {
      for (const r of state.hosts[id] ?? []) {
        if (r.host !== h.nodeId) continue
        r.lastReceiptTo = from
        r.auditsSinceReceipt = 1
      }
    })
    const a2 = await fx.readyNode({ dataDir: aDir })
    await waitFor(
      () => [...hostingOf(h).sessions].some((x) => x.identity === a2.nodeId && x.msg),
      30_000,
      'the host to reconnect to the owner',
    )
    expect(recordOf(a2, h, id).lastReceiptTo).toBe(from)
    const again = await sendToOwner(h, a2, hostSigned(h, a2, id, from), 90_002)
    expect(again.sig).toBeNull()
    expect(again.reason).toMatch(/overlaps/)
    expect(storageReceipts(a2, h.nodeId)).toHaveLength(1)
  }, 120_000)

  it('a host whose state lost the last receipt goes on from the end of that receipt', async () => {
    const { h, a, id, hDir } = await hostedFolder()
    await waitFor(
      () => storageReceipts(h, h.nodeId).length > 0,
      30_000,
      'a first storage receipt in the host ledger',
    )
    const [first] = storageReceipts(h, h.nodeId)
    // Killed after the append, before the state was saved: it comes back with the period open.
    await closeAndRewind(h, hDir, (state) => {
      for (const x of state.hosted) {
        if (x.folder !== id) continue
        x.lastReceiptTo = first!.body.from
        x.auditsAnswered = first!.body.kind === 'storage' ? first!.body.audits : 1
      }
    })
    const strikesBefore = a.ledger().strikes[h.nodeId] ?? 0
    const h2 = await fx.readyNode({ dataDir: hDir })
    await waitFor(
      () => storageReceipts(h2, h2.nodeId).some((r) => r.body.from >= first!.body.to),
      30_000,
      'a storage receipt for the period after the last one',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the owner's strikes: ${JSON.stringify(a.ledger().strikes)}`)
    })
    expect(a.ledger().strikes[h2.nodeId] ?? 0).toBe(strikesBefore)
  }, 120_000)
})

describe('a lost countersignature', () => {
  it('the host proposes the same receipt again and the owner answers it, without a strike', async () => {
    const { h, a } = await hostedFolder()
    // The owner countersigns (and appends) the first storage receipt, but its answer is lost.
    const owner = hostingOf(a)
    const realSend = owner.send.bind(owner)
    let lost: SignedReceipt | null = null
    owner.send = (peer, out) => {
      if (!lost && out.t === 'countersign' && out.sig) {
        lost = storageReceipts(a, h.nodeId)[0] ?? null
        return
      }
      realSend(peer, out)
    }
    await waitFor(() => lost !== null, 30_000, 'a receipt countersigned and its answer lost')
    const { body } = lost as unknown as SignedReceipt
    await waitFor(
      () =>
        storageReceipts(h, h.nodeId).some((r) => r.body.nonce === body.nonce) &&
        storageReceipts(h, h.nodeId).some((r) => r.body.from === body.to),
      30_000,
      'the lost receipt in the host ledger, and the period after it',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the owner's strikes: ${JSON.stringify(a.ledger().strikes)}`)
    })
    expect(a.ledger().strikes[h.nodeId] ?? 0).toBe(0)
    // Each receipt once in each ledger.
    for (const node of [a, h]) {
      const nonces = storageReceipts(node, h.nodeId).map((r) => r.body.nonce)
      expect(new Set(nonces).size).toBe(nonces.length)
    }
  }, 120_000)

  it('answers the same receipt sent again while it is being countersigned; strikes a different one', async () => {
    const { h, a, id } = await hostedFolder()
    const host = hostingOf(h)
    host.proposeReceipts = async () => {}
    await waitFor(() => recordOf(a, h, id).auditsSinceReceipt > 0, 20_000, 'an audit to pass')
    const s = [...host.sessions].find((x) => x.identity === a.nodeId && x.msg)
    if (!s) throw new Error('the host has no session with the owner')
    const from = recordOf(a, h, id).lastReceiptTo
    const replies: Array<Extract<Message, { t: 'countersign' }>> = []
    const owner = hostingOf(a)
    const realSend = owner.send.bind(owner)
    owner.send = (peer, m) => {
      if (m.t === 'countersign' && m.id >= 90_000) replies.push(m)
      realSend(peer, m)
    }
    const same = hostSigned(h, a, id, from)
    for (let i = 0; i < 3; i++) host.send(s, { ...same, id: 90_000 + i } as Message)
    await waitFor(() => replies.length === 3, 10_000, 'the owner to answer all three')
    expect(replies.filter((m) => m.sig !== null)).toHaveLength(3)
    expect(storageReceipts(a, h.nodeId).filter((r) => r.body.from === from)).toHaveLength(1)
    // Once more after it is in the ledger: the same answer.
    host.send(s, { ...same, id: 90_010 } as Message)
    await waitFor(() => replies.length === 4, 10_000, 'the owner to answer it again')
    expect(replies[3]!.sig).toBe(replies[0]!.sig)
    expect(a.ledger().strikes[h.nodeId] ?? 0).toBe(0)
    // A different receipt for the same period is a conflict: refused, and a strike.
    host.send(s, { ...hostSigned(h, a, id, from), id: 90_020 } as Message)
    await waitFor(() => replies.length === 5, 10_000, 'the owner to answer the conflicting one')
    expect(replies[4]!.sig).toBeNull()
    expect(a.ledger().strikes[h.nodeId] ?? 0).toBe(1)
  }, 120_000)
})

describe('a receipt taken from the owner ledger', () => {
  it("does not hold the host's timer: another folder's receipts go on meanwhile", async () => {
    const { h, a, id } = await hostedFolder()
    const src = path.join(await fx.tmpDir('spare-receipts-src2-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'other.bin'), randomBytes(64 * 1024))
    const other = (await a.share(src)).folder.id
    await waitFor(
      () => hostsOf(a, other).some((x) => x.host === h.nodeId && x.auditsPassed > 0),
      60_000,
      'the host passing an audit of the second folder',
    )
    const host = hostingOf(h)
    // The check of the owner's ledger is held open until the test lets it go (as a ledger served
    // slowly holds it, up to its 2-minute cap); the real check runs then.
    let release = (): void => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    fx.defer(() => release())
    let recoveries = 0
    let lost: SignedReceipt | null = null
    let refusedAt = 0
    let refusals = 0
    const realReport = host.scores.report.bind(host.scores)
    host.scores.report = async (identity, ledgerKey) => {
      if (identity === a.nodeId && refusedAt > 0) {
        recoveries++
        await held
      }
      return realReport(identity, ledgerKey)
    }
    // The first receipt of the folder is countersigned but its answer never comes, and the host
    // loses its proposal (killed before saving it): it proposes a new one, refused as overlapping.
    const realRequest = host.request.bind(host)
    host.request = async (s, m, timeoutMs) => {
      const reply = await realRequest(s, m, timeoutMs)
      if (m.t !== 'receipt') return reply
      const sent = m.receipt as SignedReceipt
      if (sent.body.kind !== 'storage' || sent.body.folder !== id) return reply
      if (!lost && reply.t === 'countersign' && reply.sig) {
        lost = { ...sent, ownerSig: reply.sig }
        for (const x of host.state.hosted) if (x.folder === id) x.proposal = null
        return { t: 'proof', id: m.id, hash: null }
      }
      if (reply.t === 'countersign' && !reply.sig && /overlaps/.test(reply.reason ?? '')) {
        refusals++
        refusedAt ||= Date.now()
      }
      return reply
    }
    const strikesBefore = a.ledger().strikes[h.nodeId] ?? 0
    await waitFor(() => refusedAt > 0, 30_000, 'a new receipt refused as overlapping')
    await waitFor(
      () =>
        storageReceipts(h, h.nodeId).some((r) => folderOf(r) === other && r.body.to > refusedAt),
      15_000,
      'a receipt of the other folder while the recovery is held',
    )
    expect(recoveries).toBe(1)
    expect(refusals).toBe(1)
    expect(a.ledger().strikes[h.nodeId] ?? 0).toBe(strikesBefore + 1)

    // Let go: the receipt is taken from the owner's ledger, and the folder's receipts go on.
    release()
    const { body } = lost as unknown as SignedReceipt
    await waitFor(
      () =>
        storageReceipts(h, h.nodeId).some((r) => r.body.nonce === body.nonce) &&
        storageReceipts(h, h.nodeId).some((r) => folderOf(r) === id && r.body.from === body.to),
      30_000,
      'the lost receipt in the host ledger, and the period after it',
    )
    expect(a.ledger().strikes[h.nodeId] ?? 0).toBe(strikesBefore + 1)
  }, 180_000)
})

describe('a lost countersignature of a served receipt', () => {
  it("the host takes the receipt from the member's ledger", async () => {
    const { h, a, invite } = await hostedFolder()
    // The writer goes away: a new member syncs from the host alone, which bills it.
    await a.close()
    const b = await fx.readyNode()
    const member = hostingOf(b)
    const realSend = member.send.bind(member)
    let lost: SignedReceipt | null = null
    member.send = (peer, out) => {
      if (!lost && out.t === 'countersign' && out.sig) {
        lost = servedReceipts(b, h.nodeId)[0] ?? null
        return // countersigned and appended, but the answer never reaches the host
      }
      realSend(peer, out)
    }
    const dst = path.join(await fx.tmpDir('spare-receipts-dst-'), 'dst')
    await b.join(invite, dst)
    await waitFor(() => lost !== null, 60_000, 'a served receipt countersigned and its answer lost')
    const { body } = lost as unknown as SignedReceipt
    await waitFor(
      () => servedReceipts(h, h.nodeId).some((r) => r.body.nonce === body.nonce),
      30_000,
      'the lost served receipt in the host ledger',
    )
    expect(b.ledger().strikes[h.nodeId] ?? 0).toBe(0)
  }, 120_000)
})

function servedReceipts(node: SpareNode, host: string): SignedReceipt[] {
  return (node.ledger().recent as SignedReceipt[]).filter(
    (r) => r.body.kind === 'served' && r.body.host === host,
  )
}
