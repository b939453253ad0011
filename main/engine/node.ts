// SpareNode: opens and closes everything in order. Data directory → lock → settings → logs →
// Corestore → network (HyperDHT) → swarm → folders; close() releases them in reverse.
// Plain Node: runs in Electron's main process, in the headless daemon and in tests.
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import Corestore from 'corestore'
import CoreStorage from 'hypercore-storage'
import crypto from 'hypercore-crypto'
import {
  ApiError,
  describeZodError,
  type DonateStatus,
  type FolderSummary,
  type JobDetail,
  type JobSummary,
  type NodeStatus,
  type Peer,
  type RunSummary,
} from '../../shared/contract.ts'
import { validateRemotePath } from './folders/safe-path.ts'
import { SettingsStore, SettingsError, type FolderRecord } from './settings.ts'
import { RECLAIM_DEFAULTS, StoreReclaim, type ReclaimTimers } from './store-reclaim.ts'
import { LOG_LEVELS, openLogger, type Logger, type LogLevel, type OpenedLogger } from './logger.ts'
import {
  describeNetwork,
  isLoopbackOnly,
  openNetwork,
  parseNetwork,
  NetworkConfigError,
  type NetworkConfig,
  type OpenNetwork,
} from './net/network.ts'
import { Swarm } from './net/swarm.ts'
import { OwnerFolder } from './folders/owner.ts'
import { ReaderFolder } from './folders/reader.ts'
import type { Folder, FolderContext } from './folders/folder.ts'
import {
  SyncFolder,
  joinMessage,
  type ConflictInfo,
  type MemberInfo,
  type VersionInfo,
} from './sync/sync-folder.ts'
import { Hosting, parseTimers, type DonateInfo, type HostableFolder } from './hosting/hosting.ts'
import { DonateLimitsSchema, type DonateLimits } from './limits/governor.ts'
import { osProbe, type SystemProbe } from './limits/system.ts'
import { CpuGovernor } from './limits/cpu.ts'
import { Compute, parseComputeTimers } from './compute/compute.ts'
import type { LedgerReport } from './ledger/ledger.ts'
import { decodeInvite, encodeInvite, InviteError } from './folders/invite.ts'
import { VERSION } from './version.ts'
import { acquireDirLock, releaseDirLock } from './dir-lock.ts'
import { writeFileAtomic } from './util/atomic.ts'

export interface SpareNodeOptions {
  dataDir: string
  /** 'public' | 'local' | 'host:port,...'. Persisted when given; else the saved setting. */
  network?: string
  logLevel?: LogLevel
  /** Also print warnings and errors on stderr (the foreground daemon). */
  logToStderr?: boolean
  /** Idle time and battery for the CPU governor: Electron's powerMonitor in the app; else the OS. */
  systemProbe?: SystemProbe
  /** When the store looks for the disk of deleted blocks (tests shorten these). */
  reclaimTimers?: Partial<ReclaimTimers>
}

const WRITE_BUFFER_BYTES = 16 * 1024 * 1024
/** The node id the data directory's store gave when it was first opened (checkStoreIdentity). */
export const NODE_ID_FILE = 'node-id'

type Phase = 'new' | 'opening' | 'open' | 'closing' | 'closed'

export class SpareNode extends EventEmitter {
  readonly dataDir: string
  private readonly opts: SpareNodeOptions
  private phase: Phase = 'new'
  private opening: Promise<void> | null = null
  private closingP: Promise<void> | null = null
  private settings!: SettingsStore
  private logs!: OpenedLogger
  log!: Logger
  private store!: Corestore
  private reclaim: StoreReclaim | null = null
  private identity!: { publicKey: Buffer; secretKey: Buffer }
  private hosting: Hosting | null = null
  private cpu: CpuGovernor | null = null
  private compute: Compute | null = null
  private net!: OpenNetwork
  private swarm!: Swarm
  private networkConfig!: NetworkConfig
  private readonly folders = new Map<string, Folder>()
  private startedAt = Date.now()
  private lockFile: string
  /** The data directory with symlinks resolved, for overlap checks. */
  private realDataDir = ''
  private readonly cleanup: Array<() => Promise<void>> = []

  constructor(opts: SpareNodeOptions) {
    super()
    this.opts = opts
    this.dataDir = path.resolve(opts.dataDir)
    this.lockFile = path.join(this.dataDir, 'spare.lock')
  }

  get opened(): boolean {
    return this.phase === 'open'
  }

  ready(): Promise<void> {
    if (this.closingP)
      return Promise.reject(new Error('this node was closed; make a new SpareNode'))
    if (!this.opening) {
      this.phase = 'opening'
      this.opening = this.open().then(
        () => {
          this.phase = 'open'
        },
        async (err: unknown) => {
          await this.release()
          this.phase = 'closed'
          throw err
        },
      )
    }
    return this.opening
  }

  close(): Promise<void> {
    if (!this.closingP) {
      this.closingP = (async () => {
        if (this.opening) await this.opening.catch(() => {})
        if (this.phase === 'closed') return
        this.phase = 'closing'
        // A share, join or unshare in flight registers or drops a folder after its awaits: let it
        // finish (those queued behind it are refused), else a folder opened after the folders
        // were closed kept its watcher and timers for good.
        await this.folderChange
        await this.release()
        this.phase = 'closed'
      })()
    }
    return this.closingP
  }

