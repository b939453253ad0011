// Jobs that can make no progress must end, on both sides, in a bounded time (Compute driven
// directly, no swarm; the bounds come from the injectable timers):
//   - A donor whose donating is held (paused, turned off) gives up a job queued or suspended for
//     longer than timers.stalledMs: the process is killed, and the submitter is told 'cancelled'.
//   - A donor whose user turns donating off gives every job back at once, and one snoozed, or
//     outside its schedule, for longer than stalledMs gives back its queued and suspended jobs at
//     once; a pause until resumed keeps them (it is usually short; stalledMs bounds it).
//   - A submitter takes a 'cancelled' result as "not done there", not as an answer that votes.
//   - Donors that gave a job back use none of its donor budget, up to a bound (maxGivenBack),
//     and a job out of donors says what happened: 'no-quorum' only when donors disagreed.
//   - A submitted job with some answers, no donor at work and none to ask ends 'no-donors'.
//   - A submitted job whose module or input file is missing, or damaged, ends once with a clear
//     error (sent damaged, every donor struck this node for it).
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import { afterEach, describe, expect, it } from 'vitest'
import {
  jobId,
  maxGivenBack,
  type Compute,
  type ComputeTimers,
} from '../../main/engine/compute/compute.ts'
import type { Message } from '../../main/engine/compute/messages.ts'
import type { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import type { DonateLimits } from '../../main/engine/limits/governor.ts'
import {
  directCompute,
  fakeSession,
  jobMessage,
  type FakeSession,
} from '../helpers/compute-direct.ts'
import { INFINITE_LOOP, assemble } from '../helpers/hostile-modules.ts'

interface Donor {
  identity: string
  state: string
  answer: string | null
  error: string | null
  sentAt: number
  resultHash: string | null
  cpuMs: number | null
  receipt: string
  from: number | null
  to: number | null
  gaveBack?: boolean
}
interface Job {
  id: string
  state: string
  replicas: number
  quorum: number
  wallMs: number
  donors: Donor[]
  error: { kind: string; message: string } | null
}
interface Inside {
  sessions: Set<FakeSession>
  live: Map<string, { proc: { pid: number; done: Promise<unknown> } | null; module: Buffer }>
  state: {
    runs: Array<{ id: string; state: string; error: { kind: string } | null }>
    submitted: Job[]
  }
  onMessage(s: FakeSession, m: Message): Promise<void>
  tendJob(job: Job): Promise<void>
  pump(): void
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const hex = (n: number): string => crypto.randomBytes(n).toString('hex')

async function node(timers: Partial<ComputeTimers>): Promise<{
  compute: Compute
  inside: Inside
  governor: CpuGovernor
  dataDir: string
  limits: DonateLimits
}> {
  const made = await directCompute('spare-compute-liveness-', (fn) => cleanups.push(fn), timers)
  return { ...made, inside: made.compute as unknown as Inside }
}

const session = fakeSession

/** A donor with `timers` that has taken an endless job from one submitter's session. */
async function loopingDonor(timers: Partial<ComputeTimers>) {
  const made = await node(timers)
  const sent: Message[] = []
  const s = session(sent)
  made.inside.sessions.add(s)
  const job = jobMessage(await assemble(INFINITE_LOOP), Buffer.alloc(0))
  await made.inside.onMessage(s, job)
  return { ...made, sent, s, job }
}

function donorRecord(identity: string, state: string, answer: string | null = null): Donor {
  return {
    identity,
    state,
    answer,
    error: null,
    sentAt: Date.now(),
    resultHash: answer,
    cpuMs: null,
    receipt: 'none',
    from: null,
    to: null,
  }
}

/** A submitted job record, as submit() makes it, without its files. */
function submitted(donors: Donor[]): Job & Record<string, unknown> {
  return {
    id: hex(32),
    nonce: hex(16),
    name: 'test',
    state: donors.length > 0 ? 'running' : 'waiting',
    replicas: 2,
    quorum: 2,
    wallMs: 60_000,
    moduleBytes: 1,
    inputBytes: 0,
    submittedAt: Date.now(),
    finishedAt: null,
    donors,
    resultHash: null,
    outputBytes: null,
    error: null,
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The donor ended job `id` as cancelled and sent its submitter a 'cancelled' result, once. */
function expectGivenUp(inside: Inside, sent: Message[], id: string): void {
  expect(inside.state.runs.find((r) => r.id === id)).toMatchObject({
    state: 'failed',
    error: { kind: 'cancelled' },
  })
  expect(sent.filter((m) => m.t === 'result')).toMatchObject([
    { id, hash: null, error: { kind: 'cancelled' } },
  ])
}

describe('a donor whose donating is held', () => {
  it('gives up a job queued too long and tells the submitter it was not done', async () => {
    const { inside, governor } = await node({ stalledMs: 200 })
    const sent: Message[] = []
    const s = session(sent)
    inside.sessions.add(s)
    governor.setPause({ until: null })
    const job = jobMessage(await assemble(INFINITE_LOOP), Buffer.alloc(0))
    await inside.onMessage(s, job)
    expect(inside.state.runs.find((r) => r.id === job.id)).toMatchObject({ state: 'queued' })
    await sleep(400)
    inside.pump() // the node's one-second tick does this
    expect(inside.live.has(job.id)).toBe(false)
    expectGivenUp(inside, sent, job.id)
  })

  it('kills a job held suspended too long and tells the submitter it was not done', async () => {
    const { inside, governor, sent, job } = await loopingDonor({ stalledMs: 300 })
    const proc = inside.live.get(job.id)?.proc
    expect(proc?.pid).toBeGreaterThan(0)
    governor.setPause({ until: null })
    inside.pump()
    expect(inside.state.runs.find((r) => r.id === job.id)).toMatchObject({ state: 'suspended' })
    await sleep(500)
    inside.pump()
    await proc!.done
    await new Promise((resolve) => setImmediate(resolve))
    expect(pidAlive(proc!.pid)).toBe(false)
    expect(inside.live.has(job.id)).toBe(false)
    expectGivenUp(inside, sent, job.id)
  }, 30_000)

  it('does not give up a job stopped only briefly (its CPU share)', async () => {
    const { inside, governor, sent, s, job } = await loopingDonor({ stalledMs: 400 })
    for (let i = 0; i < 4; i++) {
      governor.setPause({ until: null })
      await sleep(200)
      governor.setPause(null)
      inside.pump()
    }
    expect(inside.live.get(job.id)?.proc).toBeTruthy()
    expect(sent.filter((m) => m.t === 'result')).toEqual([])
    await cancel(inside, s, job.id)
  }, 30_000)
})

describe('a donor whose user holds donating', () => {
  /** A donor (stalledMs a minute) running one endless job and holding a second queued. */
  async function busyDonor(): Promise<{
    made: Awaited<ReturnType<typeof node>>
    sent: Message[]
    s: FakeSession
    ids: string[]
    procs: Array<{ pid: number; done: Promise<unknown> }>
  }> {
    const made = await node({ stalledMs: 60_000 })
    const sent: Message[] = []
    const s = session(sent)
    made.inside.sessions.add(s)
    const module = await assemble(INFINITE_LOOP)
    const ids: string[] = []
    for (const text of ['a', 'b']) {
      const job = jobMessage(module, Buffer.from(text))
      await made.inside.onMessage(s, job)
      ids.push(job.id)
    }
    const procs = ids.flatMap((id) => made.inside.live.get(id)?.proc ?? [])
    expect(procs).toHaveLength(1) // one core donated: the second waits
    return { made, sent, s, ids, procs }
  }

  async function expectAllGivenBack(
    d: Awaited<ReturnType<typeof busyDonor>>,
    why: RegExp,
  ): Promise<void> {
    // Killed at once: a bound only so that a job left running fails here, not at the timeout.
    for (const p of d.procs) await Promise.race([p.done, sleep(10_000)])
    await new Promise((resolve) => setImmediate(resolve))
    for (const p of d.procs) expect(pidAlive(p.pid)).toBe(false)
    expect(d.made.inside.live.size).toBe(0)
    const results = d.sent.filter((m) => m.t === 'result')
    expect(results.map((m) => m.id).sort()).toEqual([...d.ids].sort())
    for (const m of results) {
      expect(m).toMatchObject({ hash: null, error: { kind: 'cancelled' } })
      expect(m.error?.message).toMatch(why)
    }
  }

  it('gives every job back at once when donating is turned off', async () => {
    const d = await busyDonor()
    const off = { ...d.made.limits, cpuPercent: 0 }
    d.made.governor.setLimits(off) // as the node does: the governor, then compute
    d.made.compute.setLimits(off)
    await expectAllGivenBack(d, /turned donating CPU off/)
  }, 30_000)

  it('gives its jobs back at once when snoozed for longer than stalledMs', async () => {
    const d = await busyDonor()
    // A snooze shorter than the bound keeps them: they run again soon.
    d.made.governor.setPause({ until: Date.now() + 30_000 })
    d.made.inside.pump()
    expect(d.made.inside.live.size).toBe(2)
    expect(d.sent.filter((m) => m.t === 'result')).toEqual([])
    d.made.governor.setPause({ until: Date.now() + 10 * 60_000 })
    d.made.inside.pump() // the governor's 'change' does this in a node that is open
    await expectAllGivenBack(d, /snoozed for over 1 min/)
  }, 30_000)

  it('gives its jobs back at once when its schedule closes for longer than stalledMs', async () => {
    const d = await busyDonor()
    // Jobs run only on the day after tomorrow: at least a day away.
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getDay() + 2) % 7]
    const limits = { ...d.made.limits, schedule: `${day} 00:00-24:00` }
    d.made.governor.setLimits(limits)
    d.made.compute.setLimits(limits)
    await expectAllGivenBack(d, /outside its schedule for over 1 min/)
  }, 30_000)

  it('keeps a job held past stalledMs by a snooze that ends within it', async () => {
    const { inside, governor, sent, s, job } = await loopingDonor({ stalledMs: 300 })
    // Snoozed for exactly the bound (the tray's hour against the hour a held job may wait).
    governor.setPause({ until: Date.now() + 300 })
    inside.pump()
    await sleep(500)
    inside.pump() // the snooze is over, and this governor has not noticed yet
    governor.tick() // the governor's next tick (every 100 ms in a node)
    inside.pump()
    const proc = inside.live.get(job.id)?.proc
    // Given back, its process would be dead within moments, and the submitter told.
    await Promise.race([proc?.done, sleep(2000)])
    await new Promise((resolve) => setImmediate(resolve))
    expect(pidAlive(proc!.pid)).toBe(true)
    expect(inside.state.runs.find((r) => r.id === job.id)).toMatchObject({ state: 'running' })
    expect(sent.filter((m) => m.t === 'result')).toEqual([])
    await cancel(inside, s, job.id)
  }, 30_000)

  it('keeps its jobs while paused until resumed, and runs them on', async () => {
    const d = await busyDonor()
    d.made.governor.setPause({ until: null })
    d.made.inside.pump()
    expect(d.made.inside.state.runs.find((r) => r.id === d.ids[0])).toMatchObject({
      state: 'suspended',
    })
    expect(d.made.inside.live.size).toBe(2)
    d.made.governor.setPause(null)
    d.made.inside.pump()
    expect(d.made.inside.state.runs.find((r) => r.id === d.ids[0])).toMatchObject({
      state: 'running',
    })
    expect(d.sent.filter((m) => m.t === 'result')).toEqual([])
    for (const id of d.ids) await cancel(d.made.inside, d.s, id)
  }, 30_000)
})

async function cancel(inside: Inside, s: FakeSession, id: string): Promise<void> {
  const done = inside.live.get(id)?.proc?.done
  await inside.onMessage(s, { t: 'cancel', id })
  await done
}

describe('a submitter told a donor gave up', () => {
  it('does not count it as an answer, and asks another donor', async () => {
    const { inside } = await node({})
    const a = session([])
    const b = session([])
    inside.sessions.add(a)
    inside.sessions.add(b)
    const job = submitted([
      donorRecord(a.identity!, 'running'),
      donorRecord(b.identity!, 'running'),
    ])
    inside.state.submitted.push(job)
    const gaveUp = (id: string): Message => ({
      t: 'result',
      id,
      hash: null,
      output: null,
      error: { kind: 'cancelled', message: 'the donor gave up' },
      cpuMs: 0,
      from: Date.now() - 1,
      to: Date.now(),
    })
    await inside.onMessage(a, gaveUp(job.id))
    await inside.onMessage(b, gaveUp(job.id))
    await inside.tendJob(job)
    // Two 'cancelled' would otherwise be a quorum, and fail the job as 'cancelled'.
    expect(job.state).toBe('running')
    expect(job.donors.map((d) => [d.state, d.answer])).toEqual([
      ['failed', null],
      ['failed', null],
    ])
  })
})

describe('a submitted job that runs out of donors to ask', () => {
  /** A job (replicas 2, quorum 2) whose donors are `donors`, tended once with a donor free. */
  async function tended(donors: Donor[], replicas = 2): Promise<{ job: Job; sent: Message[] }> {
    const { inside, dataDir } = await node({})
    const sent: Message[] = []
    inside.sessions.add(session(sent, 1)) // a donor it has not asked, with a slot
    const [module, input] = [await assemble(INFINITE_LOOP), Buffer.alloc(0)]
    const record = submitted(donors)
    // Its id is its files' (a job whose files do not match is not sent).
    const id = jobId(module, input, record.nonce as string)
    const job = { ...record, id, replicas, quorum: Math.floor(replicas / 2) + 1 }
    const file = path.join(dataDir, 'compute', 'jobs', job.id)
    await writeFile(`${file}.wasm`, module)
    await writeFile(`${file}.input`, input)
    inside.state.submitted.push(job)
    await inside.tendJob(job)
    return { job, sent }
  }
  const gaveBack = (): Donor => ({
    ...donorRecord(hex(32), 'failed'),
    gaveBack: true,
    error: 'not done: the donor gave up',
  })

  it('ends no-donors, naming the donors that gave it back, once too many have', async () => {
    const { job, sent } = await tended(Array.from({ length: maxGivenBack(1) }, gaveBack), 1)
    expect(sent.filter((m) => m.t === 'job')).toEqual([])
    expect(job.state).toBe('failed')
    expect(job.error?.kind).toBe('no-donors')
    expect(job.error?.message).toBe(
      `${maxGivenBack(1)} donors gave the job back before running it (refused or gave it up); ` +
        '1 result was needed',
    )
  })

  it('is sent on while fewer donors gave it back', async () => {
    const { job, sent } = await tended(Array.from({ length: maxGivenBack(1) - 1 }, gaveBack), 1)
    expect(sent.filter((m) => m.t === 'job')).toMatchObject([{ id: job.id }])
    expect(job.state).toBe('running')
  })

  it('says that donors went away, not that they disagreed, when they did', async () => {
    const away = (): Donor => ({ ...donorRecord(hex(32), 'gone'), error: 'went away' })
    const { job } = await tended([
      donorRecord(hex(32), 'answered', hex(32)),
      ...[1, 2, 3, 4].map(away),
    ])
    expect(job.error).toEqual({
      kind: 'no-donors',
      message:
        '1 donor answered; 4 donors went away or did not answer in time; ' +
        '2 matching results were needed',
    })
  })

  it('says donors disagreed when they did', async () => {
    const { job } = await tended([
      donorRecord(hex(32), 'answered', hex(32)),
      donorRecord(hex(32), 'answered', hex(32)),
      gaveBack(),
      donorRecord(hex(32), 'gone'),
      donorRecord(hex(32), 'gone'),
      donorRecord(hex(32), 'gone'),
    ])
    expect(job.error).toEqual({
      kind: 'no-quorum',
      message:
        'donors disagreed (1 / 1); 1 donor gave the job back before running it (refused or ' +
        'gave it up); 3 donors went away or did not answer in time; 2 matching results were needed',
    })
  })
})

describe('a submitted job that can make no progress', () => {
  it('ends no-donors when it has answers but no donor at work and none to ask', async () => {
    const { inside } = await node({ noDonorsMs: 200 })
    const job = submitted([donorRecord(hex(32), 'answered', hex(32)), donorRecord(hex(32), 'gone')])
    inside.state.submitted.push(job)
    await inside.tendJob(job)
    expect(job.state).toBe('running')
    await sleep(400)
    await inside.tendJob(job)
    expect(job.state).toBe('failed')
    expect(job.error).toMatchObject({ kind: 'no-donors' })
    expect(job.error?.message).toMatch(/1 answered/)
  })

  it('ends once with a clear error when its module file is missing', async () => {
    const { inside } = await node({})
    inside.sessions.add(session([], 2))
    const job = submitted([])
    inside.state.submitted.push(job) // no .wasm, no .input in DATA/compute/jobs
    await expect(inside.tendJob(job)).resolves.toBeUndefined()
    expect(job.state).toBe('failed')
    expect(job.error?.kind).toBe('invalid')
    expect(job.error?.message).toMatch(/\.wasm is missing/)
  })

  it('ends with a clear error, sending nothing, when its files were damaged on disk', async () => {
    const { inside, dataDir } = await node({})
    const sent: Message[] = []
    inside.sessions.add(session(sent, 2))
    const module = Buffer.from('0061736d01000000', 'hex') // an empty wasm module
    const msg = jobMessage(module, Buffer.from('some input'))
    const job = { ...submitted([]), id: msg.id, nonce: msg.nonce }
    inside.state.submitted.push(job)
    const jobs = path.join(dataDir, 'compute', 'jobs')
    await writeFile(path.join(jobs, `${job.id}.wasm`), module)
    // Cut short by a crash while it was written.
    await writeFile(path.join(jobs, `${job.id}.input`), 'some in')
    await inside.tendJob(job)
    // Sent, every donor refused it and struck this node for a job id that did not match.
    expect(sent.filter((m) => m.t === 'job')).toEqual([])
    expect(job.state).toBe('failed')
    expect(job.error?.kind).toBe('invalid')
    expect(job.error?.message).toMatch(/files in compute\/jobs were damaged/)
  })
})
