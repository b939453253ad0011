// The CPU half of the governor: when donor jobs (one OS process each, see compute/sandbox.ts) may
// run, and how much CPU time each may take. BOINC's preferences, with a feedback loop instead of
// an open-loop duty cycle.
//
// Conditions. Every tick (tickMs, default 100 ms) the governor decides whether jobs may run at
// all. The first condition that holds blocks them, in this order:
//   off       cpuPercent is null or 0: donating CPU is opt-in.
//   paused    setPause({ until }) with until null (until resumed) or in the future; a snooze
//             ends by itself when `now()` passes `until`.
//   schedule  outside limits.schedule (schedule.ts), local time.
//   battery   the probe says on battery and allowOnBattery is off. null (the probe can't tell)
//             counts as mains power: a machine that can't say is almost always a desktop or a
//             server. Until the first reading arrives, jobs wait ("checking").
//   in-use    onlyIdleMs is set (> 0) and the last input was less than that long ago. A probe
//             that can't tell the idle time (null) counts as in use, and the reason says so, so
//             people know why nothing runs and can turn the option off.
//   busy      other programs use more than suspendAboveOtherPercent of the machine (below).
// While blocked every tracked job is stopped (SIGSTOP) within the tick that notices, and
// setLimits() and setPause() run a tick at once, so turning CPU off or pausing stops jobs
// before the call returns. slots() is 0 while blocked. A job tracked while blocked is stopped
// at once. cpuCores caps how many jobs run at once (at most the machine's cores); when it is
// lowered below the running count, the newest jobs are stopped until others finish.
//
// Throttle: a token bucket of CPU milliseconds per job. Each tick a running job earns
// elapsed × cpuPercent / 100 ms of credit (at most BURST_MS banked) and pays for the CPU time it
// actually used since the last tick, read from /proc/PID/stat (utime + stime, all threads) on
// Linux, which stays exact while the process is stopped, and from job.cpuMs() elsewhere. Credit
// ≤ 0 → SIGSTOP; credit > 0 → SIGCONT. Because it pays for measured time, a job that uses less
// than a core is not over-penalised, timer jitter and signal latency are paid back in the next
// cycles, and CPU time over a minute lands on the target. Debt is floored at -MAX_DEBT_MS so an
// odd measurement can't stop a job for long. cpuPercent 100 never throttles (a job is one core).
// The job is told of every stop and continue through setSuspended(), so its wall-time cap only
// counts the time it may run.
//
// Other programs' CPU: every sampleMs (1 s) the machine's busy time from os.cpus() (all cores),
// minus the donor jobs' own CPU time over the same interval, as a % of all cores' time. Hysteresis
// so it doesn't flap: 'busy' starts once every sample for ~2 s was above the threshold
// (BUSY_AFTER_MS), and ends once every sample for ~5 s was at or below it (FREE_AFTER_MS). The
// reported otherPercent is the mean over the last 3 s. The daemon's own work counts as other.
//
// Windows has no SIGSTOP, and Node can't suspend a process there without native code, so on
// Windows (unless a signal function is injected) the governor degrades: jobs run at the lowest
// priority (IDLE_PRIORITY_CLASS), cpuCores still caps how many run, and every block condition
// still stops new jobs from starting (slots() is 0); a job already running finishes (its wall
// time is capped by jobWallMs) but is not held to cpuPercent. Killing and requeueing would throw
// work away, so it doesn't. The reason text says so. A suspend helper (NtSuspendProcess, or a
// Job Object with a hard CPU rate cap) would lift this.
//
// Probe readings (idle, battery) are asked every probeMs (1 s; probes cache their own) and used
// by the ticks in between; the idle time is extrapolated between readings. A reading that fails
// or takes over 5 s counts as null (can't tell).
//
// 'change' is emitted (with { blockedBy, reason }) at the end of the tick that changed either,
// after every job was stopped or continued, so a listener may call slots() and track() at once.
import { EventEmitter } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import type { CpuBlock, CpuStatus } from '../../../shared/contract.ts'
import { DonateLimitsSchema, type DonateLimits } from './governor.ts'
import { inSchedule, nextChange, parseSchedule, type Schedule } from './schedule.ts'
import type { SystemProbe } from './system.ts'
import { formatDuration } from './units.ts'

/** What the governor controls: a job process (compute/sandbox.ts's JobProcess fits). */
export interface TrackedJob {
  readonly pid: number
  /** Told true when the governor stops the process, false when it continues it. */
  setSuspended(s: boolean): void
  /** CPU time the process used so far (ms); used where /proc is not available. */
  cpuMs(): number
}

