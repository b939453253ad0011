// Measurement helpers shared by both contenders: clocks, child processes, a /proc sampler for
// RSS and CPU, disk usage, tree comparison against the dataset's manifest, and the new-file
// latency probe. Everything here is tool-agnostic: it looks at processes and folders only.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  promises as fs,
  readFileSync,
  readdirSync,
  statSync,
} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { ManifestEntry } from './dataset.ts'
import type { ToolResult } from './report.ts'
import { keystream } from './dataset.ts'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Monotonic milliseconds. */
export const now = () => performance.now()

export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length % 2) return sorted[mid] ?? null
  return ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export class BenchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BenchError'
  }
}

/** Polls `check` every `intervalMs` until it returns a non-null value or `timeoutMs` passes. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | null> | T | null,
  opts: { intervalMs: number; timeoutMs: number },
): Promise<T> {
  const deadline = now() + opts.timeoutMs
  for (;;) {
    const value = await check()
    if (value !== null) return value
    if (now() > deadline) {
      throw new BenchError(
        `timed out after ${(opts.timeoutMs / 1000).toFixed(0)} s waiting for ${what}`,
      )
    }
    await sleep(opts.intervalMs)
  }
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      server.close(() => resolve(port))
    })
  })
}

// ---- Child processes ----

const live = new Set<Daemon>()

/** A long-running child (a daemon) whose output goes to a log file. */
export class Daemon {
  readonly name: string
  readonly child: ChildProcess
  readonly logFile: string
  readonly startedAt: number
  /** Wall-clock time of the spawn, to compare with timestamps a daemon reports. */
  readonly startedWall: number
  exitCode: number | null = null
  exitSignal: NodeJS.Signals | null = null
  readonly exited: Promise<void>

  constructor(
    name: string,
    cmd: string,
    args: string[],
    opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ) {
    this.name = name
    this.logFile = opts.logFile
    const log = createWriteStream(opts.logFile, { flags: 'a' })
    log.write(`$ ${cmd} ${args.join(' ')}\n`)
    this.startedAt = now()
    this.startedWall = Date.now()
    this.child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.pipe(log, { end: false })
    this.child.stderr?.pipe(log, { end: false })
    live.add(this)
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exitCode = code
        this.exitSignal = signal
        live.delete(this)
        log.end()
        resolve()
      }
      this.child.once('exit', done)
      this.child.once('error', (err) => {
        log.write(`spawn error: ${err.message}\n`)
        done(127, null)
      })
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null && this.pid > 0
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with true if it stopped on SIGTERM. */
  async stop(graceMs = 15_000): Promise<boolean> {
    if (!this.running) return true
    this.child.kill('SIGTERM')
    const timer = sleep(graceMs).then(() => 'timeout' as const)
    const result = await Promise.race([this.exited.then(() => 'exited' as const), timer])
    if (result === 'exited') return true
    this.child.kill('SIGKILL')
    await this.exited
    return false
  }

  async tail(lines = 20): Promise<string> {
    const text = await fs.readFile(this.logFile, 'utf8').catch(() => '')
    return text.split('\n').slice(-lines).join('\n')
  }
}

/** Kills every daemon still running (used on errors and Ctrl-C). */
export function killAllDaemons(): void {
  for (const d of live) {
    try {
      d.child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
}

export interface CommandResult {
  code: number
  stdout: string
  stderr: string
  ms: number
}

/**
 * mkdir -p, then asks ext2/3/4 (`chattr +T`) to place each directory made in it like a top-level
 * directory: in a block group of its own with free inodes, not in its parent's. Each run deletes
 * the last run's 10,000+ files, and ext4 without a journal (these machines) passes over inodes
 * freed in the last 60 s (360 s while their inode table block is dirty) each time it allocates
 * one, scanning from the start of the group: a file created in the group the last run left took
 * 0.3-1 ms instead of 30-50 µs (perf: __ext4_new_inode -> find_inode_bit -> recently_deleted).
 * Returns false where the flag can't be set (another file system, no chattr); nothing else
 * changes then.
 */
export async function mkdirSpread(dir: string): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true })
  if (process.platform !== 'linux') return false
  return (await runCommand('chattr', ['+T', dir], { timeoutMs: 10_000 })).code === 0
}

