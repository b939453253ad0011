// Spare's side of the two-way section: three `spare daemon`s on a HyperDHT bootstrap node that
// this process hosts on 127.0.0.1, all writers of one two-way folder:
//   A: spare share PATH --json            → a writer invite (single use)
//   A: spare invite ID --json             → one more writer invite
//   B, C: spare join INVITE PATH --json
// Then the steps of two-way.ts, and figure 10 on a fourth daemon of its own. C away is
// `spare pause` on C (through the API): it leaves every topic and drops its connections, and
// still records local changes; back is `spare resume`.
import HyperDHT from 'hyperdht'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { BenchError, TreeSampler, freePort, now, pollUntil } from './measure.ts'
import { emptyTwoWay, type TwoWayFigures } from './report.ts'
import {
  findFolder,
  idFrom,
  loadHttpClient,
  spareTempIgnore,
  startDaemon,
  type ProbeKind,
  type Side,
  type SpareFolder,
} from './spare.ts'
import {
  DEVICES,
  INDEX_POLL_MS,
  describePolls,
  clusterFigures,
  prepareIndexTree,
  prepareSeed,
  type Cluster,
  type TwoWayContext,
} from './two-way.ts'

type HttpClientModule = Awaited<ReturnType<typeof loadHttpClient>>

function describeFolder(name: string, f: SpareFolder | null): string {
  if (!f) return `${name}: folder not listed`
  const extra = f as SpareFolder & {
    members?: number
    waitingForAccept?: boolean
    problems?: unknown[]
    refused?: unknown[]
  }
  return (
    `${name}: ${f.state}${f.error ? ` (${f.error})` : ''}, ${f.files} files, ` +
    `${f.localBytes ?? '?'}/${f.bytes} bytes, ${f.peers} peers, ${extra.members ?? '?'} members` +
    `${extra.waitingForAccept ? ', waiting to be accepted' : ''}` +
    `${extra.problems?.length ? `, ${extra.problems.length} problems` : ''}` +
    `${extra.refused?.length ? `, ${extra.refused.length} refused` : ''}`
  )
}

/** Starts A, B and C, shares from A and joins B and C as writers; returns the cluster. */
async function startCluster(
  ctx: TwoWayContext,
  bin: string,
  network: string,
  http: HttpClientModule,
  sides: Side[],
  fig: TwoWayFigures,
): Promise<{ cluster: Cluster; startedAt: number; ready: () => Promise<void> }> {
  const { runDir, log } = ctx
  const dirs = ['a', 'b', 'c'].map((n) => path.join(runDir, `${n}-folder`)) as [
    string,
    string,
    string,
  ]
  log(`spare: copying the two-way seed into ${dirs[0]}`)
  await prepareSeed(ctx, dirs[0])
  const startedAt = now()
  const started = await Promise.all(
    ['a', 'b', 'c'].map((n) =>
      startDaemon(`spare-${n}`, bin, path.join(runDir, `${n}-data`), network, ctx, http),
    ),
  )
  sides.push(...started)
  fig.logs.push(...started.map((s) => s.d.logFile))
  const [a, b, c] = started as [Side, Side, Side]
  log('spare: A, B and C are up; A shares two-way, B and C join as writers')
  const shared = await a.cli.json<{ invite?: unknown }>(['share', dirs[0]], ctx.timeoutMs)
  const id = idFrom(shared)
  if (!id || typeof shared.invite !== 'string') {
    throw new BenchError(`spare share printed no folder id or invite: ${JSON.stringify(shared)}`)
  }
  const second = await a.cli.json<{ invite?: unknown }>(['invite', id], 60_000)
  if (typeof second.invite !== 'string') {
    throw new BenchError(`spare invite printed no invite: ${JSON.stringify(second)}`)
  }
  await b.cli.json<unknown>(['join', shared.invite, dirs[1]], 60_000)
  await c.cli.json<unknown>(['join', second.invite, dirs[2]], 60_000)
  fig.notes.push(
    `setup counts 4 CLI calls (share, invite, 2 joins: about ${((now() - startedAt) / 1000).toFixed(1)} s ` +
      "with the daemons' start) that Syncthing does not need (its config is written before it starts)",
  )

  const folder = async (i: number) =>
    findFolder(await (sides[i] as Side).probe.folders(), id, dirs[i] as string)
  const own = new Map<number, string>()
  const ownDevice = async (i: number): Promise<string> => {
    const known = own.get(i)
    if (known) return known
    const me = ((await (sides[i] as Side).probe.members(id)) ?? []).find((m) => m.you)
    if (!me) throw new BenchError(`${DEVICES[i]} does not list itself among the members`)
    own.set(i, me.device)
    return me.device
  }
  const cluster: Cluster = {
    dirs,
    ignore: spareTempIgnore,
    async bytesIn(i) {
      const peers = await (sides[i] as Side).probe.peers()
      if (!peers) return null
      return peers.reduce((sum, p) => sum + (p.bytesDown ?? 0), 0)
    },
    async disconnect(i) {
      await (sides[i] as Side).probe.setPaused(true)
    },
    async reconnect(i) {
      await (sides[i] as Side).probe.setPaused(false)
    },
    async recorded(i, rels) {
      const device = await ownDevice(i)
      const side = sides[i] as Side
      for (const rel of rels) {
        await pollUntil(
          `${DEVICES[i]} to record its change to ${rel}`,
          async () => {
            const list = await side.probe.versions(id, rel)
            return list?.some((v) => v.current && v.device === device) ? true : null
          },
          { intervalMs: 100, timeoutMs: 60_000 },
        ).catch(async (err: Error) => {
          throw new BenchError(`${err.message}; ${await cluster.describe()}`)
        })
      }
    },
    async describe() {
      const views = await Promise.all([0, 1, 2].map(async (i) => folder(i)))
      return views.map((f, i) => describeFolder(DEVICES[i] ?? '?', f)).join('; ')
    },
  }
  // Every device must be a writer (accepted by a member) before figure 7 writes at B.
  const ready = async () => {
    await pollUntil(
      'all three devices to be writers of the folder',
      async () => {
        for (const s of sides.slice(0, 3)) {
          const members = await s.probe.members(id)
          if (!members || members.filter((m) => !m.removed).length < 3) return null
        }
        for (let i = 0; i < 3; i++) {
          const f = (await folder(i)) as (SpareFolder & { waitingForAccept?: boolean }) | null
          if (!f || f.waitingForAccept) return null
        }
        return true
      },
      { intervalMs: 100, timeoutMs: 60_000 },
    ).catch(async (err: Error) => {
      throw new BenchError(`${err.message}; ${await cluster.describe()}`)
    })
  }
  return { cluster, startedAt, ready }
}

