// Syncthing's side of the two-way section: three instances on loopback, each with the folder as
// "sendreceive" shared with the two others, every device configured before it starts (isolated
// as in syncthing.ts). Then the steps of two-way.ts, and figure 10 on a fourth instance that
// starts with no folder and gets one through its REST API (POST /rest/config/folders), the way
// `spare share` adds one to a running daemon. Away is POST /rest/system/pause on C (every remote
// device paused: connections dropped, local scans go on); back is POST /rest/system/resume.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { BenchError, TreeSampler, now, pollUntil, type Daemon } from './measure.ts'
import { emptyTwoWay, type TwoWayFigures } from './report.ts'
import {
  FOLDER_ID,
  Rest,
  assertIsolated,
  makeInstance,
  scanDuration,
  start,
  stopInstance,
  syncthingIgnore,
  waitApi,
  writeConfig,
  type Connections,
  type DbStatus,
  type Instance,
} from './syncthing.ts'
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

interface Running {
  inst: Instance
  d: Daemon
  rest: Rest
}

function describeStatus(name: string, s: DbStatus | null, c: Connections | null): string {
  if (!s) return `${name}: no folder status`
  const connected = c ? Object.values(c.connections).filter((x) => x.connected).length : '?'
  return (
    `${name}: ${s.state}, local ${s.localFiles} files, global ${s.globalFiles}, ` +
    `needs ${s.needFiles} files / ${s.needBytes} bytes, ${connected} connected`
  )
}

async function startCluster(
  ctx: TwoWayContext,
  running: Running[],
  fig: TwoWayFigures,
): Promise<{ cluster: Cluster; startedAt: number }> {
  const { runDir, log } = ctx
  const insts = await Promise.all(['a', 'b', 'c'].map((n) => makeInstance(runDir, n)))
  const [a] = insts as [Instance, Instance, Instance]
  log(`syncthing: copying the two-way seed into ${a.folder}`)
  await prepareSeed(ctx, a.folder)
  for (const inst of insts) {
    await fs.mkdir(path.join(inst.folder, '.stfolder'), { recursive: true })
    await writeConfig(
      inst,
      insts.filter((x) => x !== inst),
      'sendreceive',
    )
  }
  log('syncthing: starting A, B and C (each shares the folder, send & receive, with the others)')
  const startedAt = now()
  for (const [i, inst] of insts.entries()) {
    const name = `syncthing-${'abc'[i]}`
    const d = start(inst, name, runDir)
    running.push({ inst, d, rest: new Rest(inst) })
    fig.logs.push(d.logFile)
  }
  for (const [i, r] of running.entries()) {
    await waitApi(r.d, r.rest, 60_000)
    await assertIsolated(r.rest, `syncthing ${DEVICES[i]}`)
  }
  const rest = (i: number) => (running[i] as Running).rest
  const cluster: Cluster = {
    dirs: insts.map((x) => x.folder) as [string, string, string],
    ignore: syncthingIgnore,
    async bytesIn(i) {
      const c = await rest(i).get<Connections>('/rest/system/connections')
      return c?.total?.inBytesTotal ?? null
    },
    async disconnect(i) {
      await rest(i).send('POST', '/rest/system/pause')
    },
    async reconnect(i) {
      await rest(i).send('POST', '/rest/system/resume')
    },
    // A scan through the REST API returns once the folder has been scanned: the changes are in
    // the device's index (without waiting for its watcher's 10 s batching).
    async recorded(i) {
      await rest(i).send('POST', `/rest/db/scan?folder=${FOLDER_ID}`, undefined, 120_000)
    },
    async describe() {
      const views = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const s = await rest(i).get<DbStatus>(`/rest/db/status?folder=${FOLDER_ID}`)
          const c = await rest(i).get<Connections>('/rest/system/connections')
          return describeStatus(DEVICES[i] ?? '?', s, c)
        }),
      )
      return views.join('; ')
    },
  }
  return { cluster, startedAt }
}

