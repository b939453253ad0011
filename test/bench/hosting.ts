// The hosting section (`npm run bench -- --section hosting`): donated disk through real `spare
// daemon`s on a HyperDHT bootstrap node this process hosts on 127.0.0.1.
//
//   (a) How closely disk usage tracks the limit. A host agrees to keep a 200 MB folder, then its
//       limit drops to 64 MB while it fetches (an agreement is only made when the folder fits, so
//       the limit binds when it shrinks under what was agreed: the user lowering it, or the
//       free-space rule as the disk fills). Its hosted usage is sampled every 200 ms, both the
//       engine's count (`spare donate`: usedBytes) and the bytes its data directory really takes
//       on disk (allocated blocks, less what it took before): the largest overshoot past the
//       limit (the aim: at most one 4 MiB batch) and usage / limit once it stopped. Then the
//       limit is halved: the time to evict down to it and the usage after (eviction is by whole
//       folders, so with one folder it is evicted entirely).
//   (b) Hosting throughput. A 100 MB folder from its owner to a host through the hosting swarm
//       with no rate limit, then to a second host with `--down 5MB/s` (measured / limit); then a
//       member syncing the whole folder from the two hosts alone (owner off) beside a member
//       syncing it from the owner directly (hosts off), and what the hosts billed the member in
//       served receipts, and a member syncing from one host alone (no second peer to race with).
//
// --small: (a) 40 MB with a 16 MB limit, (b) 20 MB.
import HyperDHT from 'hyperdht'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { copyDataset, ensureDataset, type Dataset, type DatasetSpec } from './dataset.ts'
import {
  BenchError,
  checkTree,
  describeCheck,
  diskUsage,
  freePort,
  now,
  pollUntil,
  sleep,
  waitForFiles,
} from './measure.ts'
import {
  findFolder,
  idFrom,
  loadHttpClient,
  spareTempIgnore,
  startDaemon,
  type Side,
} from './spare.ts'

const MB = 1e6
const MiB = 1024 * 1024

/** What the section measured; null when not reached. Times in ms, sizes in bytes. */
export interface HostingFigures {
  ok: boolean
  error: string | null
  /** Figure key → why it failed. */
  failed: Record<string, string>
  small: boolean
  // (a)
  trackFolderBytes: number | null
  limitBytes: number | null
  /** Engine usage when the limit was lowered to limitBytes (the fetch had begun). */
  usedAtLimit: number | null
  samples: number
  /** Largest (usage − limit) seen, engine count and real bytes on disk (0: never past it). */
  maxOverEngine: number | null
  maxOverDisk: number | null
  /** Usage once it stopped growing, engine and disk. */
  restEngine: number | null
  restDisk: number | null
  /** From lowering the limit until usage stopped growing. */
  fillMs: number | null
  /** The limit halved: until the engine's usage fit it; usage then; disk a few seconds later. */
  evictMs: number | null
  afterEvictEngine: number | null
  afterEvictDisk: number | null
  // (b)
  throughputFolderBytes: number | null
  ownerToHostMs: number | null
  ownerToHostLimitedMs: number | null
  downLimit: number | null
  fromHostsMs: number | null
  /** The same from one host alone (the other off): no second peer to race requests with. */
  fromOneHostMs: number | null
  fromOwnerMs: number | null
  /** Served receipts the member countersigned for its sync from the hosts. */
  servedBilled: number | null
  notes: string[]
  logs: string[]
}

export function emptyHosting(small: boolean): HostingFigures {
  return {
    ok: false,
    error: null,
    failed: {},
    small,
    trackFolderBytes: null,
    limitBytes: null,
    usedAtLimit: null,
    samples: 0,
    maxOverEngine: null,
    maxOverDisk: null,
    restEngine: null,
    restDisk: null,
    fillMs: null,
    evictMs: null,
    afterEvictEngine: null,
    afterEvictDisk: null,
    throughputFolderBytes: null,
    ownerToHostMs: null,
    ownerToHostLimitedMs: null,
    downLimit: null,
    fromHostsMs: null,
    fromOneHostMs: null,
    fromOwnerMs: null,
    servedBilled: null,
    notes: [],
    logs: [],
  }
}