  private async open(): Promise<void> {
    const openedAt = Date.now()
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 })
    this.realDataDir = await fs.realpath(this.dataDir)
    await acquireDirLock(this.lockFile, this.dataDir)
    this.cleanup.push(() => releaseDirLock(this.lockFile))

    this.settings = new SettingsStore(this.dataDir)
    await this.settings.load()
    if (this.opts.network !== undefined) {
      // Validate before persisting, so a typo never reaches the settings file.
      parseNetwork(this.opts.network, this.settings.value.localBootstrapPort)
      const network = this.opts.network.trim()
      if (network !== this.settings.value.network)
        await this.settings.update((s) => ({ ...s, network }))
    }
    const level = this.opts.logLevel ?? envLogLevel() ?? this.settings.value.logLevel
    this.logs = openLogger(this.dataDir, level, { stderr: this.opts.logToStderr ?? false })
    this.log = this.logs.logger
    this.cleanup.push(() => this.logs.close())
    try {
      this.networkConfig = parseNetwork(
        this.settings.value.network,
        this.settings.value.localBootstrapPort,
      )
    } catch (err) {
      // Only a hand-edited file gets here (a given network is checked before it is saved).
      if (!(err instanceof NetworkConfigError)) throw err
      throw new SettingsError(this.settings.file, `"network" is not valid: ${err.message}`)
    }
    this.log.info(
      { dataDir: this.dataDir, network: describeNetwork(this.networkConfig), version: VERSION },
      'starting',
    )

    // RocksDB's default memtable (64 MB, two of them) held most of a busy daemon's memory; 16 MB
    // keeps a daemon under ~200 MB while replicating (see docs/ARCHITECTURE.md, Performance).
    // RocksDB's own blob garbage collection is off: StoreReclaim collects when Spare deleted.
    const storeDir = path.join(this.dataDir, 'store')
    const storage = new CoreStorage(storeDir, {
      writeBufferSize: WRITE_BUFFER_BYTES,
      blobGarbageCollectionAgeCutOff: 0,
    })
    this.store = new Corestore(storage)
    try {
      await this.store.ready()
    } catch (err) {
      await this.store.close().catch(() => {})
      // RocksDB names no file ("CURRENT file does not end with newline"): say which store.
      throw new Error(
        `the store ${storeDir} cannot be opened (${(err as Error).message}). It is damaged: restore it from a backup.`,
        { cause: err },
      )
    }
    this.cleanup.push(() => this.store.close())
    this.reclaim = new StoreReclaim(storage, this.log.child({ part: 'store' }), {
      ...RECLAIM_DEFAULTS,
      ...this.opts.reclaimTimers,
    })
    this.cleanup.push(async () => {
      await this.reclaim?.close()
      this.reclaim = null
    })

    // The node's identity is stable (derived from the store's primary key). Its transport key pair
    // is fresh each start: stale DHT records of a previous run then name a key nobody answers to,
    // instead of one that hyperswarm dedupes against the live record (which stalled reconnects).
    this.identity = await this.store.createKeyPair('spare-identity')
    await this.checkStoreIdentity()
    const keyPair = crypto.keyPair()
    this.net = await openNetwork(this.networkConfig, keyPair, (m) => this.log.info(m))
    this.cleanup.push(() => this.net.close())
    this.swarm = new Swarm(this.net.dht, keyPair, this.store, this.log, { identity: this.identity })
    this.swarm.on('peers', () => this.emit('node', this.status()))
    this.net.onTopologyChange = () => this.topologyChanged()
    this.cleanup.push(() => this.swarm.close())
    await this.swarm.swarm.listen()
    if (this.settings.value.syncPaused) await this.swarm.setPaused(true)

    this.hosting = new Hosting({
      store: this.store,
      dht: this.net.dht,
      identity: this.identity,
      log: this.log.child({ part: 'hosting' }),
      dataDir: this.dataDir,
      limits: this.settings.value.donate,
      timers: parseTimers(process.env.SPARE_HOSTING_TIMERS),
      folders: () => this.hostableFolders(),
      memberTopics: () => this.syncTopics(),
      reclaimSoon: () => this.reclaim?.soon(),
    })
    await this.hosting.open()
    this.cleanup.push(async () => {
      await this.hosting?.close()
      this.hosting = null
    })
    this.hosting.on('changed', () => {
      for (const f of this.folders.values())
        if (f instanceof SyncFolder) this.emit('folder', this.summarize(f))
    })
    if (this.hostingPaused()) await this.hosting.setPaused(true)

    this.cpu = new CpuGovernor({
      limits: this.settings.value.donate,
      probe: this.opts.systemProbe ?? osProbe(),
      pause: this.settings.value.donatePause,
    })
    this.compute = new Compute({
      store: this.store,
      dht: this.net.dht,
      identity: this.identity,
      log: this.log.child({ part: 'compute' }),
      dataDir: this.dataDir,
      ledger: this.hosting.ledger,
      governor: this.cpu,
      limits: this.settings.value.donate,
      timers: parseComputeTimers(process.env.SPARE_COMPUTE_TIMERS),
    })
    await this.compute.open()
    this.cleanup.push(async () => {
      await this.compute?.close()
      this.compute = null
      this.cpu?.destroy()
      this.cpu = null
    })
    this.compute.on('job', (summary: JobSummary) => this.emit('job', summary))
    // While the node closes, donateStatus() refuses: nothing to tell then.
    this.compute.on('changed', () => void this.donateChanged().catch(() => {}))
    this.cpu.on('change', () => void this.donateChanged().catch(() => {}))
    this.armSnooze()
    this.cleanup.push(async () => {
      if (this.snoozeTimer) clearTimeout(this.snoozeTimer)
      if (this.donateTimer) clearTimeout(this.donateTimer)
    })
    // Anyone with this node's ledger key finds it here to check it (`spare ledger verify`).
    await this.swarm.join(this.hosting.ledger.core.discoveryKey, { server: true, client: false })

    for (const rec of this.settings.value.folders) {
      try {
        await this.openFolder(rec)
      } catch (err) {
        this.log.error({ folder: rec.id, err: (err as Error).message }, 'cannot open folder')
        // Its record stays in settings.json; without this it was only missing from the list.
        this.notices.push(
          `folder ${rec.id} (${rec.name}, ${rec.path}) could not be opened: ${(err as Error).message}`,
        )
      }
    }
    this.cleanup.push(async () => {
      for (const f of [...this.folders.values()].reverse()) await f.close().catch(() => {})
      this.folders.clear()
    })
    // Hyperswarm re-announces every 10 minutes. A folder with no peers looks again much sooner:
    // every few seconds on loopback (cheap; peers come and go in tests and dev), every 2 minutes
    // on the public DHT. The pace follows the network in force (a live change switches it).
    let lastLook = Date.now()
    const lonely = setInterval(() => {
      const lonelyMs = isLoopbackOnly(this.networkConfig) ? 5000 : 120_000
      if (Date.now() - lastLook < lonelyMs - 100) return
      lastLook = Date.now()
      if ([...this.folders.values()].some((f) => f.peers === 0)) this.swarm.refreshAll()
    }, 5000)
    lonely.unref()
    this.cleanup.push(async () => clearInterval(lonely))
    await this.noticeSetAside(openedAt)
    this.startedAt = Date.now()
    this.log.info({ nodeId: this.nodeId, folders: this.folders.size }, 'ready')
  }

  /**
   * The local DHT changed shape (this node took over the bootstrap port): every swarm on it
   * announces and looks up its topics again at once, the compute one too (it missed donors and
   * submitters until Hyperswarm's own refresh, 10 minutes later), and the hosting one (hosts and
   * the folders they keep, likewise).
   */
  private topologyChanged(): void {
    this.log.info('local network changed shape; re-announcing')
    this.swarm.refreshAll()
    this.compute?.refresh()
    this.hosting?.refresh()
  }

  /** Runs the cleanup steps in reverse order of opening; every step runs even if one fails. */
  private async release(): Promise<void> {
    while (this.cleanup.length) {
      const step = this.cleanup.pop()!
      try {
        await step()
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'error while closing')
      }
    }
  }

  private assertOpen(): void {
    if (this.phase !== 'open') throw new ApiError('UNAVAILABLE', `the node is ${this.phase}`)
  }

  /** The node's long-lived identity (stable across restarts). */
  get nodeId(): string {
    return this.identity.publicKey.toString('hex')
  }

  status(): NodeStatus {
    return {
      nodeId: this.nodeId,
      version: VERSION,
      network: describeNetwork(this.networkConfig),
      peers: this.swarm.peers.size,
      folders: this.folders.size,
      paused: this.settings.value.syncPaused,
      uptime: Math.round((Date.now() - this.startedAt) / 1000),
      dataDir: this.dataDir,
      notices: [...this.notices, ...(this.compute?.notices ?? [])],
    }
  }

  /**
   * The node id this data directory had (`DATA/node-id`) must be the one its store gives. A store
   * that was emptied, lost or swapped (a backup without it, a hand-made copy) gives another: a
   * start on it silently had a new identity and ledger (credit gone), and owned folders published
   * new drives that no member follows. Refused instead, naming what to do.
   */
  private async checkStoreIdentity(): Promise<void> {
    const file = path.join(this.dataDir, NODE_ID_FILE)
    const id = this.identity.publicKey.toString('hex')
    let known: string | null = null
    try {
      known = (await fs.readFile(file, 'utf8')).trim()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`${file} cannot be read (${(err as Error).message}).`, { cause: err })
      }
    }
    // Absent (a data directory of an older Spare, or a new one) or damaged: the store's is it.
    if (known === null || !/^[0-9a-f]{64}$/.test(known)) {
      if (known !== null) this.notices.push(`${file} was damaged: written again (${id})`)
      await writeFileAtomic(file, id + '\n')
      return
    }
    if (known !== id) {
      const store = path.join(this.dataDir, 'store')
      throw new Error(
        `the store ${store} is not this data directory's: it gives node id ${id}, ${file} says ${known}. ` +
          `It was emptied, lost or replaced; restore it from a backup. Starting on it would lose this node's ledger and the keys of the folders it owns. ` +
          `To start over as a new node anyway, remove ${file}.`,
      )
    }
  }

  /** What this start could not open (see NodeStatus.notices); compute adds its own. */
  private readonly notices: string[] = []

  /**
   * State files this start found damaged and set aside as `NAME.corrupt-TIME` (hosting.json, a
   * folder's index): each part logs it; this names them in the status too. compute.json says
   * more itself (Compute.notices).
   */
  private async noticeSetAside(since: number): Promise<void> {
    const foldersDir = path.join(this.dataDir, 'folders')
    const ids = await fs.readdir(foldersDir).catch(() => [] as string[])
    for (const dir of [this.dataDir, ...ids.map((id) => path.join(foldersDir, id))]) {
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        const m = /^(.+)\.corrupt-(\d+)$/.exec(name)
        if (!m || Number(m[2]) < since) continue
        this.notices.push(
          `${path.join(dir, m[1]!)} could not be read: set aside as ${path.join(dir, name)}, and started without it`,
        )
      }
    }
  }

  peers(): Peer[] {
    this.assertOpen()
    const out: Peer[] = []
    for (const p of this.swarm.peers.values()) {
      const folders: string[] = []
      for (const f of this.folders.values()) {
        if (f.hasPeer(p.conn.remotePublicKey)) folders.push(f.id)
      }
      const t = this.swarm.traffic.get(p.id)
      out.push({
        id: p.id,
        folders,
        connectedAt: p.connectedAt.toISOString(),
        bytesUp: t?.up ?? 0,
        bytesDown: t?.down ?? 0,
      })
    }
    return out
  }

  listFolders(): FolderSummary[] {
    this.assertOpen()
    return [...this.folders.values()].map((f) => this.summarize(f))
  }

  getFolder(id: string): FolderSummary {
    this.assertOpen()
    return this.folder(id).summary()
  }

  /** A folder's summary plus what the hosting layer knows of it (its hosts). */
  private summarize(f: Folder): FolderSummary {
    const base = f.summary()
    if (!(f instanceof SyncFolder) || !this.hosting) return base
    return { ...base, hosts: this.hosting.hostsOf(f.id), hostsWanted: f.record.hostsWanted }
  }

  private folder(id: string): Folder {
    const f = this.folders.get(id)
    if (!f) throw new ApiError('NOT_FOUND', `no folder with id ${id} (see \`spare folders\`)`)
    return f
  }

  private context(rec: FolderRecord): FolderContext {
    return {
      store: this.store,
      swarm: this.swarm,
      logger: this.log,
      stateDir: path.join(this.dataDir, 'folders', rec.id),
      reclaimSoon: () => this.reclaim?.soon(),
    }
  }

  private async openFolder(rec: FolderRecord): Promise<Folder> {
    const ctx = this.context(rec)
    const folder =
      rec.kind === 'sync'
        ? new SyncFolder(rec, ctx)
        : rec.role === 'owner'
          ? new OwnerFolder(rec, ctx)
          : new ReaderFolder(rec, ctx)
    folder.paused = this.settings.value.syncPaused
    folder.on('update', () => this.emit('folder', this.summarize(folder)))
    this.folders.set(rec.id, folder)
    try {
      await folder.open()
    } catch (err) {
      this.folders.delete(rec.id)
      await folder.close().catch(() => {})
      throw err
    }
    return folder
  }

  /** Checks a local folder path for a share or join; returns it resolved. */
  private async checkPath(p: string, mustExist: boolean): Promise<string> {
    if (!path.isAbsolute(p))
      throw new ApiError('BAD_INPUT', `the folder path must be absolute: ${p}`)
    const abs = path.resolve(p)
    let st
    try {
      st = await fs.stat(abs)
    } catch {
      if (mustExist) throw new ApiError('BAD_INPUT', `no such folder: ${abs}`)
    }
    if (st && !st.isDirectory()) throw new ApiError('BAD_INPUT', `not a folder: ${abs}`)
    const real = st ? await fs.realpath(abs) : await this.realOfNew(abs)
    const inside = (a: string, b: string): boolean => a === b || a.startsWith(b + path.sep)
    if (inside(real, this.realDataDir) || inside(this.realDataDir, real)) {
      throw new ApiError('BAD_INPUT', `the folder overlaps Spare's data directory ${this.dataDir}`)
    }
    for (const f of this.folders.values()) {
      const other = f.record.path
      if (inside(real, other) || inside(other, real)) {
        throw new ApiError('CONFLICT', `${real} overlaps the synced folder ${other} (${f.id})`)
      }
    }
    return real
  }

  /**
   * Where a path that does not exist yet will land: its nearest existing ancestor by its real
   * path (a symlink on the way may lead into the data directory or a shared folder), plus the
   * rest. That ancestor must be a folder.
   */
  private async realOfNew(abs: string): Promise<string> {
    const rest: string[] = []
    let dir = abs
    for (;;) {
      const st = await fs.stat(dir).catch(() => null)
      if (st) {
        if (!st.isDirectory()) throw new ApiError('BAD_INPUT', `not a folder: ${dir}`)
        return path.join(await fs.realpath(dir), ...rest)
      }
      const parent = path.dirname(dir)
      if (parent === dir) return abs
      rest.unshift(path.basename(dir))
      dir = parent
    }
  }

  /**
   * Changes the network mode live: saved, then a new DHT and swarm replace the old ones and every
   * folder joins its topic again. No restart needed.
   */
  async setNetwork(value: string): Promise<NodeStatus> {
    this.assertOpen()
    let config: NetworkConfig
    try {
      config = parseNetwork(value, this.settings.value.localBootstrapPort)
    } catch (err) {
      if (err instanceof NetworkConfigError) throw new ApiError('BAD_INPUT', err.message)
      throw err
    }
    // One change at a time, in the order asked: a `local` network opens in several steps, and a
    // later change that overtook it ended up saved while the node ran on the earlier one.
    const run = this.networkChange.then(() => this.changeNetwork(value.trim(), config))
    this.networkChange = run.then(
      () => {},
      () => {},
    )
    return run
  }

  private networkChange: Promise<void> = Promise.resolve()

  private async changeNetwork(network: string, config: NetworkConfig): Promise<NodeStatus> {
    this.assertOpen()
    if (network !== this.settings.value.network) {
      await this.settings.update((s) => ({ ...s, network }))
      const keyPair = crypto.keyPair()
      const next = await openNetwork(config, keyPair, (m) => this.log.info(m))
      if (this.phase !== 'open') {
        // close() ran meanwhile and released the network it knew: this one is ours to close.
        await next.close().catch(() => {})
        throw new ApiError('UNAVAILABLE', `the node is ${this.phase}`)
      }
      const prev = this.net
      this.net = next
      this.networkConfig = config
      next.onTopologyChange = () => this.topologyChanged()
      await this.swarm.switchTo(next.dht, keyPair)
      await this.hosting?.switchTo(next.dht)
      await this.compute?.switchTo(next.dht)
      await prev.close().catch(() => {})
      this.log.info({ network: describeNetwork(config) }, 'network changed')
    }
    const status = this.status()
    this.emit('node', status)
    return status
  }

  /** Pauses or resumes syncing for every folder; saved, so it survives restarts. */
  async setPaused(paused: boolean): Promise<NodeStatus> {
    this.assertOpen()
    if (paused !== this.settings.value.syncPaused) {
      await this.settings.update((s) => ({ ...s, syncPaused: paused }))
      await this.swarm.setPaused(paused)
      await this.hosting?.setPaused(this.hostingPaused())
      for (const f of this.folders.values()) {
        f.paused = paused
        this.emit('folder', this.summarize(f))
      }
      this.log.info({ paused }, paused ? 'syncing paused' : 'syncing resumed')
    }
    const status = this.status()
    this.emit('node', status)
    return status
  }

  /**
   * Shares a folder. 'sync' (the default): a two-way folder every writer member can change.
   * 'publish': only this device writes; members mirror it.
   */
  async share(
    folderPath: string,
    name?: string,
    mode: 'sync' | 'publish' = 'sync',
  ): Promise<{ folder: FolderSummary; invite: string }> {
    return this.oneFolderChange(() => this.shareNow(folderPath, name, mode))
  }

  /**
   * Runs shares, joins and unshares one at a time: each checks for overlaps and for a folder
   * already joined, then awaits a lot before the new folder is registered. Two at once both
   * passed. close() waits for the one in flight.
   */
  private oneFolderChange<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.folderChange.then(fn)
    this.folderChange = run.then(
      () => {},
      () => {},
    )
    return run
  }

  private folderChange: Promise<void> = Promise.resolve()

  private async shareNow(
    folderPath: string,
    name: string | undefined,
    mode: 'sync' | 'publish',
  ): Promise<{ folder: FolderSummary; invite: string }> {
    this.assertOpen()
    const real = await this.checkPath(folderPath, true)
    const namespace = `folder-${randomBytes(16).toString('hex')}`
    const encryptionKey = randomBytes(32)
    const ctx = this.context({ id: 'new' } as FolderRecord)
    const key =
      mode === 'sync'
        ? await SyncFolder.create(ctx, namespace, encryptionKey)
        : (await OwnerFolder.create(ctx, namespace, encryptionKey)).key
    const rec: FolderRecord = {
      id: crypto.discoveryKey(key).toString('hex').slice(0, 16),
      name: (name ?? path.basename(real)) || 'folder',
      path: real,
      kind: mode,
      role: mode === 'sync' ? 'writer' : 'owner',
      key: key.toString('hex'),
      encryptionKey: encryptionKey.toString('hex'),
      namespace,
      versionsDays: 30,
      hostsWanted: 2,
      proof: null,
      createdAt: new Date().toISOString(),
    }
    this.assertOpen() // close() began meanwhile: it waits for this change; end it here
    await this.settings.update((s) => ({ ...s, folders: [...s.folders, rec] }))
    const folder = await this.openFolder(rec)
    this.log.info({ folder: rec.id, path: real, mode }, 'shared a folder')
    this.emit('folder', this.summarize(folder))
    return { folder: this.summarize(folder), invite: await this.inviteFor(folder, false) }
  }

  private async inviteFor(folder: Folder, readOnly: boolean): Promise<string> {
    const rec = folder.record
    const base = {
      key: Buffer.from(rec.key, 'hex'),
      encryptionKey: Buffer.from(rec.encryptionKey, 'hex'),
      name: rec.name,
      sync: rec.kind === 'sync',
    }
    if (!readOnly && folder instanceof SyncFolder && folder.writable) {
      return encodeInvite({ ...base, writer: true, seed: await folder.createWriterInvite() })
    }
    if (!readOnly && rec.kind === 'sync') {
      throw new ApiError(
        'CONFLICT',
        'this device is not a writer of the folder (yet); it can give read-only invites (--read-only)',
      )
    }
    return encodeInvite({ ...base, writer: false, seed: null })
  }

  /** An invite to the folder: for a writer (two-way folders) unless `readOnly`. */
  async invite(id: string, readOnly = false): Promise<string> {
    this.assertOpen()
    return this.inviteFor(this.folder(id), readOnly)
  }

  async join(inviteText: string, folderPath: string): Promise<FolderSummary> {
    return this.oneFolderChange(() => this.joinNow(inviteText, folderPath))
  }

  private async joinNow(inviteText: string, folderPath: string): Promise<FolderSummary> {
    this.assertOpen()
    let invite
    try {
      invite = decodeInvite(inviteText)
    } catch (err) {
      if (err instanceof InviteError)
        throw new ApiError('BAD_INPUT', `invalid invite: ${err.message}`)
      throw err
    }
    const id = crypto.discoveryKey(invite.key).toString('hex').slice(0, 16)
    const existing = this.folders.get(id)
    if (existing) {
      throw new ApiError(
        'CONFLICT',
        `this device already syncs that folder as ${existing.record.path} (${id})`,
      )
    }
    const real = await this.checkPath(folderPath, false)
    await fs.mkdir(real, { recursive: true })
    let namespace: string | null = null
    let proof: FolderRecord['proof'] = null
    if (invite.writer && invite.seed) {
      namespace = `folder-${randomBytes(16).toString('hex')}`
      const own = await SyncFolder.ownLogKey(
        this.context({ id } as FolderRecord),
        namespace,
        invite.encryptionKey,
      )
      const kp = crypto.keyPair(invite.seed)
      proof = {
        invite: kp.publicKey.toString('hex'),
        sig: crypto.sign(joinMessage(invite.key, own), kp.secretKey).toString('hex'),
      }
    }
    const rec: FolderRecord = {
      id,
      name: invite.name || path.basename(real) || 'folder',
      path: real,
      kind: invite.sync ? 'sync' : 'publish',
      role: invite.writer ? 'writer' : 'reader',
      key: invite.key.toString('hex'),
      encryptionKey: invite.encryptionKey.toString('hex'),
      namespace,
      versionsDays: 30,
      hostsWanted: 2,
      proof,
      createdAt: new Date().toISOString(),
    }
    this.assertOpen() // close() began meanwhile: it waits for this change; end it here
    await this.settings.update((s) => ({ ...s, folders: [...s.folders, rec] }))
    const folder = await this.openFolder(rec)
    this.log.info({ folder: id, path: real, role: rec.role }, 'joined a folder')
    this.emit('folder', this.summarize(folder))
    return this.summarize(folder)
  }

  private syncFolder(id: string): SyncFolder {
    const f = this.folder(id)
    if (!(f instanceof SyncFolder)) {
      throw new ApiError('BAD_INPUT', `${id} is a published folder; only two-way folders have this`)
    }
    return f
  }

  members(id: string): MemberInfo[] {
    this.assertOpen()
    return this.syncFolder(id).members()
  }

  async removeMember(id: string, member: string): Promise<MemberInfo> {
    this.assertOpen()
    try {
      return await this.syncFolder(id).removeMember(member)
    } catch (err) {
      if (err instanceof RangeError) throw new ApiError('NOT_FOUND', err.message)
      if (err instanceof ApiError) throw err
      throw new ApiError('CONFLICT', (err as Error).message)
    }
  }

  conflicts(id: string): ConflictInfo[] {
    this.assertOpen()
    return this.syncFolder(id).conflicts()
  }

  /** The start of a file in a two-way folder, as it is on this device (comparing conflicts). */
  async preview(
    id: string,
    file: string,
  ): Promise<{ size: number; text: string | null; truncated: boolean }> {
    this.assertOpen()
    try {
      return await this.syncFolder(id).preview(normalizeKey(file))
    } catch (err) {
      if (err instanceof RangeError) throw new ApiError('NOT_FOUND', err.message)
      throw err
    }
  }

  /** Keeps one side of a conflict: deletes the copy, or moves it over the original. */
  async resolveConflict(
    id: string,
    copy: string,
    keep: 'original' | 'copy',
  ): Promise<{ path: string }> {
    this.assertOpen()
    try {
      return await this.syncFolder(id).resolveConflict(normalizeKey(copy), keep)
    } catch (err) {
      if (err instanceof RangeError) throw new ApiError('NOT_FOUND', err.message)
      throw err
    }
  }

  versions(id: string, file: string): VersionInfo[] {
    this.assertOpen()
    return this.syncFolder(id).versions(normalizeKey(file))
  }

  async restore(
    id: string,
    file: string,
    version: string | null,
    to: string | null,
  ): Promise<{ version: string; path: string }> {
    this.assertOpen()
    if (to !== null && !path.isAbsolute(to)) {
      throw new ApiError('BAD_INPUT', `the destination must be an absolute path: ${to}`)
    }
    const folder = this.syncFolder(id)
    if (to !== null) {
      // Where the copy lands: through any symlink on the way, never in the folder itself nor in
      // Spare's own data directory (settings.json, the token), and never over a folder.
      const abs = path.resolve(to)
      const st = await fs.lstat(abs).catch(() => null)
      if (st?.isDirectory()) {
        throw new ApiError('BAD_INPUT', `the destination is a folder: ${abs} (give a file name)`)
      }
      const real = path.join(await this.realOfNew(path.dirname(abs)), path.basename(abs))
      const inside = (a: string, b: string): boolean => a === b || a.startsWith(b + path.sep)
      if (inside(real, folder.record.path)) {
        throw new ApiError(
          'BAD_INPUT',
          'restore into the folder without --to; --to is for a copy outside it',
        )
      }
      if (inside(real, this.realDataDir)) {
        throw new ApiError(
          'BAD_INPUT',
          `the destination is inside Spare's data directory ${this.dataDir}`,
        )
      }
    }
    try {
      return await folder.restore(normalizeKey(file), version, to)
    } catch (err) {
      if (err instanceof ApiError) throw err
      if (err instanceof RangeError) throw new ApiError('NOT_FOUND', err.message)
      throw new ApiError('UNAVAILABLE', (err as Error).message)
    }
  }

  /** Per-folder settings of a two-way folder (how long versions are kept). */
  async configure(
    id: string,
    opts: { versionsDays?: number; hostsWanted?: number },
  ): Promise<FolderSummary> {
    this.assertOpen()
    const folder = this.syncFolder(id)
    if (opts.versionsDays !== undefined) {
      const days = opts.versionsDays
      await this.settings.update((s) => ({
        ...s,
        folders: s.folders.map((f) => (f.id === id ? { ...f, versionsDays: days } : f)),
      }))
      folder.record.versionsDays = days
      folder.collectSoon()
    }
    if (opts.hostsWanted !== undefined) {
      const n = opts.hostsWanted
      await this.settings.update((s) => ({
        ...s,
        folders: s.folders.map((f) => (f.id === id ? { ...f, hostsWanted: n } : f)),
      }))
      folder.record.hostsWanted = n
      void this.hosting?.updateTopics()
    }
    const summary = this.summarize(folder)
    this.emit('folder', summary)
    return summary
  }

  private hostableFolders(): HostableFolder[] {
    const out: HostableFolder[] = []
    for (const f of this.folders.values()) {
      if (!(f instanceof SyncFolder) || !f.writable || !f.topic) continue
      out.push({
        id: f.id,
        topic: f.topic,
        hostsWanted: f.record.hostsWanted,
        coreKeys: () => f.coreKeys(),
        sizeBytes: () => f.sizeBytes(),
        blockCount: () => f.blockCount(),
        sized: () => f.scannedOnce,
        auditSample: (have) => f.auditSample(have),
      })
    }
    return out
  }

  private syncTopics(): Buffer[] {
    const out: Buffer[] = []
    for (const f of this.folders.values()) if (f instanceof SyncFolder && f.topic) out.push(f.topic)
    return out
  }

  private needHosting(): Hosting {
    if (!this.hosting) throw new ApiError('UNAVAILABLE', 'the node is not open')
    return this.hosting
  }

  /** Donation limits, usage against each, the folders kept for others, and donated CPU. */
  async donateStatus(): Promise<DonateStatus> {
    this.assertOpen()
    return this.withCpu(await this.needHosting().donateStatus())
  }

  /**
   * Changes donation limits (null clears one); saved; applied at once (evicting if needed, and
   * the CPU governor within one tick). A bad schedule is BAD_INPUT.
   */
  async setDonateLimits(change: Partial<DonateLimits>): Promise<DonateStatus> {
    this.assertOpen()
    const parsed = DonateLimitsSchema.safeParse({ ...this.settings.value.donate, ...change })
    if (!parsed.success) throw new ApiError('BAD_INPUT', describeZodError(parsed.error))
    const next = parsed.data
    await this.settings.update((s) => ({ ...s, donate: next }))
    this.cpu?.setLimits(next)
    this.compute?.setLimits(next)
    const info = this.withCpu(await this.needHosting().setLimits(next))
    this.emit('donate', info)
    return info
  }

  /**
   * Pauses donating (disk hosting traffic and CPU jobs) for `minutes`, or until resumed. Saved, so
   * a snooze survives a restart and ends by itself.
   */
  async pauseDonating(minutes: number | null): Promise<DonateStatus> {
    this.assertOpen()
    const pause = { until: minutes === null ? null : Date.now() + Math.round(minutes * 60_000) }
    await this.settings.update((s) => ({ ...s, donatePause: pause }))
    this.cpu?.setPause(pause)
    await this.hosting?.setPaused(this.hostingPaused())
    this.armSnooze()
    this.log.info({ until: pause.until }, 'donating paused')
    return this.donateChanged()
  }

  async resumeDonating(): Promise<DonateStatus> {
    this.assertOpen()
    await this.settings.update((s) => ({ ...s, donatePause: null }))
    this.cpu?.setPause(null)
    await this.hosting?.setPaused(this.hostingPaused())
    this.armSnooze()
    this.log.info('donating resumed')
    return this.donateChanged()
  }

  /** The donation pause in force now (an expired snooze is none). */
  private activePause(): { until: number | null } | null {
    const p = this.settings.value.donatePause
    if (!p || (p.until !== null && p.until <= Date.now())) return null
    return p
  }

  private hostingPaused(): boolean {
    return this.settings.value.syncPaused || this.activePause() !== null
  }

  private snoozeTimer: NodeJS.Timeout | null = null

  /** Ends a snooze on time: hosting resumes (the CPU governor checks `until` itself). */
  private armSnooze(): void {
    if (this.snoozeTimer) clearTimeout(this.snoozeTimer)
    this.snoozeTimer = null
    const until = this.activePause()?.until
    if (until === undefined || until === null) return
    this.snoozeTimer = setTimeout(
      () => {
        this.snoozeTimer = null
        if (this.phase !== 'open') return
        this.hosting?.setPaused(this.hostingPaused()).catch(() => {})
        this.donateChanged().catch(() => {})
      },
      Math.min(until - Date.now() + 50, 2 ** 31 - 1),
    )
    this.snoozeTimer.unref()
  }

  private withCpu(info: DonateInfo): DonateStatus {
    const counts = this.compute?.counts() ?? { running: 0, queued: 0 }
    const cpu = this.cpu
      ? this.cpu.status()
      : {
          blockedBy: 'off' as const,
          reason: 'The node is not open.',
          usedPercent: 0,
          otherPercent: null,
          idleMs: null,
          onBattery: null,
          probe: 'none',
          machineCores: 0,
          running: 0,
          queued: 0,
        }
    return { ...info, pause: this.activePause(), cpu: { ...cpu, ...counts } }
  }

  private donateTimer: NodeJS.Timeout | null = null

  /** Tells clients the donation state changed (at most every 250 ms). */
  private async donateChanged(): Promise<DonateStatus> {
    const info = await this.donateStatus()
    if (!this.donateTimer) {
      this.donateTimer = setTimeout(() => {
        this.donateTimer = null
        if (this.phase !== 'open') return
        this.donateStatus()
          .then((latest) => this.emit('donate', latest))
          .catch(() => {})
      }, 250)
      this.donateTimer.unref()
    }
    return info
  }

  private needCompute(): Compute {
    if (!this.compute) throw new ApiError('UNAVAILABLE', 'the node is not open')
    return this.compute
  }

  /** Sends a WebAssembly job to donors; its result comes once a quorum agrees. */
  async submitJob(opts: {
    module: Buffer
    input: Buffer
    replicas: number
    name: string
    wallMs: number
  }): Promise<JobSummary> {
    this.assertOpen()
    try {
      return await this.needCompute().submit(opts)
    } catch (err) {
      if ((err as { code?: string }).code === 'BAD_MODULE') {
        throw new ApiError('BAD_INPUT', (err as Error).message)
      }
      throw err
    }
  }

  jobs(): { submitted: JobSummary[]; run: RunSummary[] } {
    this.assertOpen()
    return this.needCompute().jobs()
  }

  async job(id: string): Promise<JobDetail> {
    this.assertOpen()
    const j = await this.needCompute().job(id)
    if (!j) throw new ApiError('NOT_FOUND', `no job ${id.slice(0, 12)}… was submitted here`)
    return j
  }

  /** This node's ledger: key, totals, recent receipts, and refused peers. */
  ledger(): {
    key: string
    identity: string
    given: number
    received: number
    balance: number
    receipts: number
    recent: unknown[]
    strikes: Record<string, number>
  } {
    this.assertOpen()
    const h = this.needHosting()
    const sum = h.ledger.summary()
    return {
      key: h.ledger.core.key.toString('hex'),
      identity: this.nodeId,
      given: sum.given,
      received: sum.received,
      balance: sum.balance,
      receipts: sum.receipts,
      recent: h.ledger.recent(20),
      strikes: mergeCounts(h.strikes(), this.compute?.strikes() ?? {}),
    }
  }

  /** Fetches another node's ledger by key and checks every signature. */
  async verifyLedger(key: string): Promise<LedgerReport> {
    this.assertOpen()
    try {
      return await this.needHosting().verifyRemote(Buffer.from(key, 'hex'), this.swarm)
    } catch (err) {
      throw new ApiError('UNAVAILABLE', (err as Error).message)
    }
  }

  async unshare(id: string): Promise<void> {
    return this.oneFolderChange(() => this.unshareNow(id))
  }

  private async unshareNow(id: string): Promise<void> {
    this.assertOpen()
    const folder = this.folder(id)
    this.folders.delete(id)
    await folder.close()
    await this.settings.update((s) => ({ ...s, folders: s.folders.filter((f) => f.id !== id) }))
    try {
      if (
        folder instanceof OwnerFolder ||
        folder instanceof ReaderFolder ||
        folder instanceof SyncFolder
      )
        await folder.purge()
    } catch (err) {
      this.log.warn({ folder: id, err: (err as Error).message }, 'could not purge the folder cores')
    }
    this.hosting?.forgetFolder(id)
    this.reclaim?.soon()
    this.log.info({ folder: id }, 'stopped syncing a folder; files on disk stay')
    this.emit('folder-removed', id)
  }
}

/** A folder path as the user types it ('a/b', '/a/b', './a/b') → the folder's key ('/a/b'). */
function normalizeKey(file: string): string {
  const parts = file
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
  if (parts.length === 0 || parts.includes('..')) {
    throw new ApiError('BAD_INPUT', `not a path inside the folder: ${file}`)
  }
  const key = '/' + parts.join('/')
  try {
    validateRemotePath(key) // the rules every path in a folder obeys (length, control characters)
  } catch (err) {
    throw new ApiError('BAD_INPUT', `not a path inside the folder: ${(err as Error).message}`)
  }
  return key
}

function mergeCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v
  return out
}

/** SPARE_LOG_LEVEL, checked: pino's own refusal of an unknown level names neither. */
function envLogLevel(): LogLevel | undefined {
  const v = process.env.SPARE_LOG_LEVEL
  if (v === undefined || v === '') return undefined
  if (!(LOG_LEVELS as readonly string[]).includes(v))
    throw new Error(`SPARE_LOG_LEVEL "${v}" is not a log level (${LOG_LEVELS.join(', ')})`)
  return v as LogLevel
}

export { SettingsError, NetworkConfigError }