/** Runs a short command to completion and captures its output. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; inherit?: boolean } = {},
): Promise<CommandResult> {
  const started = now()
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(killed after ${opts.timeoutMs} ms)`
          child.kill('SIGKILL')
        }, opts.timeoutMs)
      : null
    child.on('error', (err) => {
      if (timer) clearTimeout(timer)
      resolve({ code: 127, stdout, stderr: stderr + err.message, ms: now() - started })
    })
    child.on('close', (code) => {
      if (timer) clearTimeout(timer)
      resolve({ code: code ?? 1, stdout, stderr, ms: now() - started })
    })
  })
}

// ---- /proc sampler: RSS and CPU of a process tree ----

export interface ProcessInfo {
  pid: number
  name: string
  /** Peak RSS (VmHWM) last read for this process, bytes. */
  hwm: number
  /** utime + stime, seconds. */
  cpu: number
}

export interface TreeStats {
  /** Every process seen in the tree, with its own peak. */
  processes: ProcessInfo[]
  /** Peak RSS of the biggest process in the tree (its VmHWM), bytes. */
  maxProcessHwm: number
  /** Sum of every process's VmHWM: an upper bound of the tree's peak, bytes. */
  sumHwm: number
  /** Highest sum of VmRSS over the tree seen by the sampler, bytes. */
  peakTreeRss: number
  /** CPU seconds of the whole tree. */
  cpu: number
}

const CLK_TCK = 100

function readStatus(pid: number): { rss: number; hwm: number; name: string } | null {
  try {
    const text = readText(`/proc/${pid}/status`)
    const field = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)
      return m && m[1] ? Number(m[1]) * 1024 : 0
    }
    const name = /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '?'
    return { rss: field('VmRSS'), hwm: field('VmHWM'), name }
  } catch {
    return null
  }
}

function readCpu(pid: number): number | null {
  try {
    const text = readText(`/proc/${pid}/stat`)
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK
  } catch {
    return null
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = []
  try {
    for (const tid of readdirSyncSafe(`/proc/${pid}/task`)) {
      const text = readText(`/proc/${pid}/task/${tid}/children`).trim()
      if (text) out.push(...text.split(/\s+/).map(Number))
    }
  } catch {
    // gone
  }
  return out
}

function readText(file: string): string {
  return readFileSync(file, 'utf8')
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Samples VmRSS / VmHWM / CPU of a process and its descendants every `intervalMs`. */
export class TreeSampler {
  private readonly root: number
  private readonly seen = new Map<number, ProcessInfo>()
  private peakTreeRss = 0
  private timer: NodeJS.Timeout | null = null
  private ticks = 0

  constructor(rootPid: number, intervalMs = 100) {
    this.root = rootPid
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.timer.unref()
  }

  private tree(): number[] {
    const out: number[] = []
    const stack = [this.root]
    while (stack.length) {
      const pid = stack.pop() as number
      out.push(pid)
      stack.push(...childrenOf(pid))
    }
    return out
  }

  private pids: number[] = []

  /** Takes one sample now (call it right before stopping the daemon). */
  sample(): void {
    if (this.ticks++ % 10 === 0 || this.pids.length === 0) this.pids = this.tree()
    let sum = 0
    for (const pid of this.pids) {
      const st = readStatus(pid)
      if (!st) continue
      const cpu = readCpu(pid)
      const prev = this.seen.get(pid)
      this.seen.set(pid, {
        pid,
        name: st.name,
        hwm: Math.max(st.hwm, prev?.hwm ?? 0),
        cpu: cpu ?? prev?.cpu ?? 0,
      })
      sum += st.rss
    }
    this.peakTreeRss = Math.max(this.peakTreeRss, sum)
  }

  /** CPU seconds of the tree so far (takes a fresh sample while running). */
  cpu(): number {
    if (this.timer) this.sample()
    let total = 0
    for (const p of this.seen.values()) total += p.cpu
    return total
  }

  stop(): TreeStats {
    this.pids = this.tree()
    this.sample()
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    const processes = [...this.seen.values()]
    return {
      processes,
      maxProcessHwm: Math.max(0, ...processes.map((p) => p.hwm)),
      sumHwm: processes.reduce((s, p) => s + p.hwm, 0),
      peakTreeRss: this.peakTreeRss,
      cpu: this.cpu(),
    }
  }
}

// ---- Disk usage ----

/** Bytes allocated on disk under `dir` (like `du -s --block-size=1`; hard links counted once). */
export async function diskUsage(dir: string): Promise<number> {
  const seenInodes = new Set<string>()
  let total = 0
  const walk = async (p: string) => {
    const st = await fs.lstat(p).catch(() => null)
    if (!st) return
    const id = `${st.dev}:${st.ino}`
    if (seenInodes.has(id)) return
    seenInodes.add(id)
    total += st.blocks * 512
    if (st.isDirectory()) {
      const names = await fs.readdir(p).catch(() => [] as string[])
      for (const name of names) await walk(path.join(p, name))
    }
  }
  await walk(dir)
  return total
}

// ---- Tree comparison ----

/** Relative paths ('/' separated) of every regular file and symlink under root. */
export async function listTree(
  root: string,
  ignore: (rel: string) => boolean,
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const walk = async (dir: string, rel: string) => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (ignore(r)) continue
      const full = path.join(dir, e.name)
      if (e.isDirectory()) await walk(full, r)
      else {
        const st = await fs.lstat(full).catch(() => null)
        if (st) out.set(r, st.size)
      }
    }
  }
  await walk(root, '')
  return out
}

