// Runs one compute job in its own OS process (runner.ts) under caps, and turns whatever happens
// into a RunResult. Nothing here throws at the caller or from an event handler: a refused module,
// a failed spawn, a crash, a malformed message from the child, all become failed results, and the
// node goes on.
//
// The process: `node <flags> compute-runner.mjs` (or runner.ts through tsx in a source checkout),
// spawned through `chrt --idle 0` on Linux where that works (SCHED_IDLE) and set to nice 19 right
// after spawn, with a minimal environment (PATH, ELECTRON_RUN_AS_NODE=1), cwd the OS temp dir, no
// stdin or stdout, stderr piped (kept to STDERR_KEEP bytes for crash messages) and an IPC channel.
// Node opens its own descriptors close-on-exec, so the child inherits nothing else.
//
// Caps, enforced here:
//   memory   the wasm memory's maximum is the cap (abi.ts checks the declared minimum first); a
//            run that failed after its memory grew to within an eighth of that maximum (where a
//            refused memory.grow is the likely cause) is reported as 'memory'. As a
//            backstop the process is killed with 'memory' when its RSS passes limits.memoryBytes +
//            RSS_ALLOWANCE_BYTES (Node and V8's own share). RSS is read from /proc/PID/status on
//            Linux every POLL_MS, and elsewhere taken from the runner's own reports.
//   wall     SIGKILL after limits.wallMs of *running* wall time: while the CPU governor has the
//            process stopped it calls setSuspended(true), and that time does not count.
//   output   limits.outputMaxBytes (default and at most JOB_OUTPUT_MAX_BYTES): 'too-large'.
// CPU time (user + system of the whole process) is read from /proc/PID/stat on Linux just before
// the process is killed at the end, and otherwise taken from the runner's reports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { JobErrorKind } from '../../../shared/contract.ts'
import { findPackageRoot } from '../util/root.ts'
import { JOB_OUTPUT_MAX_BYTES, checkInput, checkModule } from './abi.ts'

export interface JobLimits {
  /** Memory the job may use: the wasm memory's maximum (rounded down to 64 KiB pages). */
  memoryBytes: number
  /** Running wall time (ms), not counting time suspended. */
  wallMs: number
  /** Output cap (bytes); JOB_OUTPUT_MAX_BYTES when absent, and never above it. */
  outputMaxBytes?: number
}

interface Usage {
  /** CPU time of the job process, user + system (ms). */
  cpuMs: number
  /** Running wall time: from spawn to the end, less the time suspended (ms). */
  wallMs: number
  /** The highest RSS of the job process seen (bytes); 0 if it was never measured. */
  peakRssBytes: number
}

export type RunResult =
  | ({ ok: true; output: Buffer } & Usage)
  | ({ ok: false; kind: JobErrorKind; message: string } & Usage)

export interface JobProcess {
  /** The job process's pid; -1 when no process was started (a refused module, a failed spawn). */
  readonly pid: number
  /** Resolves once the job has finished and its process is gone; never rejects. */
  readonly done: Promise<RunResult>
  /**
   * Kills the job (SIGKILL). `done` resolves with kind `kind` ('crashed' unless given) and the
   * message `reason` ('killed'). No effect once the job has finished.
   */
  kill(reason?: string, kind?: JobErrorKind): void
  /**
   * Tells the sandbox the process was stopped (SIGSTOP, true) or continued (SIGCONT, false) by
   * the CPU governor: the wall clock does not run while suspended. Sends no signal itself.
   */
  setSuspended(suspended: boolean): void
  /** The latest known CPU time of the job process (ms). */
  cpuMs(): number
  /** Running wall time so far (ms). */
  wallMs(): number
}

export interface RunnerCommand {
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
}

export interface StartOptions {
  /** Another way to start the runner (tests start a freshly bundled one). */
  runner?: RunnerCommand
}

/**
 * RSS the runner process may use above limits.memoryBytes: Node, V8, the worker thread and the
 * compiled module. Measured with Node 20: about 52 MiB for the bundled runner, 87 MiB for
 * runner.ts under tsx; Electron as Node and the compilation of a 2 MiB module take more.
 */
