// The CPU governor against real busy-loop processes: blocking stops them (state T in
// /proc/PID/stat and no more CPU time), unblocking continues them, the throttle cycles them.
// The probe (idle, battery) and, for the hysteresis tests, the machine's CPU counters are the
// process edges that are injected. Accuracy of the throttle is measured by the bench
// (test/bench/cpu-throttle.ts), not asserted here.
import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import { describe, expect, it } from 'vitest'
import { CpuStatusSchema } from '../../shared/contract.ts'
import {
  BUSY_AFTER_MS,
  CpuGovernor,
  FREE_AFTER_MS,
  readProcStat,
  type CpuGovernorOptions,
  type Signal,
  type TrackedJob,
} from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'
import type { SystemProbe } from '../../main/engine/limits/system.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const linux = process.platform === 'linux'
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function limits(o: Partial<DonateLimits> = {}): DonateLimits {
  // Other programs' CPU is off by default here: the test machine is shared and busy.
  return DonateLimitsSchema.parse({ suspendAboveOtherPercent: null, allowOnBattery: true, ...o })
}

class Probe implements SystemProbe {
  readonly name = 'test probe'
  idle: number | null = null
  battery: boolean | null = false
  idleMs = () => Promise.resolve(this.idle)
  onBattery = () => Promise.resolve(this.battery)
}

interface Job extends TrackedJob {
  child: ChildProcess
  suspends: boolean[]
}

/** A real process that would use a full core. */
function busyJob(): Job {
  const child = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' })
  fx.defer(() => {
    child.kill('SIGKILL')
  })
  const pid = child.pid
  if (!pid) throw new Error('spawn failed')
  const suspends: boolean[] = []
  return {
    child,
    pid,
    suspends,
    setSuspended: (s) => void suspends.push(s),
    cpuMs: () => readProcStat(pid)?.cpuMs ?? 0,
  }
}

/** A real process that uses no CPU: a safe pid for tests with injected signals. */
function idleJob(cpu: { ms: number }): Job {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' })
  fx.defer(() => {
    child.kill('SIGKILL')
  })
  const suspends: boolean[] = []
  return {
    child,
    pid: child.pid ?? -1,
    suspends,
    setSuspended: (s) => void suspends.push(s),
    cpuMs: () => cpu.ms,
  }
}

function governor(o: Partial<CpuGovernorOptions> & { probe?: SystemProbe } = {}): CpuGovernor {
  const gov = new CpuGovernor({ limits: limits(), probe: new Probe(), ...o })
  fx.defer(() => gov.destroy())
  return gov
}

