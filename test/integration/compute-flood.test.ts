// A donor against a hostile submitter that floods it with jobs and never collects their results
// (it neither credits nor outvotes them). The donor keeps results for submitters that are away,
// but only within bounds: its memory must not grow with every job a peer asks for. Real parts:
// a local testnet, a real donor (Compute, CPU governor, sandboxed job processes) and a submitter
// that speaks the protocol by hand.
import { describe, expect, it } from 'vitest'
import crypto from 'hypercore-crypto'
import type { Compute } from '../../main/engine/compute/compute.ts'
import { COMPUTE_TOPIC, jobId } from '../../main/engine/compute/compute.ts'
import { encodeMessage, type Message } from '../../main/engine/compute/messages.ts'
import type { DonateLimits } from '../../main/engine/limits/governor.ts'
import { waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'
import { computeNode } from '../helpers/compute-node.ts'
import { assemble } from '../helpers/hostile-modules.ts'

const t = useLocalTestnet()

interface Session {
  identity: string | null
  slots: number
  msg: { send(b: Buffer): void } | null
}
interface LiveRun {
  result: { output: string | null } | null
}
interface Internals {
  sessions: Set<Session>
  live: Map<string, LiveRun>
  ended: Map<string, LiveRun>
  state: { runs: Array<{ id: string; state: string }> }
  onMessage(s: Session, m: Message): Promise<void>
  swarm: {
    join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void>
    flush(): Promise<void>
  }
}

async function node(limits: Partial<DonateLimits>): Promise<Compute> {
  return (await computeNode(t.cleanup, t.network, limits)).compute
}

/** Writes 4 MiB of output, at once. */
const BIG_OUTPUT = `(module
  (import "spare" "memory" (memory 64))
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))
  (func (export "run") (result i32)
    (call $write_output (i32.const 0) (i32.const 4194304))
    (i32.const 0)))`

describe('a donor flooded by a submitter that never collects', () => {
  it('keeps a bounded number and size of results', async () => {
    const donor = await node({
      cpuPercent: 100,
      cpuCores: 2,
      suspendAboveOtherPercent: null,
      allowOnBattery: true,
    })
    const submitter = await node({})
    const d = donor as unknown as Internals
    const s = submitter as unknown as Internals
    // The donor's announcement first: a lookup made before it would find no one.
    await d.swarm.flush()
    await s.swarm.join(COMPUTE_TOPIC, { server: false, client: true })
    let session: Session | null = null
    await waitFor(
      () => {
        session = [...s.sessions].find((x) => x.identity && x.msg && x.slots > 0) ?? null
        return session !== null
      },
      { timeoutMs: 30_000, what: 'the donor' },
    )
    const send = (module: Buffer, i: number): void => {
      const input = Buffer.from(String(i))
      const nonce = crypto.randomBytes(16).toString('hex')
      const m: Message = {
        t: 'job',
        id: jobId(module, input, nonce),
        nonce,
        module: module.toString('base64'),
        input: input.toString('base64'),
        wallMs: 10_000,
      }
      session!.msg!.send(encodeMessage(m))
    }

    // Modules that fail the check never take a queue place: a flood of them is answered at once.
    const junk = Buffer.from('not a module')
    let answered = 0
    const onMessage = s.onMessage.bind(submitter)
    s.onMessage = (from, m) => {
      if (m.t === 'result' && m.error?.kind === 'invalid') answered++
      return onMessage(from, m)
    }
    for (let i = 0; i < 600; i++) send(junk, i)
    await waitFor(() => answered === 600, {
      timeoutMs: 30_000,
      what: 'the junk answered',
    })
    await new Promise((r) => setTimeout(r, 500))
    expect(d.ended.size).toBeLessThanOrEqual(256)

    // Jobs with 4 MiB of output each, four at a time (the per-submitter queue).
    const big = await assemble(BIG_OUTPUT)
    for (let batch = 0; batch < 5; batch++) {
      for (let i = 0; i < 4; i++) send(big, batch * 4 + i)
      await waitFor(
        () =>
          d.live.size === 0 &&
          d.state.runs.filter((r) => r.state === 'done').length === (batch + 1) * 4,
        { timeoutMs: 60_000, what: `batch ${batch} done` },
      )
    }
    let kept = 0
    for (const run of d.ended.values()) kept += run.result?.output?.length ?? 0
    expect(kept).toBeLessThanOrEqual(64 * 1024 * 1024)
    expect(d.ended.size).toBeLessThanOrEqual(256)
  }, 180_000)
})