/**
 * Waits until every manifest file exists under `root` with its size. Each poll lists only the
 * directories that still have pending files and stats only the pending names that are listed,
 * so a poll costs a few milliseconds even with 5,000 files outstanding and the prober does not
 * steal CPU from the daemons it measures. (Both tools write to a temporary name and rename, so
 * a listed name is a whole file; the size check and the later checksum verify it.) Resolves
 * with the monotonic time at which the last file was seen complete.
 */
export async function waitForFiles(
  root: string,
  files: ManifestEntry[],
  opts: { intervalMs: number; timeoutMs: number; onProgress?: (done: number) => void },
): Promise<number> {
  const byDir = new Map<string, Map<string, number>>()
  for (const f of files) {
    const full = path.join(root, f.path)
    const dir = path.dirname(full)
    let names = byDir.get(dir)
    if (!names) byDir.set(dir, (names = new Map()))
    names.set(path.basename(full), f.size)
  }
  const total = files.length
  let done = 0
  return pollUntil(
    `all ${total} files at ${root}`,
    () => {
      for (const [dir, names] of byDir) {
        let listed: string[]
        try {
          listed = readdirSync(dir)
        } catch {
          continue
        }
        for (const name of listed) {
          const size = names.get(name)
          if (size === undefined) continue
          try {
            if (statSync(path.join(dir, name)).size !== size) continue
          } catch {
            continue
          }
          names.delete(name)
          done++
        }
        if (names.size === 0) byDir.delete(dir)
      }
      opts.onProgress?.(done)
      return byDir.size === 0 ? now() : null
    },
    { intervalMs: opts.intervalMs, timeoutMs: opts.timeoutMs },
  )
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}

export interface TreeCheck {
  ok: boolean
  missing: string[]
  wrongSize: string[]
  wrongHash: string[]
  extra: string[]
  hashed: number
}

/**
 * Compares `root` with the manifest: the file list and sizes, then the SHA-256 of every file
 * (of every `sampleEvery`-th small file and every big one when sampling). Extra files are listed
 * but do not fail the check (tools keep their own markers; `ignore` hides the known ones).
 */
