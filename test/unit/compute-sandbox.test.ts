// The compute sandbox with real job processes: the runner is bundled once (as `npm run build`
// does) into a temp dir, and every job runs in its own Node process. Hostile modules must be
// stopped and reported, and a normal job must still run right after each of them. Fake runners
// (a Node one-liner in place of the runner) stand in only where the test is about the parent's
// distrust of its child: a runner that eats memory, dies, or lies.
import { execFileSync } from 'node:child_process'
import { existsSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  RSS_ALLOWANCE_BYTES,
  runnerCommand,
  startJob,
  type JobLimits,
  type JobProcess,
  type RunResult,
  type RunnerCommand,
} from '../../main/engine/compute/sandbox.ts'
import { JOB_INPUT_MAX_BYTES } from '../../main/engine/compute/abi.ts'
import * as H from '../helpers/hostile-modules.ts'

const MiB = 1024 * 1024
const linux = process.platform === 'linux'
const limits: JobLimits = { memoryBytes: 32 * MiB, wallMs: 30_000 }

let runner: RunnerCommand
let runnerDir = ''
const tmpDirs: string[] = []
async function tmpDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spare-sandbox-'))
  tmpDirs.push(dir)
  return dir
}
const mods = new Map<string, Buffer>()
const mod = (name: keyof typeof H): Buffer => {
  const m = mods.get(name)
  if (!m) throw new Error(`not assembled: ${name}`)
  return m
}

beforeAll(async () => {
  runnerDir = await mkdtemp(path.join(os.tmpdir(), 'spare-runner-'))
  const dir = runnerDir
  const { buildRunner } = (await import(
    /* @vite-ignore */ new URL('../../scripts/build-runner.mjs', import.meta.url).href
  )) as { buildRunner(opts: { outfile: string; quiet: boolean }): Promise<string> }
  const outfile = await buildRunner({ outfile: path.join(dir, 'compute-runner.mjs'), quiet: true })
  // The real command, with the bundle in place of whatever it picked.
  const base = runnerCommand()
  const i = base.args.findIndex((a) => a === '--import' || a.endsWith('runner.mjs'))
  runner = { ...base, args: [...base.args.slice(0, i), outfile] }
  for (const [name, value] of Object.entries(H)) {
    if (typeof value === 'string') mods.set(name, await H.assemble(value))
  }
}, 60_000)

afterAll(async () => {
  for (const dir of [runnerDir, ...tmpDirs]) await rm(dir, { recursive: true, force: true })
})

function start(module: Buffer, input = Buffer.alloc(0), l: JobLimits = limits): JobProcess {
  return startJob(module, input, l, { runner })
}

function failure(r: RunResult): { kind: string; message: string } {
  if (r.ok) throw new Error(`expected a failure, got ${r.output.length} bytes of output`)
  return r
}