export type Signal = 'SIGSTOP' | 'SIGCONT'

export interface CpuGovernorOptions {
  limits: DonateLimits
  probe: SystemProbe
  pause?: { until: number | null } | null
  /** Wall clock for pauses and the schedule (ms since the epoch); default Date.now. */
  now?: () => number
  /** Control period (ms); default 100. 0: no timer, call tick() yourself (tests). */
  tickMs?: number
  /** Sends a signal; default process.kill. Throwing ESRCH means the process is gone. */
  signal?: (pid: number, sig: Signal) => void
  /** How often the probe is asked (ms); default 1000. 0: only by refresh(). */
  probeMs?: number
  /** How often other programs' CPU is sampled (ms); default 1000. */
  sampleMs?: number
  /** Monotonic clock (ms) for the throttle and sampling; default performance.now. */
  monotonic?: () => number
  /** Busy and total CPU time of the whole machine (ms, all cores); default from os.cpus(). */
  machineTimes?: () => { busy: number; total: number }
  /** Read CPU time from /proc/PID/stat; default: when /proc/self/stat exists. */
  procfs?: boolean
}

/** CPU-ms a job may bank while it uses less than its share. */
export const BURST_MS = 200
/** The most CPU-ms a job may owe. */
export const MAX_DEBT_MS = 1000
/** Other programs above the threshold this long → busy. */
export const BUSY_AFTER_MS = 2000
/** Other programs at or below the threshold this long → no longer busy. */
export const FREE_AFTER_MS = 5000
/** otherPercent is averaged over this window. */
const OTHER_WINDOW_MS = 3000
/** usedPercent is measured over this window. */
const USED_WINDOW_MS = 10_000

/** Linux's USER_HZ: clock ticks per second in /proc/PID/stat (100 on every mainstream arch). */
const USER_HZ = 100

export interface ProcStat {
  /** utime + stime, ms. */
  cpuMs: number
  /** R, S, D, T (stopped), Z (zombie), ... */
  state: string
  /** Start time in clock ticks since boot: tells a reused pid from the original. */
  startTime: string
}

/** /proc/PID/stat of a process, or null if there is none (Linux). */
export function readProcStat(pid: number): ProcStat | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // The command name is in parentheses and may hold spaces and ')': cut after the last one.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // f[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
  const utime = Number(f[11])
  const stime = Number(f[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null
  return {
    cpuMs: ((utime + stime) * 1000) / USER_HZ,
    state: f[0] ?? '?',
    startTime: f[19] ?? '',
  }
}

function defaultMachineTimes(): { busy: number; total: number } {
  let busy = 0
  let total = 0
  for (const c of os.cpus()) {
    const t = c.times
    busy += t.user + t.nice + t.sys + t.irq
    total += t.user + t.nice + t.sys + t.irq + t.idle
  }
  return { busy, total }
}

function machineCoreCount(): number {
  return typeof os.availableParallelism === 'function'
    ? os.availableParallelism()
    : Math.max(1, os.cpus().length)
}

interface Tracked {
  job: TrackedJob
  pid: number
  /** /proc start time at track(); null without procfs. */
  startTime: string | null
  lastCpu: number
  credit: number
  /** The governor stopped it and has not continued it. */
  stopped: boolean
  /** Signals failed for a reason other than ESRCH (EPERM, unsupported): leave it be. */
  uncontrollable: boolean
}

interface Sample {
  at: number
  span: number
  pct: number
}

/** A probe reading that takes longer than this counts as "can't tell". */
const PROBE_TIMEOUT_MS = 5000

/** `p`, or null if it rejects or takes longer than `ms`. */
function bounded<T>(p: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms)
    timer.unref()
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      () => {
        clearTimeout(timer)
        resolve(null)
      },
    )
  })
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

/** '14:30' today, 'Sat 14:30' on another day within a week, else 'Sat 3 Jan 14:30'. */
function clockText(t: number, now: number): string {
  const d = new Date(t)
  const n = new Date(now)
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
  const sameDay =
    d.getFullYear() === n.getFullYear() &&
    d.getMonth() === n.getMonth() &&
    d.getDate() === n.getDate()
  if (sameDay) return hm
  const day = WEEKDAYS[d.getDay()] ?? ''
  if (t - now < 6 * 24 * 3600 * 1000) return `${day} ${hm}`
  const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')
  return `${day} ${d.getDate()} ${months[d.getMonth()] ?? ''} ${hm}`
}

