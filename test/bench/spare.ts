// The Spare side of the benchmark: two `spare daemon` processes on a HyperDHT bootstrap node
// that this process hosts on 127.0.0.1. Commands go through the CLI (its documented contract):
//   spare daemon --data-dir DIR --network HOST:PORT     (foreground until SIGINT/SIGTERM)
//   spare status --json --data-dir DIR                  (exit 0 once the daemon's API is up)
//   spare share PATH --json --data-dir DIR              → {"invite": "...", "folder": {...}}
//   spare join INVITE PATH --json --data-dir DIR
//   spare folders --json --data-dir DIR                 → [{id, path, role, state, files, bytes,
//                                                          localBytes, peers, ...}]
// Polling state through the CLI costs a Node start per call (a second or more on two busy
// cores), which would both blur the figures and load the machine. So the bench polls through
// the project's own HTTP client (main/daemon/http-client.ts, the CLI's transport) when it can
// import it, and falls back to the CLI otherwise (or with --spare-probe cli).
import HyperDHT from 'hyperdht'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { copyDataset } from './dataset.ts'
import {
  BenchError,
  Daemon,
  TreeSampler,
  deliverAndCheck,
  recordDelivery,
  finishFigures,
  freePort,
  median,
  now,
  pollUntil,
  runCommand,
  type CommandResult,
  type RunContext,
} from './measure.ts'
import { emptyResult, type ToolResult } from './report.ts'
import type * as HttpClient from '../../main/daemon/http-client.ts'

/** The fields of a `spare folders --json` entry the bench reads. */
export interface SpareFolder {
  id: string
  path: string
  role: string
  state: string
  files: number
  bytes: number
  localBytes?: number
  peers: number
  error?: string | null
}

export interface SparePeer {
  folders: string[]
  connectedAt: string
  bytesUp?: number
  bytesDown?: number
}

/** The fields of `spare members ID --json` and `spare versions ID PATH --json` the bench reads. */
export interface SpareMember {
  device: string
  you: boolean
  removed: boolean
}
export interface SpareVersion {
  id: string
  kind: string
  device: string
  current: boolean
}

/** Nothing of Spare's own is expected inside a synced folder. */
const spareIgnore = () => false

/** Spare's temporary files inside a folder while it writes one (two-way trees compare without). */
export function spareTempIgnore(rel: string): boolean {
  return (rel.split('/').pop() ?? rel).startsWith('.spare-tmp-')
}

export type ProbeKind = 'api' | 'cli'

export class SpareCli {
  readonly calls: number[] = []
  constructor(
    private readonly bin: string,
    private readonly dataDir: string,
  ) {}

  async run(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    const r = await runCommand(process.execPath, [this.bin, ...args, '--data-dir', this.dataDir], {
      timeoutMs,
    })
    this.calls.push(r.ms)
    return r
  }

  /** Runs a --json command that must succeed and parses its one JSON document. */
  async json<T>(args: string[], timeoutMs = 60_000): Promise<T> {
    const r = await this.run([...args, '--json'], timeoutMs)
    const cmd = `spare ${args[0] ?? ''}`
    if (r.code !== 0) {
      throw new BenchError(
        `${cmd} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`,
      )
    }
    try {
      return JSON.parse(r.stdout) as T
    } catch {
      throw new BenchError(
        `${cmd} --json did not print one JSON document: ${r.stdout.slice(0, 300)}`,
      )
    }
  }
}

/** Reads a daemon's state: folders, peers, whether its API is up. Null when it can't tell. */
export interface Probe {
  kind: ProbeKind
  up(): Promise<boolean>
  folders(): Promise<SpareFolder[] | null>
  peers(): Promise<SparePeer[] | null>
  members(id: string): Promise<SpareMember[] | null>
  versions(id: string, file: string): Promise<SpareVersion[] | null>
  /** `spare pause` / `spare resume`; throws when the daemon refuses. */
  setPaused(paused: boolean): Promise<void>
}