export async function checkTree(
  root: string,
  files: ManifestEntry[],
  ignore: (rel: string) => boolean,
  opts: { sampleEvery?: number } = {},
): Promise<TreeCheck> {
  const found = await listTree(root, ignore)
  const missing: string[] = []
  const wrongSize: string[] = []
  const wrongHash: string[] = []
  const expected = new Set<string>()
  let hashed = 0
  const every = Math.max(1, opts.sampleEvery ?? 1)
  let i = 0
  for (const f of files) {
    expected.add(f.path)
    const size = found.get(f.path)
    if (size === undefined) missing.push(f.path)
    else if (size !== f.size) wrongSize.push(f.path)
    else if (f.size > 1 << 20 || i++ % every === 0) {
      hashed++
      if ((await sha256File(path.join(root, f.path))) !== f.sha256) wrongHash.push(f.path)
    }
  }
  const extra = [...found.keys()].filter((p) => !expected.has(p))
  return {
    ok: missing.length + wrongSize.length + wrongHash.length === 0,
    missing,
    wrongSize,
    wrongHash,
    extra,
    hashed,
  }
}

export function describeCheck(c: TreeCheck): string {
  const part = (label: string, list: string[]) =>
    list.length
      ? `${list.length} ${label} (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', ...' : ''})`
      : ''
  return (
    [
      part('missing', c.missing),
      part('of the wrong size', c.wrongSize),
      part('with the wrong content', c.wrongHash),
      part('extra', c.extra),
    ]
      .filter(Boolean)
      .join('; ') || 'identical'
  )
}

// ---- New-file latency ----

/**
 * Writes a new 4 KiB file at the owner's folder and polls the reader's folder every `pollMs`
 * until it is there, complete and of the right size; `runs` times, `gapMs` apart (measured from
 * the previous arrival). Returns the latencies in ms; a run that times out is recorded as null.
 */
export async function newFileLatency(opts: {
  ownerDir: string
  readerDir: string
  runs: number
  gapMs: number
  pollMs: number
  timeoutMs: number
  size?: number
  log: (msg: string) => void
}): Promise<Array<number | null>> {
  const size = opts.size ?? 4096
  const out: Array<number | null> = []
  for (let i = 0; i < opts.runs; i++) {
    await sleep(opts.gapMs)
    const name = `latency-${Date.now()}-${i}.bin`
    const data = keystream('latency', name)(size)
    const target = path.join(opts.readerDir, name)
    const started = now()
    await fs.writeFile(path.join(opts.ownerDir, name), data)
    let ms: number | null = null
    try {
      ms = await pollUntil(
        `${name} at the reader`,
        async () => {
          try {
            if (statSync(target).size !== size) return null
          } catch {
            return null
          }
          const arrived = now() - started
          const content = await fs.readFile(target)
          if (!content.equals(data)) return null
          return arrived
        },
        { intervalMs: opts.pollMs, timeoutMs: opts.timeoutMs },
      )
    } catch (err) {
      opts.log(`  new file ${i + 1}: ${(err as Error).message}`)
    }
    out.push(ms)
    if (ms !== null) opts.log(`  new file ${i + 1}/${opts.runs}: ${(ms / 1000).toFixed(3)} s`)
  }
  return out
}

/** What the harness hands each contender. */
export interface RunContext {
  files: ManifestEntry[]
  totalBytes: number
  /** The cached dataset, copied into the owner's folder by each contender. */
  datasetRoot: string
  /** A fresh directory for this contender's folders, data directories and logs. */
  runDir: string
  /** New-file runs, the pause before each, and the reader poll interval. */
  runs: number
  gapMs: number
  pollMs: number
  /** Upper bound for each long wait (import, delivery). */
  timeoutMs: number
  log: (msg: string) => void
}

/**
 * Figure 2 for either tool: waits until every file is at `root` with its size, then checks the
 * whole tree's content. If some files had their size before their content (a tool that writes
 * in place), waits for their content too and takes that moment as the end.
 */