export const RSS_ALLOWANCE_BYTES = 128 * 1024 * 1024
/** How often the parent reads /proc for RSS and CPU time. */
const POLL_MS = 150
/** stderr kept from the runner, for crash messages. */
const STDERR_KEEP = 4096
/**
 * Node flags of the runner process. Not --single-threaded (nor --single-threaded-gc or
 * --no-concurrent-recompilation): measured from /proc/PID/task/TID/stat on Node 20 over 5 s of
 * a busy job (a 422 KiB module of 1500 hot functions), the wasm thread took 4.9 s and V8's
 * background threads 60 ms in all, with or without them; the only moment over one core is start-up
 * (the runner's main thread and its worker, about 120% for 250 ms), which these flags don't change.
 * The wasm memory is outside the GC'd heap, and the governor charges every thread's CPU time.
 */
const NODE_FLAGS = [
  // The runner's own JS heap is tiny; the job's memory is a wasm memory outside it.
  '--max-old-space-size=64',
  '--disallow-code-generation-from-strings',
  '--no-addons',
  '--no-warnings',
]

const RESULT_KINDS: ReadonlySet<JobErrorKind> = new Set<JobErrorKind>([
  'invalid',
  'forbidden-import',
  'too-large',
  'trap',
  'memory',
  'crashed',
])

let chrtWorks: boolean | null = null

/** True when `chrt --idle 0` can start this Node (Linux with util-linux); probed once. */
function canUseChrt(env: NodeJS.ProcessEnv): boolean {
  if (chrtWorks !== null) return chrtWorks
  chrtWorks = false
  if (process.platform !== 'linux' || !existsSync('/usr/bin/chrt')) return chrtWorks
  try {
    const r = spawnSync('/usr/bin/chrt', ['--idle', '0', process.execPath, '--version'], {
      env,
      stdio: 'ignore',
      timeout: 5000,
    })
    chrtWorks = r.status === 0
  } catch {
    chrtWorks = false
  }
  return chrtWorks
}

/** The runner bundle inside a packaged app: app.asar.unpacked when it was unpacked. */
function unpacked(file: string): string {
  const marker = `app.asar${path.sep}`
  const i = file.indexOf(marker)
  if (i < 0) return file
  const alt = `${file.slice(0, i)}app.asar.unpacked${path.sep}${file.slice(i + marker.length)}`
  return existsSync(alt) ? alt : file
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs
  } catch {
    return -1
  }
}

/**
 * How to start the runner: the bundle dist/runner/compute-runner.mjs when it exists and is not
 * older than main/engine/compute/runner.ts (or that source is absent, as in a packaged app);
 * otherwise runner.ts through tsx. On Linux through `chrt --idle 0` when that works.
 */
export function runnerCommand(opts: { root?: string } = {}): RunnerCommand {
  const env: NodeJS.ProcessEnv = { ELECTRON_RUN_AS_NODE: '1' }
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH
  // Windows needs SystemRoot for much of anything.
  if (process.platform === 'win32' && process.env.SystemRoot)
    env.SystemRoot = process.env.SystemRoot

  const root = opts.root ?? findPackageRoot(import.meta.url)
  const source = root
    ? path.join(root, 'main', 'engine', 'compute', 'runner.ts')
    : fileURLToPath(new URL('./runner.ts', import.meta.url))
  const bundle = root ? unpacked(path.join(root, 'dist', 'runner', 'compute-runner.mjs')) : null
  let entry: string[]
  if (bundle && existsSync(bundle) && (!existsSync(source) || mtime(bundle) >= mtime(source))) {
    entry = [bundle]
  } else {
    const tsx = createRequire(import.meta.url).resolve('tsx')
    entry = ['--import', pathToFileURL(tsx).href, source]
  }
  const args = [...NODE_FLAGS, ...entry]
  if (canUseChrt(env)) {
    return { command: '/usr/bin/chrt', args: ['--idle', '0', process.execPath, ...args], env }
  }
  return { command: process.execPath, args, env }
}

/** user + system CPU time of a process from /proc/PID/stat (ms); null where unreadable. */
function procCpuMs(pid: number): number | null {
  if (process.platform !== 'linux' || pid <= 0) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15, in USER_HZ (100).
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null
    return (utime + stime) * 10
  } catch {
    return null
  }
}

/** VmRSS of a process from /proc/PID/status (bytes); null where unreadable. */
function procRssBytes(pid: number): number | null {
  if (process.platform !== 'linux' || pid <= 0) return null
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
}

