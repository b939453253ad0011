// A donor that keeps a job through a snooze (a hold known to end within its bound) and the
// submitter waiting for it must agree (Compute driven directly, no swarm: a donor and a submitter
// whose sessions hand each other's messages across, encoded and decoded as on the wire):
//   - The donor tells the submitter the job is held, and until when, once per hold.
//   - The submitter waits that long on top of the job's time limit plus the grace, without
//     counting the donor as late (and no longer); a donor that says nothing is given up on as
//     before.
import { afterEach, describe, expect, it } from 'vitest'
import type { Compute } from '../../main/engine/compute/compute.ts'
import {
  COMPUTE_PROTOCOL_VERSION,
  HELD_SINCE_VERSION,
  decodeMessage,
  encodeMessage,
  type Message,
} from '../../main/engine/compute/messages.ts'
import type { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { directCompute, jobMessage, type FakeSession } from '../helpers/compute-direct.ts'
import { INFINITE_LOOP, assemble } from '../helpers/hostile-modules.ts'

interface Donor {
  identity: string
  state: string
  error: string | null
}
interface Inside {
  me: string
  sessions: Set<FakeSession>
  live: Map<string, { proc: { done: Promise<unknown> } | null }>
  state: { submitted: Array<{ id: string; donors: Donor[] }>; strikes: Record<string, number> }
  onMessage(s: FakeSession, m: Message): Promise<void>
  tendJob(job: unknown): Promise<void>
  pump(): void
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A donor and a submitter (grace 300 ms) linked by a session each; what the donor sent. */
async function pair(): Promise<{
  donor: Inside
  submitter: Inside
  governor: CpuGovernor
  toSubmitter: FakeSession
  fromDonor: Message[]
}> {
  const d = await directCompute('spare-compute-held-d-', (fn) => cleanups.push(fn))
  const s = await directCompute('spare-compute-held-s-', (fn) => cleanups.push(fn), {
    graceMs: 300,
  })
  const inside = (c: Compute): Inside => c as unknown as Inside
  const donor = inside(d.compute)
  const submitter = inside(s.compute)
  const fromDonor: Message[] = []
  // Each session names the peer at its other end, and hands what is sent on it to that peer.
  const link = (identity: string, deliver: (m: Message) => void): FakeSession => ({
    conn: null,
    msg: { send: (buf) => deliver(decodeMessage(buf)) },
    identity,
    ledger: null,
    slots: 0,
    waiting: new Map(),
    version: COMPUTE_PROTOCOL_VERSION,
  })
  const toDonor: FakeSession = link(donor.me, (m) => {
    void donor.onMessage(toSubmitter, m)
  })
  const toSubmitter: FakeSession = link(submitter.me, (m) => {
    fromDonor.push(m)
    void submitter.onMessage(toDonor, m)
  })
  donor.sessions.add(toSubmitter)
  submitter.sessions.add(toDonor)
  return { donor, submitter, governor: d.governor, toSubmitter, fromDonor }
}

/** A job of the submitter's (time limit 1 s) out with the donor, which has it queued. */
async function jobOut(
  p: Awaited<ReturnType<typeof pair>>,
): Promise<{ id: string; donors: Donor[] }> {
  const msg = jobMessage(await assemble(INFINITE_LOOP), Buffer.alloc(0))
  const job = {
    id: msg.id,
    nonce: msg.nonce,
    name: 'held',
    state: 'running',
    replicas: 1,
    quorum: 1,
    wallMs: 1000,
    moduleBytes: 1,
    inputBytes: 0,
    submittedAt: Date.now(),
    finishedAt: null,
    donors: [
      {
        identity: p.donor.me,
        state: 'sent',
        answer: null,
        error: null,
        sentAt: Date.now(),
        resultHash: null,
        cpuMs: null,
        receipt: 'none',
        from: null,
        to: null,
        gaveBack: false,
        proposal: null,
        heldUntil: null,
      },
    ],
    resultHash: null,
    outputBytes: null,
    error: null,
  }
  p.submitter.state.submitted.push(job)
  // Sent to the donor as over the wire (the donor's session of the submitter gets it).
  await p.donor.onMessage(p.toSubmitter, decodeMessage(encodeMessage(msg)))
  return job
}

async function cancelled(p: Awaited<ReturnType<typeof pair>>, id: string): Promise<void> {
  const done = p.donor.live.get(id)?.proc?.done
  await p.donor.onMessage(p.toSubmitter, { t: 'cancel', id })
  await done
}

describe('a donor that keeps a job through a snooze', () => {
  it('tells the submitter, which waits for it past the time limit without a strike', async () => {
    const p = await pair()
    // Snoozed for 5 s (within the donor's hour): it keeps its jobs, and starts none.
    p.governor.setPause({ until: Date.now() + 5000 })
    const job = await jobOut(p)
    p.donor.pump()
    p.donor.pump()
    const held = p.fromDonor.filter((m) => m.t === 'held')
    expect(held).toHaveLength(1) // once per hold, not once per pump
    expect(held[0]).toMatchObject({ id: job.id })
    const forMs = (held[0] as Extract<Message, { t: 'held' }>).forMs
    expect(forMs).toBeGreaterThan(3000)
    expect(forMs).toBeLessThanOrEqual(5000)
    await sleep(1600) // past the time limit (1 s) plus the grace (300 ms)
    await p.submitter.tendJob(job)
    expect(job.donors[0]).toMatchObject({ state: 'sent', error: null })
    expect(p.submitter.state.strikes[p.donor.me] ?? 0).toBe(0)
    expect(p.fromDonor.filter((m) => m.t === 'result')).toEqual([])
    await cancelled(p, job.id)
  }, 30_000)

  it('is given up on as late once the hold it told of and the time limit are past', async () => {
    const p = await pair()
    const start = Date.now()
    p.governor.setPause({ until: start + 1500 })
    const job = await jobOut(p)
    p.donor.pump()
    expect(p.fromDonor.filter((m) => m.t === 'held')).toHaveLength(1)
    // Past the time limit plus the grace (1.3 s), within the hold plus them (2.8 s).
    await sleep(1800 - (Date.now() - start))
    await p.submitter.tendJob(job)
    expect(job.donors[0]).toMatchObject({ state: 'sent' })
    await sleep(3300 - (Date.now() - start))
    await p.submitter.tendJob(job)
    expect(job.donors[0]).toMatchObject({ state: 'gone', error: 'no answer in time' })
    expect(p.submitter.state.strikes[p.donor.me]).toBe(1)
    await cancelled(p, job.id)
  }, 30_000)

  it('tells a submitter from before the held message nothing (it would strike the donor)', async () => {
    const p = await pair()
    p.toSubmitter.version = HELD_SINCE_VERSION - 1
    p.governor.setPause({ until: Date.now() + 5000 })
    const job = await jobOut(p)
    p.donor.pump()
    expect(p.fromDonor.map((m) => m.t)).not.toContain('held')
    // The job is still kept through the snooze: only the message is left out.
    expect(p.donor.live.has(job.id)).toBe(true)
    await cancelled(p, job.id)
  }, 30_000)

  it('is still given up on as late when it says nothing (paused until resumed)', async () => {
    const p = await pair()
    p.governor.setPause({ until: null })
    const job = await jobOut(p)
    p.donor.pump()
    expect(p.fromDonor.filter((m) => m.t === 'held')).toEqual([])
    await sleep(1600)
    await p.submitter.tendJob(job)
    expect(job.donors[0]).toMatchObject({ state: 'gone', error: 'no answer in time' })
    expect(p.submitter.state.strikes[p.donor.me]).toBe(1)
    await cancelled(p, job.id)
  }, 30_000)
})