function cliProbe(cli: SpareCli): Probe {
  return {
    kind: 'cli',
    async up() {
      return (await cli.run(['status', '--json'], 30_000)).code === 0
    },
    async folders() {
      const list = await cli.json<unknown>(['folders'], 30_000).catch(() => null)
      return Array.isArray(list) ? (list as SpareFolder[]) : null
    },
    async peers() {
      const list = await cli.json<unknown>(['peers'], 30_000).catch(() => null)
      return Array.isArray(list) ? (list as SparePeer[]) : null
    },
    async members(id) {
      const list = await cli.json<unknown>(['members', id], 30_000).catch(() => null)
      return Array.isArray(list) ? (list as SpareMember[]) : null
    },
    async versions(id, file) {
      const list = await cli.json<unknown>(['versions', id, file], 30_000).catch(() => null)
      return Array.isArray(list) ? (list as SpareVersion[]) : null
    },
    async setPaused(paused) {
      await cli.json<unknown>([paused ? 'pause' : 'resume'], 30_000)
    },
  }
}

type HttpClientModule = typeof HttpClient

export async function loadHttpClient(log: (msg: string) => void): Promise<HttpClientModule | null> {
  try {
    return (await import('../../main/daemon/http-client.ts')) as HttpClientModule
  } catch (err) {
    log(
      `spare: cannot import main/daemon/http-client.ts (${(err as Error).message}); polling with the CLI`,
    )
    return null
  }
}

function apiProbe(mod: HttpClientModule, dataDir: string): Probe {
  type Client = Awaited<ReturnType<HttpClientModule['connect']>>['client']
  let client: Client | null = null
  const get = async (): Promise<Client | null> => {
    if (client) return client
    try {
      client = (await mod.connect(dataDir)).client
    } catch {
      client = null
    }
    return client
  }
  const call = async <T>(fn: (c: Client) => Promise<T>): Promise<T | null> => {
    const c = await get()
    if (!c) return null
    try {
      return await fn(c)
    } catch {
      return null
    }
  }
  return {
    kind: 'api',
    async up() {
      return (await call((c) => c.call('node.status'))) !== null
    },
    folders: () => call((c) => c.call('folders.list')),
    peers: () => call((c) => c.call('peers.list')),
    members: (id) => call((c) => c.call('folders.members', { id })),
    versions: (id, file) => call((c) => c.call('folders.versions', { id, path: file })),
    async setPaused(paused) {
      const c = await get()
      if (!c) throw new BenchError(`no API client for ${dataDir}`)
      await c.call(paused ? 'sync.pause' : 'sync.resume')
    },
  }
}

/** Matches our folder in `spare folders` by id when `share`/`join` told us one, else by path. */
export async function findFolder(list: SpareFolder[] | null, id: string | null, dir: string) {
  if (!list) return null
  if (id) return list.find((f) => f.id === id) ?? null
  const real = await fs.realpath(dir).catch(() => path.resolve(dir))
  return list.find((f) => path.resolve(f.path) === path.resolve(dir) || f.path === real) ?? null
}

export function idFrom(doc: unknown): string | null {
  if (!doc || typeof doc !== 'object') return null
  const d = doc as { id?: unknown; folder?: { id?: unknown } }
  if (typeof d.id === 'string') return d.id
  if (d.folder && typeof d.folder.id === 'string') return d.folder.id
  return null
}

export interface Side {
  d: Daemon
  cli: SpareCli
  probe: Probe
  apiMs: number
  dataDir: string
}

