// A donor's side of hostile or racing submitter messages, on a Compute driven directly (no
// swarm):
//   - A job the submitter withdrew while it ran must end as cancelled, with no result sent back
//     as an answer: the submitter withdrew it and wants nothing back. (A donor that gives up a
//     job its own pause held too long does send 'cancelled', which a submitter takes as "not
//     done here", never as a vote: compute-liveness.test.ts.)
//   - A hello makes the donor send the submitter every result it keeps for it (up to 64 MiB): a
//     connection says hello once, or each 300-byte hello would queue that much again.
//   - Nor may a job the donor's own limits hold suspended when the donor stops: its end is the
//     donor's doing, not an answer about the job. It is given back ('cancelled', never a vote), so
//     the submitter asks another donor at once.
//   - A burst of jobs from one submitter (refused modules: a hundred bytes each) must not push
//     another submitter's run out of the saved history while its result waits for a receipt.
import crypto from 'hypercore-crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { jobId, type Compute } from '../../main/engine/compute/compute.ts'
import { COMPUTE_HELLO_TAG, type Message } from '../../main/engine/compute/messages.ts'
import { signHello } from '../../main/engine/net/peer-channel.ts'
import type { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import {
  directCompute,
  fakeSession,
  jobMessage,
  type FakeSession,
} from '../helpers/compute-direct.ts'
import { INFINITE_LOOP, REVERSE, assemble } from '../helpers/hostile-modules.ts'

interface Inside {
  sessions: Set<FakeSession>
  live: Map<string, { proc: { done: Promise<unknown> } | null; record: { state: string } }>
  ended: Map<string, { record: { submitter: string; credited: boolean | null; state: string } }>
  state: { runs: Array<{ id: string; state: string; error: { kind: string } | null }> }
  onMessage(s: FakeSession, m: Message): Promise<void>
  save(): Promise<void>
  pump(): void
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function donor(): Promise<{ compute: Compute; inside: Inside; governor: CpuGovernor }> {
  const made = await directCompute('spare-donor-messages-', (fn) => cleanups.push(fn))
  return { ...made, inside: made.compute as unknown as Inside }
}

const submitterSession = (sent: Message[]): FakeSession => fakeSession(sent)

describe('a donor whose submitter cancels a running job', () => {
  it('ends the run as cancelled and sends no result for it', async () => {
    const { inside } = await donor()
    const sent: Message[] = []
    const session = fakeSession(sent)
    inside.sessions.add(session)
    const module = await assemble(INFINITE_LOOP)
    const input = Buffer.alloc(0)
    const nonce = crypto.randomBytes(16).toString('hex')
    const id = jobId(module, input, nonce)
    await inside.onMessage(session, {
      t: 'job',
      id,
      nonce,
      module: module.toString('base64'),
      input: '',
      wallMs: 60_000,
    })
    const run = inside.live.get(id)
    expect(run?.proc).toBeTruthy()
    const done = run!.proc!.done
    await inside.onMessage(session, { t: 'cancel', id })
    await done
    await new Promise((resolve) => setImmediate(resolve))

    const record = inside.state.runs.find((r) => r.id === id)
    expect(record).toMatchObject({ state: 'failed', error: { kind: 'cancelled' } })
    expect(sent.filter((m) => m.t === 'result')).toEqual([])
    expect(inside.ended.has(id)).toBe(false)
  }, 30_000)
})

describe('a donor greeted again on the same connection', () => {
  it('sends the results it keeps once, not once per hello', async () => {
    const { inside } = await donor()
    const submitter = crypto.keyPair()
    const sent: Message[] = []
    const donorEnd = { publicKey: crypto.randomBytes(32), remotePublicKey: crypto.randomBytes(32) }
    // Not yet greeted: no identity.
    const session: FakeSession = { ...fakeSession(sent), conn: donorEnd, identity: null }
    inside.sessions.add(session)
    // A result kept for the submitter, never collected.
    const id = crypto.randomBytes(32).toString('hex')
    const output = Buffer.alloc(1024, 7)
    inside.ended.set(id, {
      record: { submitter: submitter.publicKey.toString('hex'), credited: null, state: 'done' },
      result: {
        t: 'result',
        id,
        hash: crypto.hash(output).toString('hex'),
        output: output.toString('base64'),
        error: null,
        cpuMs: 1,
        from: 1,
        to: 2,
      },
    } as never)
    const hello: Message = {
      t: 'hello',
      identity: submitter.publicKey.toString('hex'),
      ledger: crypto.randomBytes(32).toString('hex'),
      slots: 0,
      // Signed from the submitter's end of the connection.
      sig: signHello(
        COMPUTE_HELLO_TAG,
        { publicKey: donorEnd.remotePublicKey, remotePublicKey: donorEnd.publicKey },
        submitter.secretKey,
      ),
    }
    for (let i = 0; i < 5; i++) await inside.onMessage(session, hello)
    expect(session.identity).toBe(submitter.publicKey.toString('hex'))
    expect(sent.filter((m) => m.t === 'result')).toHaveLength(1)
  })
})

describe('a donor flooded with jobs by one submitter', () => {
  it("keeps another submitter's run, whose result waits for a receipt, in its saved state", async () => {
    const { inside } = await donor()
    const sentA: Message[] = []
    const a = submitterSession(sentA)
    const b = submitterSession([])
    inside.sessions.add(a)
    inside.sessions.add(b)
    const job = jobMessage(await assemble(REVERSE), Buffer.from('abc'))
    await inside.onMessage(a, job)
    await inside.live.get(job.id)?.proc?.done
    await new Promise((resolve) => setImmediate(resolve))
    expect(sentA.filter((m) => m.t === 'result')).toMatchObject([{ error: null }])
    // More jobs than the donor keeps history or results for, each refused at once (never
    // queued), each still a run record.
    const junk = Buffer.from('0061736d01000000ff', 'hex')
    for (let i = 0; i < 300; i++) {
      await inside.onMessage(b, jobMessage(junk, Buffer.from([i])))
    }
    await inside.save()
    expect(inside.state.runs.find((r) => r.id === job.id)).toMatchObject({ state: 'done' })
    expect(inside.ended.has(job.id)).toBe(true)
  }, 30_000)
})

describe('a donor that stops while its limits hold a job suspended', () => {
  it('sends no answer for it, only that it gave it back', async () => {
    const { compute, inside, governor } = await donor()
    const sent: Message[] = []
    const session = submitterSession(sent)
    inside.sessions.add(session)
    const job = jobMessage(await assemble(INFINITE_LOOP), Buffer.alloc(0))
    await inside.onMessage(session, job)
    const done = inside.live.get(job.id)?.proc?.done
    expect(done).toBeTruthy()
    governor.setPause({ until: null })
    inside.pump() // the governor's 'change' does this in a node that is open
    expect(inside.state.runs.find((r) => r.id === job.id)).toMatchObject({ state: 'suspended' })
    await compute.close()
    await done
    await new Promise((resolve) => setImmediate(resolve))
    expect(inside.state.runs.find((r) => r.id === job.id)).toMatchObject({
      state: 'failed',
      error: { kind: 'cancelled' },
    })
    expect(sent.filter((m) => m.t === 'result')).toMatchObject([
      {
        id: job.id,
        hash: null,
        output: null,
        error: { kind: 'cancelled', message: 'the donor stopped before the job ended' },
      },
    ])
  }, 30_000)
})

describe('a donor whose kept results one submitter floods with quick jobs', () => {
  it("lets go of that submitter's own oldest results, not another's", async () => {
    const made = await directCompute(
      'spare-donor-messages-',
      (fn) => cleanups.push(fn),
      {},
      {
        results: 4,
      },
    )
    const inside = made.compute as unknown as Inside
    const module = await assemble(REVERSE)
    const run = async (s: FakeSession, text: string): Promise<string> => {
      const job = jobMessage(module, Buffer.from(text))
      await inside.onMessage(s, job)
      await inside.live.get(job.id)?.proc?.done
      await new Promise((resolve) => setImmediate(resolve))
      return job.id
    }
    // A's job ends, and A goes away before it credits it: the donor keeps the result for it.
    const a = crypto.keyPair()
    const first = fakeSession([])
    first.identity = a.publicKey.toString('hex')
    inside.sessions.add(first)
    const mine = await run(first, 'mine')
    inside.sessions.delete(first)
    // B sends more quick jobs than the donor keeps results for, and never credits them.
    const b = submitterSession([])
    inside.sessions.add(b)
    const burst: string[] = []
    for (let i = 0; i < 6; i++) burst.push(await run(b, `burst ${i}`))
    expect([...inside.ended.keys()]).toEqual([mine, ...burst.slice(3)])
    // A comes back and gets its result.
    const sent: Message[] = []
    const donorEnd = { publicKey: crypto.randomBytes(32), remotePublicKey: crypto.randomBytes(32) }
    // Not yet greeted: no identity.
    const again: FakeSession = { ...fakeSession(sent), conn: donorEnd, identity: null }
    inside.sessions.add(again)
    await inside.onMessage(again, {
      t: 'hello',
      identity: a.publicKey.toString('hex'),
      ledger: crypto.randomBytes(32).toString('hex'),
      slots: 0,
      sig: signHello(
        COMPUTE_HELLO_TAG,
        { publicKey: donorEnd.remotePublicKey, remotePublicKey: donorEnd.publicKey },
        a.secretKey,
      ),
    })
    expect(sent.filter((m) => m.t === 'result')).toMatchObject([{ id: mine, error: null }])
  }, 60_000)
})
