// The Syncthing side of the benchmark: two instances on loopback sharing one folder, driven and
// observed through their REST API. Every network feature that could leave the machine is off
// (global and local discovery, relays, NAT traversal, STUN, usage and crash reporting, upgrades)
// and every address is on 127.0.0.1; the harness also runs inside ../shared/tools/offline.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
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
  now,
  pollUntil,
  runCommand,
  sleep,
  type RunContext,
} from './measure.ts'
import { emptyResult, type ToolResult } from './report.ts'

export const FOLDER_ID = 'spare-bench'

/** Names Syncthing keeps inside a synced folder, not part of the dataset. */
export function syncthingIgnore(rel: string): boolean {
  const base = rel.split('/').pop() ?? rel
  return (
    rel === '.stfolder' ||
    rel === '.stversions' ||
    rel === '.stignore' ||
    rel.startsWith('.stfolder/') ||
    (base.startsWith('.syncthing.') && base.endsWith('.tmp'))
  )
}

/** `syncthing --version`, or null when it is not installed. */
export async function syncthingVersion(): Promise<string | null> {
  const r = await runCommand('syncthing', ['--version'], { timeoutMs: 10_000 })
  return r.code === 0 ? r.stdout.trim() : null
}

/**
 * Makes sure Debian's syncthing is installed: installs it with apt-get when missing (printing
 * what it does). Returns its version, or null with the reason logged.
 */
export async function ensureSyncthing(
  install: boolean,
  log: (msg: string) => void,
): Promise<string | null> {
  const version = await syncthingVersion()
  if (version) return version
  if (!install) {
    log('syncthing: not installed (and --no-install given)')
    return null
  }
  log('syncthing: not installed; running: apt-get update && apt-get install -y syncthing')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const update = await runCommand('apt-get', ['update'], { env, inherit: true })
  const inst =
    update.code === 0
      ? await runCommand('apt-get', ['install', '-y', 'syncthing'], { env, inherit: true })
      : update
  const after = await syncthingVersion()
  if (!after) {
    log(
      `syncthing: could not install it (apt-get exited ${inst.code}). Inside ` +
        '../shared/tools/offline there is no network: install it first, outside, with ' +
        '`apt-get update && apt-get install -y syncthing` (as root). Going on without Syncthing.',
    )
  }
  return after
}

function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

/** Sets `<name>value</name>` inside the <options> element; fails loudly if the key is absent. */
function setOption(xml: string, name: string, value: string): string {
  const re = new RegExp(`<${name}>[^<]*</${name}>`)
  if (!re.test(xml)) throw new BenchError(`syncthing config.xml has no <${name}> option to set`)
  return xml.replace(re, `<${name}>${xmlEscape(value)}</${name}>`)
}

export interface Instance {
  home: string
  folder: string
  deviceId: string
  listenPort: number
  guiPort: number
  apiKey: string
}

const OPTIONS: Record<string, string> = {
  globalAnnounceEnabled: 'false',
  localAnnounceEnabled: 'false',
  relaysEnabled: 'false',
  natEnabled: 'false',
  urAccepted: '-1',
  autoUpgradeIntervalH: '0',
  crashReportingEnabled: 'false',
  startBrowser: 'false',
  // STUN only serves NAT traversal; 0 disables it.
  stunKeepaliveStartS: '0',
  announceLANAddresses: 'false',
  // Syncthing renices itself by default (nice 9, lower I/O priority). Spare's daemons run at
  // normal priority, and this machine is often shared with other work: same footing for both.
  setLowPriority: 'false',
}

async function generateHome(home: string): Promise<string> {
  const r = await runCommand(
    'syncthing',
    ['generate', '--home', home, '--no-default-folder', '--skip-port-probing'],
    { timeoutMs: 60_000 },
  )
  if (r.code !== 0) throw new BenchError(`syncthing generate failed: ${r.stderr || r.stdout}`)
  const xml = await fs.readFile(path.join(home, 'config.xml'), 'utf8')
  const id = /<device id="([A-Z0-9-]+)"/.exec(xml)?.[1]
  if (!id) throw new BenchError(`no device id in ${home}/config.xml`)
  return id
}

/** A new instance's home (generated), folder path, ports and API key under `runDir`. */
export async function makeInstance(runDir: string, name: string): Promise<Instance> {
  return {
    home: path.join(runDir, `${name}-home`),
    folder: path.join(runDir, `${name}-folder`),
    deviceId: await generateHome(path.join(runDir, `${name}-home`)),
    listenPort: await freePort(),
    guiPort: await freePort(),
    apiKey: randomBytes(16).toString('hex'),
  }
}