export async function startDaemon(
  name: string,
  bin: string,
  dataDir: string,
  network: string,
  ctx: { runDir: string },
  http: HttpClientModule | null,
): Promise<Side> {
  await fs.mkdir(dataDir, { recursive: true })
  // Started as users start it (`spare daemon`, bin/spare run directly), so the memory settings
  // its launcher line gives a daemon apply; `node bin/spare` would skip them.
  const direct = process.platform !== 'win32'
  const d = new Daemon(
    name,
    direct ? bin : process.execPath,
    [...(direct ? [] : [bin]), 'daemon', '--data-dir', dataDir, '--network', network],
    {
      logFile: path.join(ctx.runDir, `${name}.log`),
      // The launcher line runs this Node, not whichever comes first on PATH.
      env: direct ? { ...process.env, SPARE_NODE: process.execPath } : undefined,
    },
  )
  const cli = new SpareCli(bin, dataDir)
  const probe = http ? apiProbe(http, dataDir) : cliProbe(cli)
  const apiMs = await pollUntil(
    `${name}'s API`,
    async () => {
      if (!d.running) {
        throw new BenchError(
          `${name} exited (${d.exitCode ?? d.exitSignal}); log ${d.logFile}:\n${await d.tail()}`,
        )
      }
      return (await probe.up()) ? now() - d.startedAt : null
    },
    { intervalMs: http ? 20 : 100, timeoutMs: 60_000 },
  )
  if (probe.kind === 'api') {
    // The contract says `spare status` exits 0 once the API is up: check it once.
    const r = await cli.run(['status', '--json'], 60_000)
    if (r.code !== 0)
      throw new BenchError(`spare status exited ${r.code} with the API up: ${r.stderr.trim()}`)
  }
  return { d, cli, probe, apiMs, dataDir }
}

