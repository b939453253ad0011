// Jobs that can make no progress must end, on both sides, in a bounded time (Compute driven
// directly, no swarm; the bounds come from the injectable timers):
//   - A donor whose donating is held (paused, turned off) gives up a job queued or suspended for
//     longer than timers.stalledMs: the process is killed, and the submitter is told 'cancelled'.
//   - A submitter takes a 'cancelled' result as "not done there", not as an answer that votes.
//   - Donors that gave a job back use none of its donor budget, up to a bound (maxGivenBack),
//     and a job out of donors says what happened: 'no-quorum' only when donors disagreed.
//   - A submitted job with some answers, no donor at work and none to ask ends 'no-donors'.
//   - A submitted job whose module or input file is missing ends once with a clear error.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import { afterEach, describe, expect, it } from 'vitest'
import {
  maxGivenBack,
  type Compute,
  type ComputeTimers,
} from '../../main/engine/compute/compute.ts'
import type { Message } from '../../main/engine/compute/messages.ts'
import type { CpuGovernor } from '../../main/engine/limits/cpu.ts'
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

async function node(
  timers: Partial<ComputeTimers>,
): Promise<{ compute: Compute; inside: Inside; governor: CpuGovernor; dataDir: string }> {
  const made = await directCompute('spare-compute-liveness-', (fn) => cleanups.push(fn), timers)
  return { ...made, inside: made.compute as unknown as Inside }
}

const session = fakeSession

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
    const { inside, governor } = await node({ stalledMs: 300 })
    const sent: Message[] = []
    const s = session(sent)
    inside.sessions.add(s)
    const job = jobMessage(await assemble(INFINITE_LOOP), Buffer.alloc(0))
    await inside.onMessage(s, job)
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
    const { inside, governor } = await node({ stalledMs: 400 })
    const sent: Message[] = []
    const s = session(sent)
    inside.sessions.add(s)
    const job = jobMessage(await assemble(INFINITE_LOOP), Buffer.alloc(0))
    await inside.onMessage(s, job)
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
    const job = { ...submitted(donors), replicas, quorum: Math.floor(replicas / 2) + 1 }
    const file = path.join(dataDir, 'compute', 'jobs', job.id)
    await writeFile(`${file}.wasm`, await assemble(INFINITE_LOOP))
    await writeFile(`${file}.input`, Buffer.alloc(0))
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
})