async function waitFor(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const state = (job: Job) => readProcStat(job.pid)?.state ?? 'gone'
const cpu = (job: Job) => readProcStat(job.pid)?.cpuMs ?? NaN

/** The job is stopped and its CPU time no longer grows. */
async function expectStopped(job: Job): Promise<void> {
  await waitFor('state T', () => state(job) === 'T', 1000)
  const before = cpu(job)
  await sleep(300)
  expect(state(job)).toBe('T')
  expect(cpu(job)).toBe(before)
}

/** The job runs: not stopped, and its CPU time grows. */
async function expectRunning(job: Job): Promise<void> {
  await waitFor('state not T', () => state(job) !== 'T', 1000)
  const before = cpu(job)
  // Generous: a lowest-priority process on a loaded machine may wait a while for a core.
  await waitFor('CPU time to grow', () => cpu(job) > before, 10_000)
}

describe.skipIf(!linux)('CpuGovernor with real processes', () => {
  it('runs nothing while CPU is off, and a job tracked then is stopped at once', async () => {
    const gov = governor({ limits: limits({ cpuPercent: null }) })
    expect(gov.blocked()).toBe('off')
    expect(gov.slots()).toBe(0)
    expect(gov.status().reason).toMatch(/off/)
    const job = busyJob()
    gov.track(job)
    await expectStopped(job)
    expect(job.suspends).toEqual([true])
    expect(gov.isStopped(job)).toBe(true)
  })

  it('continues a job when CPU is turned on and stops it when set to 0%', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 0 }) })
    const changes: Array<{ blockedBy: string | null; reason: string }> = []
    gov.on('change', (c: { blockedBy: string | null; reason: string }) => changes.push(c))
    const job = busyJob()
    gov.track(job)
    await expectStopped(job)

    gov.setLimits(limits({ cpuPercent: 100 }))
    expect(gov.blocked()).toBeNull()
    expect(gov.status().reason).toBe('Jobs may use 1 full core.')
    await expectRunning(job)
    expect(job.suspends).toEqual([true, false])

    gov.setLimits(limits({ cpuPercent: 0 }))
    // setLimits stops it before returning (the signal is delivered right away).
    expect(gov.isStopped(job)).toBe(true)
    await expectStopped(job)
    expect(changes.map((c) => c.blockedBy)).toEqual([null, 'off'])
  })

  it('pauses until resumed, and ignores a pause that already ended', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 100 }) })
    const job = busyJob()
    gov.track(job)
    await expectRunning(job)

    gov.setPause({ until: null })
    expect(gov.blocked()).toBe('paused')
    expect(gov.status().reason).toBe('Donating is paused until you resume it.')
    expect(gov.slots()).toBe(0)
    await expectStopped(job)

    gov.setPause(null)
    expect(gov.blocked()).toBeNull()
    await expectRunning(job)

    gov.setPause({ until: Date.now() - 1000 })
    expect(gov.blocked()).toBeNull()
    expect(state(job)).not.toBe('T')
  })

  it('ends a snooze by itself when its time passes', async () => {
    let now = new Date(2026, 0, 5, 10, 0).getTime()
    const gov = governor({
      limits: limits({ cpuPercent: 50 }),
      pause: { until: now + 3600_000 },
      now: () => now,
    })
    expect(gov.blocked()).toBe('paused')
    expect(gov.status().reason).toBe('Donating is paused until 11:00.')
    const job = busyJob()
    gov.track(job)
    await expectStopped(job)

    now += 3600_000 - 1
    await sleep(250)
    expect(gov.blocked()).toBe('paused')
    expect(state(job)).toBe('T')

    now += 1
    // The ticking timer notices without any call.
    await waitFor('the snooze to end', () => gov.blocked() === null, 1000)
    await expectRunning(job)
  })

  it('throttles a full-core job: it cycles between stopped and running', async (ctx) => {
    const gov = governor({ limits: limits({ cpuPercent: 25 }) })
    const job = busyJob()
    gov.track(job)
    const seen = new Set<string>()
    const c0 = cpu(job)
    const t0 = performance.now()
    const elapsed = () => performance.now() - t0
    while (elapsed() < 3000 || (job.suspends.length < 4 && elapsed() < 15_000)) {
      seen.add(state(job))
      await sleep(7)
    }
    const usedPct = ((cpu(job) - c0) / elapsed()) * 100
    if (job.suspends.length < 2 && usedPct < 20) {
      // Then the throttle rightly has nothing to do; the fake-clock tests below still run.
      ctx.skip(
        `machine too busy: the lowest-priority job got ${usedPct.toFixed(1)}% of a core, less ` +
          'than its 25% share',
      )
    }
    expect(seen.has('T')).toBe(true)
    expect(seen.has('R')).toBe(true)
    // Each stop and continue is told to the job, alternating.
    expect(job.suspends.length).toBeGreaterThanOrEqual(2)
    job.suspends.forEach((s, i) => expect(s).toBe(i % 2 === 0))
    // Generous: a throttled job is far from a full core (the bench measures the accuracy).
    expect(usedPct).toBeGreaterThan(0)
    expect(usedPct).toBeLessThan(60)
    const st = gov.status()
    expect(st.usedPercent).toBeLessThan(60)
    expect(st.reason).toBe('Jobs may use 25% of 1 core.')
  })

  it('counts slots from cpuCores and frees one when a job is untracked', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 10, cpuCores: 2 }) })
    const cores = Math.min(2, gov.machineCores)
    expect(gov.slots()).toBe(cores)
    const a = busyJob()
    gov.track(a)
    expect(gov.slots()).toBe(cores - 1)
    expect(gov.status().running).toBe(1)
    gov.setPause({ until: null })
    expect(gov.slots()).toBe(0)
    gov.setPause(null)
    gov.untrack(a)
    expect(gov.slots()).toBe(cores)
    expect(gov.status().running).toBe(0)
  })

  it.skipIf(os.availableParallelism() < 2)(
    'stops the newest jobs when cpuCores is lowered below the running count',
    async () => {
      const gov = governor({ limits: limits({ cpuPercent: 100, cpuCores: 2 }) })
      const a = busyJob()
      const b = busyJob()
      gov.track(a)
      gov.track(b)
      expect(gov.slots()).toBe(0)
      await expectRunning(a)
      await expectRunning(b)
      gov.setLimits(limits({ cpuPercent: 100, cpuCores: 1 }))
      await expectStopped(b)
      expect(state(a)).not.toBe('T')
      gov.untrack(a)
      await expectRunning(b)
    },
  )

  it('continues a stopped job on untrack, so that SIGTERM ends it', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 0 }) })
    const job = busyJob()
    gov.track(job)
    await expectStopped(job)
    gov.untrack(job)
    expect(job.suspends).toEqual([true, false])
    await waitFor('state not T', () => state(job) !== 'T', 1000)
    const exited = new Promise((r) => job.child.once('exit', r))
    job.child.kill('SIGTERM')
    await exited
  })

  it('untracks a job whose process is gone, silently, and untrack of it is safe', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 25 }) })
    const job = busyJob()
    gov.track(job)
    const exited = new Promise((r) => job.child.once('exit', r))
    job.child.kill('SIGKILL')
    await exited
    await waitFor('the job to be dropped', () => gov.status().running === 0, 1000)
    expect(() => gov.untrack(job)).not.toThrow()
    // Tracking a process that is already gone does nothing.
    gov.track(job)
    expect(gov.status().running).toBe(0)
  })

  it('untrack after the process ended while stopped is safe', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 0 }) })
    const job = busyJob()
    gov.track(job)
    await expectStopped(job)
    const exited = new Promise((r) => job.child.once('exit', r))
    job.child.kill('SIGKILL')
    await exited
    expect(() => gov.untrack(job)).not.toThrow()
    expect(gov.status().running).toBe(0)
  })

  it('lets its stopped jobs go on when destroyed', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 0 }) })
    const job = busyJob()
    gov.track(job)
    await expectStopped(job)
    gov.destroy()
    await expectRunning(job)
    expect(gov.slots()).toBe(0)
  })
})

