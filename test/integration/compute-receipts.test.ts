// A donor that never countersigns its compute receipts. The submitter proposes each receipt and
// waits for the signature up to a timeout; that wait must hold up nothing else: other jobs are
// sent, settled and credited meanwhile. Real parts: a local testnet, in-process nodes, real job
// processes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Compute } from '../../main/engine/compute/compute.ts'
import { COMPUTE_TOPIC } from '../../main/engine/compute/compute.ts'
import { Cleanup, localTestnet, waitFor } from '../helpers/daemon.ts'
import { computeNode } from '../helpers/compute-node.ts'
import { assemble, REVERSE } from '../helpers/hostile-modules.ts'

let cleanup: Cleanup
let network: string

beforeEach(async () => {
  cleanup = new Cleanup()
  network = await localTestnet(cleanup)
})
afterEach(async () => {
  await cleanup.run()
})

interface Session {
  identity: string | null
  slots: number
  msg: unknown
}
interface Internals {
  sessions: Set<Session>
  onReceipt(s: Session, m: unknown): Promise<void>
  timers: { receiptTimeoutMs: number }
  swarm: {
    join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void>
    flush(): Promise<void>
  }
}
const inside = (c: Compute): Internals => c as unknown as Internals

const DONOR = { cpuPercent: 100, cpuCores: 2, suspendAboveOtherPercent: null, allowOnBattery: true }

describe('a donor that never countersigns', () => {
  it('holds up no other job while its receipt waits', async () => {
    const mute = await computeNode(cleanup, network, DONOR)
    inside(mute.compute).onReceipt = async () => {} // takes the receipt, never answers
    const honest = await computeNode(cleanup, network, DONOR)
    const { compute: submitter } = await computeNode(cleanup, network, {})
    inside(submitter).timers.receiptTimeoutMs = 30_000
    for (const c of [mute.compute, honest.compute]) await inside(c).swarm.flush()
    await inside(submitter).swarm.join(COMPUTE_TOPIC, { server: false, client: true })
    await waitFor(
      () =>
        [...inside(submitter).sessions].filter((s) => s.identity && s.msg && s.slots > 0).length >=
        2,
      { timeoutMs: 60_000, what: 'both donors' },
    )
    const module = await assemble(REVERSE)
    const run = async (text: string): Promise<number> => {
      const started = Date.now()
      const job = await submitter.submit({
        module,
        input: Buffer.from(text),
        replicas: 2,
        name: text,
        wallMs: 60_000,
      })
      await waitFor(async () => (await submitter.job(job.id))?.state === 'done', {
        timeoutMs: 90_000,
        what: `job ${text}`,
      })
      return Date.now() - started
    }
    // The first job settles on both donors; the mute one's receipt then waits 30 s.
    await run('first')
    // A second job meanwhile runs as quickly as the first did.
    const second = await run('second')
    expect(second).toBeLessThan(10_000)
  }, 150_000)
})
