// The CPU section (`--section cpu`): real busy-loop processes under limits/cpu.ts's CpuGovernor,
// their CPU time read from /proc/PID/stat (Linux only).
//   (a) cpuPercent 25, cpuCores 1, one job that would use a full core: its CPU time over the
//       measuring window as % of the window (aim: 20-30 %).
//   (b) a job running at 100 %, then cpuPercent set to 0, separately a pause, and the schedule
//       window ending (a condition only the next tick notices): the time from the call (or the
//       clock change) until its CPU time stops increasing (aim: within 2 s; the governor's own
//       aim is ≤ 200 ms). Polled every 2 ms; /proc counts in 10 ms ticks.
//   (c) as (a) with cpuPercent 50, and with cpuCores 2 (two jobs, each held to 25 %).
// The baseline is the same busy loop unthrottled (one loop for one core, two for two), at the same
// lowest priority the governor gives its jobs, measured in slices that alternate with the
// governed loop's (SLICE_MS each, the governed loop paused meanwhile, the baseline stopped
// during the governed slices), so both see the same load from the rest of the machine. The ratio
// is governed / unthrottled. On an idle machine the baseline is ~100 % and the share is the
// throttle's accuracy; on a loaded one a lowest-priority loop gets less than its share whatever
// the throttle does, and the baseline shows how much less. The governor's conditions are held
// still (a fixed probe on mains power, "other programs" off), so only the throttle is measured.
// The busy loop checks every ~10^8 iterations whether its parent (this bench) went away and then
// exits, so an interrupted bench leaves no loop behind.
import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import { CpuGovernor, readProcStat, type TrackedJob } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'
import type { SystemProbe } from '../../main/engine/limits/system.ts'
import { median, now, sleep } from './measure.ts'

export interface CpuThrottleOptions {
  /** Measuring window of each share figure (ms); default 60000 (--small: 10000). */
  durationMs?: number
  /** Runs of each stop-latency figure; default 5. */
  stopRuns?: number
  log?: (msg: string) => void
}

export interface CpuShareFigure {
  key: 'a-25x1' | 'c-50x1' | 'c-25x2'
  label: string
  cpuPercent: number
  cores: number
  /** Donor CPU time / (cores × window), %. */
  sharePct: number
  /** The same loops unthrottled: CPU time / (cores × window), %. */
  baselinePct: number
  /** sharePct / baselinePct. */
  ratio: number | null
  /** SIGSTOP/SIGCONT pairs per second and job. */
  cyclesPerSec: number
}

export interface CpuThrottleResult {
  ok: boolean
  error: string | null
  machineCores: number
  durationMs: number
  shares: CpuShareFigure[]
  /** (b): ms from the call until the job's CPU time stopped increasing, one per run. */
  stopOffRuns: number[]
  stopPauseRuns: number[]
  /** (b) for a condition the timer notices (the schedule window ending). */
  stopTickRuns: number[]
  stopOffMs: number | null
  stopPauseMs: number | null
  stopTickMs: number | null
  notes: string[]
}

/** Governed and baseline slices alternate this often. */
const SLICE_MS = 5000

const BUSY_LOOP =
  'const p=process.ppid;let n=0;for(;;){if(++n===1e8){n=0;if(process.ppid!==p)process.exit()}}'

const live = new Set<ChildProcess>()

/** Kills every busy loop the bench started (call it from SIGINT handlers). */
export function killCpuBenchJobs(): void {
  for (const c of live) c.kill('SIGKILL')
  live.clear()
}

interface BusyJob extends TrackedJob {
  child: ChildProcess
  switches: number
}

function busyJob(lowest = false): BusyJob {
  const child = spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: 'ignore' })
  if (lowest && child.pid) os.setPriority(child.pid, os.constants.priority.PRIORITY_LOW)
  live.add(child)
  child.once('exit', () => live.delete(child))
  const pid = child.pid
  if (!pid) throw new Error('could not start a busy-loop process')
  const job: BusyJob = {
    child,
    pid,
    switches: 0,
    setSuspended: () => void job.switches++,
    cpuMs: () => readProcStat(pid)?.cpuMs ?? 0,
  }
  return job
}

async function end(jobs: BusyJob[]): Promise<void> {
  await Promise.all(
    jobs.map(
      (j) =>
        new Promise<void>((resolve) => {
          if (j.child.exitCode !== null || j.child.signalCode !== null) return resolve()
          j.child.once('exit', () => resolve())
          j.child.kill('SIGKILL')
        }),
    ),
  )
}

const cpuOf = (j: BusyJob): number => {
  const st = readProcStat(j.pid)
  if (!st) throw new Error(`busy loop ${j.pid} is gone`)
  return st.cpuMs
}

