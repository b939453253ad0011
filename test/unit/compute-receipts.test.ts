// What a submitter can make a donor record, with real nodes on a local testnet: a submitter
// (SpareNode) runs a job on a donor (SpareNode). The dishonest side is Spare's own compute code
// with one message sent twice: fakes only at that edge.
//   - A job earns its donor one compute receipt: two receipts for it sent at once (each a fresh
//     nonce, so the ledger's replay check cannot tell) must not both go in the donor's ledger.
//   - Nor after the donor was killed between appending the receipt and saving compute.json: the
//     ledger is the record.
//   - A submitter whose countersignature was lost (it came too late, or the connection closed)
//     proposes the same receipt again and is answered again, as a host is by an owner. (One
//     whose donor refuses a new receipt as already credited takes it from the donor's ledger.)
//   - Nor does a submitter killed between the same two steps propose the job's receipt again (the
//     donor would refuse it and count it against the submitter).
//   - A submitter whose answer was lost (late, the connection closed, or it restarted) proposes
//     the same receipt again, and the donor answers it again: no strike for asking twice.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import type { Compute } from '../../main/engine/compute/compute.ts'
import type { Message } from '../../main/engine/compute/messages.ts'
import {
  newNonce,
  signAs,
  type KeyPair,
  type ReceiptBody,
  type SignedReceipt,
} from '../../main/engine/ledger/receipt.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

const PRIMES = path.join(import.meta.dirname, '../../examples/compute/primes.wasm')

interface ComputeInside {
  send(s: unknown, m: Message): void
  onMessage(s: unknown, m: Message): Promise<void>
  sessionOf(identity: string): unknown
  deps: { identity: KeyPair }
}

function computeOf(node: SpareNode): ComputeInside {
  const c = (node as unknown as { compute: Compute | null }).compute
  if (!c) throw new Error('the node has no compute open')
  return c as unknown as ComputeInside
}

function computeReceipts(node: SpareNode, job: string): SignedReceipt[] {
  return (node.ledger().recent as SignedReceipt[]).filter(
    (r) => r.body.kind === 'compute' && r.body.job === job,
  )
}

/** A donor `d` and a submitter `s`; a job of `s`'s that `d` ran and has one receipt for. */
async function creditedJob(
  sendTwice: 'fresh' | 'same' | null,
  hook?: (submitter: ComputeInside) => void,
): Promise<{ d: SpareNode; s: SpareNode; job: string; dDir: string; sDir: string }> {
  await fx.testnet()
  const dDir = path.join(await fx.tmpDir('spare-compute-d-'), 'data')
  const d = await fx.readyNode({ dataDir: dDir })
  await d.setDonateLimits({
    cpuPercent: 100,
    cpuCores: 2,
    suspendAboveOtherPercent: null,
    allowOnBattery: true,
  })
  const sDir = path.join(await fx.tmpDir('spare-compute-s-'), 'data')
  const s = await fx.readyNode({ dataDir: sDir })
  if (sendTwice) {
    // The submitter sends every receipt twice: the same one, or a copy with a fresh nonce,
    // signed anew.
    const sub = computeOf(s)
    const realSend = sub.send.bind(sub)
    sub.send = (peer, m) => {
      realSend(peer, m)
      if (m.t !== 'receipt') return
      if (sendTwice === 'same') return realSend(peer, m)
      const { body } = m.receipt as { body: ReceiptBody }
      const copy = { ...body, nonce: newNonce() }
      const ownerSig = signAs(copy, sub.deps.identity, 'owner')
      realSend(peer, { ...m, receipt: { body: copy, ownerSig } })
    }
  }
  hook?.(computeOf(s))
  const input = Buffer.alloc(8)
  input.writeUInt32LE(2, 0)
  input.writeUInt32LE(2000, 4)
  const job = await s.submitJob({
    module: await fs.readFile(PRIMES),
    input,
    replicas: 1,
    name: 'primes',
    wallMs: 30_000,
  })
  await waitFor(
    () => computeReceipts(d, job.id).length > 0,
    60_000,
    'the donor to record a compute receipt',
  )
  return { d, s, job: job.id, dDir, sDir }
}