/**
 * Rewrites a generated config.xml: loopback only, no discovery, the `peers` as devices and, unless
 * `type` is null, one folder of that type shared with all of them.
 */
export async function writeConfig(
  self: Instance,
  peers: Instance[],
  type: 'sendreceive' | 'receiveonly' | null,
) {
  const file = path.join(self.home, 'config.xml')
  let xml = await fs.readFile(file, 'utf8')
  for (const [k, v] of Object.entries(OPTIONS)) xml = setOption(xml, k, v)
  xml = setOption(xml, 'listenAddress', `tcp://127.0.0.1:${self.listenPort}`)
  // The GUI / REST API: 127.0.0.1 only, with our key.
  xml = xml.replace(
    /<gui [^>]*>[\s\S]*?<\/gui>/,
    `<gui enabled="true" tls="false" debugging="false">\n` +
      `        <address>127.0.0.1:${self.guiPort}</address>\n` +
      `        <apikey>${self.apiKey}</apikey>\n` +
      `        <theme>default</theme>\n    </gui>`,
  )
  // The folder and the peer device, built from the generated defaults so every field is set.
  const defaults = /<defaults>([\s\S]*?)<\/defaults>/.exec(xml)?.[1] ?? ''
  const folderTpl = /<folder [\s\S]*?<\/folder>/.exec(defaults)?.[0]
  const deviceTpl = /<device [\s\S]*?<\/device>/.exec(
    defaults.replace(/<folder [\s\S]*?<\/folder>/, ''),
  )?.[0]
  if (!folderTpl || !deviceTpl) throw new BenchError(`unexpected config.xml layout in ${file}`)
  const member = (id: string) =>
    `<device id="${id}" introducedBy=""><encryptionPassword></encryptionPassword></device>`
  const folder = type
    ? folderTpl
        .replace(/ id=""/, ` id="${FOLDER_ID}"`)
        .replace(/ label="[^"]*"/, ` label="${FOLDER_ID}"`)
        .replace(/ path="[^"]*"/, ` path="${xmlEscape(self.folder)}"`)
        .replace(/ type="[^"]*"/, ` type="${type}"`)
        .replace(/ fsWatcherEnabled="[^"]*"/, ' fsWatcherEnabled="true"')
        .replace(
          /<device [\s\S]*?<\/device>/,
          [self, ...peers].map((d) => member(d.deviceId)).join('\n            '),
        )
    : null
  const devices = peers.map((peer, i) =>
    deviceTpl
      .replace(/ id=""/, ` id="${peer.deviceId}" name="peer-${i + 1}"`)
      .replace(
        /<address>[^<]*<\/address>/,
        `<address>tcp://127.0.0.1:${peer.listenPort}</address>`,
      ),
  )
  const parts = [...(folder ? [folder] : []), ...devices].map((x) => `\n    ${x}`).join('')
  xml = xml.replace(/(\n\s*<gui )/, `${parts}$1`)
  await fs.writeFile(file, xml)
}

export class Rest {
  constructor(
    private readonly inst: Instance,
    private readonly timeoutMs = 5000,
  ) {}

  /** A request with a JSON body (or none); throws with Syncthing's answer when it is not 2xx. */
  async send(method: string, route: string, body?: unknown, timeoutMs = this.timeoutMs) {
    const res = await fetch(`http://127.0.0.1:${this.inst.guiPort}${route}`, {
      method,
      headers: {
        'X-API-Key': this.inst.apiKey,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) {
      const text = await res.text().catch(() => '')
      throw new BenchError(`syncthing ${method} ${route}: HTTP ${res.status} ${text.trim()}`)
    }
  }

  async get<T>(route: string): Promise<T | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.inst.guiPort}${route}`, {
        headers: { 'X-API-Key': this.inst.apiKey },
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      if (!res.ok) return null
      return (await res.json()) as T
    } catch {
      return null
    }
  }

  async post(route: string): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.inst.guiPort}${route}`, {
        method: 'POST',
        headers: { 'X-API-Key': this.inst.apiKey },
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      return res.ok
    } catch {
      return false
    }
  }
}

export interface DbStatus {
  state: string
  globalFiles: number
  globalBytes: number
  localFiles: number
  localBytes: number
  needFiles: number
  needBytes: number
}

