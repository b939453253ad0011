// Results that wait for their submitter: a donor that finishes a job while the submitter is away
// keeps the result and sends it again when the submitter reconnects. The submitter must take it
// (the job is still open), not throw away work it asked for because the connection it sent the
// job on went away meanwhile.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { DonateStatus, JobDetail, JobSummary, RunSummary } from '../../shared/contract.ts'
import { type TestDaemon, startDaemon, tempDir, waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'
import { assemble } from '../helpers/hostile-modules.ts'

const t = useLocalTestnet()

async function donor(): Promise<TestDaemon> {
  const d = await startDaemon(t.cleanup, t.network)
  const st = await d.json<DonateStatus>([
    'donate',
    'set',
    '--cpu',
    '100',
    '--cores',
    '2',
    '--suspend-above',
    'off',
    '--on-battery',
    'yes',
  ])
  expect(st.cpu.blockedBy).toBeNull()
  return d
}

/** Spins for the u32 count in its input, then writes what it computed (4 bytes). */
const SPIN = `(module
  (import "spare" "memory" (memory 1))
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))
  (func (export "run") (result i32)
    (local $n i32) (local $i i32) (local $x i32)
    (drop (call $read_input (i32.const 0) (i32.const 0) (i32.const 4)))
    (local.set $n (i32.load (i32.const 0)))
    (local.set $x (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.store (i32.const 0) (local.get $x))
    (call $write_output (i32.const 0) (i32.const 4))
    (i32.const 0)))`

const runOf = async (d: TestDaemon, id: string): Promise<RunSummary | undefined> =>
  (await d.json<{ submitted: JobSummary[]; run: RunSummary[] }>(['compute', 'jobs'])).run.find(
    (r) => r.id === id,
  )

describe('donated CPU across a reconnection', () => {
  it('takes the results donors kept while the submitter was away', async () => {
    const [d1, d2] = [await donor(), await donor()]
    const s = await startDaemon(t.cleanup, t.network)
    const dir = await tempDir(t.cleanup, 'spare-job-')
    const module = path.join(dir, 'spin.wasm')
    const input = path.join(dir, 'spin.in')
    await fs.writeFile(module, await assemble(SPIN))
    const n = Buffer.alloc(4)
    n.writeUInt32LE(3_000_000_000, 0) // several seconds of CPU
    await fs.writeFile(input, n)

    const res = await s.cli(['compute', 'submit', module, '--input', input, '--no-wait'])
    expect(res.code, res.stderr).toBe(0)
    const id = /[0-9a-f]{64}/.exec(res.stdout)?.[0] ?? ''
    expect(id).not.toBe('')
    await waitFor(
      async () => (await runOf(d1, id)) !== undefined && (await runOf(d2, id)) !== undefined,
      { timeoutMs: 60_000, what: 'both donors got the job' },
    )

    // The submitter goes away while the donors compute, and comes back once they are done.
    expect(await s.stop()).toBe(0)
    const saved = JSON.parse(
      await fs.readFile(path.join(s.dataDir, 'compute', 'compute.json'), 'utf8'),
    ) as { submitted: Array<{ id: string; state: string }> }
    expect(saved.submitted.find((j) => j.id === id)?.state).toBe('running')
    await waitFor(
      async () =>
        (await runOf(d1, id))?.state === 'done' && (await runOf(d2, id))?.state === 'done',
      { timeoutMs: 60_000, what: 'both donors finished' },
    )
    await s.start()

    // The donors send their kept results on reconnecting: the job settles on them, well before
    // the 10 minutes after which a job no donor answers fails.
    await waitFor(async () => (await s.json<JobDetail>(['compute', 'job', id])).state === 'done', {
      timeoutMs: 60_000,
      what: 'the job settled on the kept results',
    })
    const job = await s.json<JobDetail>(['compute', 'job', id])
    expect(job.donors.filter((d) => d.state === 'agreed')).toHaveLength(2)
    expect(job.output).not.toBeNull()
  })
})
