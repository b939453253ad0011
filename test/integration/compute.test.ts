// Donated CPU through real daemons on a local testnet: a job runs on two donors and the submitter
// gets the result they agree on; a lying donor is outvoted and gets no credit; hostile modules
// are stopped and the donors go on working; compute receipts land in ledgers a third node can
// verify; pause, snooze and bad limits from the command line.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type {
  DonateStatus,
  JobDetail,
  JobSummary,
  Ledger,
  LedgerReport,
  RunSummary,
} from '../../shared/contract.ts'
import { ROOT, type TestDaemon, startDaemon, tempDir, waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'

const t = useLocalTestnet()

const PRIMES = path.join(ROOT, 'examples/compute/primes.wasm')

/** A donor that runs jobs at full speed whatever else the (shared, busy) test machine does. */
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
  expect(st.limits.cpuPercent).toBe(100)
  expect(st.cpu.blockedBy).toBeNull()
  return d
}

function primesInput(lo: number, hi: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt32LE(lo, 0)
  b.writeUInt32LE(hi, 4)
  return b
}

/** The primes in [lo, hi) as the primes sample writes them: count, then each, u32 LE. */
function primesReference(lo: number, hi: number): Buffer {
  const out: number[] = []
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) out.push(n)
  }
  const b = Buffer.alloc(4 + 4 * out.length)
  b.writeUInt32LE(out.length, 0)
  out.forEach((p, i) => b.writeUInt32LE(p, 4 + 4 * i))
  return b
}

async function writeTemp(name: string, data: Buffer | string): Promise<string> {
  const file = path.join(await tempDir(t.cleanup, 'spare-job-'), name)
  await fs.writeFile(file, data)
  return file
}

/** A module from WAT source, assembled with wabt. */
async function wat(source: string): Promise<Buffer> {
  const { default: initWabt } = await import('wabt')
  const wabt = await initWabt()
  const mod = wabt.parseWat('job.wat', source)
  try {
    return Buffer.from(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
  }
}

const IMPORTS = `
  (import "spare" "memory" (memory 1))
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))`

async function submit(
  s: TestDaemon,
  module: string,
  input: string,
  extra: string[] = [],
): Promise<JobDetail> {
  const res = await s.cli(['compute', 'submit', module, '--input', input, ...extra, '--json'])
  if (res.code !== 0 && res.code !== 1) {
    throw new Error(`compute submit failed (${res.code}): ${res.stderr}`)
  }
  return JSON.parse(res.stdout) as JobDetail
}

async function runsOf(d: TestDaemon): Promise<RunSummary[]> {
  return (await d.json<{ submitted: JobSummary[]; run: RunSummary[] }>(['compute', 'jobs'])).run
}

/**
 * Starts a dishonest donor (test/helpers/fake-donor.ts): `lying` answers with a made-up output,
 * `greedy` with `output` and an hour of CPU it did not spend. Resolves with its keys.
 */
async function fakeDonor(
  mode: 'lying' | 'greedy',
  output?: Buffer,
): Promise<{ identity: string; ledger: string }> {
  const dir = await tempDir(t.cleanup, `spare-${mode}-`)
  const args = [path.join(ROOT, 'test/helpers/fake-donor.ts'), t.network, dir, mode]
  if (output) args.push(await writeTemp('answer.bin', output))
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  })
  t.cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  )
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve(JSON.parse(line) as { identity: string; ledger: string })
    })
    child.once('exit', (code) => reject(new Error(`${mode} donor exited ${code}: ${err}`)))
  })
}