/** A normal job, right after a hostile one: the sandbox must still work. */
async function stillWorks(): Promise<void> {
  const input = Buffer.from('still works')
  const r = await start(mod('REVERSE'), input).done
  expect(r).toMatchObject({ ok: true })
  if (r.ok) expect(r.output.toString()).toBe('skrow llits')
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** /proc/PID/stat fields, numbered as in proc(5). */
function procStat(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ['', String(pid), '', ...rest]
}

describe.concurrent('startJob: normal jobs', () => {
  it('runs a job in its own process and returns its output and usage', async () => {
    const input = Buffer.from('hello, donor')
    const job = start(mod('REVERSE'), input)
    expect(job.pid).toBeGreaterThan(0)
    expect(job.pid).not.toBe(process.pid)
    const r = await job.done
    if (!r.ok) throw new Error(`${r.kind}: ${r.message}`)
    expect(r.output.toString()).toBe('ronod ,olleh')
    expect(r.cpuMs).toBeGreaterThan(0)
    expect(r.wallMs).toBeGreaterThan(0)
    expect(r.peakRssBytes).toBeGreaterThan(0)
    expect(job.cpuMs()).toBe(r.cpuMs)
  })

  it('passes a 2 MiB input and gets 2 MiB of output back', async () => {
    const input = Buffer.alloc(JOB_INPUT_MAX_BYTES)
    for (let i = 0; i < input.length; i++) input[i] = (i * 7) & 0xff
    const r = await start(mod('REVERSE'), input, { ...limits, memoryBytes: 64 * MiB }).done
    if (!r.ok) throw new Error(`${r.kind}: ${r.message}`)
    expect(r.output.equals(Buffer.from(input).reverse())).toBe(true)
  })

  it('works with the runner runnerCommand() picks (tsx from a checkout, or the bundle)', async () => {
    const r = await startJob(mod('REVERSE'), Buffer.from('abc'), limits).done
    expect(r).toMatchObject({ ok: true })
    if (r.ok) expect(r.output.toString()).toBe('cba')
  })

  it.runIf(linux)(
    'starts the process idle-priority, in the temp dir, with a bare environment',
    async () => {
      // A file the parent holds open: the child must not inherit it.
      const secretDir = await mkdtemp(path.join(os.tmpdir(), 'spare-fd-'))
      const secret = path.join(secretDir, 'open-in-parent')
      await writeFile(secret, 'x')
      const fd = openSync(secret, 'r')
      const job = start(mod('INFINITE_LOOP'))
      try {
        // Until chrt has exec'd Node and the runner is up (at idle priority that can take a while
        // on a busy machine).
        for (let i = 0; i < 200; i++) {
          const argv = readFileSync(`/proc/${job.pid}/cmdline`, 'utf8').split('\0')
          if (argv[0] === process.execPath && argv.some((a) => a.includes('compute-runner'))) break
          await sleep(50)
        }
        const stat = procStat(job.pid)
        expect(Number(stat[19])).toBe(19) // nice
        if (existsSync('/usr/bin/chrt')) expect(Number(stat[41])).toBe(5) // SCHED_IDLE
        const environ = readFileSync(`/proc/${job.pid}/environ`, 'utf8').split('\0').filter(Boolean)
        // Node adds its IPC channel's own variables (NODE_CHANNEL_FD, ...) to what we pass.
        const names = environ
          .map((e) => e.split('=')[0])
          .filter((n) => !n?.startsWith('NODE_CHANNEL_'))
        expect(names.sort()).toEqual(['ELECTRON_RUN_AS_NODE', 'PATH'])
        expect(readlinkSync(`/proc/${job.pid}/cwd`)).toBe(os.tmpdir())
        const fds = readdirSync(`/proc/${job.pid}/fd`).map((f) => {
          try {
            return readlinkSync(`/proc/${job.pid}/fd/${f}`)
          } catch {
            return ''
          }
        })
        expect(fds).not.toContain(secret)
        expect(fds.some((f) => f.startsWith(process.cwd()))).toBe(false)
      } finally {
        job.kill()
        closeSync(fd)
        await rm(secretDir, { recursive: true, force: true })
      }
    },
  )

  it('kill() ends the job with the given reason and kind', async () => {
    const job = start(mod('INFINITE_LOOP'))
    await sleep(200)
    job.kill('the donor paused computing')
    expect(failure(await job.done)).toMatchObject({
      kind: 'crashed',
      message: 'the donor paused computing',
    })
    const job2 = start(mod('INFINITE_LOOP'))
    job2.kill('outvoted', 'timeout')
    expect(failure(await job2.done).kind).toBe('timeout')
    job2.kill('again') // no effect once done
    if (linux) {
      // A job the governor has stopped still dies at once.
      const job3 = start(mod('INFINITE_LOOP'))
      await sleep(100)
      process.kill(job3.pid, 'SIGSTOP')
      job3.setSuspended(true)
      job3.kill('donating was turned off')
      expect(failure(await job3.done).message).toBe('donating was turned off')
      expect(existsSync(`/proc/${job3.pid}`)).toBe(false)
    }
    await stillWorks()
  })
})

describe.concurrent('startJob: hostile modules are stopped and reported', () => {
  it('an infinite loop: timeout', async () => {
    const job = start(mod('INFINITE_LOOP'), undefined, { ...limits, wallMs: 1500 })
    const r = failure(await job.done)
    expect(r.kind).toBe('timeout')
    expect(r.message).toContain('1500 ms')
    expect((await job.done).wallMs).toBeGreaterThanOrEqual(1500)
    if (linux) expect(existsSync(`/proc/${job.pid}`)).toBe(false)
    await stillWorks()
  })

  it('a memory bomb: memory, and the process stayed under its cap', async () => {
    const memoryBytes = 32 * MiB
    const result = await start(mod('MEMORY_BOMB'), undefined, { ...limits, memoryBytes }).done
    const r = failure(result)
    expect(r.kind).toBe('memory')
    expect(r.message).toContain('512 pages')
    expect(result.peakRssBytes).toBeGreaterThan(memoryBytes) // it did fill its memory
    expect(result.peakRssBytes).toBeLessThanOrEqual(memoryBytes + RSS_ALLOWANCE_BYTES)
    await stillWorks()
  })

  it('initial memory above the cap: memory, before anything starts', async () => {
    const job = start(mod('HUGE_INITIAL_MEMORY'), undefined, { ...limits, memoryBytes: 16 * MiB })
    expect(job.pid).toBe(-1)
    expect(failure(await job.done).kind).toBe('memory')
  })

  it('WASI and env imports: forbidden-import, never started', async () => {
    for (const name of [
      'WASI_IMPORT',
      'ENV_ABORT',
      'TABLE_AND_GLOBAL',
      'WRONG_SIGNATURE',
    ] as const) {
      const job = start(mod(name))
      expect(job.pid, name).toBe(-1)
      const r = failure(await job.done)
      expect(r.kind, name).toBe('forbidden-import')
    }
    expect(failure(await start(mod('WASI_IMPORT')).done).message).toContain('fd_write')
    expect(failure(await start(mod('ENV_ABORT')).done).message).toContain('"env"."abort"')
  })

  it('a memory of its own, a shared memory: refused, never started', async () => {
    const own = start(mod('OWN_MEMORY'))
    expect(own.pid).toBe(-1)
    expect(failure(await own.done)).toMatchObject({ kind: 'invalid' })
    expect(failure(await start(mod('SHARED_MEMORY')).done).kind).toBe('forbidden-import')
  })

  it('invalid, truncated and random bytes: invalid, never started', async () => {
    const good = mod('REVERSE')
    for (const bytes of [
      Buffer.from('not wasm'),
      good.subarray(0, good.length >> 1),
      Buffer.concat([good.subarray(0, 8), Buffer.alloc(100, 0xee)]),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)),
    ]) {
      const job = start(bytes)
      expect(job.pid).toBe(-1)
      expect(failure(await job.done).kind).toBe('invalid')
    }
  })

  it('an input over 2 MiB: too-large, never started', async () => {
    const job = start(mod('REVERSE'), Buffer.alloc(JOB_INPUT_MAX_BYTES + 1))
    expect(job.pid).toBe(-1)
    expect(failure(await job.done).kind).toBe('too-large')
  })

  it('traps: unreachable, out-of-bounds load, stack overflow, read_input out of bounds', async () => {
    const cases: Array<[keyof typeof H, RegExp]> = [
      ['UNREACHABLE', /unreachable/],
      ['OUT_OF_BOUNDS', /out of bounds/],
      ['STACK_OVERFLOW', /call stack/i],
      ['READ_INPUT_OUT_OF_BOUNDS', /read_input: out of bounds/],
    ]
    for (const [name, pattern] of cases) {
      const r = failure(await start(mod(name), Buffer.alloc(64, 1)).done)
      expect(r.kind, name).toBe('trap')
      expect(r.message, name).toMatch(pattern)
    }
    await stillWorks()
  })

  it('run() returning 3: trap with the code', async () => {
    expect(failure(await start(mod('RETURNS_3')).done)).toMatchObject({
      kind: 'trap',
      message: 'run() returned 3',
    })
    await stillWorks()
  })

  it('an output flood: too-large, even when the module catches the error', async () => {
    const r = failure(await start(mod('OUTPUT_FLOOD')).done)
    expect(r.kind).toBe('too-large')
    expect(r.message).toContain(String(4 * MiB))
    const caught = failure(await start(mod('OUTPUT_FLOOD_CATCHING')).done)
    expect(caught.kind).toBe('too-large')
    // A smaller cap given by the caller.
    const small = await start(mod('REVERSE'), Buffer.alloc(100), { ...limits, outputMaxBytes: 99 })
      .done
    expect(failure(small)).toMatchObject({ kind: 'too-large' })
    const fits = await start(mod('REVERSE'), Buffer.alloc(99), { ...limits, outputMaxBytes: 99 })
      .done
    expect(fits.ok).toBe(true)
    await stillWorks()
  })

  it.runIf(linux)(
    'time spent stopped by the governor does not count against the wall time',
    async () => {
      const job = start(mod('INFINITE_LOOP'), undefined, { ...limits, wallMs: 1500 })
      let settled = false
      void job.done.then(() => (settled = true))
      await sleep(400)
      process.kill(job.pid, 'SIGSTOP')
      job.setSuspended(true)
      const before = job.wallMs()
      await sleep(2000) // 400 + 2000 ms: past the 1500 ms cap, were the clock running
      expect(settled).toBe(false)
      expect(job.wallMs()).toBe(before)
      const cpuStopped = job.cpuMs()
      await sleep(300)
      expect(job.cpuMs()).toBeLessThanOrEqual(cpuStopped + 20) // one tick of /proc rounding
      process.kill(job.pid, 'SIGCONT')
      job.setSuspended(false)
      const r = await job.done
      expect(failure(r).kind).toBe('timeout')
      expect(r.wallMs).toBeGreaterThanOrEqual(1500)
      expect(r.wallMs).toBeLessThan(2300 + 1500) // the 2.3 s stopped were not counted
      await stillWorks()
    },
  )
})