export interface HostingContext {
  small: boolean
  work: string
  runDir: string
  bin: string
  timeoutMs: number
  log: (msg: string) => void
}

interface Sizes {
  track: DatasetSpec
  limit: number
  /** The host's download rate until the limit is lowered (time to lower it below usage). */
  startDown: number
  throughput: DatasetSpec
  down: number
}

function sizes(small: boolean): Sizes {
  const spec = (name: string, files: number, size: number): DatasetSpec => ({
    name,
    seed: 'spare-bench-hosting-1',
    bigFiles: files,
    bigSize: size,
    smallFiles: 0,
    smallSize: 4096,
    smallFolders: 1,
  })
  return small
    ? {
        track: spec('hosting-track-small', 4, 10 * MB),
        limit: 16 * MB,
        startDown: 5 * MB,
        throughput: spec('hosting-throughput-small', 2, 10 * MB),
        down: 5 * MB,
      }
    : {
        track: spec('hosting-track', 8, 25 * MB),
        limit: 64 * MB,
        startDown: 10 * MB,
        throughput: spec('hosting-throughput', 4, 25 * MB),
        down: 5 * MB,
      }
}

/** Audits every 2 s and receipts every 5 s, so requests and served receipts happen within the
 * run (defaults: 10 min and 1 h); a host answers requests after the usual 0.5 s window. */
const TIMERS = 'audit=2000,timeout=10000,receipt=5000,gone=600000'

type HttpModule = NonNullable<Awaited<ReturnType<typeof loadHttpClient>>>

interface DonateView {
  usedBytes: number
  hosting: Array<{ folder: string; bytes: number; agreedBytes: number }>
}

interface LedgerView {
  identity: string
  recent: Array<{ body: { kind: string; owner: string; bytes?: number; nonce: string } }>
}

/** A daemon with the few API calls this section needs (through the project's HTTP client). */
class Node {
  private client: { call(method: string, params?: unknown): Promise<unknown> } | null = null
  constructor(
    readonly side: Side,
    private readonly http: HttpModule,
  ) {}

  get dataDir(): string {
    return this.side.dataDir
  }

  private async call<T>(method: string, params?: unknown): Promise<T> {
    if (!this.client) {
      const { client } = await this.http.connect(this.dataDir)
      // The typed client takes method names from the contract; this section names a few.
      this.client = client as unknown as {
        call(method: string, params?: unknown): Promise<unknown>
      }
    }
    return (await this.client.call(method, params)) as T
  }

  donate(): Promise<DonateView> {
    return this.call<DonateView>('donate.get')
  }

  setDonate(change: {
    diskBytes?: number | null
    downBytesPerSec?: number | null
  }): Promise<DonateView> {
    return this.call<DonateView>('donate.set', change)
  }

  ledger(): Promise<LedgerView> {
    return this.call<LedgerView>('ledger.get')
  }
}

async function start(
  ctx: HostingContext,
  name: string,
  network: string,
  http: HttpModule,
  fig: HostingFigures,
  dataDir = path.join(ctx.runDir, `${name}-data`),
): Promise<Node> {
  const side = await startDaemon(name, ctx.bin, dataDir, network, ctx, http)
  fig.logs.push(side.d.logFile)
  return new Node(side, http)
}

async function stop(n: Node, fig: HostingFigures): Promise<void> {
  if (!(await n.side.d.stop(15_000))) fig.notes.push(`${n.side.d.name} needed SIGKILL to stop`)
}

/** Runs one figure; a failure is recorded against it and does not stop the others. */
async function figure(
  ctx: HostingContext,
  fig: HostingFigures,
  key: string,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run()
  } catch (err) {
    const msg = (err as Error).message
    fig.failed[key] = msg
    ctx.log(`hosting: figure "${key}" FAILED: ${msg}`)
  }
}

