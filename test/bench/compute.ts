// The CPU section's end-to-end figures: the same aims as cpu-throttle.ts, through real daemons.
// A submitter daemon sends a job that never ends by itself (a WebAssembly busy loop) to a donor
// daemon set to `--cpu 25 --cores 1`; the job's sandbox process is found in /proc (Linux) and
// its CPU time read over the window:
//   (e1) --cpu 25: the job's CPU time over the window as % of the window (aim: 20-30 %),
//        beside the same job at --cpu 100 (the baseline: what the machine gives a
//        lowest-priority process now);
//   (e2) `spare donate pause`, then (after `resume`) `spare donate set --cpu 0`: the time from
//        the command until the job's CPU time stops increasing (aim: within 2 s). A pause keeps
//        the job (its process is suspended); turning CPU off gives it back, and its process
//        ending counts as stopping. The command's own start-up (about 0.3 s) is inside the figure.
// The donor's other conditions are held still (--suspend-above off, --on-battery yes).
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { readProcStat } from '../../main/engine/limits/cpu.ts'
import { Cleanup, localTestnet, startDaemon, tempDir, type TestDaemon } from '../helpers/daemon.ts'
import { now, sleep } from './measure.ts'

export interface ComputeE2eResult {
  ok: boolean
  error: string | null
  windowMs: number
  /** Job CPU time / window at --cpu 25, %. */
  sharePercent: number | null
  /** The same job at --cpu 100, %. */
  baselinePercent: number | null
  /** ms from `donate set --cpu 0` until the job's CPU time stopped increasing. */
  stopAfterZeroMs: number | null
  /** ms from `donate pause` until the job's CPU time stopped increasing. */
  stopAfterPauseMs: number | null
}

const SPIN = `(module
  (import "spare" "memory" (memory 1))
  (import "spare" "input_size" (func (result i32)))
  (import "spare" "read_input" (func (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func (param i32 i32)))
  (func (export "run") (result i32) (loop $forever (br $forever)) (i32.const 0)))`

async function spinModule(dir: string): Promise<string> {
  const { default: initWabt } = await import('wabt')
  const wabt = await initWabt()
  const mod = wabt.parseWat('spin.wat', SPIN)
  const file = path.join(dir, 'spin.wasm')
  try {
    await fs.writeFile(file, Buffer.from(mod.toBinary({}).buffer))
  } finally {
    mod.destroy()
  }
  return file
}

/** The pid of the one job sandbox process under `daemonPid`, once it exists. */
async function findJobPid(daemonPid: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    for (const name of await fs.readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue
      const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid !== daemonPid) continue
      const cmd = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
      if (/compute-runner|compute[/\\]runner\.ts/.test(cmd)) return Number(name)
      // Through `chrt --idle 0`, the runner is the child of the daemon once chrt has exec'd.
    }
    await sleep(100)
  }
  throw new Error('the job process did not appear')
}

function cpuOf(pid: number): number {
  const s = readProcStat(pid)
  if (!s) throw new Error(`job process ${pid} is gone`)
  return s.cpuMs
}

/** The job's CPU time, or null once its process has ended (or is a zombie: it uses none). */
function cpuOrGone(pid: number): number | null {
  const s = readProcStat(pid)
  return s && s.state !== 'Z' ? s.cpuMs : null
}

async function share(pid: number, windowMs: number): Promise<number> {
  const c0 = cpuOf(pid)
  const t0 = now()
  await sleep(windowMs)
  return (100 * (cpuOf(pid) - c0)) / (now() - t0)
}

/**
 * Runs `cmd`, then polls until the CPU time stays still for 300 ms, or the process ends; ms
 * until the last change (or the end).
 */
async function stopLatency(pid: number, cmd: () => Promise<unknown>): Promise<number> {
  const t0 = now()
  let finished = false
  const done = cmd().finally(() => {
    finished = true
  })
  let last: number | null = cpuOf(pid)
  let lastChange = now()
  while ((!finished || now() - lastChange < 300) && now() - t0 < 10_000) {
    await sleep(5)
    const c = cpuOrGone(pid)
    if (c === null) {
      if (last !== null) lastChange = now()
      last = null
      if (finished) break
    } else if (c !== last) {
      last = c
      lastChange = now()
    }
  }
  await done
  return Math.round(Math.max(0, lastChange - t0))
}