export async function deliverAndCheck(
  root: string,
  ctx: RunContext,
  ignore: (rel: string) => boolean,
  onSizesComplete?: () => void,
): Promise<{ doneAt: number; check: TreeCheck; note: string | null }> {
  let doneAt = await waitForFiles(root, ctx.files, { intervalMs: 100, timeoutMs: ctx.timeoutMs })
  onSizesComplete?.()
  let check = await checkTree(root, ctx.files, ignore)
  let note: string | null = null
  if (!check.ok && check.missing.length + check.wrongSize.length === 0) {
    const late = new Map(ctx.files.map((f) => [f.path, f]))
    let pending = check.wrongHash.map((p) => late.get(p)).filter((f): f is ManifestEntry => !!f)
    const first = pending.length
    doneAt = await pollUntil(
      `the content of ${first} files at ${root}`,
      async () => {
        const still: ManifestEntry[] = []
        for (const f of pending) {
          if ((await sha256File(path.join(root, f.path)).catch(() => '')) !== f.sha256)
            still.push(f)
        }
        pending = still
        return pending.length === 0 ? now() : null
      },
      { intervalMs: 100, timeoutMs: ctx.timeoutMs },
    )
    note = `${first} files had their final size before their final content (written in place?); the time counts until their content matched`
    check = await checkTree(root, ctx.files, ignore)
  }
  return { doneAt, check, note }
}

// ---- The machine's state: runs on a busy or slow machine are not comparable ----

export interface MachineProbe {
  cpus: number
  memory: number
  /** 1, 5 and 15 minute load averages. */
  load: number[]
  /** Median time of one 4 KiB write + fdatasync in the work directory, ms. */
  fsyncMs: number
}

export async function probeMachine(workDir: string, count = 100): Promise<MachineProbe> {
  const file = path.join(workDir, `fsync-probe-${process.pid}`)
  const times: number[] = []
  const handle = await fs.open(file, 'w')
  try {
    const block = Buffer.alloc(4096, 1)
    for (let i = 0; i < count; i++) {
      const t = now()
      await handle.write(block, 0, block.length, i * block.length)
      await handle.datasync()
      times.push(now() - t)
    }
  } finally {
    await handle.close()
    await fs.rm(file, { force: true })
  }
  return {
    cpus: os.cpus().length,
    memory: os.totalmem(),
    load: os.loadavg(),
    fsyncMs: median(times) ?? 0,
  }
}

export function describeMachine(m: MachineProbe): string {
  return (
    `${m.cpus} cores, ${(m.memory / 2 ** 30).toFixed(0)} GiB, load ${m.load.map((x) => x.toFixed(1)).join(' ')}, ` +
    `4 KiB write + fdatasync ${m.fsyncMs.toFixed(2)} ms`
  )
}

/**
 * The last figures of a run, the same for both tools: 4 (new-file latency, median of the runs)
 * and 5-6 (peak RSS from the samplers, which are stopped, and disk used by each data dir).
 */
export async function finishFigures(
  ctx: RunContext,
  result: ToolResult,
  opts: {
    tool: string
    ownerDir: string
    readerDir: string
    ownerData: string
    readerData: string
    ownerSampler: TreeSampler
    readerSampler: TreeSampler
  },
): Promise<void> {
  ctx.log(`${opts.tool}: ${ctx.runs} new 4 KiB files, A → B`)
  result.newFileRuns = await newFileLatency({
    ownerDir: opts.ownerDir,
    readerDir: opts.readerDir,
    runs: ctx.runs,
    gapMs: ctx.gapMs,
    pollMs: ctx.pollMs,
    timeoutMs: 60_000,
    log: ctx.log,
  })
  result.newFileMs = median(result.newFileRuns.filter((v): v is number => v !== null))
  result.ownerProc = opts.ownerSampler.stop()
  result.readerProc = opts.readerSampler.stop()
  result.ownerDisk = await diskUsage(opts.ownerData)
  result.readerDisk = await diskUsage(opts.readerData)
}

/**
 * Figures 2 and 3 for either tool, from what deliverAndCheck() saw: delivery time from the
 * reader's start and from being told, throughput, the CPU spent meanwhile, and the tree check
 * (a differing tree ends the run).
 */