const probe: SystemProbe = {
  name: 'bench: fixed (mains power, idle unknown)',
  idleMs: () => Promise.resolve(null),
  onBattery: () => Promise.resolve(false),
}

function limits(cpuPercent: number, cpuCores: number): DonateLimits {
  return DonateLimitsSchema.parse({
    cpuPercent,
    cpuCores,
    allowOnBattery: true,
    suspendAboveOtherPercent: null,
  })
}

/** From `act()` until the job's CPU time stops increasing (stable for 1 s), in ms. */
async function stopLatency(job: BusyJob, act: () => void): Promise<number> {
  let last = cpuOf(job)
  const t0 = now()
  act()
  let lastChange = t0
  while (now() - lastChange < 1000) {
    const c = cpuOf(job)
    if (c !== last) {
      last = c
      lastChange = now()
    }
    await new Promise<void>((r) => setTimeout(r, 2))
    if (now() - t0 > 10_000) break
  }
  return lastChange - t0
}

export async function benchCpuThrottle(opts: CpuThrottleOptions = {}): Promise<CpuThrottleResult> {
  const durationMs = opts.durationMs ?? 60_000
  const stopRuns = opts.stopRuns ?? 5
  const log = opts.log ?? (() => {})
  const result: CpuThrottleResult = {
    ok: false,
    error: null,
    machineCores: os.availableParallelism(),
    durationMs,
    shares: [],
    stopOffRuns: [],
    stopPauseRuns: [],
    stopTickRuns: [],
    stopOffMs: null,
    stopPauseMs: null,
    stopTickMs: null,
    notes: [],
  }
  if (!readProcStat(process.pid)) {
    result.error = 'needs /proc/PID/stat (Linux)'
    return result
  }
  const share = async (
    key: CpuShareFigure['key'],
    label: string,
    cpuPercent: number,
    cores: number,
  ): Promise<void> => {
    log(`cpu: ${label}, ${durationMs / 1000} s governed and ${durationMs / 1000} s unthrottled`)
    const gov = new CpuGovernor({ limits: limits(cpuPercent, cores), probe })
    const governed = Array.from({ length: cores }, () => busyJob())
    const base = Array.from({ length: cores }, () => busyJob(true))
    const signal = (jobs: BusyJob[], sig: 'SIGSTOP' | 'SIGCONT') => {
      for (const j of jobs) j.child.kill(sig)
    }
    try {
      signal(base, 'SIGSTOP')
      for (const j of governed) gov.track(j)
      await sleep(1000)
      const total = { governed: 0, base: 0, governedWall: 0, baseWall: 0, switches: 0 }
      const slices = Math.max(1, Math.round(durationMs / SLICE_MS))
      for (let i = 0; i < slices; i++) {
        const sliceMs = durationMs / slices
        // Governed slice.
        gov.setPause(null)
        let c0 = governed.map(cpuOf)
        let t0 = now()
        const s0 = governed.reduce((n, j) => n + j.switches, 0)
        await sleep(sliceMs)
        total.switches += governed.reduce((n, j) => n + j.switches, 0) - s0
        gov.setPause({ until: null })
        total.governedWall += now() - t0
        total.governed += governed.reduce((n, j, k) => n + cpuOf(j) - (c0[k] ?? 0), 0)
        // Baseline slice.
        c0 = base.map(cpuOf)
        t0 = now()
        signal(base, 'SIGCONT')
        await sleep(sliceMs)
        signal(base, 'SIGSTOP')
        total.baseWall += now() - t0
        total.base += base.reduce((n, j, k) => n + cpuOf(j) - (c0[k] ?? 0), 0)
      }
      const pct = (total.governed / (cores * total.governedWall)) * 100
      const basePct = (total.base / (cores * total.baseWall)) * 100
      result.shares.push({
        key,
        label,
        cpuPercent,
        cores,
        sharePct: pct,
        baselinePct: basePct,
        ratio: basePct > 0 ? pct / basePct : null,
        cyclesPerSec: total.switches / 2 / cores / (total.governedWall / 1000),
      })
      log(`cpu: ${label}: ${pct.toFixed(1)} % (unthrottled ${basePct.toFixed(1)} %)`)
    } finally {
      gov.destroy()
      await end([...governed, ...base])
    }
  }
  try {
    await share('a-25x1', '(a) 25% of 1 core, 1 job', 25, 1)
    await share('c-50x1', '(c) 50% of 1 core, 1 job', 50, 1)
    if (result.machineCores < 2) result.notes.push('(c) 2 cores left out: this machine has 1')
    else await share('c-25x2', '(c) 25% of each of 2 cores, 2 jobs', 25, 2)

    const stops = {
      off: { label: 'cpuPercent 0', runs: result.stopOffRuns },
      pause: { label: 'pause', runs: result.stopPauseRuns },
      tick: {
        label: 'the schedule window ending (seen by the next tick)',
        runs: result.stopTickRuns,
      },
    }
    for (const how of ['off', 'pause', 'tick'] as const) {
      log(`cpu: (b) stop latency after ${stops[how].label}, ${stopRuns} runs`)
      for (let i = 0; i < stopRuns; i++) {
        // A wall clock inside the daily window 00:00-12:00 until the bench moves it to 12:00.
        let wall = new Date(2026, 0, 5, 11, 59, 30).getTime()
        const gov = new CpuGovernor({
          limits: { ...limits(100, 1), schedule: '00:00-12:00' },
          probe,
          now: () => wall,
        })
        const job = busyJob()
        try {
          gov.track(job)
          await sleep(500)
          const before = cpuOf(job)
          await sleep(200)
          if (cpuOf(job) === before) throw new Error('the busy loop did not run before (b)')
          const ms = await stopLatency(job, () => {
            if (how === 'off') gov.setLimits(limits(0, 1))
            else if (how === 'pause') gov.setPause({ until: null })
            else wall = new Date(2026, 0, 5, 12, 0).getTime()
          })
          stops[how].runs.push(ms)
        } finally {
          gov.destroy()
          await end([job])
        }
      }
    }
    result.stopOffMs = median(result.stopOffRuns)
    result.stopPauseMs = median(result.stopPauseRuns)
    result.stopTickMs = median(result.stopTickRuns)
    const load = os.loadavg()[0] ?? 0
    if (load > result.machineCores) {
      result.notes.push(
        `the machine was busy (load ${load.toFixed(1)} on ${result.machineCores} cores): ` +
          'the baseline shows what a loop gets here unthrottled',
      )
    }
    result.ok = true
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    killCpuBenchJobs()
  }
  return result
}