/**
 * Starts a job in its own process. Throws nothing: a module or input that fails the checks
 * resolves `done` with the failure at once, without a process (pid -1).
 */
export function startJob(
  module: Buffer,
  input: Buffer,
  limits: JobLimits,
  options: StartOptions = {},
): JobProcess {
  const startedAt = performance.now()
  let runningMs = 0
  let runningSince: number | null = startedAt // null while suspended
  const elapsed = (): number =>
    runningMs + (runningSince === null ? 0 : performance.now() - runningSince)

  let cpu = 0
  let peakRss = 0
  let outcome:
    { ok: true; output: Buffer } | { ok: false; kind: JobErrorKind; message: string } | null = null
  let settled = false
  let resolveDone!: (r: RunResult) => void
  const done = new Promise<RunResult>((resolve) => {
    resolveDone = resolve
  })
  let child: ChildProcess | null = null
  let wallTimer: NodeJS.Timeout | null = null
  let pollTimer: NodeJS.Timeout | null = null

  const settle = (): void => {
    if (settled) return
    settled = true
    if (runningSince !== null) {
      runningMs += performance.now() - runningSince
      runningSince = null
    }
    if (wallTimer) clearTimeout(wallTimer)
    if (pollTimer) clearInterval(pollTimer)
    const usage: Usage = {
      cpuMs: Math.round(cpu),
      wallMs: Math.round(runningMs),
      peakRssBytes: peakRss,
    }
    const o = outcome ?? { ok: false as const, kind: 'crashed' as const, message: 'the job ended' }
    resolveDone({ ...o, ...usage })
  }

  /** Records the first outcome, reads the final CPU time, and makes sure the process dies. */
  const finish = (o: NonNullable<typeof outcome>): void => {
    if (outcome) return
    outcome = o
    if (wallTimer) clearTimeout(wallTimer)
    const pid = child?.pid ?? -1
    const procCpu = procCpuMs(pid)
    if (procCpu !== null) cpu = Math.max(cpu, procCpu)
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone: 'exit' settles
      }
    } else {
      settle()
    }
  }

  const fail = (kind: JobErrorKind, message: string): void => finish({ ok: false, kind, message })

  const job: JobProcess = {
    get pid() {
      return child?.pid ?? -1
    },
    done,
    kill(reason = 'killed', kind: JobErrorKind = 'crashed') {
      fail(kind, reason)
    },
    setSuspended(suspended: boolean) {
      if (outcome) return
      if (suspended && runningSince !== null) {
        runningMs += performance.now() - runningSince
        runningSince = null
        if (wallTimer) clearTimeout(wallTimer)
        wallTimer = null
      } else if (!suspended && runningSince === null) {
        runningSince = performance.now()
        armWall()
      }
    },
    cpuMs: () => Math.round(cpu),
    wallMs: () => Math.round(elapsed()),
  }

  const armWall = (): void => {
    if (wallTimer) clearTimeout(wallTimer)
    wallTimer = null
    if (outcome || runningSince === null) return
    const left = limits.wallMs - elapsed()
    if (left <= 0) {
      fail('timeout', `the job ran past its wall-time cap of ${limits.wallMs} ms`)
      return
    }
    // setTimeout takes at most 2^31 - 1 ms; a longer cap is reached in steps.
    wallTimer = setTimeout(armWall, Math.min(Math.ceil(left), 2 ** 31 - 1))
  }

  const refuse = (kind: JobErrorKind, message: string): JobProcess => {
    outcome = { ok: false, kind, message }
    settle()
    return job
  }

  // Checks before anything starts.
  if (!((module as unknown) instanceof Uint8Array)) {
    return refuse('invalid', 'the module is not bytes')
  }
  if (!((input as unknown) instanceof Uint8Array)) {
    return refuse('invalid', 'the input is not bytes')
  }
  if (!(limits.memoryBytes > 0) || !(limits.wallMs > 0)) {
    return refuse('invalid', 'the job limits need a memory and a wall-time cap above 0')
  }
  const outputMax = Math.min(
    JOB_OUTPUT_MAX_BYTES,
    Math.max(0, Math.floor(limits.outputMaxBytes ?? JOB_OUTPUT_MAX_BYTES)),
  )
  const inputProblem = checkInput(input)
  if (inputProblem) return refuse(inputProblem.kind, inputProblem.message)
  const checked = checkModule(module, { memoryCapBytes: limits.memoryBytes })
  if (!checked.ok) return refuse(checked.kind, checked.message)

  let cmd: RunnerCommand
  try {
    cmd = options.runner ?? runnerCommand()
    child = spawn(cmd.command, cmd.args, {
      env: cmd.env,
      cwd: os.tmpdir(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      windowsHide: true,
    })
  } catch (err) {
    return refuse('crashed', `could not start the job process: ${String(err)}`)
  }
  const proc = child
  if (proc.pid !== undefined) {
    try {
      os.setPriority(proc.pid, 19)
    } catch {
      // not permitted here: chrt (or nothing) has to do
    }
  }

  let stderr = ''
  proc.stderr?.setEncoding('utf8')
  proc.stderr?.on('data', (chunk: string) => {
    if (stderr.length < STDERR_KEEP) stderr = (stderr + chunk).slice(0, STDERR_KEEP)
  })
  proc.stderr?.on('error', () => {})

  proc.on('error', (err) => {
    // spawn failed (ENOENT, EAGAIN, ...), or a signal could not be sent.
    fail('crashed', `the job process failed: ${err.message}`)
    if (proc.pid === undefined) settle()
  })
  // 'close' comes once the process is gone and its stderr and IPC channel are drained, so no
  // message of the runner's is lost; 'exit' alone could come before its last message.
  let closeFallback: NodeJS.Timeout | null = null
  const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (closeFallback) clearTimeout(closeFallback)
    if (!outcome) {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ')
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
      outcome = {
        ok: false,
        kind: 'crashed',
        message: `the job process ${how} before it reported a result${tail ? `: ${tail}` : ''}`,
      }
    }
    settle()
  }
  proc.on('exit', (code, signal) => {
    // In case something else holds the pipes open: settle anyway after a while.
    closeFallback = setTimeout(() => ended(code, signal), 2000)
  })
  proc.on('close', ended)
  proc.on('message', (msg: unknown) => onMessage(msg))

  const observeRss = (bytes: number): void => {
    peakRss = Math.max(peakRss, bytes)
    const cap = limits.memoryBytes + RSS_ALLOWANCE_BYTES
    if (bytes > cap) {
      fail(
        'memory',
        `the job process used ${Math.round(bytes / 2 ** 20)} MiB, over its cap of ` +
          `${Math.round(cap / 2 ** 20)} MiB (${Math.round(limits.memoryBytes / 2 ** 20)} MiB + runtime)`,
      )
    }
  }

  const onMessage = (msg: unknown): void => {
    if (outcome || typeof msg !== 'object' || msg === null) return
    const m = msg as Record<string, unknown>
    if (finite(m.cpuMs)) cpu = Math.max(cpu, m.cpuMs)
    if (finite(m.rss)) observeRss(m.rss)
    if (m.type !== 'result' || outcome) return
    if (m.ok === true) {
      if (!(m.output instanceof Uint8Array)) {
        fail('crashed', 'the runner sent a malformed result')
      } else if (m.output.byteLength > outputMax) {
        fail('too-large', `the output passed the cap of ${outputMax} bytes`)
      } else {
        const out = m.output
        finish({ ok: true, output: Buffer.from(out.buffer, out.byteOffset, out.byteLength) })
      }
    } else {
      const kind = RESULT_KINDS.has(m.kind as JobErrorKind) ? (m.kind as JobErrorKind) : 'crashed'
      const message = typeof m.message === 'string' ? m.message.slice(0, 1000) : 'the job failed'
      fail(kind, message)
    }
  }

  pollTimer = setInterval(() => {
    if (outcome || proc.pid === undefined) return
    const c = procCpuMs(proc.pid)
    if (c !== null) cpu = Math.max(cpu, c)
    const r = procRssBytes(proc.pid)
    if (r !== null) observeRss(r)
  }, POLL_MS)
  armWall()

  try {
    proc.send(
      {
        type: 'job',
        module,
        input,
        initialPages: checked.initialPages,
        maxPages: checked.maxPages,
        outputMax,
      },
      (err) => {
        if (err) fail('crashed', `could not hand the job to its process: ${err.message}`)
      },
    )
  } catch (err) {
    fail('crashed', `could not hand the job to its process: ${String(err)}`)
  }
  return job
}
