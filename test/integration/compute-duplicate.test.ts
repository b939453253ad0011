// A donor that shows up twice: two connections (two swarm key pairs) that both prove the same
// identity, as a reconnect does for a moment and a hostile peer can do for good. A job's
// replicas must go to different donors: the quorum counts one answer per identity, so a second
// copy to the same one could never count and only held the job up until its time ran out.
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
  swarm: {
    join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void>
    flush(): Promise<void>
  }
}
const inside = (c: Compute): Internals => c as unknown as Internals

const DONOR = { cpuPercent: 100, suspendAboveOtherPercent: null, allowOnBattery: true }

describe('a donor on two connections', () => {
  it('gets one replica of a job; the other goes to another donor', async () => {
    // The doubled donor offers two slots on each connection, the honest one a single slot, so
    // the submitter, which prefers more slots, turns to the doubled donor first.
    const twice = await computeNode(cleanup, network, { ...DONOR, cpuCores: 2 })
    await computeNode(cleanup, network, { ...DONOR, cpuCores: 2 }, twice.identity)
    const honest = await computeNode(cleanup, network, { ...DONOR, cpuCores: 1 })
    const { compute: submitter } = await computeNode(cleanup, network, {})
    for (const c of [twice.compute, honest.compute]) await inside(c).swarm.flush()
    const doubled = twice.identity.publicKey.toString('hex')

    // Let the submitter meet all three connections before the job goes out.
    await inside(submitter).swarm.join(COMPUTE_TOPIC, { server: false, client: true })
    const met = (): Session[] =>
      [...inside(submitter).sessions].filter((s) => s.identity && s.msg && s.slots > 0)
    await waitFor(
      () =>
        met().filter((s) => s.identity === doubled).length === 2 &&
        met().some((s) => s.identity !== doubled),
      { timeoutMs: 60_000, what: 'both connections of the doubled donor, and the honest one' },
    )
    const job = await submitter.submit({
      module: await assemble(REVERSE),
      input: Buffer.from('hello donors'),
      replicas: 2,
      name: 'reverse',
      wallMs: 60_000,
    })
    await waitFor(
      async () => {
        const j = await submitter.job(job.id)
        return j?.state === 'done' || j?.state === 'failed'
      },
      { timeoutMs: 30_000, what: 'the job settled' },
    )
    const done = (await submitter.job(job.id))!
    expect(done.state).toBe('done')
    expect(Buffer.from(done.output!, 'base64').toString()).toBe('sronod olleh')
    const ids = done.donors.map((d) => d.identity)
    expect(new Set(ids).size).toBe(ids.length)
  }, 120_000)
})