export async function runSpare(
  ctx: RunContext,
  bin: string,
  probeKind: ProbeKind = 'api',
): Promise<ToolResult> {
  const result = emptyResult('spare')
  const { log, runDir } = ctx
  const sides: Side[] = []
  let bootstrap: HyperDHT | null = null
  let ownerSampler: TreeSampler | null = null
  let readerSampler: TreeSampler | null = null
  try {
    try {
      await fs.access(bin)
    } catch {
      throw new BenchError(`${bin} does not exist: the Spare CLI is not there yet`)
    }
    const v = await runCommand(process.execPath, [bin, '--version'], { timeoutMs: 30_000 })
    result.version = v.code === 0 ? v.stdout.trim() : null
    const http = probeKind === 'api' ? await loadHttpClient(log) : null
    const pollMs = http ? 50 : 100
    result.notes.push(
      http
        ? 'state polled every 50 ms through the HTTP client the CLI uses (main/daemon/http-client.ts)'
        : 'state polled through the CLI: the import and connection times have the resolution of one CLI call',
    )

    const port = await freePort()
    bootstrap = HyperDHT.bootstrapper(port, '127.0.0.1')
    await bootstrap.ready()
    const network = `127.0.0.1:${port}`
    log(`spare: HyperDHT bootstrap node on ${network}`)

    const ownerDir = path.join(runDir, 'a-folder')
    const readerDir = path.join(runDir, 'b-folder')
    log(`spare: copying the dataset into ${ownerDir}`)
    await copyDataset(ctx.datasetRoot, ownerDir)

    // The owner's daemon, then figure 1: share until idle with every file counted.
    const a = await startDaemon('spare-a', bin, path.join(runDir, 'a-data'), network, ctx, http)
    sides.push(a)
    result.logs.push(a.d.logFile)
    ownerSampler = new TreeSampler(a.d.pid)
    result.ownerStartMs = a.apiMs
    log(`spare: A's API up after ${(a.apiMs / 1000).toFixed(2)} s; sharing the folder`)
    const n = ctx.files.length
    const t1 = now()
    // One-way: a published folder (`spare share` alone makes a two-way one; see two-way.ts).
    const shared = await a.cli.json<{ invite?: unknown }>(
      ['share', ownerDir, '--publish'],
      ctx.timeoutMs,
    )
    if (typeof shared.invite !== 'string' || !shared.invite) {
      throw new BenchError(
        `spare share --json printed no invite: ${JSON.stringify(shared).slice(0, 300)}`,
      )
    }
    const shareMs = now() - t1
    const invite = shared.invite
    const ownerId = idFrom(shared)
    let lastOwner: SpareFolder | null = null
    const imported = await pollUntil(
      `A to import ${n} files (state idle, files = ${n})`,
      async () => {
        const f = await findFolder(await a.probe.folders(), ownerId, ownerDir)
        lastOwner = f
        if (f?.state === 'error') {
          throw new BenchError(`A's folder is in state error: ${f.error ?? '?'}`)
        }
        return f && f.state === 'idle' && f.files === n ? now() : null
      },
      { intervalMs: pollMs, timeoutMs: ctx.timeoutMs },
    ).catch((err: Error) => {
      throw new BenchError(`${err.message}; last seen: ${JSON.stringify(lastOwner)}`)
    })
    result.importMs = imported - t1
    result.notes.push(`\`spare share\` itself returned after ${(shareMs / 1000).toFixed(2)} s`)
    log(`spare: A imported ${n} files in ${(result.importMs / 1000).toFixed(2)} s`)

    // Figure 2: the reader's daemon from its start, then join, until every byte is there.
    const ownerCpu0 = ownerSampler.cpu()
    const b = await startDaemon('spare-b', bin, path.join(runDir, 'b-data'), network, ctx, http)
    sides.push(b)
    result.logs.push(b.d.logFile)
    readerSampler = new TreeSampler(b.d.pid)
    result.readerStartMs = b.apiMs
    const t0 = b.d.startedAt
    log(`spare: B's API up after ${(b.apiMs / 1000).toFixed(2)} s; joining`)
    const tJoin = now()
    const joined = await b.cli.json<unknown>(['join', invite, readerDir], ctx.timeoutMs)
    const readerId = idFrom(joined)
    // First connection: the peer's own connectedAt when the daemon reports it, else the first
    // poll that shows a peer on the folder. Stops once seen.
    let stopConn = false
    const conn = pollUntil(
      'B to see a peer',
      async () => {
        if (stopConn) return -1
        const f = await findFolder(await b.probe.folders(), readerId, readerDir)
        if (!f || f.peers === 0) return null
        const seen = now() - t0
        const peers = (await b.probe.peers()) ?? []
        const at = peers
          .filter((p) => !f.id || p.folders.includes(f.id))
          .map((p) => Date.parse(p.connectedAt))
          .filter((x) => Number.isFinite(x))
        const reported = at.length ? Math.min(...at) - b.d.startedWall : null
        return reported !== null && reported >= 0 && reported <= seen ? reported : seen
      },
      { intervalMs: pollMs, timeoutMs: ctx.timeoutMs },
    ).catch(() => -1)
    let ownerCpu1 = 0
    let readerCpu1 = 0
    const delivered = await deliverAndCheck(readerDir, ctx, spareIgnore, () => {
      ownerCpu1 = ownerSampler?.cpu() ?? 0
      readerCpu1 = readerSampler?.cpu() ?? 0
    })
    stopConn = true
    recordDelivery(ctx, result, {
      tool: 'spare',
      delivered,
      startedAt: t0,
      toldAt: tJoin,
      connectedMs: await conn,
      ownerCpu: ownerCpu1 - ownerCpu0,
      readerCpu: readerCpu1,
    })
    const rf = await findFolder(await b.probe.folders(), readerId, readerDir)
    if (rf) {
      result.notes.push(
        `B's own view after the check: state ${rf.state}, files ${rf.files}, ` +
          `localBytes ${rf.localBytes ?? '?'} of ${rf.bytes}, peers ${rf.peers}`,
      )
    }

    // Figures 4, 5 and 6.
    await finishFigures(ctx, result, {
      tool: 'spare',
      ownerDir,
      readerDir,
      ownerData: a.dataDir,
      readerData: b.dataDir,
      ownerSampler,
      readerSampler,
    })
    ownerSampler = readerSampler = null
    result.ok = true
  } catch (err) {
    result.error = (err as Error).message
    log(`spare: FAILED: ${result.error}`)
  } finally {
    ownerSampler?.stop()
    readerSampler?.stop()
    for (const { d } of [...sides].reverse()) {
      const clean = await d.stop(15_000)
      if (!clean) result.notes.push(`${d.name} did not stop within 15 s of SIGTERM (killed)`)
      else if (d.exitCode !== 0 && d.exitCode !== null) {
        result.notes.push(`${d.name} exited with code ${d.exitCode} on SIGTERM`)
      }
    }
    if (bootstrap) await bootstrap.destroy()
    const calls = sides.flatMap((s) => s.cli.calls)
    if (calls.length) {
      result.notes.push(
        `${calls.length} CLI calls, median ${((median(calls) ?? 0) / 1000).toFixed(2)} s each`,
      )
    }
  }
  return result
}