/** Figure 10: a folder added to a running instance, until its scan is done with every file. */
async function indexFigure(ctx: TwoWayContext, fig: TwoWayFigures): Promise<void> {
  const inst = await makeInstance(ctx.runDir, 'index')
  await prepareIndexTree(ctx, inst.folder)
  await fs.mkdir(path.join(inst.folder, '.stfolder'), { recursive: true })
  await writeConfig(inst, [], null)
  const d = start(inst, 'syncthing-index', ctx.runDir)
  fig.logs.push(d.logFile)
  const rest = new Rest(inst)
  const sampler = new TreeSampler(d.pid)
  const n = ctx.index.files.length
  try {
    await waitApi(d, rest, 60_000)
    await assertIsolated(rest, 'syncthing index instance')
    const defaults = await rest.get<Record<string, unknown>>('/rest/config/defaults/folder')
    if (!defaults) throw new BenchError('could not read /rest/config/defaults/folder')
    const folder = {
      ...defaults,
      id: FOLDER_ID,
      label: FOLDER_ID,
      path: inst.folder,
      type: 'sendreceive',
      fsWatcherEnabled: true,
      devices: [{ deviceID: inst.deviceId, introducedBy: '', encryptionPassword: '' }],
    }
    ctx.log(`syncthing: adding a folder of ${n} small files; timing until its scan is done`)
    const t0 = now()
    await rest.send('POST', '/rest/config/folders', folder, 30_000)
    let last: DbStatus | null = null
    const polls: number[] = []
    const done = await pollUntil(
      `the new instance to scan ${n} files (state idle, local files = ${n})`,
      async () => {
        const p0 = now()
        const s = await rest.get<DbStatus>(`/rest/db/status?folder=${FOLDER_ID}`)
        polls.push(now() - p0)
        last = s
        return s && s.state === 'idle' && s.localFiles === n ? now() : null
      },
      { intervalMs: INDEX_POLL_MS, timeoutMs: ctx.timeoutMs },
    ).catch((err: Error) => {
      throw new BenchError(`${err.message}; last seen: ${describeStatus('index', last, null)}`)
    })
    fig.indexMs = done - t0
    fig.indexFiles = n
    fig.notes.push(`figure 10: ${describePolls(polls)} (/rest/db/status)`)
    const scan = await scanDuration(rest)
    if (scan !== null) {
      fig.notes.push(
        `figure 10: the scan alone (its StateChanged event) took ${(scan / 1000).toFixed(2)} s`,
      )
    }
    ctx.log(`syncthing: scanned ${n} files in ${(fig.indexMs / 1000).toFixed(2)} s`)
  } finally {
    fig.indexProc = sampler.stop()
    await stopInstance(d, rest)
  }
}

export async function runSyncthingTwoWay(ctx: TwoWayContext): Promise<TwoWayFigures> {
  const fig = emptyTwoWay()
  const { log } = ctx
  const running: Running[] = []
  try {
    try {
      const { cluster, startedAt } = await startCluster(ctx, running, fig)
      await clusterFigures(ctx, 'syncthing', cluster, fig, startedAt)
    } catch (err) {
      fig.error = (err as Error).message
      log(`syncthing: two-way FAILED: ${fig.error}`)
    } finally {
      for (const r of [...running].reverse()) await stopInstance(r.d, r.rest)
      for (const r of running) {
        if (r.d.exitSignal === 'SIGKILL') fig.notes.push(`${r.d.name} needed SIGKILL to stop`)
      }
    }
    try {
      await indexFigure(ctx, fig)
    } catch (err) {
      fig.failed.index = (err as Error).message
      log(`syncthing: figure "index" FAILED: ${fig.failed.index}`)
    }
    fig.notes.push(
      'Syncthing defaults kept: fsWatcherDelayS=10 (its watcher batches changes for 10 s)',
    )
  } catch (err) {
    fig.error = (err as Error).message
    log(`syncthing: two-way FAILED: ${fig.error}`)
  }
  fig.ok = fig.error === null
  return fig
}