async function shareFolder(
  ctx: HostingContext,
  owner: Node,
  data: Dataset,
  name: string,
): Promise<{ id: string; invite: string; dir: string }> {
  const dir = path.join(ctx.runDir, name)
  await copyDataset(data.root, dir)
  const shared = await owner.side.cli.json<{ invite?: unknown }>(['share', dir], ctx.timeoutMs)
  const id = idFrom(shared)
  if (!id || typeof shared.invite !== 'string') {
    throw new BenchError(`spare share printed no folder id or invite: ${JSON.stringify(shared)}`)
  }
  return { id, invite: shared.invite, dir }
}

/**
 * Shares a folder and waits until the owner has imported all of it, while `host` announces
 * itself with too little room (1 MB) to be asked: it is connected, and asked at once (with the
 * folder's whole size) when it gets room. An owner that asks while still importing asks for what
 * it has so far, and the host stops at that until the owner asks again.
 */
async function shareReady(
  ctx: HostingContext,
  owner: Node,
  host: Node,
  data: Dataset,
  name: string,
): Promise<{ id: string; invite: string; dir: string }> {
  await host.setDonate({ diskBytes: 1e6 })
  const shared = await shareFolder(ctx, owner, data, name)
  await pollUntil(
    'the owner to import the folder',
    async () => {
      const f = await findFolder(await owner.side.probe.folders(), shared.id, shared.dir)
      return f && f.state === 'idle' && f.bytes >= data.totalBytes ? true : null
    },
    { intervalMs: 100, timeoutMs: ctx.timeoutMs },
  )
  return shared
}

/** Waits until `host` agreed to keep the folder whole; returns when (monotonic ms). */
async function agreed(host: Node, id: string, bytes: number): Promise<number> {
  return pollUntil(
    'the host to agree to keep the whole folder',
    async () => {
      const h = (await host.donate()).hosting.find((x) => x.folder === id)
      return h && h.agreedBytes >= bytes ? now() : null
    },
    { intervalMs: 20, timeoutMs: 60_000 },
  )
}

/** Figure (a): usage against the limit while a host fetches more than it may keep. */
async function trackFigure(
  ctx: HostingContext,
  network: string,
  http: HttpModule,
  fig: HostingFigures,
  s: Sizes,
  data: Dataset,
): Promise<void> {
  const { log } = ctx
  const nodes: Node[] = []
  try {
    const owner = await start(ctx, 'track-owner', network, http, fig)
    const host = await start(ctx, 'track-host', network, http, fig)
    nodes.push(owner, host)
    const limit = s.limit
    fig.limitBytes = limit
    fig.trackFolderBytes = data.totalBytes
    log(
      `hosting: (a) the owner shares ${(data.totalBytes / MB).toFixed(0)} MB; the host agrees, ` +
        `then its limit drops to ${(limit / MB).toFixed(0)} MB`,
    )
    const { id } = await shareReady(ctx, owner, host, data, 'track-folder')
    const baseline = await diskUsage(host.dataDir)
    // Room for all of it, fetched slowly until the limit drops.
    await host.setDonate({ diskBytes: 1e9, downBytesPerSec: s.startDown })
    await agreed(host, id, data.totalBytes)
    const lowered = await host.setDonate({ diskBytes: limit, downBytesPerSec: null })
    const t0 = now()
    fig.usedAtLimit = lowered.usedBytes
    if (!lowered.hosting.some((h) => h.folder === id)) {
      throw new BenchError(
        `the host had already fetched ${lowered.usedBytes} bytes and evicted the folder ` +
          'when its limit dropped: start it slower',
      )
    }
    let maxOverEngine = 0
    let maxOverDisk = 0
    let last = -1
    let lastChange = now()
    let rest = { used: 0, disk: 0 }
    fig.samples = 0
    for (;;) {
      const used = (await host.donate()).usedBytes
      const disk = (await diskUsage(host.dataDir)) - baseline
      fig.samples++
      maxOverEngine = Math.max(maxOverEngine, used - limit)
      maxOverDisk = Math.max(maxOverDisk, disk - limit)
      rest = { used, disk }
      if (used !== last) {
        last = used
        lastChange = now()
      } else if (now() - lastChange > 3000 && used > 0) break
      if (now() - t0 > ctx.timeoutMs) throw new BenchError('the host never stopped fetching')
      await sleep(200)
    }
    fig.fillMs = lastChange - t0
    fig.maxOverEngine = maxOverEngine
    fig.maxOverDisk = maxOverDisk
    fig.restEngine = rest.used
    fig.restDisk = rest.disk
    log(
      `hosting: (a) usage at rest ${(rest.used / MB).toFixed(1)} MB (engine), ` +
        `${(rest.disk / MB).toFixed(1)} MB (disk) for a ${(limit / MB).toFixed(0)} MB limit; ` +
        `largest overshoot ${(maxOverEngine / MiB).toFixed(2)} / ${(maxOverDisk / MiB).toFixed(2)} MiB`,
    )
    // Halve the limit: evicted down to it.
    const half = Math.floor(limit / 2)
    const t1 = now()
    await host.setDonate({ diskBytes: half })
    const fit = await pollUntil(
      'the host to evict down to the halved limit',
      async () => {
        const used = (await host.donate()).usedBytes
        return used <= half ? { at: now(), used } : null
      },
      { intervalMs: 50, timeoutMs: 60_000 },
    )
    fig.evictMs = fit.at - t1
    fig.afterEvictEngine = fit.used
    // Disk space comes back as the storage compacts: look a few seconds later.
    await sleep(5000)
    fig.afterEvictDisk = (await diskUsage(host.dataDir)) - baseline
    log(
      `hosting: (a) halved to ${(half / MB).toFixed(0)} MB: fits after ${fig.evictMs.toFixed(0)} ms; ` +
        `usage then ${(fit.used / MB).toFixed(1)} MB, disk 5 s later ${(fig.afterEvictDisk / MB).toFixed(1)} MB`,
    )
  } finally {
    for (const n of nodes.reverse()) await stop(n, fig)
  }
}