export interface Connections {
  total?: { inBytesTotal?: number; outBytesTotal?: number }
  connections: Record<
    string,
    { connected: boolean; paused?: boolean; address?: string; inBytesTotal?: number }
  >
}

/**
 * Spare's daemon runs as SCHED_BATCH where chrt works (bin/spare); Syncthing is started the same
 * way, so that both tools run under one scheduling policy. (Measured, 2 pairs of one-way runs:
 * Syncthing's delivery 9.5 / 8.9 s with it, 10.4 / 9.2 s without.)
 */
let batch: string[] | null = null
function batchPrefix(): string[] {
  batch ??= spawnSync('chrt', ['-b', '0', 'true']).status === 0 ? ['chrt', '-b', '0'] : []
  return batch
}

export function start(inst: Instance, name: string, runDir: string): Daemon {
  const [cmd, ...pre] = [...batchPrefix(), 'syncthing']
  return new Daemon(
    name,
    cmd!,
    [
      ...pre,
      'serve',
      '--home',
      inst.home,
      '--no-browser',
      '--no-restart',
      '--no-upgrade',
      '--logflags=3',
    ],
    {
      logFile: path.join(runDir, `${name}.log`),
      env: {
        ...process.env,
        STNOUPGRADE: '1',
        STNORESTART: '1',
        STNODEFAULTFOLDER: '1',
        HOME: inst.home,
      },
    },
  )
}

export async function waitApi(d: Daemon, rest: Rest, timeoutMs: number): Promise<number> {
  return pollUntil(
    `${d.name}'s REST API`,
    async () => {
      if (!d.running)
        throw new BenchError(`${d.name} exited early; log: ${d.logFile}\n${await d.tail()}`)
      const r = await rest.get<{ ping?: string }>('/rest/system/ping')
      return r?.ping === 'pong' ? now() - d.startedAt : null
    },
    { intervalMs: 50, timeoutMs },
  )
}

/** Refuses to go on if the running config has any outward-facing feature on. */
export async function assertIsolated(rest: Rest, name: string): Promise<void> {
  const opts = await rest.get<Record<string, unknown>>('/rest/config/options')
  if (!opts) throw new BenchError(`${name}: could not read /rest/config/options`)
  const bad = Object.entries(OPTIONS)
    .filter(([k, v]) => String(opts[k]) !== v)
    .map(([k]) => `${k}=${String(opts[k])}`)
  const listen = opts.listenAddresses
  if (!Array.isArray(listen) || !listen.every((a) => String(a).startsWith('tcp://127.0.0.1:'))) {
    bad.push(`listenAddresses=${JSON.stringify(listen)}`)
  }
  if (bad.length) throw new BenchError(`${name} is not isolated: ${bad.join(', ')}`)
}

interface StateChanged {
  type: string
  data: { folder?: string; from?: string; to?: string; duration?: number }
}

/** How long the folder was in state 'scanning', from Syncthing's own StateChanged events. */
export async function scanDuration(rest: Rest): Promise<number | null> {
  const events = await rest.get<StateChanged[]>(
    '/rest/events?events=StateChanged&since=0&timeout=1',
  )
  const scan = events?.find(
    (e) => e.data.folder === FOLDER_ID && e.data.from === 'scanning' && e.data.to === 'idle',
  )
  return typeof scan?.data.duration === 'number' ? scan.data.duration * 1000 : null
}

export async function stopInstance(d: Daemon, rest: Rest): Promise<void> {
  if (!d.running) return
  await rest.post('/rest/system/shutdown')
  const done = await Promise.race([d.exited.then(() => true), sleep(10_000).then(() => false)])
  if (!done) await d.stop(5000)
}