describe('CpuGovernor conditions', () => {
  it('blocks outside the schedule and says when jobs run again', async () => {
    // Monday 5 January 2026, 10:00 local time.
    let now = new Date(2026, 0, 5, 10, 0).getTime()
    const gov = governor({
      limits: limits({ cpuPercent: 50, schedule: 'mon-fri 18:00-08:00; sat,sun 00:00-24:00' }),
      now: () => now,
      tickMs: 0,
    })
    expect(gov.blocked()).toBe('schedule')
    expect(gov.status().reason).toBe(
      'Outside the schedule (mon-fri 18:00-08:00; sat,sun 00:00-24:00). Jobs run again at 18:00.',
    )
    expect(gov.slots()).toBe(0)
    now = new Date(2026, 0, 5, 18, 0).getTime()
    gov.tick()
    expect(gov.blocked()).toBeNull()
    expect(gov.slots()).toBe(1)
    // Friday 8:00 until Saturday: the next run is Friday 18:00, named by its day.
    now = new Date(2026, 0, 8, 9, 30).getTime()
    gov.tick()
    expect(gov.status().reason).toMatch(/Jobs run again at 18:00\.$/)
  })

  it('refuses invalid limits and pauses, and keeps the old ones', () => {
    const gov = governor({ limits: limits({ cpuPercent: 30 }), tickMs: 0 })
    expect(() => gov.setPause({ until: NaN })).toThrow(/pause ends at a time/)
    expect(gov.blocked()).toBeNull()
    expect(() => gov.setLimits({ ...limits(), schedule: '25:00-26:00' })).toThrow(/25:00/)
    expect(() => gov.setLimits({ ...limits(), cpuPercent: 101 })).toThrow()
    expect(gov.status().reason).toBe('Jobs may use 30% of 1 core.')
  })

  it('does not run on battery unless allowed; unknown power counts as mains', async () => {
    const probe = new Probe()
    probe.battery = true
    const gov = governor({
      limits: limits({ cpuPercent: 50, allowOnBattery: false }),
      probe,
      tickMs: 0,
    })
    // Before the first reading: waiting, not guessing.
    expect(gov.blocked()).toBe('battery')
    expect(gov.status().reason).toMatch(/^Checking/)
    await gov.refresh()
    expect(gov.blocked()).toBe('battery')
    expect(gov.status().reason).toMatch(/runs on battery/)
    expect(gov.status().onBattery).toBe(true)
    probe.battery = null
    await gov.refresh()
    expect(gov.blocked()).toBeNull()
    probe.battery = true
    await gov.refresh()
    gov.setLimits(limits({ cpuPercent: 50, allowOnBattery: true }))
    expect(gov.blocked()).toBeNull()
  })

  it('waits for the computer to be idle, and says when it cannot tell', async () => {
    const probe = new Probe()
    probe.idle = 5000
    let mono = 0
    const gov = governor({
      limits: limits({ cpuPercent: 50, onlyIdleMs: 60_000 }),
      probe,
      tickMs: 0,
      probeMs: 0,
      monotonic: () => mono,
    })
    await gov.refresh()
    expect(gov.blocked()).toBe('in-use')
    expect(gov.status().reason).toBe('This computer is in use: jobs run after 1 min without input.')
    expect(gov.status().idleMs).toBe(5000)
    // The idle time grows between readings.
    mono += 55_000
    gov.tick()
    expect(gov.blocked()).toBeNull()
    expect(gov.status().idleMs).toBe(60_000)
    probe.idle = 0
    await gov.refresh()
    expect(gov.blocked()).toBe('in-use')
    probe.idle = null
    await gov.refresh()
    expect(gov.blocked()).toBe('in-use')
    expect(gov.status().reason).toMatch(/can't tell how long it has been idle \(test probe\)/)
    expect(gov.status().idleMs).toBeNull()
    gov.setLimits(limits({ cpuPercent: 50, onlyIdleMs: null }))
    expect(gov.blocked()).toBeNull()
  })

  it('names the first condition that holds', async () => {
    const probe = new Probe()
    probe.battery = true
    const gov = governor({
      limits: limits({ cpuPercent: 50, allowOnBattery: false, onlyIdleMs: 1000 }),
      probe,
      pause: { until: null },
      tickMs: 0,
    })
    await gov.refresh()
    expect(gov.blocked()).toBe('paused')
    gov.setPause(null)
    expect(gov.blocked()).toBe('battery')
    gov.setLimits(limits({ cpuPercent: 0 }))
    expect(gov.blocked()).toBe('off')
  })

  it('reports the contract shape', async () => {
    const gov = governor({ limits: limits({ cpuPercent: 40, cpuCores: 1 }) })
    await gov.refresh()
    const st = gov.status(3)
    expect(CpuStatusSchema.parse(st)).toEqual(st)
    expect(st).toMatchObject({ blockedBy: null, probe: 'test probe', running: 0, queued: 3 })
    expect(st.machineCores).toBe(os.availableParallelism())
  })

  it('caps cpuCores at the machine and says so', () => {
    const n = os.availableParallelism()
    const gov = governor({ limits: limits({ cpuPercent: 25, cpuCores: n + 3 }), tickMs: 0 })
    expect(gov.slots()).toBe(n)
    expect(gov.status().reason).toContain(`(${n + 3} set; this computer has ${n})`)
  })
})

describe('CpuGovernor: other programs', () => {
  /** A governor on injected machine counters and a manual clock; 2 cores' worth of time. */
  function rig(threshold: number | null) {
    let mono = 0
    const m = { busy: 0, total: 0 }
    const gov = governor({
      limits: limits({ cpuPercent: 50, suspendAboveOtherPercent: threshold }),
      tickMs: 0,
      probeMs: 0,
      sampleMs: 1000,
      monotonic: () => mono,
      machineTimes: () => ({ ...m }),
      procfs: false,
      signal: () => {},
    })
    gov.tick()
    /** One second in which the machine was busy `pct` % (of both cores). */
    const second = (pct: number, donorMs = 0, donor?: { ms: number }) => {
      mono += 1000
      m.total += 2000
      m.busy += (pct / 100) * 2000
      if (donor) donor.ms += donorMs
      gov.tick()
    }
    return { gov, second }
  }

  it('suspends after ~2 s above the threshold and resumes after ~5 s below', () => {
    const { gov, second } = rig(25)
    expect(gov.status().otherPercent).toBeNull()
    second(50)
    expect(gov.blocked()).toBeNull()
    expect(gov.status().otherPercent).toBe(50)
    second(50)
    expect(gov.blocked()).toBe('busy')
    expect(gov.status().reason).toBe(
      'Other programs use more than 25% of the CPU: jobs wait until they use less for 5 s.',
    )
    expect(gov.slots()).toBe(0)
    // A dip shorter than 5 s does not resume, and a spike restarts the count.
    for (let i = 0; i < 4; i++) second(10)
    expect(gov.blocked()).toBe('busy')
    second(90)
    for (let i = 0; i < 4; i++) second(10)
    expect(gov.blocked()).toBe('busy')
    second(10)
    expect(gov.blocked()).toBeNull()
    // A single busy second does not suspend.
    second(80)
    second(10)
    expect(gov.blocked()).toBeNull()
    expect(BUSY_AFTER_MS).toBe(2000)
    expect(FREE_AFTER_MS).toBe(5000)
  })

  it("does not count the donor jobs' own CPU time", () => {
    const { gov, second } = rig(25)
    const donor = { ms: 0 }
    const job = idleJob(donor)
    gov.track(job)
    // The machine is 50% busy, all of it the donor job: nothing else runs.
    for (let i = 0; i < 5; i++) second(50, 1000, donor)
    expect(gov.blocked()).toBeNull()
    expect(gov.status().otherPercent).toBe(0)
    // 80% busy of which the donor is 50%: others use 30%.
    for (let i = 0; i < 3; i++) second(80, 1000, donor)
    expect(gov.status().otherPercent).toBe(30)
    expect(gov.blocked()).toBe('busy')
  })

  it('never suspends with the threshold off', () => {
    const { gov, second } = rig(null)
    for (let i = 0; i < 5; i++) second(100)
    expect(gov.blocked()).toBeNull()
    expect(gov.status().otherPercent).toBe(100)
  })
})

describe('CpuGovernor: the throttle loop and signals', () => {
  function rig(cpuPercent: number) {
    let mono = 0
    const sent: Array<[number, Signal]> = []
    const cpuUse = { ms: 0 }
    const gov = governor({
      limits: limits({ cpuPercent }),
      tickMs: 0,
      probeMs: 0,
      monotonic: () => mono,
      machineTimes: () => ({ busy: 0, total: 1 }),
      procfs: false,
      signal: (pid, sig) => void sent.push([pid, sig]),
    })
    const job = idleJob(cpuUse)
    gov.track(job)
    /** 100 ms pass; a running job uses it all (a full core). */
    const step = () => {
      mono += 100
      if (!gov.isStopped(job)) cpuUse.ms += 100
      gov.tick()
    }
    const advance = (ms: number) => void (mono += ms)
    return { gov, job, sent, cpuUse, step, advance, mono: () => mono }
  }

  it.each([10, 25, 50, 75])('holds a full-core job to %d%% of the wall time', (pct) => {
    const { sent, cpuUse, step, mono } = rig(pct)
    for (let i = 0; i < 600; i++) step()
    const share = (cpuUse.ms / mono()) * 100
    expect(share).toBeGreaterThan(pct - 2)
    expect(share).toBeLessThan(pct + 2)
    expect(sent.length).toBeGreaterThan(10)
  })

  it('does not penalise a job that uses less than its share', () => {
    const { gov, job, sent, cpuUse, advance } = rig(50)
    for (let i = 0; i < 100; i++) {
      cpuUse.ms += 30 // 30% of each 100 ms
      advance(100)
      gov.tick()
    }
    expect(sent).toEqual([])
    expect(gov.isStopped(job)).toBe(false)
  })

  it('drops a job whose signal fails with ESRCH, and leaves one alone on EPERM', () => {
    let mono = 0
    const calls: Signal[] = []
    let code = 'ESRCH'
    const gov = governor({
      limits: limits({ cpuPercent: 0 }),
      tickMs: 0,
      probeMs: 0,
      monotonic: () => mono,
      procfs: false,
      signal: (_pid, sig) => {
        calls.push(sig)
        throw Object.assign(new Error(code), { code })
      },
    })
    const a = idleJob({ ms: 0 })
    gov.track(a)
    expect(gov.status().running).toBe(0)
    expect(a.suspends).toEqual([])
    code = 'EPERM'
    const b = idleJob({ ms: 0 })
    gov.track(b)
    mono += 100
    gov.tick()
    expect(gov.status().running).toBe(1)
    expect(calls).toEqual(['SIGSTOP', 'SIGSTOP'])
    expect(b.suspends).toEqual([])
  })

  it("emits 'change' after the jobs were stopped or continued, so listeners can act on it", () => {
    const { gov, job, step } = rig(50)
    gov.setLimits(limits({ cpuPercent: 50, cpuCores: 2 }))
    const seen: Array<[string | null, boolean, number]> = []
    gov.on('change', (c: { blockedBy: string | null }) =>
      seen.push([c.blockedBy, gov.isStopped(job), gov.slots()]),
    )
    gov.setPause({ until: null })
    expect(seen).toEqual([['paused', true, 0]])
    gov.setPause(null)
    expect(seen[1]).toEqual([null, expect.any(Boolean), Math.min(2, gov.machineCores) - 1])
    // It has no credit yet; the next tick gives it some and continues it.
    step()
    expect(gov.isStopped(job)).toBe(false)
  })

  it('refuses to track something without a pid', () => {
    const gov = governor({ tickMs: 0 })
    expect(() => gov.track({ pid: -1, setSuspended: () => {}, cpuMs: () => 0 })).toThrow(
      /process id/,
    )
  })
})
