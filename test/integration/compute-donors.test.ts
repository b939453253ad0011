// Donors that misbehave in the compute protocol, against a submitter that must not let them hold
// its jobs up. Real parts: a local testnet, in-process nodes (test/helpers/compute-node.ts), real
// job processes.
// - A donor that offers slots and takes jobs but never answers. The submitter gives up on it
//   after the job's wall time and grace, and then must not keep choosing it first: it offers more
//   slots than the honest donor, and with nothing held against it every job would wait out its
//   time there again.
// - A donor that never countersigns its compute receipts. The submitter proposes each receipt and
//   waits for the signature up to a timeout; that wait must hold up nothing else: other jobs are
//   sent, settled and credited meanwhile.
// - A donor that shows up twice: two connections (two swarm key pairs) that both prove the same
//   identity, as a reconnect does for a moment and a hostile peer can do for good. A job's
//   replicas must go to different donors: the quorum counts one answer per identity, so a second
//   copy to the same one could never count and only held the job up until its time ran out.
import { describe, expect, it } from 'vitest'
import type { Compute } from '../../main/engine/compute/compute.ts'
import { waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'
import { computeNode, meetDonors } from '../helpers/compute-node.ts'
import { assemble, REVERSE } from '../helpers/hostile-modules.ts'

const t = useLocalTestnet()

interface Session {
  identity: string | null
  slots: number
  msg: unknown
}
/** The parts of Compute these tests look at or steer (private to the engine). */
interface Internals {
  sessions: Set<Session>
  onJob(s: Session, m: unknown): Promise<void>
  onReceipt(s: Session, m: unknown): Promise<void>
  timers: { graceMs: number; receiptTimeoutMs: number }
  swarm: { flush(): Promise<void> }
}
const inside = (c: Compute): Internals => c as unknown as Internals

const DONOR = { cpuPercent: 100, suspendAboveOtherPercent: null, allowOnBattery: true }

describe('a donor that never answers', () => {
  it('is given up on, and not chosen first again', async () => {
    const silent = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 })
    inside(silent.compute).onJob = async () => {} // takes every job, says nothing
    const honest = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 1 })
    const { compute: submitter } = await computeNode(t.cleanup, t.network, {})
    inside(submitter).timers.graceMs = 1000
    for (const c of [silent.compute, honest.compute]) await inside(c).swarm.flush()
    await meetDonors(submitter, (met) => met.length >= 2, 'both donors')
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

describe('a donor that never countersigns', () => {
  it('holds up no other job while its receipt waits', async () => {
    const mute = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 })
    inside(mute.compute).onReceipt = async () => {} // takes the receipt, never answers
    const honest = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 })
    const { compute: submitter } = await computeNode(t.cleanup, t.network, {})
    inside(submitter).timers.receiptTimeoutMs = 30_000
    for (const c of [mute.compute, honest.compute]) await inside(c).swarm.flush()
    await meetDonors(submitter, (met) => met.length >= 2, 'both donors')
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

describe('a donor on two connections', () => {
  it('gets one replica of a job; the other goes to another donor', async () => {
    // The doubled donor offers two slots on each connection, the honest one a single slot, so
    // the submitter, which prefers more slots, turns to the doubled donor first.
    const twice = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 })
    await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 }, twice.identity)
    const honest = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 1 })
    const { compute: submitter } = await computeNode(t.cleanup, t.network, {})
    for (const c of [twice.compute, honest.compute]) await inside(c).swarm.flush()
    const doubled = twice.identity.publicKey.toString('hex')

    // Let the submitter meet both donors before the job goes out. A second connection of one
    // identity retires the first (newest wins: it is what a restarted node's dead connection
    // looks like), so the submitter never holds both at once.
    await meetDonors(
      submitter,
      (met) => met.some((s) => s.identity === doubled) && met.some((s) => s.identity !== doubled),
      'the doubled donor, and the honest one',
    )
    const doubledSessions = (): number =>
      [...inside(submitter).sessions].filter((s) => s.identity === doubled && s.msg).length
    expect(doubledSessions()).toBe(1)
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
    expect(doubledSessions()).toBeLessThanOrEqual(1)
  }, 120_000)
})
