// Donors that give a job back unrun, with real parts: a local testnet, in-process compute nodes
// (test/helpers/compute-node.ts), real job processes. A donor gives a job back ('cancelled': not
// done here) when its user holds donating too long or turns it off; the submitter must send the
// job elsewhere:
//   - Donors that gave a job back use none of its donor budget (replicas + 3): it goes on to
//     the next donor, rather than ending 'no-quorum' as if donors had disagreed.
//   - A donor whose user turns donating off gives its jobs back at once, not after the hour a
//     held job may wait, so the job is done elsewhere meanwhile.
//   - A donor that stops gives its jobs back too: the submitter hears it, rather than finding the
//     donor gone (which uses the budget: a donor gone may have run it, and may send its result).
import { describe, expect, it } from 'vitest'
import type { Compute } from '../../main/engine/compute/compute.ts'
import type { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'
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
  timers: { stalledMs: number }
  deps: { governor: CpuGovernor }
  swarm: { flush(): Promise<void> }
}
const inside = (c: Compute): Internals => c as unknown as Internals

const DONOR: Partial<DonateLimits> = {
  cpuPercent: 100,
  cpuCores: 1,
  suspendAboveOtherPercent: null,
  allowOnBattery: true,
}

/** Has the submitter look for `donors` (once they announced) until it met them all with slots. */
async function meet(submitter: Compute, donors: Compute[]): Promise<void> {
  for (const c of donors) await inside(c).swarm.flush()
  await meetDonors(submitter, (met) => met.length >= donors.length, `${donors.length} donors`)
}

/** Runs `hook` on a donor as each job arrives there, once the donor has queued or started it. */
function onEachJob(donor: Compute, hook: () => void, before = false): void {
  const real = inside(donor).onJob.bind(donor)
  inside(donor).onJob = async (s, m) => {
    if (before) hook()
    await real(s, m)
    if (!before) hook()
  }
}

/** Submits a replicas-1 job, named `text`, that reverses `text`. */
async function reverseJob(submitter: Compute, text: string) {
  return submitter.submit({
    module: await assemble(REVERSE),
    input: Buffer.from(text),
    replicas: 1,
    name: text,
    wallMs: 60_000,
  })
}

async function settled(submitter: Compute, id: string, timeoutMs: number) {
  await waitFor(
    async () => {
      const j = await submitter.job(id)
      return j?.state === 'done' || j?.state === 'failed'
    },
    { timeoutMs, what: 'the job to settle' },
  )
  return (await submitter.job(id))!
}

describe('donors that give a job back', () => {
  it('use none of its donor budget: the job goes on to the next donor', async () => {
    // Four donors (a replicas-1 job's whole budget) whose users pause donating as the job
    // arrives; each gives it back once it waited 300 ms. They offer two slots, the donor that
    // runs it one: the submitter, which prefers more slots, asks them first.
    const pausing: Compute[] = []
    for (let i = 0; i < 4; i++) {
      const { compute } = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 })
      inside(compute).timers.stalledMs = 300
      onEachJob(compute, () => inside(compute).deps.governor.setPause({ until: null }), true)
      pausing.push(compute)
    }
    const honest = await computeNode(t.cleanup, t.network, DONOR)
    const { compute: submitter } = await computeNode(t.cleanup, t.network, {})
    await meet(submitter, [...pausing, honest.compute])
    const job = await reverseJob(submitter, 'given back')
    const done = await settled(submitter, job.id, 60_000)
    expect(done.error).toBeNull()
    expect(Buffer.from(done.output!, 'base64').toString()).toBe('kcab nevig')
    expect(done.donors.map((d) => d.identity).at(-1)).toBe(
      honest.identity.publicKey.toString('hex'),
    )
    expect(done.donors.map((d) => d.state)).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
      'agreed',
    ])
    for (const d of done.donors.slice(0, 4)) expect(d.error).toMatch(/^not done: the donor gave up/)
  }, 180_000)
})

describe('a donor whose user turns donating off', () => {
  it('gives its job back at once, and the job is done by another donor', async () => {
    // The hour a held job may wait stays as it is: only turning off may give it back this soon.
    const off = DonateLimitsSchema.parse({ ...DONOR, cpuPercent: 0 })
    const donors: Compute[] = []
    for (let i = 0; i < 2; i++) {
      const { compute } = await computeNode(t.cleanup, t.network, DONOR)
      // As the node does it: the governor, then compute. Only the first donor to get the job.
      onEachJob(compute, () => {
        if (donors.some((d) => d !== compute && inside(d).deps.governor.blocked() === 'off')) return
        inside(compute).deps.governor.setLimits(off)
        compute.setLimits(off)
      })
      donors.push(compute)
    }
    const { compute: submitter } = await computeNode(t.cleanup, t.network, {})
    await meet(submitter, donors)
    const job = await reverseJob(submitter, 'turned off')
    const done = await settled(submitter, job.id, 60_000)
    expect(done.error).toBeNull()
    expect(Buffer.from(done.output!, 'base64').toString()).toBe('ffo denrut')
    expect(done.donors.map((d) => [d.state, d.error])).toEqual([
      ['failed', 'not done: the donor gave the job back: its user turned donating CPU off'],
      ['agreed', null],
    ])
  }, 180_000)
})

describe('a donor that stops while it holds a job', () => {
  it('gives it back: the submitter asks another donor and the first uses none of the budget', async () => {
    const stopping = await computeNode(t.cleanup, t.network, { ...DONOR, cpuCores: 2 })
    // Its user pauses donating as the job arrives (held, not given back), then quits.
    onEachJob(
      stopping.compute,
      () => inside(stopping.compute).deps.governor.setPause({ until: null }),
      true,
    )
    const honest = await computeNode(t.cleanup, t.network, DONOR)
    const { compute: submitter } = await computeNode(t.cleanup, t.network, {})
    await meet(submitter, [stopping.compute, honest.compute])
    const job = await reverseJob(submitter, 'stopped')
    const stoppingId = stopping.identity.publicKey.toString('hex')
    await waitFor(() => stopping.compute.counts().queued === 1, {
      timeoutMs: 30_000,
      what: 'the job queued on the donor that stops',
    })
    await stopping.compute.close()
    const done = await settled(submitter, job.id, 60_000)
    expect(done.error).toBeNull()
    expect(done.donors.map((d) => [d.identity, d.state, d.error])).toEqual([
      [stoppingId, 'failed', 'not done: the donor stopped before the job ended'],
      [honest.identity.publicKey.toString('hex'), 'agreed', null],
    ])
  }, 180_000)
})