/** How long until a host holds the whole folder, from the moment it agreed to keep it. */
async function hostFetch(host: Node, id: string, bytes: number, timeoutMs: number) {
  const t0 = await agreed(host, id, bytes)
  const t1 = await pollUntil(
    'the host to hold the whole folder',
    async () => {
      const h = (await host.donate()).hosting.find((x) => x.folder === id)
      if (!h) throw new BenchError('the host dropped the folder')
      return h.bytes >= bytes ? now() : null
    },
    { intervalMs: 50, timeoutMs },
  )
  return t1 - t0
}

/** A member joins and fetches the whole folder: from `spare join` until every file is right. */
async function memberSync(
  ctx: HostingContext,
  member: Node,
  invite: string,
  dir: string,
  data: Dataset,
): Promise<number> {
  const t0 = now()
  await member.side.cli.json<unknown>(['join', invite, dir], 60_000)
  const at = await waitForFiles(dir, data.files, { intervalMs: 50, timeoutMs: ctx.timeoutMs })
  const check = await checkTree(dir, data.files, spareTempIgnore)
  if (!check.ok) throw new BenchError(`the member's copy is wrong: ${describeCheck(check)}`)
  return at - t0
}

/** Figure (b): owner → host with and without a rate limit; a member from hosts vs owner. */
async function throughputFigure(
  ctx: HostingContext,
  network: string,
  http: HttpModule,
  fig: HostingFigures,
  s: Sizes,
  data: Dataset,
): Promise<void> {
  const { log } = ctx
  const running = new Set<Node>()
  const up = async (name: string, dataDir?: string): Promise<Node> => {
    const n = await start(ctx, name, network, http, fig, dataDir)
    running.add(n)
    return n
  }
  const down = async (n: Node): Promise<void> => {
    running.delete(n)
    await stop(n, fig)
  }
  try {
    fig.throughputFolderBytes = data.totalBytes
    const owner = await up('tp-owner')
    const h1 = await up('tp-host-1')
    const h2 = await up('tp-host-2')
    await h2.setDonate({ diskBytes: 1e6 })
    const { id, invite } = await shareReady(ctx, owner, h1, data, 'tp-folder')
    const second = await owner.side.cli.json<{ invite?: unknown }>(['invite', id], 60_000)
    if (typeof second.invite !== 'string') throw new BenchError('spare invite printed no invite')
    const invite2 = second.invite
    const third = await owner.side.cli.json<{ invite?: unknown }>(['invite', id], 60_000)
    if (typeof third.invite !== 'string') throw new BenchError('spare invite printed no invite')
    const invite3 = third.invite
    // Timed from the moment it agrees (hostFetch), which this starts.
    await h1.setDonate({ diskBytes: 1e9 })
    const mb = (data.totalBytes / MB).toFixed(0)
    await figure(ctx, fig, 'ownerToHost', async () => {
      fig.ownerToHostMs = await hostFetch(h1, id, data.totalBytes, ctx.timeoutMs)
      log(
        `hosting: (b) owner → host, no limit: ${mb} MB in ${(fig.ownerToHostMs / 1000).toFixed(2)} s`,
      )
    })
    // A second host, its downloads limited: the owner asks it too (it wants two hosts).
    fig.downLimit = s.down
    await h2.setDonate({ diskBytes: 1e9, downBytesPerSec: s.down })
    await figure(ctx, fig, 'ownerToHostLimited', async () => {
      fig.ownerToHostLimitedMs = await hostFetch(h2, id, data.totalBytes, ctx.timeoutMs)
      log(
        `hosting: (b) owner → host, --down ${s.down / MB}MB/s: ${mb} MB in ` +
          `${(fig.ownerToHostLimitedMs / 1000).toFixed(2)} s`,
      )
    })
    // From the owner directly: the hosts are off.
    const hostDirs = [h1.dataDir, h2.dataDir]
    await down(h1)
    await down(h2)
    await figure(ctx, fig, 'fromOwner', async () => {
      const c = await up('tp-member-direct')
      fig.fromOwnerMs = await memberSync(ctx, c, invite2, path.join(ctx.runDir, 'tp-c'), data)
      log(`hosting: (b) a member from the owner directly: ${(fig.fromOwnerMs / 1000).toFixed(2)} s`)
      await down(c)
    })
    // From the two hosts alone: the owner (and the first member) are off.
    await down(owner)
    await figure(ctx, fig, 'fromHosts', async () => {
      // Only hosts that hold the whole folder (both, unless a figure above failed).
      const holding = [fig.ownerToHostMs, fig.ownerToHostLimitedMs]
        .map((ms, i) => (ms === null ? null : hostDirs[i]!))
        .filter((d): d is string => d !== null)
      if (holding.length === 0) throw new BenchError('no host holds the folder')
      if (holding.length === 1) fig.notes.push('the member synced from one host (the other failed)')
      const hosts: Node[] = []
      for (const [i, dir] of holding.entries()) hosts.push(await up(`tp-host-${i + 1}b`, dir))
      for (const h of hosts) {
        await pollUntil(
          'a restarted host to list the folder again',
          async () => ((await h.donate()).hosting.some((x) => x.folder === id) ? true : null),
          { intervalMs: 100, timeoutMs: 30_000 },
        )
        await h.setDonate({ downBytesPerSec: null })
      }
      const b = await up('tp-member-hosts')
      fig.fromHostsMs = await memberSync(ctx, b, invite, path.join(ctx.runDir, 'tp-b'), data)
      log(`hosting: (b) a member from two hosts alone: ${(fig.fromHostsMs / 1000).toFixed(2)} s`)
      // What the hosts billed it, once a receipt period has passed.
      const me = (await b.ledger()).identity
      const seen = new Map<string, number>()
      const deadline = now() + 20_000
      let stable = 0
      while (now() < deadline && stable < 4) {
        const before = seen.size
        for (const r of (await b.ledger()).recent) {
          if (r.body.kind === 'served' && r.body.owner === me) {
            seen.set(r.body.nonce, r.body.bytes ?? 0)
          }
        }
        stable = seen.size > 0 && seen.size === before ? stable + 1 : 0
        await sleep(1500)
      }
      fig.servedBilled = [...seen.values()].reduce((a, x) => a + x, 0)
      log(
        `hosting: (b) the hosts billed the member ${(fig.servedBilled / MB).toFixed(1)} MB in ` +
          `${seen.size} served receipts`,
      )
      // From one host alone: the other host and the first member are off.
      await down(b)
      if (hosts.length < 2) return
      await down(hosts[1]!)
      await figure(ctx, fig, 'fromOneHost', async () => {
        const d = await up('tp-member-one-host')
        fig.fromOneHostMs = await memberSync(ctx, d, invite3, path.join(ctx.runDir, 'tp-d'), data)
        log(`hosting: (b) a member from one host alone: ${(fig.fromOneHostMs / 1000).toFixed(2)} s`)
      })
    })
  } finally {
    for (const n of [...running].reverse()) await stop(n, fig)
  }
}