export async function runSyncthing(ctx: RunContext, version: string): Promise<ToolResult> {
  const result = emptyResult('syncthing')
  result.version = version
  const { log, runDir } = ctx
  const daemons: Array<{ d: Daemon; rest: Rest }> = []
  let ownerSampler: TreeSampler | null = null
  let readerSampler: TreeSampler | null = null
  try {
    const a = await makeInstance(runDir, 'a')
    const b = await makeInstance(runDir, 'b')
    log(`syncthing: copying the dataset into ${a.folder}`)
    await copyDataset(ctx.datasetRoot, a.folder)
    await fs.mkdir(b.folder, { recursive: true })
    // The folder marker Syncthing expects in every folder root.
    await fs.mkdir(path.join(a.folder, '.stfolder'), { recursive: true })
    await fs.mkdir(path.join(b.folder, '.stfolder'), { recursive: true })
    await writeConfig(a, [b], 'sendreceive')
    await writeConfig(b, [a], 'receiveonly')
    const restA = new Rest(a)
    const restB = new Rest(b)

    // 1. Owner: start until the initial scan has counted every file.
    log('syncthing: starting A (owner) and timing its initial scan')
    const dA = start(a, 'syncthing-a', runDir)
    daemons.push({ d: dA, rest: restA })
    result.logs.push(dA.logFile)
    ownerSampler = new TreeSampler(dA.pid)
    result.ownerStartMs = await waitApi(dA, restA, 60_000)
    await assertIsolated(restA, 'syncthing A')
    let scanStart: number | null = null
    const n = ctx.files.length
    const scanned = await pollUntil(
      'A to finish its initial scan',
      async () => {
        const s = await restA.get<DbStatus>(`/rest/db/status?folder=${FOLDER_ID}`)
        if (!s) return null
        if (s.state === 'scanning' && scanStart === null) scanStart = now()
        if (s.state === 'idle' && s.globalFiles === n && s.localFiles === n) return now()
        return null
      },
      { intervalMs: 100, timeoutMs: ctx.timeoutMs },
    )
    result.importMs = scanned - dA.startedAt
    result.scanOnlyMs =
      (await scanDuration(restA)) ?? (scanStart === null ? null : scanned - scanStart)
    log(
      `syncthing: A scanned ${n} files in ${(result.importMs / 1000).toFixed(2)} s from its start`,
    )

    // 2. Reader: start until its tree holds every file with its size; then check content.
    log('syncthing: starting B (reader) and timing the delivery')
    const ownerCpu0 = ownerSampler.cpu()
    const dB = start(b, 'syncthing-b', runDir)
    daemons.push({ d: dB, rest: restB })
    result.logs.push(dB.logFile)
    readerSampler = new TreeSampler(dB.pid)
    const t0 = dB.startedAt
    let stopConn = false
    const conn = pollUntil(
      'B to connect to A',
      async () => {
        if (stopConn) return -1
        const c = await restB.get<Connections>('/rest/system/connections')
        return c?.connections[a.deviceId]?.connected ? now() - t0 : null
      },
      { intervalMs: 50, timeoutMs: ctx.timeoutMs },
    ).catch(() => -1)
    void waitApi(dB, restB, 60_000)
      .then((ms) => (result.readerStartMs = ms))
      .catch(() => undefined)
    let ownerCpu1 = 0
    let readerCpu1 = 0
    const delivered = await deliverAndCheck(b.folder, ctx, syncthingIgnore, () => {
      ownerCpu1 = ownerSampler?.cpu() ?? 0
      readerCpu1 = readerSampler?.cpu() ?? 0
    })
    stopConn = true
    recordDelivery(ctx, result, {
      tool: 'syncthing',
      delivered,
      startedAt: t0,
      // Syncthing is told about the folder by its config, before it starts.
      toldAt: t0,
      connectedMs: await conn,
      ownerCpu: ownerCpu1 - ownerCpu0,
      readerCpu: readerCpu1,
    })

    // Figures 4, 5 and 6: new files, then peak RSS and disk.
    await finishFigures(ctx, result, {
      tool: 'syncthing',
      ownerDir: a.folder,
      readerDir: b.folder,
      ownerData: a.home,
      readerData: b.home,
      ownerSampler,
      readerSampler,
    })
    ownerSampler = readerSampler = null
    const procs = result.ownerProc?.processes.length ?? 0
    result.notes.push(
      procs > 1
        ? `each instance ran as ${procs} processes (Syncthing forks a monitor and a worker even ` +
            'with --no-restart); the RSS figure is their sum, the worker is the larger one'
        : 'each instance ran as one process; the RSS figure is that process',
      `Syncthing default kept: fsWatcherDelayS=10 (its watcher batches changes); setLowPriority=false${batchPrefix().length ? " and SCHED_BATCH (chrt -b 0, as bin/spare runs Spare's daemon)" : ''} so both tools run at the same priority`,
    )
    result.ok = true
  } catch (err) {
    result.error = (err as Error).message
    log(`syncthing: FAILED: ${result.error}`)
  } finally {
    ownerSampler?.stop()
    readerSampler?.stop()
    for (const { d, rest } of daemons.reverse()) await stopInstance(d, rest)
    for (const { d } of daemons) {
      if (d.exitSignal === 'SIGKILL') result.notes.push(`${d.name} needed SIGKILL to stop`)
    }
  }
  return result
}