describe.concurrent('startJob: the parent does not trust its child', () => {
  /** A Node one-liner in place of the runner. */
  const fake = (code: string): { runner: RunnerCommand } => ({
    runner: { command: process.execPath, args: ['-e', code], env: {} },
  })

  it('a runner whose RSS passes cap + allowance is killed: memory', async () => {
    const memoryBytes = 16 * MiB
    const job = startJob(
      mod('REVERSE'),
      Buffer.alloc(0),
      { memoryBytes, wallMs: 30_000 },
      fake(`const keep = []
        setInterval(() => {
          keep.push(Buffer.alloc(32 * 1024 * 1024, 1))
          process.send({ type: 'usage', cpuMs: 1, rss: process.memoryUsage.rss() })
        }, 20)`),
    )
    const r = await job.done
    expect(failure(r).kind).toBe('memory')
    expect(failure(r).message).toContain('over its cap')
    expect(r.peakRssBytes).toBeGreaterThan(memoryBytes + RSS_ALLOWANCE_BYTES)
    await stillWorks()
  })

  it('a runner that dies: crashed, with its stderr', async () => {
    const r = failure(
      await startJob(
        mod('REVERSE'),
        Buffer.alloc(0),
        limits,
        fake(`process.stderr.write('boom\\n'); process.exit(3)`),
      ).done,
    )
    expect(r.kind).toBe('crashed')
    expect(r.message).toContain('exited with code 3')
    expect(r.message).toContain('boom')
  })

  it('a runner that lies: malformed results, unknown kinds, oversized output', async () => {
    const reply = (...msgs: string[]): Promise<RunResult> =>
      startJob(
        mod('REVERSE'),
        Buffer.alloc(0),
        { ...limits, outputMaxBytes: 10 },
        fake(
          `process.on('message', () => { ${msgs.map((m) => `process.send(${m});`).join(' ')} })`,
        ),
      ).done
    expect(failure(await reply(`{ type: 'result', ok: true, output: 'nope' }`)).kind).toBe(
      'crashed',
    )
    expect(failure(await reply(`{ type: 'result', ok: false, kind: 'no-quorum' }`)).kind).toBe(
      'crashed',
    )
    expect(
      failure(await reply(`{ type: 'result', ok: true, output: new Uint8Array(11) }`)).kind,
    ).toBe('too-large')
    const honest = await reply(`{ type: 'result', ok: true, output: new Uint8Array([1, 2]) }`)
    expect(honest).toMatchObject({ ok: true, output: Buffer.from([1, 2]) })
    // Garbage usage reports are ignored.
    const garbage = await reply(
      `{ type: 'usage', cpuMs: -5, rss: 'lots' }`,
      `{ type: 'result', ok: true, output: new Uint8Array(0) }`,
    )
    expect(garbage.ok).toBe(true)
    expect(garbage.cpuMs).toBeGreaterThanOrEqual(0)
    expect(garbage.peakRssBytes).toBeGreaterThanOrEqual(0)
  }, 40_000)

  it('a runner that cannot start: crashed, no pid', async () => {
    const job = startJob(mod('REVERSE'), Buffer.alloc(0), limits, {
      runner: { command: '/nonexistent/node', args: [], env: {} },
    })
    const r = failure(await job.done)
    expect(r.kind).toBe('crashed')
    expect(job.pid).toBe(-1)
  })
})