export async function runHosting(ctx: HostingContext): Promise<HostingFigures> {
  const fig = emptyHosting(ctx.small)
  const s = sizes(ctx.small)
  const { log } = ctx
  let bootstrap: HyperDHT | null = null
  const previousTimers = process.env.SPARE_HOSTING_TIMERS
  process.env.SPARE_HOSTING_TIMERS = TIMERS
  try {
    await fs.access(ctx.bin).catch(() => {
      throw new BenchError(`${ctx.bin} does not exist: the Spare CLI is not there yet`)
    })
    const http = await loadHttpClient(log)
    if (!http) throw new BenchError('the hosting section needs main/daemon/http-client.ts')
    const track = await ensureDataset(ctx.work, s.track, log)
    const throughput = await ensureDataset(ctx.work, s.throughput, log)
    await fs.mkdir(ctx.runDir, { recursive: true })
    const port = await freePort()
    bootstrap = HyperDHT.bootstrapper(port, '127.0.0.1')
    await bootstrap.ready()
    const network = `127.0.0.1:${port}`
    log(`hosting: HyperDHT bootstrap node on ${network}; SPARE_HOSTING_TIMERS=${TIMERS}`)
    await figure(ctx, fig, 'track', () => trackFigure(ctx, network, http, fig, s, track))
    await figure(ctx, fig, 'throughput', () =>
      throughputFigure(ctx, network, http, fig, s, throughput),
    )
  } catch (err) {
    fig.error = (err as Error).message
    log(`hosting: FAILED: ${fig.error}`)
  } finally {
    if (bootstrap) await bootstrap.destroy()
    if (previousTimers === undefined) delete process.env.SPARE_HOSTING_TIMERS
    else process.env.SPARE_HOSTING_TIMERS = previousTimers
  }
  fig.ok = fig.error === null
  return fig
}