const pad = (s: string, w: number, right = false) => (right ? s.padStart(w) : s.padEnd(w))

/** The section's report lines. */
export function formatCpuThrottle(r: CpuThrottleResult): string {
  const lines = [
    `CPU throttle: busy-loop processes under the CPU governor, ${r.durationMs / 1000} s each, ` +
      `this machine has ${r.machineCores} cores${r.ok ? '' : `  FAILED: ${r.error ?? '?'}`}`,
  ]
  const table = [
    ['figure', 'donor CPU', 'target', 'unthrottled', 'ratio', 'cycles/s'],
    ...r.shares.map((s) => [
      s.label,
      `${s.sharePct.toFixed(1)} %`,
      `${s.cpuPercent} %`,
      `${s.baselinePct.toFixed(1)} %`,
      s.ratio === null ? '-' : s.ratio.toFixed(2),
      s.cyclesPerSec.toFixed(1),
    ]),
  ]
  const widths = (table[0] ?? []).map((_, i) =>
    Math.max(...table.map((row) => (row[i] ?? '').length)),
  )
  for (const [i, row] of table.entries()) {
    lines.push(row.map((c, col) => pad(c, widths[col] ?? 0, col > 0)).join('   '))
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('   '))
  }
  const runs = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ')
  const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(0)} ms`)
  lines.push(
    `(b) cpuPercent 0 → no more CPU time: median ${ms(r.stopOffMs)} (runs: ${runs(r.stopOffRuns)} ms; aim ≤ 2000 ms)`,
    `(b) pause → no more CPU time: median ${ms(r.stopPauseMs)} (runs: ${runs(r.stopPauseRuns)} ms; aim ≤ 2000 ms)`,
    `(b) schedule window ends → no more CPU time: median ${ms(r.stopTickMs)} (runs: ${runs(r.stopTickRuns)} ms; one tick is 100 ms)`,
    'donor CPU: CPU time / (jobs × wall time) from /proc/PID/stat; ratio = donor CPU / unthrottled; ' +
      `unthrottled: the same loops at the same lowest priority, in ${SLICE_MS / 1000} s slices ` +
      'alternating with the governed ones; cycles/s: stop-continue pairs per job and second.',
  )
  for (const n of r.notes) lines.push(`note: ${n}`)
  return lines.join('\n')
}

/** Figures for the JSON report. */
export function cpuThrottleRatios(r: CpuThrottleResult): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  for (const s of r.shares) {
    out[`cpu-${s.key}-share`] = s.sharePct
    out[`cpu-${s.key}-ratio`] = s.ratio
  }
  out['cpu-b-stop-off-ms'] = r.stopOffMs
  out['cpu-b-stop-pause-ms'] = r.stopPauseMs
  out['cpu-b-stop-tick-ms'] = r.stopTickMs
  return out
}