/** Runs the hostile submitter to the end; returns its one line of JSON. */
async function hostileSubmitter(mode: 'raw' | 'wrongid', file: string): Promise<unknown> {
  const dir = await tempDir(t.cleanup, 'spare-hostile-')
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'test/helpers/hostile-submitter.ts'),
      t.network,
      dir,
      mode,
      file,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  )
  t.cleanup.add(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`hostile submitter exited ${code}: ${err}`)
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('donated CPU', () => {
  it('runs a job on two donors; the submitter gets the agreed result and both get receipts', async () => {
    const [d1, d2] = [await donor(), await donor()]
    const s = await startDaemon(t.cleanup, t.network)
    const input = await writeTemp('range.bin', primesInput(1_000_000, 1_020_000))
    const out = path.join(await tempDir(t.cleanup), 'primes.out')

    const res = await s.cli(['compute', 'submit', PRIMES, '--input', input, '--out', out])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toMatch(/done/)
    expect(await fs.readFile(out)).toEqual(primesReference(1_000_000, 1_020_000))

    const jobs = await s.json<{ submitted: JobSummary[] }>(['compute', 'jobs'])
    const job = jobs.submitted[0]!
    expect(job.state).toBe('done')
    expect(job.quorum).toBe(2)
    expect(job.donors.filter((d) => d.state === 'agreed')).toHaveLength(2)

    // Each donor countersigns a compute receipt; both sides record it.
    await waitFor(
      async () =>
        (await s.json<JobDetail>(['compute', 'job', job.id])).donors.every((d) => d.credited),
      {
        timeoutMs: 30_000,
        what: 'both donors credited',
      },
    )
    for (const d of [d1, d2]) {
      const runs = await runsOf(d)
      expect(runs).toHaveLength(1)
      expect(runs[0]).toMatchObject({ id: job.id, state: 'done', credited: true })
      expect(runs[0]!.cpuMs).toBeGreaterThan(0)
    }
    const sl = await s.json<Ledger>(['ledger'])
    expect(sl.received).toBeGreaterThan(0)
    expect(sl.recent.filter((r) => r.body.kind === 'compute')).toHaveLength(2)

    // A third node fetches a donor's ledger and checks every signature.
    const d1l = await d1.json<Ledger>(['ledger'])
    expect(d1l.given).toBeGreaterThan(0)
    const third = await startDaemon(t.cleanup, t.network)
    const report = await third.json<LedgerReport>(['ledger', 'verify', d1l.key])
    expect(report.valid).toBe(true)
    expect(report.receipts.some((r) => r.body.kind === 'compute')).toBe(true)
    expect(report.given).toBe(d1l.given)
  })

  it('outvotes a donor that returns a wrong result and gives it no credit', async () => {
    const liarLedger = (await fakeDonor('lying')).ledger
    const [d1, d2] = [await donor(), await donor()]
    const s = await startDaemon(t.cleanup, t.network)
    const input = await writeTemp('range.bin', primesInput(5_000_000, 5_010_000))
    // Three replicas on three donors: the liar is one of them once the submitter has met all
    // three (a submitter that has met only the two honest ones settles without it: try again).
    let job = await submit(s, PRIMES, input, ['--replicas', '3'])
    for (let i = 0; i < 3 && job.donors.length < 3; i++) {
      job = await submit(s, PRIMES, input, ['--replicas', '3'])
    }
    expect(job.state).toBe('done')
    expect(Buffer.from(job.output!, 'base64')).toEqual(primesReference(5_000_000, 5_010_000))
    expect(job.donors.map((d) => d.state).sort()).toEqual(['agreed', 'agreed', 'outvoted'])
    const liar = job.donors.find((d) => d.state === 'outvoted')!
    expect(liar.credited).toBe(false)

    await waitFor(
      async () =>
        (await s.json<JobDetail>(['compute', 'job', job.id])).donors.filter((d) => d.credited)
          .length === 2,
      { timeoutMs: 30_000, what: 'the honest donors credited' },
    )
    for (const d of [d1, d2]) expect((await runsOf(d))[0]!.credited).toBe(true)
    // The liar's ledger holds no receipt for it.
    const report = await s.json<LedgerReport>(['ledger', 'verify', liarLedger])
    expect(report.valid).toBe(true)
    expect(report.receiptCount).toBe(0)
    // The submitter's compute receipts name only the honest donors.
    const honest = job.donors.filter((d) => d.state === 'agreed').map((d) => d.identity)
    const hosts = (await s.json<Ledger>(['ledger'])).recent
      .filter((r) => r.body.kind === 'compute')
      .map((r) => r.body.host)
    expect(hosts.length).toBeGreaterThanOrEqual(2)
    expect(new Set(hosts)).toEqual(new Set(honest))
  })

  it('does not credit a donor for more time than the job was out with it', async () => {
    const greedy = (await fakeDonor('greedy', primesReference(5_000_000, 5_010_000))).identity
    await donor()
    await donor()
    const s = await startDaemon(t.cleanup, t.network)
    const input = await writeTemp('range.bin', primesInput(5_000_000, 5_010_000))
    // Three replicas on three donors: the greedy one is among them once the submitter has met
    // all three (a submitter that has met only the two honest ones settles without it).
    let job = await submit(s, PRIMES, input, ['--replicas', '3'])
    for (let i = 0; i < 3 && !job.donors.some((d) => d.identity === greedy); i++) {
      job = await submit(s, PRIMES, input, ['--replicas', '3'])
    }
    expect(job.state).toBe('done')
    expect(Buffer.from(job.output!, 'base64')).toEqual(primesReference(5_000_000, 5_010_000))
    const g = job.donors.find((d) => d.identity === greedy)!
    expect(g).toBeDefined()
    // Its output is right (and first), but it claims an hour for a job that was out with it for
    // a moment.
    expect(g.state).toBe('failed')
    expect(g.error).toMatch(/impossible/)
    expect(g.credited).toBe(false)
    await waitFor(
      async () =>
        (await s.json<JobDetail>(['compute', 'job', job.id])).donors.filter((d) => d.credited)
          .length === 2,
      { timeoutMs: 30_000, what: 'the honest donors credited' },
    )
    const hosts = (await s.json<Ledger>(['ledger'])).recent
      .filter((r) => r.body.kind === 'compute')
      .map((r) => r.body.host)
    expect(hosts).not.toContain(greedy)
  })

  it('stops hostile modules, reports them, and the donors keep working', async () => {
    const [d1, d2] = [await donor(), await donor()]
    const s = await startDaemon(t.cleanup, t.network)
    const input = await writeTemp('empty.bin', '')

    const loop = await writeTemp(
      'loop.wasm',
      await wat(
        `(module ${IMPORTS} (func (export "run") (result i32) (loop $l (br $l)) (i32.const 0)))`,
      ),
    )
    const looped = await submit(s, loop, input, ['--time', '2s'])
    expect(looped.state).toBe('failed')
    expect(looped.error?.kind).toBe('timeout')

    const bomb = await writeTemp(
      'bomb.wasm',
      await wat(`(module ${IMPORTS}
        (func (export "run") (result i32) (local $p i32)
          (block $full
            (loop $grow
              (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
              (local.set $p (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)))
              (i32.store (local.get $p) (i32.const 1))
              (br $grow)))
          (unreachable)))`),
    )
    const bombed = await submit(s, bomb, input)
    expect(bombed.state).toBe('failed')
    expect(bombed.error?.kind).toBe('memory')

    const trap = await writeTemp(
      'trap.wasm',
      await wat(`(module ${IMPORTS} (func (export "run") (result i32) (i32.load (i32.const -4))))`),
    )
    const trapped = await submit(s, trap, input)
    expect(trapped.state).toBe('failed')
    expect(trapped.error?.kind).toBe('trap')

    // Modules outside the interface, and bytes that are no module, are refused before they run.
    const wasi = await writeTemp(
      'wasi.wasm',
      await wat(`(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (func (export "run") (result i32) (i32.const 0)))`),
    )
    const refused = await s.cli(['compute', 'submit', wasi, '--input', input])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/wasi_snapshot_preview1/)
    const junk = await writeTemp('junk.wasm', Buffer.from('\0asm not really a module'))
    const junked = await s.cli(['compute', 'submit', junk, '--input', input])
    expect(junked.code).toBe(2)
    expect(junked.stderr).toMatch(/invalid|WebAssembly/i)

    // Both donors ran all three and go on: a normal job still gets its result.
    for (const d of [d1, d2]) {
      const runs = await runsOf(d)
      expect(runs.map((r) => r.error?.kind).sort()).toEqual(['memory', 'timeout', 'trap'])
    }
    const range = await writeTemp('range.bin', primesInput(0, 1000))
    const ok = await submit(s, PRIMES, range)
    expect(ok.state).toBe('done')
    expect(Buffer.from(ok.output!, 'base64')).toEqual(primesReference(0, 1000))
    // Failed jobs earn nothing.
    const sl = await s.json<Ledger>(['ledger'])
    expect(sl.recent.filter((r) => r.body.kind === 'compute')).toHaveLength(2)
  })

  it('refuses modules outside the interface and lying job ids from a hostile submitter', async () => {
    const [d1, d2] = [await donor(), await donor()]
    const wasi = await writeTemp(
      'wasi.wasm',
      await wat(`(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        ${IMPORTS}
        (func (export "run") (result i32) (i32.const 0)))`),
    )
    const forbidden = (await hostileSubmitter('raw', wasi)) as JobSummary
    expect(forbidden.state).toBe('failed')
    expect(forbidden.error?.kind).toBe('forbidden-import')
    expect(forbidden.error?.message).toMatch(/wasi_snapshot_preview1/)

    const junk = await writeTemp('junk.wasm', Buffer.from('\0asm\x01\0\0\0 not really'))
    const invalid = (await hostileSubmitter('raw', junk)) as JobSummary
    expect(invalid.state).toBe('failed')
    expect(invalid.error?.kind).toBe('invalid')

    // Neither ran: no CPU time, and nothing credited.
    for (const d of [d1, d2]) {
      const runs = await runsOf(d)
      expect(runs.map((r) => r.error?.kind).sort()).toEqual(['forbidden-import', 'invalid'])
      expect(runs.every((r) => r.cpuMs === 0 && r.credited === false)).toBe(true)
    }

    const lying = (await hostileSubmitter('wrongid', PRIMES)) as {
      identity: string
      replies: Array<{ ok: boolean; reason: string | null }>
    }
    expect(lying.replies).toHaveLength(2)
    for (const r of lying.replies) {
      expect(r.ok).toBe(false)
      expect(r.reason).toMatch(/does not match/)
    }
    for (const d of [d1, d2]) {
      expect((await d.json<Ledger>(['ledger'])).strikes[lying.identity]).toBeGreaterThan(0)
    }

    // The donors go on: a normal job gets its result.
    const s = await startDaemon(t.cleanup, t.network)
    const range = await writeTemp('range.bin', primesInput(100, 200))
    const ok = await submit(s, PRIMES, range)
    expect(ok.state).toBe('done')
    expect(Buffer.from(ok.output!, 'base64')).toEqual(primesReference(100, 200))
  })

  it('pauses, snoozes and resumes donating, and refuses bad limits with exit code 2', async () => {
    const d = await donor()
    const paused = await d.json<DonateStatus>(['donate', 'pause'])
    expect(paused.pause).toEqual({ until: null })
    expect(paused.cpu.blockedBy).toBe('paused')
    const snoozed = await d.json<DonateStatus>(['donate', 'snooze'])
    expect(snoozed.pause!.until! - Date.now()).toBeGreaterThan(55 * 60_000)
    expect(snoozed.pause!.until! - Date.now()).toBeLessThanOrEqual(60 * 60_000)
    const resumed = await d.json<DonateStatus>(['donate', 'resume'])
    expect(resumed.pause).toBeNull()
    expect(resumed.cpu.blockedBy).toBeNull()

    // A snooze survives a restart (long enough that a slow restart on a loaded machine does not
    // outlast it) and ends by itself.
    const long = await d.json<DonateStatus>(['donate', 'pause', '--for', '10m'])
    await d.stop()
    await d.start()
    const restarted = await d.json<DonateStatus>(['donate'])
    expect(restarted.pause?.until).toBe(long.pause!.until)
    expect(restarted.cpu.blockedBy).toBe('paused')
    await d.json<DonateStatus>(['donate', 'pause', '--for', '2s'])
    await waitFor(async () => (await d.json<DonateStatus>(['donate'])).cpu.blockedBy === null, {
      timeoutMs: 15_000,
      what: 'the snooze to end',
    })

    for (const [args, message] of [
      [['--cpu', '150'], /percent|100/i],
      [['--cores', '0'], /cores/],
      [['--schedule', '25:00-26:00'], /25:00|hour/i],
      [['--only-idle', 'soon'], /duration|soon/i],
      [['--on-battery', 'maybe'], /yes or no/],
    ] as const) {
      const res = await d.cli(['donate', 'set', ...args])
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2)
      expect(res.stderr).toMatch(message)
    }
    const still = await d.json<DonateStatus>(['donate'])
    expect(still.limits).toMatchObject({ cpuPercent: 100, cpuCores: 2, schedule: null })

    const setTo = await d.json<DonateStatus>([
      'donate',
      'set',
      '--cpu',
      '25',
      '--only-idle',
      '5m',
      '--schedule',
      'mon-fri 18:00-08:00; sat,sun 00:00-24:00',
    ])
    expect(setTo.limits).toMatchObject({
      cpuPercent: 25,
      onlyIdleMs: 300_000,
      schedule: 'mon-fri 18:00-08:00; sat,sun 00:00-24:00',
    })
    const off = await d.json<DonateStatus>(['donate', 'set', '--cpu', '0'])
    expect(off.cpu.blockedBy).toBe('off')

    expect((await d.cli(['compute', 'submit', '/no/such.wasm', '--input', '/no/input'])).code).toBe(
      2,
    )
    expect((await d.cli(['compute', 'job', 'not-a-job-id'])).code).toBe(2)
    expect((await d.cli(['compute', 'job', 'ab'.repeat(32)])).code).toBe(2)
  })
})
