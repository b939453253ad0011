// A donor that offers slots and takes jobs but never answers. The submitter gives up on it after
// the job's wall time and grace, and then must not keep choosing it first: it offers more slots
// than the honest donor, and with nothing held against it every job would wait out its time
// there again.
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
  onJob(s: Session, m: unknown): Promise<void>
  timers: { graceMs: number }
  swarm: {
    join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void>
    flush(): Promise<void>
  }
}
const inside = (c: Compute): Internals => c as unknown as Internals

const DONOR = { cpuPercent: 100, suspendAboveOtherPercent: null, allowOnBattery: true }

describe('a donor that never answers', () => {
  it('is given up on, and not chosen first again', async () => {
    const silent = await computeNode(cleanup, network, { ...DONOR, cpuCores: 2 })
    inside(silent.compute).onJob = async () => {} // takes every job, says nothing
    const honest = await computeNode(cleanup, network, { ...DONOR, cpuCores: 1 })
    const { compute: submitter } = await computeNode(cleanup, network, {})
    inside(submitter).timers.graceMs = 1000
    for (const c of [silent.compute, honest.compute]) await inside(c).swarm.flush()
    await inside(submitter).swarm.join(COMPUTE_TOPIC, { server: false, client: true })
    await waitFor(
      () =>
        [...inside(submitter).sessions].filter((s) => s.identity && s.msg && s.slots > 0).length >=
        2,
      { timeoutMs: 60_000, what: 'both donors' },
    )
    const module = await assemble(REVERSE)
    const silentId = silent.identity.publicKey.toString('hex')
    const run = async (text: string): Promise<string[]> => {
      const job = await submitter.submit({
        module,
        input: Buffer.from(text),
        replicas: 1,
        name: text,
        wallMs: 2000,
      })
      await waitFor(async () => (await submitter.job(job.id))?.state === 'done', {
        timeoutMs: 30_000,
        what: `job ${text}`,
      })
      return (await submitter.job(job.id))!.donors.map((d) => d.identity)
    }
    // The first job goes to the donor with more slots, waits out its time, then goes elsewhere.
    expect(await run('first')).toEqual([silentId, honest.identity.publicKey.toString('hex')])
    expect(submitter.strikes()[silentId]).toBe(1)
    // The next goes to the donor that answers.
    expect(await run('second')).not.toContain(silentId)
  }, 120_000)
})