export class CpuGovernor extends EventEmitter {
  private limits: DonateLimits
  private schedule: Schedule | null
  private pause: { until: number | null } | null
  private readonly probe: SystemProbe
  private readonly now: () => number
  private readonly mono: () => number
  private readonly signal: (pid: number, sig: Signal) => void
  private readonly machineTimes: () => { busy: number; total: number }
  private readonly procfs: boolean
  /** Whether stopping a process works here at all (not on Windows). */
  private readonly canSuspend: boolean
  private readonly sampleMs: number
  readonly machineCores: number
  private readonly jobs = new Map<TrackedJob, Tracked>()
  private timers: Array<ReturnType<typeof setInterval>> = []
  private destroyed = false
  private lastTick: number
  private blockedBy: CpuBlock | null = null
  private reason = ''

  // probe readings
  private battery: boolean | null = null
  private batteryRead = false
  private idle: number | null = null
  private idleReadAt = 0
  private idleRead = false
  private probing: Promise<void> | null = null

  // CPU accounting
  private donorTotal = 0
  private history: Array<[number, number]> = []
  private prevMachine: { busy: number; total: number; donor: number; at: number } | null = null
  private samples: Sample[] = []
  private aboveMs = 0
  private belowMs = 0
  private busy = false

  constructor(opts: CpuGovernorOptions) {
    super()
    this.limits = DonateLimitsSchema.parse(opts.limits)
    this.schedule = this.limits.schedule === null ? null : parseSchedule(this.limits.schedule)
    this.pause = opts.pause ?? null
    this.probe = opts.probe
    this.now = opts.now ?? Date.now
    this.mono = opts.monotonic ?? (() => performance.now())
    this.canSuspend = opts.signal !== undefined || process.platform !== 'win32'
    this.signal = opts.signal ?? ((pid, sig) => void process.kill(pid, sig))
    this.machineTimes = opts.machineTimes ?? defaultMachineTimes
    this.procfs = opts.procfs ?? existsSync('/proc/self/stat')
    this.sampleMs = opts.sampleMs ?? 1000
    this.machineCores = machineCoreCount()
    this.lastTick = this.mono()
    const tickMs = opts.tickMs ?? 100
    const probeMs = opts.probeMs ?? 1000
    if (tickMs > 0) this.timers.push(setInterval(() => this.tick(), tickMs))
    if (probeMs > 0) this.timers.push(setInterval(() => void this.refresh(), probeMs))
    for (const t of this.timers) t.unref()
    this.evaluate()
    void this.refresh()
  }

  /** Validates and applies new limits at once (throws on invalid ones, keeping the old). */
  setLimits(limits: DonateLimits): void {
    const next = DonateLimitsSchema.parse(limits)
    const schedule = next.schedule === null ? null : parseSchedule(next.schedule)
    this.limits = next
    this.schedule = schedule
    if (next.suspendAboveOtherPercent === null) {
      this.busy = false
      this.aboveMs = 0
      this.belowMs = 0
    }
    this.tick()
  }

  /** Pauses (until null: until resumed; a time: a snooze) or resumes (null), at once. */
  setPause(pause: { until: number | null } | null): void {
    if (pause !== null && pause.until !== null && !Number.isFinite(pause.until)) {
      throw new RangeError(
        `A pause ends at a time (ms since the epoch) or null, not ${pause.until}`,
      )
    }
    this.pause = pause === null ? null : { until: pause.until }
    this.tick()
  }

  /** Cores jobs may use at once: cpuCores, at most the machine's. */
  private cores(): number {
    return Math.max(1, Math.min(this.limits.cpuCores, this.machineCores))
  }

  /** How many more jobs may start now: 0 while blocked. */
  slots(): number {
    if (this.destroyed || this.blockedBy !== null) return 0
    return Math.max(0, this.cores() - this.jobs.size)
  }

  /** Why jobs may not run now; null when they may. */
  blocked(): CpuBlock | null {
    return this.blockedBy
  }

  /**
   * While jobs are blocked, the earliest time they may run again as far as it is known:
   * Infinity while donating is off, a snooze's end, the schedule's next opening (a later
   * condition may hold them longer still). null when they may run now, or when the end can't be
   * known: paused until resumed, on battery, in use, busy.
   */
  heldUntil(): number | null {
    switch (this.blockedBy) {
      case 'off':
        return Number.POSITIVE_INFINITY
      case 'paused':
        return this.pause?.until ?? null
      case 'schedule': {
        if (!this.schedule) return null
        const next = nextChange(this.schedule, new Date(this.now()))
        return next ? next.getTime() : Number.POSITIVE_INFINITY
      }
      default:
        return null
    }
  }