describe('compute receipts from a hostile submitter', () => {
  it('a donor records one receipt for a job, even when two are sent at once', async () => {
    const { d, job } = await creditedJob('fresh')
    // The copy arrived with the first: it has been answered by now.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(computeReceipts(d, job)).toHaveLength(1)
  }, 120_000)

  it('a donor answers the same receipt sent twice at once twice, with no strike', async () => {
    const { d, s, job } = await creditedJob('same')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(computeReceipts(d, job)).toHaveLength(1)
    expect(d.ledger().strikes[s.nodeId] ?? 0).toBe(0)
  }, 120_000)

  it('a donor killed before saving that a job was credited does not record it again', async () => {
    const { d, s, job, dDir } = await creditedJob(null)
    const [first] = computeReceipts(d, job)
    await d.close()
    const file = path.join(dDir, 'compute', 'compute.json')
    const state = JSON.parse(await fs.readFile(file, 'utf8')) as {
      runs: Array<{ id: string; credited: boolean | null }>
    }
    for (const r of state.runs) if (r.id === job) r.credited = false
    await fs.writeFile(file, JSON.stringify(state))
    const d2 = await fx.readyNode({ dataDir: dDir })
    const sub = computeOf(s)
    // A submitter looks for donors while it has jobs: one more brings the donor back.
    await s.submitJob({
      module: await fs.readFile(PRIMES),
      input: Buffer.alloc(8),
      replicas: 1,
      name: 'again',
      wallMs: 30_000,
    })
    await waitFor(() => sub.sessionOf(d2.nodeId) !== null, 30_000, 'the nodes to reconnect')
    const body = { ...first!.body, nonce: newNonce() }
    const ownerSig = signAs(body, sub.deps.identity, 'owner')
    sub.send(sub.sessionOf(d2.nodeId), { t: 'receipt', id: job, receipt: { body, ownerSig } })
    await waitFor(() => (d2.ledger().strikes[s.nodeId] ?? 0) > 0, 10_000, 'the donor to refuse it')
    expect(computeReceipts(d2, job)).toHaveLength(1)
  }, 120_000)
  it('a submitter killed before saving that a donor was credited does not propose it again', async () => {
    const { d, s, job, sDir } = await creditedJob(null)
    const credited = (node: SpareNode): boolean | undefined =>
      node.jobs().submitted.find((j) => j.id === job)?.donors[0]?.credited
    await waitFor(() => credited(s) === true, 10_000, 'the submitter to record the receipt')
    await s.close()
    const file = path.join(sDir, 'compute', 'compute.json')
    const state = JSON.parse(await fs.readFile(file, 'utf8')) as {
      submitted: Array<{ id: string; donors: Array<{ receipt: string }> }>
    }
    for (const j of state.submitted) if (j.id === job) for (const a of j.donors) a.receipt = 'none'
    await fs.writeFile(file, JSON.stringify(state))
    const s2 = await fx.readyNode({ dataDir: sDir })
    await waitFor(
      () => credited(s2) !== false || (d.ledger().strikes[s2.nodeId] ?? 0) > 0,
      30_000,
      'the submitter to settle the receipt',
    )
    // Had it proposed the receipt again, the donor would have refused it meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(d.ledger().strikes[s2.nodeId] ?? 0).toBe(0)
    expect(credited(s2)).toBe(true)
    expect(computeReceipts(s2, job)).toHaveLength(1)
  }, 120_000)
  it('a submitter whose countersignature was lost proposes the same receipt again', async () => {
    const saved = process.env.SPARE_COMPUTE_TIMERS
    process.env.SPARE_COMPUTE_TIMERS = 'receipt=1500'
    fx.defer(() => {
      if (saved === undefined) delete process.env.SPARE_COMPUTE_TIMERS
      else process.env.SPARE_COMPUTE_TIMERS = saved
    })
    const { d, s, job } = await creditedJob(null, (sub) => {
      // The donor's first countersignature never reaches the submitter.
      const real = sub.onMessage.bind(sub)
      let dropped = false
      sub.onMessage = async (peer, m) => {
        if (m.t === 'countersign' && !dropped) {
          dropped = true
          return
        }
        return real(peer, m)
      }
    })
    const summary = (): { credited: boolean; error: string | null } | undefined =>
      s.jobs().submitted.find((j) => j.id === job)?.donors[0]
    await waitFor(
      () => summary()?.credited === true || summary()?.error != null,
      30_000,
      'the submitter to settle the receipt',
    )
    expect(summary()).toMatchObject({ credited: true })
    const [donors] = computeReceipts(d, job)
    expect(computeReceipts(s, job)).toEqual([donors])
    // It proposed the same receipt again, which the donor answered again: no strike for asking.
    expect(d.ledger().strikes[s.nodeId] ?? 0).toBe(0)
  }, 120_000)
  it('a submitter restarted while its receipt was unanswered proposes the same one again', async () => {
    const { d, s, job, sDir } = await creditedJob(null, (sub) => {
      // Every countersignature is lost: the donor has the receipt, the submitter never hears.
      const real = sub.onMessage.bind(sub)
      sub.onMessage = async (peer, m) => (m.t === 'countersign' ? undefined : real(peer, m))
    })
    const [donors] = computeReceipts(d, job)
    await s.close()
    const s2 = await fx.readyNode({ dataDir: sDir })
    const credited = (): boolean | undefined =>
      s2.jobs().submitted.find((j) => j.id === job)?.donors[0]?.credited
    await waitFor(() => credited() === true, 30_000, 'the submitter to record the receipt')
    expect(computeReceipts(s2, job)).toEqual([donors])
    expect(d.ledger().strikes[s2.nodeId] ?? 0).toBe(0)
  }, 120_000)
})