/** Figure 10: `spare share` on a tree of small files, until idle with every file counted. */
async function indexFigure(
  ctx: TwoWayContext,
  bin: string,
  network: string,
  http: HttpClientModule,
  fig: TwoWayFigures,
): Promise<void> {
  const dir = path.join(ctx.runDir, 'index-folder')
  await prepareIndexTree(ctx, dir)
  const side = await startDaemon(
    'spare-index',
    bin,
    path.join(ctx.runDir, 'index-data'),
    network,
    ctx,
    http,
  )
  fig.logs.push(side.d.logFile)
  const sampler = new TreeSampler(side.d.pid)
  const n = ctx.index.files.length
  try {
    ctx.log(`spare: sharing a folder of ${n} small files; timing until it is idle`)
    const t0 = now()
    const shared = await side.cli.json<unknown>(['share', dir], ctx.timeoutMs)
    const shareMs = now() - t0
    const id = idFrom(shared)
    let last: SpareFolder | null = null
    const polls: number[] = []
    const done = await pollUntil(
      `the new daemon to index ${n} files (state idle, files = ${n})`,
      async () => {
        const p0 = now()
        const list = await side.probe.folders()
        polls.push(now() - p0)
        const f = await findFolder(list, id, dir)
        last = f
        if (f?.state === 'error') throw new BenchError(`the folder is in state error: ${f.error}`)
        return f && f.state === 'idle' && f.files === n ? now() : null
      },
      { intervalMs: INDEX_POLL_MS, timeoutMs: ctx.timeoutMs },
    ).catch((err: Error) => {
      throw new BenchError(`${err.message}; last seen: ${describeFolder('index', last)}`)
    })
    fig.indexMs = done - t0
    fig.indexFiles = n
    fig.notes.push(
      `figure 10: \`spare share\` itself returned after ${(shareMs / 1000).toFixed(2)} s; ` +
        `${describePolls(polls)} (folders.list)`,
    )
    ctx.log(`spare: indexed ${n} files in ${(fig.indexMs / 1000).toFixed(2)} s`)
  } finally {
    fig.indexProc = sampler.stop()
    await side.d.stop(15_000)
  }
}

export async function runSpareTwoWay(
  ctx: TwoWayContext,
  bin: string,
  probeKind: ProbeKind,
): Promise<TwoWayFigures> {
  const fig = emptyTwoWay()
  const { log } = ctx
  const sides: Side[] = []
  let bootstrap: HyperDHT | null = null
  try {
    await fs.access(bin).catch(() => {
      throw new BenchError(`${bin} does not exist: the Spare CLI is not there yet`)
    })
    const http = probeKind === 'api' ? await loadHttpClient(log) : null
    const port = await freePort()
    bootstrap = HyperDHT.bootstrapper(port, '127.0.0.1')
    await bootstrap.ready()
    const network = `127.0.0.1:${port}`
    log(`spare: HyperDHT bootstrap node on ${network}`)
    try {
      const { cluster, startedAt, ready } = await startCluster(ctx, bin, network, http, sides, fig)
      await clusterFigures(ctx, 'spare', cluster, fig, startedAt, ready)
    } catch (err) {
      fig.error = (err as Error).message
      log(`spare: two-way FAILED: ${fig.error}`)
    } finally {
      for (const s of [...sides].reverse()) {
        if (!(await s.d.stop(15_000))) fig.notes.push(`${s.d.name} needed SIGKILL to stop`)
      }
    }
    try {
      await indexFigure(ctx, bin, network, http, fig)
    } catch (err) {
      fig.failed.index = (err as Error).message
      log(`spare: figure "index" FAILED: ${fig.failed.index}`)
    }
  } catch (err) {
    fig.error = (err as Error).message
    log(`spare: two-way FAILED: ${fig.error}`)
  } finally {
    if (bootstrap) await bootstrap.destroy()
  }
  fig.ok = fig.error === null
  return fig
}