export function recordDelivery(
  ctx: RunContext,
  result: ToolResult,
  d: {
    tool: string
    delivered: { doneAt: number; check: TreeCheck; note: string | null }
    startedAt: number
    toldAt: number
    connectedMs: number
    ownerCpu: number
    readerCpu: number
  },
): void {
  result.connectMs = d.connectedMs >= 0 ? d.connectedMs : null
  result.deliverMs = d.delivered.doneAt - d.startedAt
  result.deliverFromToldMs = d.delivered.doneAt - d.toldAt
  result.mbps = ctx.totalBytes / 1e6 / (result.deliverMs / 1000)
  result.ownerCpuDeliver = d.ownerCpu
  result.readerCpuDeliver = d.readerCpu
  const check = d.delivered.check
  result.check = `${describeCheck(check)} (${check.hashed} files checksummed)`
  if (d.delivered.note) result.notes.push(d.delivered.note)
  if (!check.ok) throw new BenchError(`B's tree differs from the dataset: ${result.check}`)
  ctx.log(`${d.tool}: B complete in ${(result.deliverMs / 1000).toFixed(2)} s; content checked`)
}

// ---- Two-way helpers: loopback traffic and comparing live trees ----

/**
 * Bytes that crossed the loopback interface of this network namespace so far, from
 * /proc/self/net/dev: every process's traffic, IP and transport headers included. Inside
 * ../shared/tools/offline only the bench and the daemons it starts use it. Null when unreadable.
 */
export function loopbackBytes(): number | null {
  try {
    const line = readText('/proc/self/net/dev')
      .split('\n')
      .find((l) => l.trim().startsWith('lo:'))
    const fields = line?.split(':')[1]?.trim().split(/\s+/).map(Number) ?? []
    // Receive bytes come first; on loopback every byte sent is also received.
    const rx = fields[0]
    return rx !== undefined && Number.isFinite(rx) ? rx : null
  } catch {
    return null
  }
}

/** Relative path → 'd', 'l:TARGET' or 'f:SIZE' for everything under `root`. */
async function treeShape(
  root: string,
  ignore: (rel: string) => boolean,
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (dir: string, rel: string) => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (ignore(r)) continue
      const full = path.join(dir, e.name)
      if (e.isDirectory()) {
        out.set(r, 'd')
        await walk(full, r)
      } else if (e.isSymbolicLink()) {
        out.set(r, `l:${await fs.readlink(full).catch(() => '?')}`)
      } else {
        const st = await fs.lstat(full).catch(() => null)
        if (st) out.set(r, `f:${st.size}`)
      }
    }
  }
  await walk(root, '')
  return out
}

function diffShapes(a: Map<string, string>, b: Map<string, string>, names: [string, string]) {
  const lines: string[] = []
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(k)
    const y = b.get(k)
    if (x !== y)
      lines.push(`${k}: ${x ?? 'missing'} at ${names[0]}, ${y ?? 'missing'} at ${names[1]}`)
  }
  return lines
}

/**
 * Whether the trees under `roots` are the same: names, kinds, sizes and symlink targets, then the
 * content (SHA-256) of every file up to `hashUpTo` bytes. Bigger files are compared by size here;
 * check their content separately where it matters. `diff` names the first differences.
 */
export async function compareTrees(
  roots: string[],
  names: string[],
  ignore: (rel: string) => boolean,
  hashUpTo = 1 << 20,
): Promise<{ same: boolean; diff: string }> {
  const shapes = await Promise.all(roots.map((r) => treeShape(r, ignore)))
  const first = shapes[0] ?? new Map<string, string>()
  const name = (i: number) => names[i] ?? String(i)
  for (let i = 1; i < shapes.length; i++) {
    const lines = diffShapes(first, shapes[i] ?? new Map(), [name(0), name(i)])
    if (lines.length) {
      const more = lines.length > 5 ? ` (and ${lines.length - 5} more)` : ''
      return { same: false, diff: lines.slice(0, 5).join('; ') + more }
    }
  }
  for (const [rel, kind] of first) {
    if (!kind.startsWith('f:') || Number(kind.slice(2)) > hashUpTo) continue
    const sums = await Promise.all(
      roots.map((r) => sha256File(path.join(r, rel)).catch(() => 'unreadable')),
    )
    const odd = sums.findIndex((s) => s !== sums[0])
    if (odd > 0) return { same: false, diff: `${rel}: content differs at ${name(odd)}` }
  }
  return { same: true, diff: '' }
}