  /** Whether the governor holds this job stopped right now. */
  isStopped(job: TrackedJob): boolean {
    return this.jobs.get(job)?.stopped ?? false
  }

  /**
   * Starts controlling a job process: lowest priority (again, best effort), stopped at once if
   * jobs may not run now. A process that is already gone is not tracked.
   */
  track(job: TrackedJob): void {
    if (this.destroyed || this.jobs.has(job)) return
    const pid = job.pid
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new RangeError(`A job to track needs a process id, not ${pid}`)
    }
    try {
      os.setPriority(pid, os.constants.priority.PRIORITY_LOW)
    } catch {
      // best effort: the sandbox already started it at the lowest priority
    }
    let startTime: string | null = null
    let cpu: number
    if (this.procfs) {
      const st = readProcStat(pid)
      if (!st || st.state === 'Z' || st.state === 'X') return
      startTime = st.startTime
      cpu = st.cpuMs
    } else cpu = this.jobCpu(job)
    const t: Tracked = {
      job,
      pid,
      startTime,
      lastCpu: cpu,
      credit: 0,
      stopped: false,
      uncontrollable: false,
    }
    this.jobs.set(job, t)
    if (this.blockedBy !== null || this.jobs.size > this.cores()) this.stop(t)
  }

  /**
   * Stops controlling a job: call it after its process ended, or before killing it. A job the
   * governor had stopped is continued first (a stopped process would not act on SIGTERM).
   */
  untrack(job: TrackedJob): void {
    const t = this.jobs.get(job)
    if (!t) return
    this.measure(t)
    this.jobs.delete(job)
    if (t.stopped) {
      if (this.sameProcess(t)) this.send(t, 'SIGCONT')
      t.stopped = false
      this.tell(t, false)
    }
    if (!this.destroyed) this.tick()
  }

  /** Asks the probe for fresh readings and applies them; never throws. */
  refresh(): Promise<void> {
    if (this.destroyed) return Promise.resolve()
    if (this.probing) return this.probing
    const read = async () => {
      const [idle, battery] = await Promise.all([
        bounded(this.probe.idleMs(), PROBE_TIMEOUT_MS),
        bounded(this.probe.onBattery(), PROBE_TIMEOUT_MS),
      ])
      this.idle = typeof idle === 'number' && Number.isFinite(idle) ? Math.max(0, idle) : null
      this.idleReadAt = this.mono()
      this.idleRead = true
      this.battery = typeof battery === 'boolean' ? battery : null
      this.batteryRead = true
    }
    this.probing = read()
      .catch(() => undefined)
      .finally(() => {
        this.probing = null
        if (!this.destroyed) this.tick()
      })
    return this.probing
  }

  /** One control step: conditions, then stop, continue or throttle each job. The timer calls it. */
  tick(): void {
    if (this.destroyed) return
    const at = this.mono()
    const elapsed = Math.max(0, at - this.lastTick)
    this.lastTick = at
    const used = new Map<Tracked, number>()
    for (const t of [...this.jobs.values()]) {
      const delta = this.measure(t)
      if (delta === null) this.jobs.delete(t.job)
      else used.set(t, delta)
    }
    this.history.push([at, this.donorTotal])
    while (this.history.length > 2 && (this.history[1]?.[0] ?? at) <= at - USED_WINDOW_MS) {
      this.history.shift()
    }
    this.sampleMachine(at)
    const changed = this.evaluate()

    const pct = this.limits.cpuPercent ?? 0
    const cores = this.cores()
    let i = 0
    for (const t of this.jobs.values()) {
      const delta = used.get(t) ?? 0
      const runnable = this.blockedBy === null && i < cores
      i++
      if (!runnable) {
        t.credit = Math.max(-MAX_DEBT_MS, Math.min(BURST_MS, t.credit - delta))
        this.stop(t)
        continue
      }
      if (pct >= 100) {
        t.credit = BURST_MS
        this.cont(t)
        continue
      }
      t.credit = Math.max(
        -MAX_DEBT_MS,
        Math.min(BURST_MS, t.credit + (elapsed * pct) / 100 - delta),
      )
      if (t.credit <= 0) this.stop(t)
      else this.cont(t)
    }
    // Last, once every job is where it should be: a listener may call back in (pump, track).
    if (changed) this.emit('change', { blockedBy: this.blockedBy, reason: this.reason })
  }

  /** The contract's CpuStatus; `queued` is what the caller has waiting. */
  status(queued = 0): CpuStatus {
    return {
      blockedBy: this.blockedBy,
      reason: this.reason,
      usedPercent: this.usedPercent(),
      otherPercent: this.otherPercent(),
      idleMs: this.idleNow(),
      onBattery: this.battery,
      probe: this.probe.name,
      machineCores: this.machineCores,
      running: this.jobs.size,
      queued,
    }
  }

  /** Stops the timers and lets every job it stopped go on (the caller ends them). */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    for (const t of this.jobs.values()) {
      if (t.stopped && this.sameProcess(t)) this.send(t, 'SIGCONT')
      if (t.stopped) this.tell(t, false)
      t.stopped = false
    }
    this.jobs.clear()
  }

  // ---- measuring ----

  private jobCpu(job: TrackedJob): number {
    try {
      const v = job.cpuMs()
      return Number.isFinite(v) ? v : 0
    } catch {
      return 0
    }
  }

  /** Whether the tracked pid is still the process that was tracked (Linux); true elsewhere. */
  private sameProcess(t: Tracked): boolean {
    if (!this.procfs) return true
    const st = readProcStat(t.pid)
    return !!st && st.startTime === t.startTime && st.state !== 'Z' && st.state !== 'X'
  }

  /** CPU ms used since the last measure (added to the donor total); null if the process is gone. */
  private measure(t: Tracked): number | null {
    let cpu: number
    let gone = false
    if (this.procfs) {
      const st = readProcStat(t.pid)
      if (!st || st.startTime !== t.startTime) return null
      cpu = st.cpuMs
      gone = st.state === 'Z' || st.state === 'X'
    } else cpu = this.jobCpu(t.job)
    const delta = Math.max(0, cpu - t.lastCpu)
    t.lastCpu = Math.max(t.lastCpu, cpu)
    this.donorTotal += delta
    return gone ? null : delta
  }

  private sampleMachine(at: number): void {
    if (this.prevMachine && at - this.prevMachine.at < this.sampleMs) return
    let m: { busy: number; total: number }
    try {
      m = this.machineTimes()
    } catch {
      return
    }
    const prev = this.prevMachine
    this.prevMachine = { ...m, donor: this.donorTotal, at }
    if (!prev) return
    const total = m.total - prev.total
    if (!(total > 0)) return
    const other = m.busy - prev.busy - (this.donorTotal - prev.donor)
    const pct = Math.max(0, Math.min(100, (other / total) * 100))
    const span = at - prev.at
    this.samples.push({ at, span, pct })
    while ((this.samples[0]?.at ?? at) < at - 2 * FREE_AFTER_MS) this.samples.shift()
    const limit = this.limits.suspendAboveOtherPercent
    if (limit === null) return
    // A little slack so that two 1 s samples make "2 s" despite timer jitter.
    const slack = this.sampleMs / 4
    if (pct > limit) {
      this.aboveMs += span
      this.belowMs = 0
      if (this.aboveMs >= BUSY_AFTER_MS - slack) this.busy = true
    } else {
      this.belowMs += span
      this.aboveMs = 0
      if (this.belowMs >= FREE_AFTER_MS - slack) this.busy = false
    }
  }

  private otherPercent(): number | null {
    const last = this.samples[this.samples.length - 1]
    if (!last) return null
    let weight = 0
    let sum = 0
    for (const s of this.samples) {
      if (s.at <= last.at - OTHER_WINDOW_MS) continue
      weight += s.span
      sum += s.pct * s.span
    }
    return weight > 0 ? Math.round((sum / weight) * 10) / 10 : last.pct
  }

  private usedPercent(): number {
    const first = this.history[0]
    const last = this.history[this.history.length - 1]
    if (!first || !last || last[0] <= first[0]) return 0
    const span = Math.min(USED_WINDOW_MS, last[0] - first[0])
    // The entry at or just before the window's start.
    let base = first
    for (const h of this.history) {
      if (h[0] <= last[0] - span) base = h
      else break
    }
    const pct = ((last[1] - base[1]) / (this.cores() * span)) * 100
    return Math.round(Math.max(0, pct) * 10) / 10
  }

  private idleNow(): number | null {
    if (this.idle === null) return null
    return Math.round(this.idle + Math.max(0, this.mono() - this.idleReadAt))
  }

  // ---- conditions ----

  /** Updates blockedBy and reason; true if either changed. */
  private evaluate(): boolean {
    const [blockedBy, reason] = this.conditions()
    const changed = blockedBy !== this.blockedBy || reason !== this.reason
    this.blockedBy = blockedBy
    this.reason = reason
    return changed
  }

  private conditions(): [CpuBlock | null, string] {
    const l = this.limits
    const pct = l.cpuPercent ?? 0
    const now = this.now()
    const stuck =
      !this.canSuspend && this.jobs.size > 0
        ? ' Jobs already running finish first, at the lowest priority: this system cannot pause them.'
        : ''
    if (!(pct > 0)) {
      return [
        'off',
        `Donating CPU is off: set a CPU share above 0% to run jobs for others.${stuck}`,
      ]
    }
    if (this.pause && this.pause.until !== null && this.pause.until <= now) this.pause = null
    if (this.pause) {
      const until = this.pause.until
      return [
        'paused',
        until === null
          ? `Donating is paused until you resume it.${stuck}`
          : `Donating is paused until ${clockText(until, now)}.${stuck}`,
      ]
    }
    if (this.schedule && !inSchedule(this.schedule, new Date(now))) {
      const next = nextChange(this.schedule, new Date(now))
      const when = next ? ` Jobs run again at ${clockText(next.getTime(), now)}.` : ''
      return ['schedule', `Outside the schedule (${this.schedule.text}).${when}${stuck}`]
    }
    if (!l.allowOnBattery) {
      if (!this.batteryRead) {
        return ['battery', `Checking whether this computer runs on battery.${stuck}`]
      }
      if (this.battery === true) {
        return [
          'battery',
          `This computer runs on battery: jobs run again on mains power (or allow running on battery).${stuck}`,
        ]
      }
    }
    if (l.onlyIdleMs !== null && l.onlyIdleMs > 0) {
      const after = formatDuration(l.onlyIdleMs)
      if (!this.idleRead) {
        return ['in-use', `Checking whether this computer is in use.${stuck}`]
      }
      const idle = this.idleNow()
      if (idle === null) {
        return [
          'in-use',
          `This computer can't tell how long it has been idle (${this.probe.name}), so jobs ` +
            `that wait for ${after} without input never start: turn "only when idle" off to donate CPU here.${stuck}`,
        ]
      }
      if (idle < l.onlyIdleMs) {
        return ['in-use', `This computer is in use: jobs run after ${after} without input.${stuck}`]
      }
    }
    if (l.suspendAboveOtherPercent !== null && this.busy) {
      return [
        'busy',
        `Other programs use more than ${l.suspendAboveOtherPercent}% of the CPU: jobs wait ` +
          `until they use less for ${formatDuration(FREE_AFTER_MS)}.${stuck}`,
      ]
    }
    return [null, this.runningText(pct)]
  }

  private runningText(pct: number): string {
    const cores = this.cores()
    const capped =
      this.limits.cpuCores > cores
        ? ` (${this.limits.cpuCores} set; this computer has ${cores})`
        : ''
    const coreText = cores === 1 ? '1 core' : `${cores} cores`
    if (!this.canSuspend) {
      return `Jobs may use ${coreText} at the lowest priority${capped}; this system cannot hold them to ${pct}%.`
    }
    if (pct >= 100)
      return `Jobs may use ${cores === 1 ? '1 full core' : `${cores} full cores`}${capped}.`
    const of = cores === 1 ? '1 core' : `each of ${cores} cores`
    return `Jobs may use ${pct}% of ${of}${capped}.`
  }

  // ---- signals ----

  private tell(t: Tracked, suspended: boolean): void {
    try {
      t.job.setSuspended(suspended)
    } catch {
      // the job's bookkeeping is its own business
    }
  }

  /** Sends a signal; false if it could not be sent. ESRCH (gone) drops the job silently. */
  private send(t: Tracked, sig: Signal): boolean {
    if (!this.canSuspend || t.uncontrollable) return false
    try {
      this.signal(t.pid, sig)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') this.jobs.delete(t.job)
      else t.uncontrollable = true
      return false
    }
  }

  private stop(t: Tracked): void {
    if (t.stopped) return
    if (!this.send(t, 'SIGSTOP')) return
    t.stopped = true
    this.tell(t, true)
  }

  private cont(t: Tracked): void {
    if (!t.stopped) return
    if (!this.send(t, 'SIGCONT')) {
      // Gone, or can't be signalled any more: it is not held stopped by us either way.
      t.stopped = false
      this.tell(t, false)
      return
    }
    t.stopped = false
    this.tell(t, false)
  }
}