export function hostingOk(f: HostingFigures): boolean {
  return f.ok && Object.keys(f.failed).length === 0
}

const mbs = (bytes: number, ms: number) => (bytes / MB / (ms / 1000)).toFixed(1)

/** The section's table: each figure with its baseline and ratio. */
export function formatHosting(f: HostingFigures, machine?: string): string {
  const rows: string[][] = [['figure', 'Spare', 'baseline', 'ratio']]
  const mib = (v: number | null) => (v === null ? '-' : `${(v / MiB).toFixed(2)} MiB`)
  const mb = (v: number | null) => (v === null ? '-' : `${(v / MB).toFixed(1)} MB`)
  const secs = (v: number | null) => (v === null ? '-' : `${(v / 1000).toFixed(2)} s`)
  const ratio = (a: number | null, b: number | null) =>
    a === null || b === null || b === 0 ? '' : (a / b).toFixed(2)
  const lim = f.limitBytes
  const half = lim === null ? null : Math.floor(lim / 2)
  rows.push([
    `-- (a) a ${mb(f.trackFolderBytes)} folder, limit lowered to ${mb(lim)} while fetching`,
  ])
  rows.push([
    'largest overshoot past the limit, engine count',
    mib(f.maxOverEngine === null ? null : Math.max(0, f.maxOverEngine)),
    '4.00 MiB (one batch)',
    ratio(f.maxOverEngine === null ? null : Math.max(0, f.maxOverEngine), 4 * MiB),
  ])
  rows.push([
    'largest overshoot past the limit, bytes on disk',
    mib(f.maxOverDisk === null ? null : Math.max(0, f.maxOverDisk)),
    '4.00 MiB (one batch)',
    ratio(f.maxOverDisk === null ? null : Math.max(0, f.maxOverDisk), 4 * MiB),
  ])
  rows.push([
    'usage at rest / limit, engine count',
    mb(f.restEngine),
    mb(lim),
    ratio(f.restEngine, lim),
  ])
  rows.push([
    'usage at rest / limit, bytes on disk',
    mb(f.restDisk),
    mb(lim),
    ratio(f.restDisk, lim),
  ])
  rows.push(['from lowering the limit until usage stopped growing', secs(f.fillMs), '', ''])
  rows.push(['limit halved: time until usage fits', secs(f.evictMs), '', ''])
  rows.push([
    'usage after eviction, engine count',
    mb(f.afterEvictEngine),
    mb(half),
    ratio(f.afterEvictEngine, half),
  ])
  rows.push([
    'usage after eviction, bytes on disk (5 s later)',
    mb(f.afterEvictDisk),
    mb(half),
    ratio(f.afterEvictDisk, half),
  ])
  const tb = f.throughputFolderBytes
  rows.push([`-- (b) hosting throughput, a ${mb(tb)} folder`])
  const rate = (ms: number | null) => (ms === null || tb === null ? '-' : `${mbs(tb, ms)} MB/s`)
  rows.push(['owner → host, no rate limit', rate(f.ownerToHostMs), '', ''])
  const limited = f.ownerToHostLimitedMs
  rows.push([
    `owner → host, --down ${f.downLimit === null ? '?' : f.downLimit / MB}MB/s (measured / limit)`,
    rate(limited),
    f.downLimit === null ? '-' : `${(f.downLimit / MB).toFixed(1)} MB/s`,
    limited === null || tb === null || f.downLimit === null
      ? ''
      : (tb / (limited / 1000) / f.downLimit).toFixed(2),
  ])
  rows.push([
    'member syncs from two hosts alone (beside: from the owner)',
    secs(f.fromHostsMs),
    secs(f.fromOwnerMs),
    ratio(f.fromHostsMs, f.fromOwnerMs),
  ])
  rows.push([
    '    throughput',
    rate(f.fromHostsMs),
    rate(f.fromOwnerMs),
    ratio(f.fromOwnerMs, f.fromHostsMs),
  ])
  rows.push([
    'member syncs from one host alone (beside: from the owner)',
    secs(f.fromOneHostMs),
    secs(f.fromOwnerMs),
    ratio(f.fromOneHostMs, f.fromOwnerMs),
  ])
  rows.push([
    'served receipts the member countersigned / folder',
    mb(f.servedBilled),
    mb(tb),
    ratio(f.servedBilled, tb),
  ])
  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? '').length)),
  )
  const lines: string[] = []
  lines.push(
    `hosting section${f.small ? ' (--small)' : ''}${machine ? `; machine: ${machine}` : ''}`,
  )
  if (!f.ok) lines.push(`hosting FAILED: ${f.error ?? '?'}`)
  for (const [i, r] of rows.entries()) {
    if (r.length === 1) {
      lines.push(r[0] ?? '')
      continue
    }
    lines.push(
      r
        .map((c, col) => (col === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart(widths[col] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('   '))
  }
  lines.push(
    'Ratios: overshoot / one batch, usage / limit, measured rate / limit, hosts / owner time ' +
      '(and owner / hosts throughput: below 1, the hosts were slower).',
  )
  for (const [k, why] of Object.entries(f.failed))
    lines.push(`hosting figure "${k}" FAILED: ${why}`)
  for (const n of f.notes) lines.push(`hosting: ${n}`)
  if (!hostingOk(f) && f.logs.length) lines.push(`hosting logs: ${f.logs.join(', ')}`)
  return lines.join('\n')
}