export async function benchComputeE2e(opts: {
  windowMs: number
  log: (m: string) => void
}): Promise<ComputeE2eResult> {
  const res: ComputeE2eResult = {
    ok: false,
    error: null,
    windowMs: opts.windowMs,
    sharePercent: null,
    baselinePercent: null,
    stopAfterZeroMs: null,
    stopAfterPauseMs: null,
  }
  const cleanup = new Cleanup()
  try {
    const network = await localTestnet(cleanup)
    const donor: TestDaemon = await startDaemon(cleanup, network)
    const submitter = await startDaemon(cleanup, network)
    const set = async (...args: string[]): Promise<void> => {
      const r = await donor.cli(['donate', 'set', ...args])
      if (r.code !== 0) throw new Error(`donate set ${args.join(' ')}: ${r.stderr}`)
    }
    await set('--cpu', '25', '--cores', '1', '--suspend-above', 'off', '--on-battery', 'yes')
    await set('--job-time', '1h')
    const dir = await tempDir(cleanup, 'spare-bench-job-')
    const input = path.join(dir, 'empty')
    await fs.writeFile(input, '')
    const sub = await submitter.cli([
      'compute',
      'submit',
      await spinModule(dir),
      '--input',
      input,
      '--replicas',
      '1',
      '--time',
      '1h',
      '--no-wait',
    ])
    if (sub.code !== 0) throw new Error(`submit: ${sub.stderr}`)
    const pid = await findJobPid(donor.proc!.pid!)
    opts.log(`  job process ${pid} found; measuring ${opts.windowMs / 1000} s at --cpu 25`)
    await sleep(1000)
    res.sharePercent = await share(pid, opts.windowMs)
    await set('--cpu', '100')
    await sleep(500)
    res.baselinePercent = await share(pid, Math.max(5000, opts.windowMs / 4))
    opts.log(
      `  --cpu 25: ${res.sharePercent.toFixed(1)} %; --cpu 100: ${res.baselinePercent.toFixed(1)} %`,
    )
    // A pause keeps the job (suspended), so it comes first; --cpu 0 gives the job back.
    res.stopAfterPauseMs = await stopLatency(pid, async () => {
      const r = await donor.cli(['donate', 'pause'])
      if (r.code !== 0) throw new Error(`donate pause: ${r.stderr}`)
    })
    const resumed = await donor.cli(['donate', 'resume'])
    if (resumed.code !== 0) throw new Error(`donate resume: ${resumed.stderr}`)
    const c0 = cpuOf(pid)
    const t0 = now()
    while (cpuOf(pid) === c0) {
      if (now() - t0 > 10_000) throw new Error('the job did not run again after resume')
      await sleep(50)
    }
    res.stopAfterZeroMs = await stopLatency(pid, () => set('--cpu', '0'))
    opts.log(
      `  stopped after --cpu 0: ${res.stopAfterZeroMs} ms; after pause: ${res.stopAfterPauseMs} ms`,
    )
    res.ok = true
  } catch (err) {
    res.error = (err as Error).message
  } finally {
    await cleanup.run()
  }
  return res
}

export function formatComputeE2e(r: ComputeE2eResult): string {
  if (!r.ok) return `  end to end through daemons: FAILED (${r.error})`
  const pct = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} %`)
  const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`)
  return [
    `  end to end through daemons (a WebAssembly busy loop, ${r.windowMs / 1000} s window):`,
    `    --cpu 25, 1 core           ${pct(r.sharePercent)}   (same job at --cpu 100: ${pct(r.baselinePercent)}; aim 20-30 %)`,
    `    donate set --cpu 0 → idle  ${ms(r.stopAfterZeroMs)}   (aim ≤ 2000 ms, CLI start-up included)`,
    `    donate pause → idle        ${ms(r.stopAfterPauseMs)}`,
  ].join('\n')
}