describe('runnerCommand', () => {
  async function fakeRoot(): Promise<{ root: string; source: string; bundle: string }> {
    const root = await tmpDir()
    const source = path.join(root, 'main/engine/compute/runner.ts')
    const bundle = path.join(root, 'dist/runner/compute-runner.mjs')
    await mkdir(path.dirname(source), { recursive: true })
    await mkdir(path.dirname(bundle), { recursive: true })
    return { root, source, bundle }
  }

  it('uses the bundle when it is newer than runner.ts, else runner.ts through tsx', async () => {
    const { root, source, bundle } = await fakeRoot()
    await writeFile(source, '')
    await writeFile(bundle, '')
    await utimes(source, new Date(1000_000), new Date(1000_000))
    await utimes(bundle, new Date(2000_000), new Date(2000_000))
    const fresh = runnerCommand({ root })
    expect(fresh.args.at(-1)).toBe(bundle)
    expect(fresh.args).not.toContain('--import')

    await utimes(bundle, new Date(500_000), new Date(500_000))
    const stale = runnerCommand({ root })
    expect(stale.args.at(-1)).toBe(source)
    expect(stale.args).toContain('--import')
    expect(stale.args[stale.args.indexOf('--import') + 1]).toMatch(/^file:.*tsx/)
  })

  it('uses the bundle when there is no source (a packaged app)', async () => {
    const { root, bundle } = await fakeRoot()
    await writeFile(bundle, '')
    expect(runnerCommand({ root }).args.at(-1)).toBe(bundle)
  })

  it('runs Node with a small heap, no code from strings, and a minimal environment', () => {
    const cmd = runnerCommand()
    expect(cmd.args).toContain('--max-old-space-size=64')
    expect(cmd.args).toContain('--disallow-code-generation-from-strings')
    expect(cmd.env.ELECTRON_RUN_AS_NODE).toBe('1')
    expect(
      Object.keys(cmd.env).every((k) => ['PATH', 'ELECTRON_RUN_AS_NODE', 'SystemRoot'].includes(k)),
    ).toBe(true)
    if (linux && existsSync('/usr/bin/chrt')) {
      expect(cmd.command).toBe('/usr/bin/chrt')
      expect(cmd.args.slice(0, 3)).toEqual(['--idle', '0', process.execPath])
      // chrt really gives SCHED_IDLE here.
      const out = execFileSync('/usr/bin/chrt', ['--idle', '0', '/usr/bin/chrt', '-p', '0'], {
        encoding: 'utf8',
      })
      expect(out).toContain('SCHED_IDLE')
    }
  })
})
