// A two-way folder: every writer device keeps its own log of ops and its own blobs core of chunk
// content; every member replicates all members' logs, computes the same merged state from them
// (state.ts) and makes its folder on disk match it. One loop per folder does the work in order:
// read new ops, record local changes, settle conflicts (writers), apply the merged state to disk.
// Doing these in one loop means a local edit is always recorded before a remote version may
// replace it, so nothing is overwritten unseen.
import { constants as fsConstants, promises as fs, type Stats } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import crypto from 'hypercore-crypto'
import type Hypercore from 'hypercore'
import type { Download, HypercoreExtension } from 'hypercore'
import { ApiError, type LocalChange } from '../../../shared/contract.ts'
import { Folder, isDiskFull, type FolderContext } from '../folders/folder.ts'
import type { FolderRecord } from '../settings.ts'
import { watchFolder, type FolderWatcher } from '../folders/watcher.ts'
import {
  TEMP_PREFIX,
  parentKey,
  removeStaleTemps,
  ensureSafeParents,
  parentsAreSafe,
  toDiskPath,
  toDriveKey,
  validateRemotePath,
} from '../folders/safe-path.ts'
import {
  contentKey,
  decodeOp,
  deviceOf,
  encodeOp,
  fileOpOf,
  sameFileOp,
  type FileOp,
  type Op,
} from './ops.ts'
import { SyncState, type Member, type OpRef } from './state.ts'
import { bump, compare, vvKey } from './vv.ts'
import { LocalIndex, type LocalEntry } from './local-index.ts'
import { BlobWriter, contentHash, hashChunk, type ChunkLocation } from './blobs.ts'
import { chunkSizeFor, digestFile, readFully } from './chunks.ts'
import { IGNORE_FILE, IgnoreRules } from './ignore.ts'
import { CaseGroups, caseKey, portabilityProblem } from './names.ts'
import { conflictName, conflictParts, isConflictName } from './conflict-name.ts'
import { FolderCounts, type Totals } from './counts.ts'
import { Recheck } from '../folders/recheck.ts'
import { writeFully } from '../util/write-fully.ts'
import { moveToFreeName, renameKeeping } from '../util/keep-copy.ts'
import { isJunkName } from '../util/junk.ts'
import { Breather } from '../util/wait.ts'
import { closeFd, lstat, openForReading, readAt } from '../util/fs-calls.ts'
import { RealCase, foldsCase } from '../util/real-case.ts'

const WATCH_DEBOUNCE_MS = 30
/** An applied path is looked at again this long after it was written (folders/recheck.ts). */
const RECHECK_AFTER_APPLY_MS = 750
const RESCAN_INTERVAL_MS = 10 * 60 * 1000
const RETRY_MS = 3000
/** How long a chunk fetch waits for a peer before the file is retried later. */
/**
 * How long a chunk fetch waits for a peer. Short: the loop that waits also records local
 * changes. A core that did not answer is not asked again in the same pass; its files wait aside
 * and are tried again when a peer comes, or every few seconds.
 */
const FETCH_TIMEOUT_MS = 3000
/** Files waiting for content are tried again at least this often (and whenever a peer comes). */
const WAITING_RETRY_MS = 5000
/** How often a path blocked by a folder in its way (FolderInTheWay) is tried again. */
const BLOCKED_RETRY_MS = 5000
/** Chunks of one file fetched ahead of the one being written. */
const CHUNKS_AHEAD = 6
const OPS_PER_APPEND = 500
/**
 * A scan looks at this many paths ahead of the one it records (their lstat, and the content of
 * small files that changed): one after another, each thread-pool round trip left the loop idle.
 */
const SCAN_AHEAD = 16
/** Log blocks read from the store ahead of the op being applied (readLogsPass). */
const READ_AHEAD_OPS = 64
/** Files up to this size (one chunk) are read whole when looked at ahead. */
const READ_AHEAD_MAX = 256 * 1024
const JOIN_RETRY_MS = 3000
/** How often blocks of versions past their retention are dropped. */
const GC_INTERVAL_MS = 60 * 60 * 1000
export const INVITE_LIFETIME_MS = 7 * 24 * 3600 * 1000
export const JOIN_EXTENSION = 'spare-sync/join'
const MAX_JOIN_CHECKS = 4
/** How long an op may wait for the logs it names to arrive before it is refused as made up. */
const CAUSAL_WAIT_MS = 20_000
const JOIN_REFUSAL_MEMORY_MS = 10 * 60 * 1000

export function joinMessage(rootKey: Buffer, logKey: Buffer): Buffer {
  return Buffer.concat([Buffer.from('spare-sync-join\0'), rootKey, logKey])
}

export interface VersionInfo {
  id: string
  kind: FileOp['kind']
  size: number
  mtime: number
  at: number
  device: string
  current: boolean
}

export interface MemberInfo {
  device: string
  key: string
  label: string
  removed: boolean
  you: boolean
  addedBy: string | null
}

/** A path looked at ahead of its turn in a scan (lookAhead); `failed`: look again then. */
interface Looked {
  st: Stats | null
  data: Buffer | null
  failed: boolean
}

interface OpenLog {
  core: Hypercore
  read: number
  /** What is downloaded of it: everything, live (Infinity), or up to a removed member's cut. */
  cut: number
  range: Download | null
}

/** The fields of a version without file content (deletions, folders, links). */
export const NO_CONTENT = {
  size: 0,
  x: false,
  hash: null,
  chunkSize: 0,
  cores: [],
  chunks: [],
  link: null,
} as const satisfies Partial<FileOp>

class FetchUnavailable extends Error {}
/** The target changed on disk while a version was being written: record the change first. */
class LocalChangeRace extends Error {}
/**
 * On a disk that ignores case: another spelling of the path, still current, holds its place (or
 * its folder's place) there.
 */
class SpellingInTheWay extends Error {
  constructor(key: string, other: string, folder = false) {
    super(
      folder
        ? `its folder is ${JSON.stringify(other)} on this disk, which differs only in case from the folder's version; it is placed once that folder takes its new name`
        : `${JSON.stringify(key)} and ${JSON.stringify(other)} differ only in case, and this folder's disk holds one of them only: ${other} stays; rename one of them to have both`,
    )
  }

  /** A folder whose listing could not be read (too many open files, no permission to list). */
  static unlisted(err: Error): SpellingInTheWay {
    const e = new SpellingInTheWay('', '')
    e.message = `cannot list its folder to check the spelling on this disk, which ignores case: ${err.message}`
    return e
  }
}

/**
 * A file or link arrived where a folder stands that still holds things this device keeps
 * (ignored or not-yet-recorded files): the folder is left whole and the path tried again later.
 */
class FolderInTheWay extends Error {
  /** What the folder holds that this device keeps (a few paths). */
  constructor(readonly inside: string) {
    super(
      `a folder here still holds ${inside}, which this device keeps; the folder's file is placed here once they are moved away`,
    )
  }
}
/**
 * A join announcement refused. `final`: for good (a bad proof); otherwise perhaps only for now
 * (an invite recorded by a writer whose log has not arrived yet), so it is looked at again.
 */
class JoinRefused extends Error {
  readonly final: boolean
  constructor(message: string, opts: { final?: boolean } = {}) {
    super(message)
    this.final = opts.final ?? true
  }
}

/**
 * What a block this device appended holds, as any member that reads it parses it: `mine` (the op
 * as recorded) when the parse records the same, with the parse's shared core list and device
 * name (decodeOp); otherwise the parsed op, or why it does not parse. Every member reads these
 * same bytes, so the device's merged state stays the one every member computes.
 */
function readBack(mine: FileOp, block: Buffer): Op | Error {
  let read: Op
  try {
    read = decodeOp(block)
  } catch (err) {
    return err as Error
  }
  if (read.t !== 'file' || !sameFileOp(mine, read)) return read
  const op = fileOpOf(mine)
  op.cores = read.cores
  op.origin = read.origin
  return op
}

export class SyncFolder extends Folder {
  private root!: Hypercore
  private ownLog: Hypercore | null = null
  private ownBlobs: Hypercore | null = null
  private writer: BlobWriter | null = null
  private readonly logs = new Map<string, OpenLog>()
  private readonly blobCores = new Map<string, Hypercore>()
  private readonly sessions: Hypercore[] = []
  private sync!: SyncState
  private index!: LocalIndex
  private readonly chunkMap = new Map<string, ChunkLocation>()
  private rules = IgnoreRules.parse(null)
  private ownKey: string | null = null
  private device = 'local'
  private ext: HypercoreExtension<Buffer> | null = null
  private readonly checking = new Set<string>()
  /** Invites this device recorded (public key → expiry), known before its log is read back. */
  private readonly invitesMade = new Map<string, number>()
  /** Invites this device admitted a writer with, known before its log is read back. */
  private readonly invitesUsed = new Set<string>()
  /** Join announcements refused recently (key → when), oldest first. */
  private readonly refusedJoins = new Map<string, number>()

  private readonly pendingScan = new Set<string>()
  private fullScanPending = true
  /**
   * Whether a full scan of the folder has finished since it opened: until then its size is not
   * known, and hosts are not asked to take it or keep more (they would agree to the few bytes
   * indexed so far).
   */
  get scannedOnce(): boolean {
    return this.scanned
  }
  private scanned = false
  private readonly pendingApply = new Set<string>()
  private readonly waiting = new Set<string>()
  /** Blobs cores no peer served during the current apply pass. */
  private readonly unavailable = new Set<string>()
  private lastWaitingRetry = 0
  /** Paths not placed because a folder that holds things this device keeps is in the way. */
  private readonly blocked = new Set<string>()
  /** Paths refused when applied (listed in `refused` until a later version applies). */
  private readonly refusedApply = new Set<string>()
  private lastBlockedRetry = 0
  /** Ops read ahead of the logs they name (log:index → since when), waiting for them. */
  private readonly deferred = new Map<string, number>()
  private retryTimer: NodeJS.Timeout | null = null
  /** Paths sent back to the scanner before applying, and how often in a row. */
  private readonly bounces = new Map<string, number>()
  /** Folders that appeared since the watcher was last subscribed. */
  private readonly newFolders = new Set<string>()
  private resubscribeTimer: NodeJS.Timeout | null = null
  /** Paths applied lately, looked at again RECHECK_AFTER_APPLY_MS after each was written. */
  private readonly recheck = new Recheck(RECHECK_AFTER_APPLY_MS, (keys) => {
    for (const k of keys) this.pendingScan.add(k)
    this.kick()
  })
  private readonly problems = new Map<string, string>()
  private clashProblems: Array<{ path: string; reason: string }> = []
  /** Set when the folder's disk finds names whatever their case (macOS, Windows): real-case.ts. */
  private realCase: RealCase | null = null
  private treeChanged = true

  private watcher: FolderWatcher | null = null
  private debounce: NodeJS.Timeout | null = null
  private timers: NodeJS.Timeout[] = []
  private wanted = false
  private running: Promise<void> | null = null
  private opsRead = 0
  private readonly counts = new FolderCounts(
    () => this.sync.paths(),
    (key) => {
      const cur = this.sync.current(key)?.op
      if (!cur || cur.kind === 'deleted' || cur.kind === 'dir') return null
      if (this.ignored(key, false)) return null
      const idx = this.index.get(key)
      return { size: cur.size, local: !!idx && sameContent(idx, cur) }
    },
  )

  constructor(record: FolderRecord, ctx: FolderContext) {
    super(record, ctx)
  }

  get version(): number {
    return this.opsRead
  }

  override get peers(): number {
    return this.root ? this.root.peers.length : 0
  }

  override hasPeer(remotePublicKey: Buffer): boolean {
    return !!this.root?.peers.some((cp) => cp.remotePublicKey.equals(remotePublicKey))
  }

  /** Counts a core's traffic per peer, once per core. */
  private track(core: Hypercore): void {
    if (this.tracked.has(core)) return
    this.tracked.add(core)
    this.ctx.swarm.countTraffic(core)
  }
  private readonly tracked = new Set<Hypercore>()

  get writable(): boolean {
    if (!this.ownKey || !this.sync) return false
    const m = this.sync.members().get(this.ownKey)
    return !!m && !m.removed
  }

  localChanges(): LocalChange[] {
    const out: LocalChange[] = []
    if (!this.index) return out
    for (const p of this.index.localKeys) {
      const kind = this.index.get(p)?.local
      if (kind) out.push({ path: p, kind })
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : 1)).slice(0, 1000)
  }

  override summary(): ReturnType<Folder['summary']> {
    const totals = this.totals()
    const base = super.summary()
    const problems = [
      ...[...this.problems].map(([p, reason]) => ({ path: p, reason })),
      ...this.clashProblems,
    ]
    return {
      ...base,
      files: totals.files,
      bytes: totals.bytes,
      localBytes: Math.min(totals.localBytes, totals.bytes),
      kind: 'sync',
      conflicts: totals.conflicts,
      problems: problems.slice(0, 100),
      members: this.sync ? [...this.sync.members().values()].filter((m) => !m.removed).length : 0,
      waitingForAccept: !!this.ownKey && !this.writable && !this.removedSelf(),
      versionsDays: this.record.versionsDays,
    }
  }

  // ---------------------------------------------------------------- creation and opening

  /** Creates a new folder's first writer log; returns its key (the folder's root key). */
  static async create(
    ctx: FolderContext,
    namespace: string,
    encryptionKey: Buffer,
  ): Promise<Buffer> {
    const store = ctx.store.namespace(namespace)
    const log = store.get({ name: 'log', encryptionKey })
    const blobs = store.get({ name: 'blobs', encryptionKey })
    await Promise.all([log.ready(), blobs.ready()])
    if (log.length === 0) {
      const init: Op = {
        t: 'init',
        blobs: blobs.key.toString('hex'),
        label: os.hostname().slice(0, 200),
        at: Date.now(),
        proof: null,
      }
      await log.append(encodeOp(init))
    }
    const key = log.key
    await Promise.all([log.close(), blobs.close()])
    return key
  }

  /** A joiner's own log key for a namespace (to sign the join proof before opening). */
  static async ownLogKey(
    ctx: FolderContext,
    namespace: string,
    encryptionKey: Buffer,
  ): Promise<Buffer> {
    const log = ctx.store.namespace(namespace).get({ name: 'log', encryptionKey })
    await log.ready()
    const key = log.key
    await log.close()
    return key
  }

  private get encKey(): Buffer {
    return Buffer.from(this.record.encryptionKey, 'hex')
  }

  private getCore(key: string): Hypercore {
    const core = this.ctx.store.get({ key: Buffer.from(key, 'hex'), encryptionKey: this.encKey })
    this.sessions.push(core)
    return core
  }

  async open(): Promise<void> {
    const rec = this.record
    await fs.mkdir(rec.path, { recursive: true })
    await fs.mkdir(this.ctx.stateDir, { recursive: true })
    await removeStaleTemps(rec.path)
    this.realCase = (await foldsCase(rec.path, TEMP_PREFIX)) ? new RealCase(rec.path) : null
    if (this.realCase) this.log.info('the folder is on a disk that ignores case')
    this.index = new LocalIndex(path.join(this.ctx.stateDir, 'sync-index.json'), (key) =>
      this.counts.touch(key),
    )
    const aside = await this.index.load()
    if (aside) this.log.warn({ keptAs: aside }, 'sync index unreadable; rebuilding')
    this.sync = new SyncState(rec.key, (key) =>
      key === null ? this.counts.touchAll() : this.counts.touch(key),
    )

    if (rec.role === 'writer' && rec.namespace) {
      const store = this.ctx.store.namespace(rec.namespace)
      this.ownLog = store.get({ name: 'log', encryptionKey: this.encKey })
      this.ownBlobs = store.get({ name: 'blobs', encryptionKey: this.encKey })
      this.sessions.push(this.ownLog, this.ownBlobs)
      await Promise.all([this.ownLog.ready(), this.ownBlobs.ready()])
      this.ownKey = this.ownLog.key.toString('hex')
      this.device = deviceOf(this.ownKey)
      this.writer = new BlobWriter(this.ownBlobs, this.ownBlobs.key.toString('hex'))
      this.blobCores.set(this.ownBlobs.key.toString('hex'), this.ownBlobs)
      this.track(this.ownLog)
      this.track(this.ownBlobs)
      if (this.ownLog.length === 0) {
        const init: Op = {
          t: 'init',
          blobs: this.ownBlobs.key.toString('hex'),
          label: os.hostname().slice(0, 200),
          at: Date.now(),
          proof: rec.proof ?? null,
        }
        await this.ownLog.append(encodeOp(init))
      }
      this.sync.addLog(this.ownKey)
      this.logs.set(this.ownKey, { core: this.ownLog, read: 0, cut: Infinity, range: null })
      this.ownLog.on('append', () => this.kick())
    }

    const root = this.ownKey === rec.key && this.ownLog ? this.ownLog : this.getCore(rec.key)
    await root.ready()
    this.root = root
    this.track(root)
    root.on('peer-add', () => {
      this.changed()
      this.announceJoin()
      this.retryWaiting()
    })
    root.on('peer-remove', () => this.changed())
    this.ext = root.registerExtension<Buffer>(JOIN_EXTENSION, {
      onmessage: (msg) => this.onJoinMessage(msg),
    })
    this.openLogs()
    await this.readLogs()
    // The log names every chunk this device ever stored; the last run may have cleared the
    // blocks of versions since expired.
    this.pruneChunkMap(keptContent(this.sync, Date.now() - this.retentionMs()).blocks)

    await this.loadIgnore()
    this.watcher = await watchFolder(
      rec.path,
      (keys) => this.onLocalEvents(keys),
      (err) => this.log.warn({ err: err.message }, 'watcher error'),
      () => this.afterBurst(),
    )
    this.ctx.swarm
      .join(root.discoveryKey)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'join failed'))
    const rescan = setInterval(() => {
      this.fullScanPending = true
      this.kick()
    }, RESCAN_INTERVAL_MS)
    const retry = setInterval(() => {
      if (this.waiting.size && Date.now() - this.lastWaitingRetry > WAITING_RETRY_MS) {
        this.retryWaiting()
      }
      if (this.blocked.size && Date.now() - this.lastBlockedRetry > BLOCKED_RETRY_MS) {
        this.lastBlockedRetry = Date.now()
        for (const k of this.blocked) this.pendingApply.add(k)
        this.kick()
      }
      if (this.ownKey && !this.writable && !this.removedSelf()) this.announceJoin()
    }, JOIN_RETRY_MS)
    for (const t of [rescan, retry]) {
      t.unref()
      this.timers.push(t)
    }
    this.kick()
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.stopTimers()
    for (const t of this.timers) clearInterval(t)
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.resubscribeTimer) clearTimeout(this.resubscribeTimer)
    this.recheck.close()
    if (this.debounce) clearTimeout(this.debounce)
    await this.watcher?.close().catch(() => {})
    // Closing the cores makes a pending fetch fail at once instead of waiting for its timeout.
    if (this.root) await this.ctx.swarm.leave(this.root.discoveryKey).catch(() => {})
    const running = this.running
    await this.writer?.flush().catch(() => {})
    await Promise.all(this.sessions.map((c) => c.close().catch(() => {})))
    await running?.catch(() => {})
    await this.index?.save().catch(() => {})
  }

  /** Drops every core of the folder from the store (unshare); call after close(). */
  async purge(): Promise<void> {
    const keys = new Set<string>([...this.logs.keys(), ...this.blobCores.keys()])
    for (const key of keys) {
      const core = this.ctx.store.get({ key: Buffer.from(key, 'hex'), encryptionKey: this.encKey })
      await core.purge().catch((err: Error) => this.log.warn({ err: err.message }, 'purge failed'))
    }
  }

  // ---------------------------------------------------------------- the loop

  private kick(): void {
    if (this.closing) return
    this.wanted = true
    if (!this.running) this.running = this.run()
  }

  private async run(): Promise<void> {
    try {
      while (this.wanted && !this.closing) {
        this.wanted = false
        await this.cycle()
      }
    } catch (err) {
      if (this.closing) return
      const e = err as Error
      if (isDiskFull(err)) this.setState('error', 'disk full: syncing resumes when there is room')
      else this.setState('error', e.message)
      this.log.error({ err: e.message, stack: e.stack }, 'sync cycle failed')
      const t = setTimeout(() => this.kick(), RETRY_MS)
      t.unref()
    } finally {
      this.running = null
      if (this.wanted && !this.closing) this.kick()
    }
  }

  private async cycle(): Promise<void> {
    await this.readLogs()
    if (!this.notedScanned && this.writable) {
      // Admitted (or a restart): changes noted while this device could not write become its own.
      this.notedScanned = true
      for (const key of this.index.localKeys) this.pendingScan.add(key)
    }
    for (const p of this.sync.dirty) this.pendingApply.add(p)
    this.sync.dirty.clear()
    if (this.fullScanPending || this.pendingScan.size) {
      if (this.fullScanPending && this.state !== 'error') this.setState('scanning')
      const full = this.fullScanPending
      try {
        await this.scan()
      } catch (err) {
        // A full scan that failed part way (disk full, a folder gone) is done again on retry.
        if (full) this.fullScanPending = true
        throw err
      }
      if (full) this.scanned = true
      await this.readLogs()
      for (const p of this.sync.dirty) this.pendingApply.add(p)
      this.sync.dirty.clear()
    }
    if (this.writable) await this.resolveConflicts()
    if (this.pendingApply.size) {
      if (this.state !== 'error') this.setState('syncing')
      await this.applyPending()
    }
    if (this.treeChanged) await this.checkClashes()
    // The counts are whole before the folder says it is idle (reads of them measure for 20 ms
    // at most, so after a large change they catch up here).
    if (this.counts.behind) await this.counts.catchUp(new Breather(), () => this.closing)
    if (Date.now() - this.lastGc > GC_INTERVAL_MS && this.pendingApply.size === 0) {
      await this.collectGarbage()
    }
    if (this.closing) return
    const busy = this.pendingApply.size > 0 || this.waiting.size > 0 || this.pendingScan.size > 0
    if (!busy) {
      this.lastSyncAt = new Date()
      this.setState('idle')
    } else if (this.waiting.size && !this.wanted) this.setState('syncing')
    this.changed()
  }

  // ---------------------------------------------------------------- logs and membership

  private openLogs(): void {
    // Members only (removed ones too: their ops before the cut count). A key an add names that
    // counts for nothing (a removed writer's, after its cut) is never opened: each would be a
    // core in the store and a live download, as many as the writer cares to name.
    const members = this.sync.members()
    for (const [key, m] of members) {
      let log = this.logs.get(key)
      if (!log) {
        const core = key === this.root?.key.toString('hex') ? this.root : this.getCore(key)
        log = { core, read: 0, cut: Infinity, range: null }
        this.logs.set(key, log)
        this.track(core)
        core.on('append', () => this.kick())
        core.on('download', () => this.kick())
        this.fetchLog(log, m.upTo)
      } else if (log.core !== this.ownLog && log.cut !== m.upTo) this.fetchLog(log, m.upTo)
    }
    for (const m of members.values()) {
      if (m.blobs && !this.blobCores.has(m.blobs)) this.openBlobs(m.blobs)
    }
  }

  /**
   * Logs are small and everyone needs all of them: kept whole and live. A removed member's log
   * only up to its cut: what it appends later counts for nothing, and would fill every member's
   * disk as fast as it cares to write.
   */
  private fetchLog(log: OpenLog, cut: number): void {
    log.cut = cut
    log.range?.destroy()
    log.range = null
    log.core
      .ready()
      .then(() => {
        if (log.cut !== cut || this.closing) return
        log.range = log.core.download(
          cut === Infinity ? { start: 0, end: -1 } : { start: 0, end: cut },
        )
      })
      .catch(() => {})
  }

  private openBlobs(key: string): Hypercore {
    let core = this.blobCores.get(key)
    if (!core) {
      core = this.getCore(key)
      this.blobCores.set(key, core)
      this.track(core)
    }
    return core
  }

  /**
   * Reads every op that has arrived, in order per log, into the merged state. One pass at a
   * time: `open()` reads the logs while an append or a peer can already start the sync loop, and
   * two passes over one log each took the block at `read` before the other moved it on (one op
   * applied twice, the next one never read until a restart). A call made during a pass gets a
   * pass of its own after it.
   */
  private readLogs(): Promise<void> {
    const pass = this.logsRead.then(() => this.readLogsPass())
    this.logsRead = pass.catch(() => {})
    return pass
  }
  private logsRead: Promise<void> = Promise.resolve()

  private async readLogsPass(): Promise<void> {
    // Versions whose wait is over are refused only once a whole pass over the logs reads
    // nothing else: a log later in the pass (or opened after it) may hold what they name.
    const refuseNow = new Set<string>()
    // This device's own ops need no store read (`recorded`): a scan's 100,000 were applied in
    // one stretch that held the event loop.
    const breather = new Breather()
    for (;;) {
      let progressed = false
      const overdue: string[] = []
      for (const [key, log] of this.logs) {
        await log.core.ready()
        // A removed member's ops from its cut on count for nothing: they are not even read.
        const end = Math.min(log.core.contiguousLength, log.cut)
        // Blocks are read ahead of the one applied: one store read at a time, reading back the
        // 100,000 ops a scan had just appended took 7 s, the event loop idle for most of it.
        // This device's own ops are taken as it appended them (`recorded`), not read back.
        const own = key === this.ownKey
        const ahead = new Map<number, Promise<Buffer | null>>()
        let next = log.read
        while (log.read < end && !this.closing) {
          if (breather.due()) {
            await breather.pause()
            if (this.closing) break
          }
          const seq = log.read
          if (next < seq) next = seq
          for (; next < end && next < seq + READ_AHEAD_OPS; next++) {
            if (own && this.recorded.has(next)) continue
            const get = log.core.get(next, { wait: false }) as Promise<Buffer | null>
            get.catch(() => {}) // thrown where it is awaited; one not awaited (a break) is dropped
            ahead.set(next, get)
          }
          const mine = own ? this.recorded.get(seq) : undefined
          let block: Buffer | null = null
          if (mine === undefined) {
            block = await (ahead.get(seq) ?? log.core.get(seq, { wait: false }))
            if (!block) break
          } else {
            this.recorded.delete(seq)
          }
          ahead.delete(seq)
          let op: Op | null = null
          try {
            if (mine instanceof Error) throw mine
            op = mine ?? decodeOp(block as Buffer)
          } catch (err) {
            this.refuse(`log ${deviceOf(key)}#${seq}`, (err as Error).message)
          }
          if (op?.t === 'file') {
            try {
              validateRemotePath(op.path)
            } catch (err) {
              this.refuse(op.path, (err as Error).message)
              op = null
            }
          }
          // A version may only name counters of other devices that those devices' logs reached:
          // it is read once they have (causal order), so no one can inflate another's counter.
          if (op?.t === 'file') {
            const id = `${key}:${seq}`
            const ahead = this.aheadOfLogs(op, key)
            if (ahead) {
              const since = this.deferred.get(id) ?? Date.now()
              this.deferred.set(id, since)
              if (!refuseNow.has(id)) {
                if (Date.now() - since < CAUSAL_WAIT_MS) this.scheduleRetry()
                else overdue.push(id)
                break
              }
              // Still ahead after a while, with nothing left to read: not late, made up.
              this.refuse(op.path, `it names ${ahead}, which that device never wrote`)
              op = null
            }
            this.deferred.delete(id)
          }
          log.read++
          this.opsRead++
          progressed = true
          if (!op) continue
          if (op.t === 'file' && key === this.ownKey) {
            // New files reuse only chunks this device stored itself (or fetched and checked).
            // The latest place wins: content stored again after its old blocks were cleared.
            // Only its own blobs core's: a merge op or a conflict copy copies another member's
            // chunk list unchecked (its origin too, which any member writes), so new files would
            // point at blocks this device never held, and a member that won a conflict with a
            // false hash made them unreadable for everyone. (Chunks fetched and checked since
            // the start are in the map already, from chunkData.)
            const own = this.writer?.coreHex
            for (const c of op.chunks) {
              const core = op.cores[c[1]] as string
              if (core !== own) continue
              this.chunkMap.set(c[0], { core, block: c[2], blocks: c[3], size: c[4] })
            }
          }
          this.sync.apply(key, seq, op)
          if (op.t !== 'file' && op.t !== 'init') this.treeChanged = true
        }
        if (key === this.ownKey && this.recorded.size) {
          // Ops of this device's that did not parse are refused: nothing reads them again.
          for (const s of this.recorded.keys()) if (s < log.read) this.recorded.delete(s)
        }
      }
      const before = this.logs.size
      this.openLogs()
      if (!progressed && this.logs.size === before) {
        if (!overdue.length) break
        for (const id of overdue) refuseNow.add(id)
      }
    }
    this.treeChanged ||= this.sync.dirty.size > 0
  }

  /**
   * What `op` (from log `writer`) names that another device's log has not reached, as
   * "version N of device D"; null when it names nothing ahead.
   */
  private aheadOfLogs(op: FileOp, writer: string): string | null {
    const own = deviceOf(writer)
    for (const [device, counter] of Object.entries(op.vv)) {
      if (device === own) continue
      const log = this.logByDevice(device)
      // A removed member's log is read only up to its cut: once read that far, a version of it
      // named past the cut never comes, and waiting for it would hold this op back for good.
      // Until then, its ops before the cut may still be what this one follows.
      if (log && this.removedAndRead(log)) continue
      if (!log || this.sync.clockOf(log) < counter) return `version ${counter} of device ${device}`
    }
    return null
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closing) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.kick()
    }, 1000)
    this.retryTimer.unref()
  }

  private removedAndRead(key: string): boolean {
    const m = this.sync.members().get(key)
    const log = this.logs.get(key)
    return !!m?.removed && !!log && log.cut === m.upTo && log.read >= m.upTo
  }

  private logByDevice(device: string): string | null {
    for (const key of this.logs.keys()) if (deviceOf(key) === device) return key
    return null
  }

  private removedSelf(): boolean {
    if (!this.ownKey) return false
    const m = this.sync.members().get(this.ownKey)
    return !!m && m.removed
  }

  /** A writer that is not yet a member tells the folder's peers its log key. */
  private announceJoin(): void {
    if (!this.ext || !this.ownKey || this.closing) return
    if (this.ownKey === this.record.key || this.writable || this.removedSelf()) return
    this.ext.broadcast(Buffer.from(JSON.stringify({ key: this.ownKey })))
  }

  private onJoinMessage(msg: Buffer): void {
    if (!this.writable || this.closing || msg.length > 1024) return
    let key: string
    try {
      const parsed = JSON.parse(msg.toString('utf8')) as { key?: unknown }
      if (typeof parsed.key !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.key)) return
      key = parsed.key
    } catch {
      return
    }
    if (this.sync.members().has(key) || this.checking.has(key)) return
    // A refused key is not looked at again for a while; only a few checks run at once.
    const refusedAt = this.refusedJoins.get(key)
    if (refusedAt !== undefined && Date.now() - refusedAt < JOIN_REFUSAL_MEMORY_MS) return
    if (this.checking.size >= MAX_JOIN_CHECKS) return
    this.checking.add(key)
    this.checkJoin(key)
      .catch((err: Error) => {
        // A log that could not be fetched yet is looked at again at its next announcement.
        if (!(err instanceof JoinRefused)) {
          this.log.debug({ key: key.slice(0, 12), err: err.message }, 'join not checked yet')
          return
        }
        if (!err.final) {
          this.log.warn({ key: key.slice(0, 12), err: err.message }, 'join refused')
          return
        }
        if (this.refusedJoins.size >= 1000) {
          const oldest = this.refusedJoins.keys().next().value
          if (oldest !== undefined) this.refusedJoins.delete(oldest)
        }
        const again = this.refusedJoins.has(key)
        this.refusedJoins.set(key, Date.now())
        const fields = { key: key.slice(0, 12), err: err.message }
        if (again) this.log.debug(fields, 'join refused again')
        else this.log.warn(fields, 'join refused')
      })
      .finally(() => this.checking.delete(key))
  }

  /** Checks a joiner's proof against the folder's open invites and adds it as a writer. */
  private async checkJoin(key: string): Promise<void> {
    // A plain session, closed after the check (and its storage dropped when refused): a stream
    // of made-up keys must not pile up cores.
    const core = this.ctx.store.get({ key: Buffer.from(key, 'hex'), encryptionKey: this.encKey })
    let accepted = false
    try {
      await core.ready()
      const block = await core.get(0, { timeout: 15_000 })
      if (!block) throw new Error('no first op')
      let op: Op
      try {
        op = decodeOp(block)
      } catch (err) {
        throw new JoinRefused((err as Error).message)
      }
      if (op.t !== 'init' || !op.proof) throw new JoinRefused('the log has no join proof')
      const { open, used } = this.sync.invites()
      // Invites and adds this device appended but has not read back yet count too.
      const expires = open.get(op.proof.invite) ?? this.invitesMade.get(op.proof.invite)
      // Not (yet) known: perhaps recorded by a writer whose log has not arrived. Not final.
      if (expires === undefined) {
        throw new JoinRefused('the invite is not one of this folder', { final: false })
      }
      if (used.has(op.proof.invite) || this.invitesUsed.has(op.proof.invite)) {
        throw new JoinRefused('the invite was already used')
      }
      if (expires < Date.now()) throw new JoinRefused('the invite has expired')
      const ok = crypto.verify(
        joinMessage(Buffer.from(this.record.key, 'hex'), Buffer.from(key, 'hex')),
        Buffer.from(op.proof.sig, 'hex'),
        Buffer.from(op.proof.invite, 'hex'),
      )
      if (!ok) throw new JoinRefused('the join proof does not verify')
      if (this.sync.members().has(key) || !this.writable || !this.ownLog) return
      // Claimed before the append: a second claim checked meanwhile sees it at once.
      this.invitesUsed.add(op.proof.invite)
      await this.ownLog.append(encodeOp({ t: 'add', key, invite: op.proof.invite }))
      accepted = true
      this.log.info({ device: deviceOf(key), label: op.label }, 'added a writer')
    } finally {
      if (!accepted && !this.sync.members().has(key)) await core.purge().catch(() => {})
      else await core.close().catch(() => {})
    }
  }

  /** Records a new writer invite; returns the invite's secret seed. */
  async createWriterInvite(): Promise<Buffer> {
    if (!this.ownLog || !this.writable) {
      throw new Error('only a writer of this folder can invite writers')
    }
    const seed = randomBytes(32)
    const kp = crypto.keyPair(seed)
    const expires = Date.now() + INVITE_LIFETIME_MS
    this.invitesMade.set(kp.publicKey.toString('hex'), expires)
    await this.ownLog.append(encodeOp({ t: 'invite', pub: kp.publicKey.toString('hex'), expires }))
    return seed
  }

  members(): MemberInfo[] {
    return [...this.sync.members().values()].map((m: Member) => ({
      device: m.device,
      key: m.key,
      label: m.label,
      removed: m.removed,
      you: m.key === this.ownKey,
      addedBy: m.addedBy ? deviceOf(m.addedBy) : null,
    }))
  }

  /** Removes a member (by device id or key prefix): its later ops are refused by everyone. */
  async removeMember(who: string): Promise<MemberInfo> {
    if (!this.ownLog || !this.writable)
      throw new Error('only a writer of this folder can remove members')
    const matches = [...this.sync.members().values()].filter(
      (m) => !m.removed && (m.key.startsWith(who) || m.device === who),
    )
    if (matches.length === 0) throw new RangeError(`no member ${who} (see \`spare members\`)`)
    if (matches.length > 1) throw new RangeError(`${who} matches more than one member`)
    const m = matches[0] as Member
    const upTo = this.logs.get(m.key)?.read ?? 0
    await this.ownLog.append(encodeOp({ t: 'remove', key: m.key, upTo }))
    await this.settle()
    return this.members().find((x) => x.key === m.key) as MemberInfo
  }

  /** Waits until the loop has caught up with everything queued so far. */
  async settle(): Promise<void> {
    this.kick()
    while (this.running) await this.running
  }

  // ---------------------------------------------------------------- local changes

  private async loadIgnore(): Promise<void> {
    let text: string | null
    try {
      text = await fs.readFile(path.join(this.record.path, IGNORE_FILE), 'utf8')
    } catch {
      text = null
    }
    const was = this.rules
    this.rules = IgnoreRules.parse(text)
    if (text !== this.rulesText) this.counts.touchAll()
    if (this.rulesText !== undefined && text !== this.rulesText) {
      // What a rule taken out hid is synced now: local files (never recorded, or changed while
      // ignored) are found by a full scan, others' versions of them are applied. Otherwise they
      // waited for the next full rescan (10 minutes) and the next start.
      this.fullScanPending = true
      for (const key of this.sync.paths()) {
        const isDir = this.sync.current(key)?.op.kind === 'dir'
        if (was.ignores(key, isDir) && !this.rules.ignores(key, isDir)) this.pendingApply.add(key)
      }
      this.kick()
    }
    this.rulesText = text
    if (this.rules.errors.length) this.problems.set('/' + IGNORE_FILE, this.rules.errors.join('; '))
    else this.problems.delete('/' + IGNORE_FILE)
  }

  /** The .spareignore text the rules were read from (undefined until first read). */
  private rulesText: string | null | undefined = undefined

  private ignored(key: string, isDir: boolean): boolean {
    return this.rules.ignores(key, isDir)
  }

  /**
   * @parcel/watcher misses folders created inside a folder that just appeared (mkdir -p, or our
   * own writes creating parents; upstream issues #97 and #243): changes inside them would go
   * unseen until the next full rescan. So when folders appear, the watcher is subscribed again
   * (debounced) and the folder is scanned in full to catch what happened in between.
   */
  private noteNewFolder(key: string): void {
    this.newFolders.add(key)
    if (this.resubscribeTimer || this.closing) return
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = null
      void this.resubscribe()
    }, 1000)
    this.resubscribeTimer.unref()
  }

  private async resubscribe(): Promise<void> {
    if (this.closing) return
    this.newFolders.clear()
    // The old subscription goes first: @parcel/watcher shares one inotify watch per directory
    // between subscriptions, so closing it after the new one would unwatch the new one's
    // directories. What changes in between is found by the full scan that follows.
    await this.watcher?.close().catch(() => {})
    this.watcher = null
    try {
      this.watcher = await watchFolder(
        this.record.path,
        (keys) => this.onLocalEvents(keys),
        (err) => this.log.warn({ err: err.message }, 'watcher error'),
        () => this.afterBurst(),
      )
      if (this.closing) await this.watcher.close().catch(() => {})
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch the folder again')
    }
    this.fullScanPending = true
    this.kick()
  }

  /** A burst of changes is over: the watcher may have lost some (watchFolder), so a full scan. */
  private afterBurst(): void {
    if (this.closing) return
    this.fullScanPending = true
    this.kick()
  }

  private onLocalEvents(keys: string[]): void {
    for (const k of keys) this.pendingScan.add(k)
    if (this.debounce) return
    this.debounce = setTimeout(() => {
      this.debounce = null
      this.kick()
    }, WATCH_DEBOUNCE_MS)
  }

  /** Queues a path for a scan (for example after a restore into the folder). */
  rescanPath(key: string): void {
    this.pendingScan.add(key)
    this.kick()
  }

  private async scan(): Promise<void> {
    const batch: FileOp[] = []
    try {
      await this.scanInto(batch)
    } finally {
      this.scanProgress = null
      // Stopped before the log took every version recorded (closing, a full disk): those paths'
      // entries go back, and they are looked at again.
      for (const key of this.index.rollBack()) if (!this.closing) this.pendingScan.add(key)
    }
  }

  private async scanInto(batch: FileOp[]): Promise<void> {
    this.replacedFolders.clear()
    this.realCase?.reset()
    let keys: string[]
    // A full scan walks every path itself; a watcher batch must look below new folders.
    const expand = !this.fullScanPending
    if (this.fullScanPending) {
      this.fullScanPending = false
      this.pendingScan.clear()
      // Shown while the folder is listed: found so far during the walk, then looked at.
      const progress = (this.scanProgress = { done: 0, total: 0 })
      const seen = new Set<string>()
      await this.walk(this.record.path, seen, progress)
      for (const [k, e] of this.index.entries) {
        if (e.kind !== 'deleted' && !seen.has(k) && !e.local) seen.add(k)
      }
      keys = [...seen]
      progress.total = keys.length
    } else {
      keys = [...this.pendingScan]
      this.pendingScan.clear()
    }
    this.respelledSeen = false
    if (keys.includes('/' + IGNORE_FILE)) await this.loadIgnore()
    keys.sort()
    // Renames: a new path whose inode, size and mtime match a path that is gone keeps its digest.
    // (Entries as they were at the start of the batch: a move is seen as a delete and a create.)
    const byIno = new Map<number, { key: string; entry: LocalEntry }>()
    for (const [k, e] of this.index.entries) {
      if (e.kind === 'file' && e.ino) byIno.set(e.ino, { key: k, entry: e })
    }
    const extra: string[] = []
    const ahead = new Map<string, Promise<Looked>>()
    for (let i = 0; i < keys.length || extra.length; i++) {
      if (this.closing) return
      const key = i < keys.length ? (keys[i] as string) : (extra.shift() as string)
      let pre: Looked | undefined
      if (i < keys.length) {
        for (let j = i; j < keys.length && j < i + SCAN_AHEAD; j++) {
          const k = keys[j] as string
          if (!ahead.has(k)) ahead.set(k, this.lookAhead(k))
        }
        pre = await ahead.get(key)
        ahead.delete(key)
      }
      try {
        const added = await this.scanOne(key, batch, byIno, expand, pre?.failed ? undefined : pre)
        if (added) extra.push(...added)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ECHANGED' || code === 'EBUSY') {
          // Still being written: look again shortly.
          setTimeout(() => this.rescanPath(key), 200).unref()
        } else if (isDiskFull(err)) {
          throw err
        } else {
          this.log.warn({ path: key, err: (err as Error).message }, 'cannot read a local change')
          this.problems.set(key, `cannot read: ${(err as Error).message}`)
        }
      }
      if (this.scanProgress) {
        this.scanProgress.done = i + 1
        this.scanProgress.total = Math.max(this.scanProgress.total, i + 1 + extra.length)
      }
      // Publish as we go, so peers start fetching while the rest is still being read.
      if (batch.length >= OPS_PER_APPEND || (batch.length && Date.now() - this.lastFlush > 1000)) {
        await this.flushOps(batch)
      }
    }
    await this.flushOps(batch)
    if (this.respelledSeen && expand && !this.closing) {
      this.fullScanPending = true
      this.wanted = true
    }
  }

  /**
   * A path's lstat, and the content of a small file that changed since the index recorded it,
   * for scanOne to use in its turn. Never rejects: scanOne looks again itself after a failure.
   */
  private async lookAhead(key: string): Promise<Looked> {
    const segments = key.slice(1).split('/')
    const abs = path.join(this.record.path, ...segments)
    try {
      const st = await this.lstatSpelled(abs, segments)
      let data: Buffer | null = null
      const idx = this.index.get(key)
      if (
        st?.isFile() &&
        this.writer &&
        st.size > 0 &&
        st.size <= READ_AHEAD_MAX &&
        st.size <= chunkSizeFor(st.size) &&
        !(idx && matchesDisk(idx, st) && unchangedFile(idx, st)) &&
        !this.ignored(key, false) &&
        !segments.some((s) => s.startsWith(TEMP_PREFIX))
      ) {
        data = await readSmallFile(abs, st.size)
      }
      return { st, data, failed: false }
    } catch {
      return { st: null, data: null, failed: true }
    }
  }

  private async walk(
    dir: string,
    seen: Set<string>,
    progress?: { done: number; total: number },
  ): Promise<void> {
    let list
    try {
      list = await fs.readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const d of list) {
      if (d.name.startsWith(TEMP_PREFIX)) continue
      const abs = path.join(dir, d.name)
      const key = toDriveKey(path.relative(this.record.path, abs))
      if (this.ignored(key, d.isDirectory())) continue
      seen.add(key)
      if (progress) progress.total = seen.size
      if (d.isDirectory()) await this.walk(abs, seen, progress)
    }
  }

  private lastFlush = 0

  private async flushOps(batch: FileOp[]): Promise<void> {
    this.lastFlush = Date.now()
    if (!batch.length) return
    await this.writer?.flush()
    const ops = batch.splice(0, batch.length)
    if (this.ownLog) await this.appendOwn(ops)
    this.index.confirm()
    // A full scan's progress reaches listeners (the UI) as it goes, not only at its end.
    if (this.scanProgress) this.changed()
  }

  /**
   * Appends file ops to this device's log and keeps what each block holds, as every member parses
   * it (`readBack`), until readLogs applies it. readLogs then takes it without reading the block
   * back from the store (a scan of 100,000 files read them back one by one: 3.8 s with reads in
   * flight, 7 s without), and the merged state holds the op as recorded, sharing its path,
   * vector and hashes with the index entry, instead of a second, parsed copy of it.
   */
  private async appendOwn(ops: FileOp[]): Promise<void> {
    const log = this.ownLog as Hypercore
    const blocks = ops.map((o) => encodeOp(o))
    const { length } = await log.append(blocks)
    const first = length - ops.length
    for (let i = 0; i < ops.length; i++) {
      this.recorded.set(first + i, readBack(ops[i] as FileOp, blocks[i] as Buffer))
    }
  }
  /** What blocks this device appended (by index in its log) hold, until readLogs applies them. */
  private readonly recorded = new Map<number, Op | Error>()

  private nextVersion(base: Record<string, number>): Record<string, number> {
    const clock = Math.max(this.sync.clockOf(this.ownKey ?? ''), this.localClock) + 1
    this.localClock = clock
    return bump(base, this.device, clock)
  }
  private localClock = 0
  /** Folders that became a file or a link in the scan under way (scanOne). */
  private readonly replacedFolders = new Set<string>()
  private notedScanned = false
  private lastGc = Date.now()

  /** Runs the retention sweep at the next turn of the loop (after a retention change). */
  collectSoon(): void {
    this.lastGc = 0
    this.kick()
  }

  /**
   * New files may only reuse chunks whose blocks stay: an entry naming blocks that no kept
   * version names is dropped (they are cleared, or will be at the next sweep). By where the
   * chunk is, not by its hash: another device's kept copy of the same content does not keep
   * this one's blocks.
   */
  private pruneChunkMap(keep: Map<string, Set<number>>): void {
    for (const [h, loc] of this.chunkMap) {
      const kept = keep.get(loc.core)
      if (!kept?.has(loc.block) || !kept.has(loc.block + Math.max(loc.blocks, 1) - 1)) {
        this.chunkMap.delete(h)
      }
    }
  }

  /**
   * Drops the blocks that no kept version needs: neither a current version nor one replaced less
   * than `versionsDays` ago names them. Blocks are dropped from every blobs core this device
   * holds, its own included, so expired versions stop costing disk everywhere.
   */
  private async collectGarbage(): Promise<void> {
    this.lastGc = Date.now()
    await this.writer?.flush()
    const { blocks: keep } = keptContent(this.sync, Date.now() - this.retentionMs())
    this.pruneChunkMap(keep)
    let cleared = 0
    for (const [key, core] of this.blobCores) {
      await core.ready()
      const ranges = unkeptRanges(keep.get(key), core.length)
      for (const [start, end] of ranges) {
        if (this.closing) return
        // A range dropped at an earlier sweep (or never fetched) holds nothing: clearing it again
        // would write its deletions anew and ask the store for a look (a compaction) every hour.
        if (!(await holdsAny(core, start, end))) continue
        await core.clear(start, end)
        cleared += end - start
      }
    }
    if (cleared) {
      this.log.info({ blocks: cleared }, 'dropped blocks of expired versions')
      this.ctx.reclaimSoon?.()
    }
  }

  /**
   * Looks at one path on disk and records what changed. Returns keys below a directory that
   * appeared (they need a look too).
   */
  private async scanOne(
    key: string,
    batch: FileOp[],
    byIno: Map<number, { key: string; entry: LocalEntry }>,
    expand: boolean,
    pre?: Looked,
  ): Promise<string[] | null> {
    const segments = key.slice(1).split('/')
    if (segments.some((s) => s.startsWith(TEMP_PREFIX))) return null
    const abs = path.join(this.record.path, ...segments)
    const st = this.underReplacedFolder(key)
      ? null
      : pre
        ? pre.st
        : await this.lstatSpelled(abs, segments)
    const idx = this.index.get(key)
    if (st && this.ignored(key, st.isDirectory())) return null
    if (!st && idx && this.ignored(key, idx.kind === 'dir')) return null
    // A full scan's paths come from its own walk, which never enters a symlink; others are checked
    // (not a file unchanged since recorded, which is not read: the common case when applied
    // paths are looked at again).
    const unchanged = !!st && !!idx && matchesDisk(idx, st) && unchangedFile(idx, st)
    if (st && expand && !unchanged && !(await parentsAreSafe(this.record.path, segments))) {
      return null
    }
    const problem = portabilityProblem(key)
    if (problem) this.problems.set(key, problem)
    else if (this.problems.get(key)?.startsWith('cannot read')) this.problems.delete(key)

    const readOnly = !this.writable
    // A change noted while this device could not write is recorded now that it can.
    const noted = !readOnly && !!idx?.local
    if (!st) {
      if (!idx || idx.kind === 'deleted') return null
      if (idx.local === 'added') {
        this.index.delete(key) // came and went here: nothing to tell anyone
        this.changed()
        return null
      }
      if (readOnly) {
        this.index.set(key, { ...idx, local: 'deleted' })
        this.changed()
        return null
      }
      // A folder that vanished (deleted or moved away) takes everything below it along; the
      // watcher reports only the folder itself. Those deletions go first in the log: a device
      // that has read the folder's deletion has read theirs (moveFolderAside relies on it).
      if (idx.kind === 'dir') await this.scanBelow(key, batch, byIno)
      const op = this.makeOp(key, idx.vv, {
        ...NO_CONTENT,
        kind: 'deleted',
        mtime: Date.now(),
      })
      this.queueOp(batch, op, { ...entryOf(op, null), local: null })
      return null
    }

    const kind = st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isFile()
          ? 'file'
          : null
    if (!kind) return null
    const x = kind === 'file' && (st.mode & 0o100) !== 0
    if (kind === 'dir') {
      if (idx && !noted && (idx.kind === 'dir' || keptFolder(idx, st))) return null
      const cur = this.sync.current(key)?.op
      if (readOnly || (cur && cur.kind === 'dir' && (!idx || idx.kind === 'deleted' || noted))) {
        // Adopt (a folder that exists here and in the merged tree) or, read-only, report.
        if (cur?.kind === 'dir') this.index.set(key, { ...entryOf(cur, st), local: null })
        else if (readOnly) this.index.set(key, { ...emptyEntry('dir', st), local: 'added' })
      } else {
        // Made on top of what this device had here; a file or link it never had is another
        // device's, made beside this folder (concurrent with it, not replaced by it).
        const base = idx?.vv ?? (cur?.kind === 'deleted' ? cur.vv : {})
        const op = this.makeOp(key, base, {
          ...NO_CONTENT,
          kind: 'dir',
          mtime: Math.floor(st.mtimeMs),
        })
        this.queueOp(batch, op, { ...entryOf(op, st), local: null })
      }
      if (!expand) return null
      this.noteNewFolder(key)
      const seen = new Set<string>()
      await this.walk(abs, seen)
      return [...seen]
    }
    if (
      idx &&
      !noted &&
      idx.kind === kind &&
      idx.size === st.size &&
      idx.mtime === st.mtimeMs &&
      idx.ino === st.ino &&
      idx.x === x
    ) {
      return null
    }
    let fields: Omit<FileOp, 't' | 'path' | 'vv' | 'origin' | 'at'>
    if (kind === 'symlink') {
      const link = await fs.readlink(abs)
      fields = { ...NO_CONTENT, kind, mtime: Math.floor(st.mtimeMs), link }
    } else {
      fields = await this.digestAndStore(abs, st, key, byIno, pre?.data ?? null)
      fields.x = x
    }
    // The same content as the current version (a restart, or a file both sides already had).
    const cur = this.sync.current(key)?.op
    const probe = { ...fields, t: 'file', path: key, vv: {}, origin: this.device, at: 0 } as FileOp
    if (cur && contentKey(cur) === contentKey(probe)) {
      this.index.set(key, { ...entryOf(cur, st), local: null })
      return null
    }
    if (idx && idx.kind === kind && contentKey(probe) === contentKeyOfEntry(idx)) {
      // Back to the recorded content (a noted edit undone included).
      this.index.set(key, { ...idx, size: st.size, mtime: st.mtimeMs, ino: st.ino, local: null })
      return null
    }
    // A version this device placed but whose index entry was not saved yet (a crash seconds
    // after placing it): adopted as it came, and what came after it is applied. Recorded as
    // this device's edit instead, it would conflict with what came after: a deletion undone.
    const placed = idx ? placedVersion(this.sync, key, probe, idx, st.mtimeMs) : null
    if (placed) {
      this.index.set(key, { ...entryOf(placed, st), local: null })
      this.pendingApply.add(key)
      return null
    }
    if (readOnly) {
      const local = !idx || idx.kind === 'deleted' ? 'added' : 'modified'
      this.index.set(key, {
        ...(idx ?? emptyEntry(kind, st)),
        local,
        size: st.size,
        mtime: st.mtimeMs,
        ino: st.ino,
      })
      this.changed()
      return null
    }
    if (idx?.kind === 'dir') {
      // A folder replaced by a file or a link: everything below it is gone, recorded first (as
      // for a folder that vanished). (Looked up through a link to another folder, its paths
      // would still be found, and never recorded as deleted.)
      this.replacedFolders.add(key)
      await this.scanBelow(key, batch, byIno)
    }
    const op = this.makeOp(key, idx?.vv ?? {}, fields)
    this.queueOp(batch, op, { ...entryOf(op, st), local: null })
    return null
  }

  /** Scans every known path below the folder `key` (gone, or replaced). */
  private async scanBelow(
    key: string,
    batch: FileOp[],
    byIno: Map<number, { key: string; entry: LocalEntry }>,
  ): Promise<void> {
    for (const k of this.below(key).sort()) {
      if (this.closing) return
      await this.scanOne(k, batch, byIno, false)
    }
  }

  /** Known paths below a folder (not deleted). */
  private below(key: string): string[] {
    const out: string[] = []
    const prefix = key + '/'
    for (const [k, e] of this.index.entries)
      if (e.kind !== 'deleted' && k.startsWith(prefix)) out.push(k)
    return out
  }

  /** Whether a folder above `key` became a file or a link in the scan under way. */
  private underReplacedFolder(key: string): boolean {
    if (!this.replacedFolders.size) return false
    for (let p = parentKey(key); p !== '/'; p = parentKey(p))
      if (this.replacedFolders.has(p)) return true
    return false
  }

  /**
   * Queues a version of this device's for the log. Its index entry is provisional until the log
   * holds it: a scan that stops before then (closing, a full disk) puts the old entry back, and
   * saves never write it, so the change is found again instead of taken as already sent.
   */
  private queueOp(batch: FileOp[], op: FileOp, entry: LocalEntry): void {
    batch.push(op)
    this.index.setProvisional(op.path, entry)
    this.treeChanged = true
  }

  private makeOp(
    key: string,
    base: Record<string, number>,
    fields: Omit<FileOp, 't' | 'path' | 'vv' | 'origin' | 'at'>,
  ): FileOp {
    return {
      t: 'file',
      path: key,
      vv: this.nextVersion({ ...base }),
      ...fields,
      origin: this.device,
      at: Date.now(),
    }
  }

  /** Reads a file once: hashes its chunks and stores the ones no op in the folder has yet. */
  private async digestAndStore(
    abs: string,
    st: Stats,
    key: string,
    byIno: Map<number, { key: string; entry: LocalEntry }>,
    /** The whole content of a one-chunk file, read with `st` (lookAhead). */
    data: Buffer | null = null,
  ): Promise<Omit<FileOp, 't' | 'path' | 'vv' | 'origin' | 'at'>> {
    const chunkSize = chunkSizeFor(st.size)
    const was = byIno.get(st.ino)
    if (was && was.key !== key) {
      const moved = was.key
      const prev = was.entry
      if (
        prev &&
        prev.kind === 'file' &&
        prev.size === st.size &&
        prev.mtime === st.mtimeMs &&
        prev.hash
      ) {
        const movedSegs = moved.slice(1).split('/')
        const gone = !(await this.lstatSpelled(
          path.join(this.record.path, ...movedSegs),
          movedSegs,
        ))
        const locs = prev.chunks.map(([h]) => this.chunkMap.get(h))
        if (gone && locs.every(Boolean)) {
          return this.fieldsFor(
            prev.hash,
            chunkSize,
            st,
            prev.chunks.map(([h], i) => [h, locs[i] as ChunkLocation]),
          )
        }
      }
    }
    if (!this.writer) {
      // A read-only member only needs the digest (its edits are never sent).
      const d = await digestFile(abs)
      return this.fieldsFor(
        d.hash,
        d.chunkSize,
        st,
        d.chunks.map((c) => [c.hash, { core: '', block: 0, blocks: 0, size: c.size }]),
      )
    }
    if (data && data.length === st.size && st.size > 0 && st.size <= chunkSize) {
      const h = hashChunk(data)
      let loc = this.chunkMap.get(h)
      if (!loc) {
        loc = await this.writer.put(data, true) // read for this alone (lookAhead)
        this.chunkMap.set(h, loc)
      }
      return this.fieldsFor(contentHash([h], st.size), chunkSize, st, [[h, loc]])
    }
    const fh = await fs.open(abs, 'r')
    const located: Array<[string, ChunkLocation]> = []
    let total = 0
    try {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(st.size, 1)))
      for (;;) {
        let n = 0
        while (n < buf.length) {
          const { bytesRead } = await fh.read(buf, n, buf.length - n, total + n)
          if (bytesRead === 0) break
          n += bytesRead
        }
        if (n === 0) break
        const chunk = buf.subarray(0, n)
        const h = hashChunk(chunk)
        let loc = this.chunkMap.get(h)
        if (!loc) {
          loc = await this.writer.put(chunk)
          this.chunkMap.set(h, loc)
        }
        located.push([h, loc])
        total += n
        if (n < buf.length) break
      }
    } finally {
      await fh.close()
    }
    if (total !== st.size) {
      const err = new Error('the file changed while it was read') as NodeJS.ErrnoException
      err.code = 'ECHANGED'
      throw err
    }
    return this.fieldsFor(
      contentHash(
        located.map(([h]) => h),
        total,
      ),
      chunkSize,
      st,
      located,
    )
  }

  private fieldsFor(
    hash: string,
    chunkSize: number,
    st: Stats,
    located: Array<[string, ChunkLocation]>,
  ): Omit<FileOp, 't' | 'path' | 'vv' | 'origin' | 'at'> {
    const cores: string[] = []
    const chunks: FileOp['chunks'] = located.map(([h, loc]) => {
      let i = cores.indexOf(loc.core)
      if (i < 0) i = cores.push(loc.core) - 1
      return [h, i, loc.block, loc.blocks, loc.size]
    })
    return {
      kind: 'file',
      mtime: Math.floor(st.mtimeMs),
      size: st.size,
      x: false,
      hash,
      chunkSize,
      cores,
      chunks,
      link: null,
    }
  }

  // ---------------------------------------------------------------- conflicts

  private async resolveConflicts(): Promise<void> {
    if (!this.ownLog) return
    const ops: FileOp[] = []
    const now = Date.now()
    const breather = new Breather()
    for (const key of this.pendingApply) {
      if (breather.due()) {
        await breather.pause()
        if (this.closing) return
      }
      const plan = this.sync.resolution(key, now)
      if (!plan) continue
      ops.push(...plan.copies, plan.merge)
      this.log.info({ path: key, copies: plan.copies.map((c) => c.path) }, 'settled a conflict')
    }
    if (ops.length) {
      await this.appendOwn(ops)
      await this.readLogs()
      for (const p of this.sync.dirty) this.pendingApply.add(p)
      this.sync.dirty.clear()
    }
  }

  conflicts(): ConflictInfo[] {
    const out: ConflictInfo[] = []
    const info = (op: FileOp | undefined): ConflictSide | null =>
      op && op.kind !== 'deleted'
        ? { kind: op.kind, size: op.size, mtime: op.mtime, device: op.origin }
        : null
    for (const key of this.sync.paths()) {
      if (!isConflictName(key)) continue
      const copy = info(this.sync.current(key)?.op)
      if (!copy) continue
      const original = this.originalOf(key)
      out.push({ path: key, original, copy, kept: info(this.sync.current(original)?.op) })
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : 1))
  }

  /** The path a conflict copy was made beside. */
  private originalOf(copy: string): string {
    const parts = conflictParts(copy)
    if (!parts) return copy
    if (this.sync.current(parts.plain)) return parts.plain
    // A name conflictName shortened to fit: the sibling whose copy it is.
    const dir = parentKey(copy)
    for (const k of this.sync.paths()) {
      if (parentKey(k) === dir && conflictName(k, parts.mtime, parts.device) === copy) return k
    }
    return parts.plain
  }

  /**
   * The start of a file as it is on this device, for comparing a conflict copy with the file it
   * sits beside: up to PREVIEW_BYTES, as text when it is UTF-8 text (null when binary).
   */
  async preview(key: string): Promise<{ size: number; text: string | null; truncated: boolean }> {
    const segments = validateRemotePath(key)
    if (!(await parentsAreSafe(this.record.path, segments))) {
      throw new RangeError(`${key} is not inside the folder`)
    }
    const file = toDiskPath(this.record.path, segments)
    let handle: fs.FileHandle
    try {
      handle = await fs.open(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT')
        throw new RangeError(`${key} is not in the folder on this device`, { cause: err })
      if (code === 'ELOOP') throw new RangeError(`${key} is a symbolic link`, { cause: err })
      throw err
    }
    try {
      const st = await handle.stat()
      if (!st.isFile()) throw new RangeError(`${key} is not a file`)
      const buf = Buffer.alloc(Math.min(PREVIEW_BYTES, st.size))
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0)
      const head = buf.subarray(0, bytesRead)
      return {
        size: st.size,
        text: asText(head, bytesRead < st.size),
        truncated: bytesRead < st.size,
      }
    } finally {
      await handle.close()
    }
  }

  /**
   * Settles a conflict on disk, where the change syncs like any other: 'original' deletes the
   * conflict copy; 'copy' moves the copy over the file it is a copy of (the replaced content
   * stays restorable as a version). A copy and an original of different kinds (a folder kept
   * aside for a file, a file beside what became a folder) replace each other the same way: what
   * is at the original's path goes first, as long as the logs hold all of it (a file as recorded,
   * a folder holding nothing this device keeps); otherwise CONFLICT, and nothing moves.
   */
  async resolveConflict(copyKey: string, keep: 'original' | 'copy'): Promise<{ path: string }> {
    const found = this.conflicts().find((c) => c.path === copyKey)
    if (!found) throw new RangeError(`${copyKey} is not a conflict copy in this folder`)
    const copySegs = validateRemotePath(found.path)
    const origSegs = validateRemotePath(found.original)
    if (!(await parentsAreSafe(this.record.path, copySegs))) {
      throw new RangeError(`${found.path} is not inside the folder`)
    }
    const copyFile = toDiskPath(this.record.path, copySegs)
    const st = await fs.lstat(copyFile).catch(() => null)
    if (!st) throw new RangeError(`${found.path} is not on this device (yet)`)
    if (keep === 'original') {
      await fs.rm(copyFile, { recursive: st.isDirectory(), force: true })
      this.rescanPath(found.path)
      return { path: found.original }
    }
    await ensureSafeParents(this.record.path, origSegs)
    const origFile = toDiskPath(this.record.path, origSegs)
    const there = await lstatOrNull(origFile)
    // A file or link is replaced only as this device last recorded it: an edit the scan has not
    // recorded yet would be gone with no version (and the user chose the copy without seeing it).
    if (there && !there.isDirectory()) {
      const e = this.index.get(found.original)
      if (e?.local) {
        throw new ApiError(
          'CONFLICT',
          `${found.original} holds this device's own change, which a read-only member never sends; move it away first`,
        )
      }
      if (!(await asRecorded(e, there, origFile))) {
        this.rescanPath(found.original)
        throw new ApiError(
          'CONFLICT',
          `${found.original} changed on this device and is not synced yet; try again in a moment`,
        )
      }
    }
    // rename() puts a file over a file, but not a folder over a file (ENOTDIR) nor anything over
    // a folder that is not empty: what is there is removed first, if nothing of it is lost.
    if (there && (there.isDirectory() || st.isDirectory())) {
      const below = this.below(found.original)
      if (there.isDirectory()) {
        try {
          await this.folderInTheWay(origFile, origSegs)
        } catch (err) {
          if (!(err instanceof FolderInTheWay)) throw err
          throw new ApiError(
            'CONFLICT',
            `${found.original} is a folder holding what this device keeps (${err.inside}); move that away first`,
          )
        }
        await fs.rm(origFile, { recursive: true, force: true })
      } else await fs.rm(origFile, { force: true })
      for (const k of below) this.pendingScan.add(k)
    }
    const copyBelow = st.isDirectory() ? this.below(found.path) : []
    await fs.rename(copyFile, origFile)
    for (const k of copyBelow) this.pendingScan.add(k)
    this.rescanPath(found.path)
    this.rescanPath(found.original)
    return { path: found.original }
  }

  // ---------------------------------------------------------------- applying the merged state

  private retryWaiting(): void {
    this.lastWaitingRetry = Date.now()
    if (!this.waiting.size) return
    for (const k of this.waiting) this.pendingApply.add(k)
    this.waiting.clear()
    this.kick()
  }

  private async applyPending(): Promise<void> {
    this.unavailable.clear()
    this.realCase?.reset()
    const keys = [...this.pendingApply]
    this.pendingApply.clear()
    // Most paths of a pass are often in place already (after a scan: every path it recorded),
    // and checking one waits for nothing: without pauses, 100,000 held the event loop for 0.8 s.
    const breather = new Breather()
    const current = new Map<string, FileOp>()
    for (const k of keys) {
      if (breather.due()) await breather.pause()
      const cur = this.sync.current(k)
      if (cur) current.set(k, cur.op)
    }
    const puts = keys.filter((k) => current.get(k) && current.get(k)?.kind !== 'deleted').sort()
    const dels = keys
      .filter((k) => current.get(k)?.kind === 'deleted')
      .sort()
      .reverse()
    // A put waiting for another spelling of its path, or of a folder above it, that this pass
    // deletes (it came in an earlier append than the deletion): tried in this pass, before the
    // deletion, so the copy here is renamed to it, not deleted and fetched again.
    if (this.realCase && this.blocked.size && dels.length) {
      const gone = new Set(dels.map(caseKey))
      const added: string[] = []
      for (const k of this.blocked) {
        if (current.has(k) || !respelledBy(k, gone)) continue
        const cur = this.sync.current(k)?.op
        if (!cur || cur.kind === 'deleted') continue
        current.set(k, cur)
        added.push(k)
      }
      if (added.length) puts.push(...added)
      puts.sort()
    }
    // Content that moved: a local file about to be deleted whose content a new path wants.
    const renameFrom = new Map<string, string>()
    for (const k of dels) {
      const e = this.index.get(k)
      if (e && e.kind === 'file' && e.hash && !e.local) renameFrom.set(`${e.hash}:${e.x}`, k)
    }
    // A folder replaced by a file or link: what was inside it goes first, so that the folder is
    // empty when the file is placed, unless it holds something this device keeps.
    const nonDirs = new Set(puts.filter((k) => current.get(k)?.kind !== 'dir'))
    const inside = (k: string): boolean => {
      for (let p = parentKey(k); p !== '/'; p = parentKey(p)) if (nonDirs.has(p)) return true
      return false
    }
    // (Not a file a put moves elsewhere: the move renames it out of the folder, which is then
    // empty, and the file or link it blocked is placed right after the pass.)
    // (Only files a put of this pass wants: any other deleted file with content went late, and
    // the folder was removed, or, at a read-only member, kept aside, with it still inside.)
    const moved = new Set<string>()
    for (const k of puts) {
      const op = current.get(k)
      const from = op?.kind === 'file' ? renameFrom.get(`${op.hash}:${op.x}`) : undefined
      if (from && from !== k) moved.add(from)
    }
    const early = new Set(nonDirs.size ? dels.filter((k) => inside(k) && !moved.has(k)) : [])
    const late = early.size ? dels.filter((k) => !early.has(k)) : dels
    for (const k of [...early, ...puts, ...late]) {
      if (breather.due()) await breather.pause()
      if (this.closing) return
      const op = current.get(k) as FileOp
      try {
        await this.applyOne(k, op, renameFrom)
        if (this.blocked.delete(k)) this.problems.delete(k)
        // Refused before and fine now (a file below a path that was a file for a while).
        if (this.refusedApply.delete(k)) this.unrefuse(k)
      } catch (err) {
        // Whatever it changed in its folder before it failed is read again when asked.
        this.realCase?.forget(path.dirname(path.join(this.record.path, ...k.slice(1).split('/'))))
        if (err instanceof LocalChangeRace) {
          this.pendingScan.add(k)
          this.pendingApply.add(k)
          this.wanted = true
        } else if (err instanceof FetchUnavailable) {
          this.waiting.add(k)
        } else if (err instanceof FolderInTheWay || err instanceof SpellingInTheWay) {
          if (!this.blocked.has(k)) this.log.warn({ path: k, err: err.message }, 'not placed')
          this.blocked.add(k)
          this.problems.set(k, err.message)
        } else if (isDiskFull(err)) {
          for (const rest of keys) this.pendingApply.add(rest)
          throw err
        } else if ((err as NodeJS.ErrnoException).code === 'SESSION_CLOSED' || this.closing) {
          return
        } else {
          this.refuse(k, (err as Error).message)
          this.refusedApply.add(k)
        }
      }
    }
    await this.sweepDeletedFolders(dels)
    // A file blocked by its folder, whose contents' deletions came in this pass (in a later
    // append than the file): tried again now rather than at the next retry.
    // Likewise a path blocked by another spelling of it that this pass deleted.
    if (this.blocked.size && dels.length) {
      const emptied = new Set<string>()
      for (const k of dels) for (let p = parentKey(k); p !== '/'; p = parentKey(p)) emptied.add(p)
      const spellings = this.realCase ? new Set(dels.map(caseKey)) : null
      for (const k of this.blocked) {
        if (!emptied.has(k) && !(spellings && respelledBy(k, spellings))) continue
        this.pendingApply.add(k)
        this.wanted = true
      }
    }
    if (this.state === 'error' && this.error?.startsWith('disk full')) this.setState('syncing')
  }

  private async applyOne(key: string, op: FileOp, renameFrom: Map<string, string>): Promise<void> {
    if (this.ignored(key, op.kind === 'dir')) return
    const segments = validateRemotePath(key)
    const problem = portabilityProblem(key)
    if (problem) this.problems.set(key, problem)
    const idx = this.index.get(key)
    // Already here (this device's own ops read back, or a version it has): no disk call needed.
    if (idx && !idx.local && sameContent(idx, op)) {
      if (vvKey(idx.vv) !== vvKey(op.vv)) this.index.set(key, { ...idx, vv: op.vv })
      return
    }
    // Nothing is ever read, written or deleted through a symlinked parent.
    if (!(await parentsAreSafe(this.record.path, segments))) {
      if (op.kind === 'deleted') {
        if (idx) this.index.set(key, { ...entryOf(op, null), local: null })
        return
      }
      throw new Error(
        `a parent folder is a symlink: ${await symlinkedParent(this.record.path, segments)}`,
      )
    }
    if (!idx && op.kind === 'deleted') return
    const abs = toDiskPath(this.record.path, segments)
    let st = await lstatOrNull(abs)
    // On a disk that ignores case, what lstat found may be another path: the disk's spelling.
    // A version is placed only in its own folder as spelled: put in another spelling of it, it
    // would be the other folder's new path to every scan here.
    let replaces: string | null = null
    // (A listing that can't be read waits, with the others that wait, rather than refuse.)
    const unlisted = (err: Error): never => {
      throw SpellingInTheWay.unlisted(err)
    }
    if (this.realCase && op.kind !== 'deleted' && segments.length > 1) {
      const parent = segments.slice(0, -1)
      if (await this.realCase.spelledOtherwise(parent).catch(unlisted)) {
        const there = await this.realCase.onDisk(parent).catch(unlisted)
        throw new SpellingInTheWay(key, there ? '/' + there.join('/') : parentKey(key), true)
      }
    }
    if (st && this.realCase) {
      const real = await this.realCase.onDisk(segments).catch(unlisted)
      const other = real ? '/' + real.join('/') : null
      if (other !== key) {
        if (!(await this.otherSpelling(key, op, other, st, renameFrom))) return
        replaces = other
      }
    }
    // A change this device noted while it could not write (a read-only member, or a writer not
    // admitted yet): the file on disk is the user's, even though the index describes it.
    const noted = !replaces && !!idx?.local && idx.local !== 'deleted'
    let keepLocal: string | undefined
    if (!replaces && (noted || !matchesDisk(idx, st))) {
      if (this.writable) {
        // A local change not recorded yet: record it first; it may conflict with this version.
        if (this.bounced(key)) {
          throw new Error('the local file here changed and could not be recorded; left as it is')
        }
        this.pendingScan.add(key)
        this.pendingApply.add(key)
        this.wanted = true
        return
      }
      if (st && (st.isFile() || st.isSymbolicLink())) {
        // Read-only: keep the local edit beside the folder's version, never overwrite it. A new
        // file or link is fetched first, and the copy made just before it replaces the edit, so
        // the path never stands empty (and stays the user's if the version never arrives).
        if (op.kind === 'file' || op.kind === 'symlink') keepLocal = key
        else {
          this.keptLocal(key, await moveToFreeName(abs, (i) => this.localCopyPath(key, i)))
          st = null
        }
      }
    }
    let before = await lstatOrNull(abs)
    if (op.kind !== 'deleted' && op.kind !== 'dir' && before?.isDirectory()) {
      if (this.writable && this.holdsCurrent(key)) {
        // Versions still current below it (made beside the file, by a device that never saw
        // them): they would go with the folder. It moves aside and syncs from there instead.
        await this.moveFolderAside(key, abs)
        before = await lstatOrNull(abs)
      } else if (!this.writable && (await this.keptInside(abs, key)).length) {
        // Read-only: what this device made or changed inside (never sent anywhere) would block
        // the path for good, or be lost with the folder: the folder is kept as this device's
        // conflict copy, with what is still in it. (Synced content a writer moves aside itself.)
        this.keptLocal(key, await moveToFreeName(abs, (i) => this.localCopyPath(key, i)))
        for (const k of this.below(key)) this.pendingScan.add(k)
        before = await lstatOrNull(abs)
      } else {
        // Found before anything is fetched; placeFile removes the folder when the file lands.
        await this.folderInTheWay(abs, segments)
      }
    }
    switch (op.kind) {
      case 'deleted': {
        const left = await this.removeLocal(abs, st)
        this.index.set(key, { ...entryOf(op, null), local: null, kept: keptOf(left) })
        if (!left) this.realCase?.noted(path.dirname(abs), path.basename(abs), false)
        break
      }
      case 'dir':
        await ensureSafeParents(this.record.path, segments)
        if (!st || !st.isDirectory()) {
          if (st) await fs.rm(abs, { force: true })
          await fs.mkdir(abs)
          this.noteNewFolder(key)
        }
        this.index.set(key, { ...entryOf(op, await lstatOrNull(abs)), local: null })
        break
      case 'symlink': {
        const dir = await ensureSafeParents(this.record.path, segments)
        const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`)
        await fs.symlink(op.link ?? '', tmp)
        let placed: Stats
        try {
          placed = await fs.lstat(tmp)
          await this.placeFile(tmp, abs, segments, before, keepLocal)
        } catch (err) {
          await fs.rm(tmp, { force: true })
          throw err
        }
        this.index.set(key, { ...entryOf(op, placed), local: null })
        break
      }
      case 'file': {
        const from = renameFrom.get(`${op.hash}:${op.x}`)
        if (from && from !== key) {
          const src = toDiskPath(this.record.path, validateRemotePath(from))
          const e = this.index.get(from)
          const sst = await lstatOrNull(src)
          if (e && e.kind === 'file' && sst && matchesDisk(e, sst)) {
            await ensureSafeParents(this.record.path, segments)
            await this.placeFile(src, abs, segments, before, keepLocal)
            await fs.utimes(abs, new Date(), new Date(op.mtime)).catch(() => {})
            renameFrom.delete(`${op.hash}:${op.x}`)
            // Recorded only if it is still the file moved, as Spare left it; anything else (gone,
            // replaced or resized by the user meanwhile) is recorded with no stat, so the next
            // look sees a change made after this version, not beside it.
            const after = await lstatOrNull(abs)
            const placed =
              after &&
              sst &&
              after.ino === sst.ino &&
              after.size === sst.size &&
              after.mtimeMs === op.mtime
                ? after
                : null
            this.index.set(key, { ...entryOf(op, placed), local: null })
            const gone = this.sync.current(from)?.op
            if (gone) this.index.set(from, { ...entryOf(gone, null), local: null })
            this.realCase?.noted(path.dirname(src), path.basename(src), false)
            break
          }
        }
        const dir = await ensureSafeParents(this.record.path, segments)
        const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`)
        // The index records the file as placed (a rename keeps inode, size and mtime), stat'ed
        // before it is in the folder: a stat after could see the user's next change (or miss a
        // deletion) and take it for this version, and that change would never be sent.
        let placed: Stats
        try {
          await this.writeContent(op, tmp)
          await fs.utimes(tmp, new Date(), new Date(op.mtime))
          placed = await fs.lstat(tmp)
          await this.placeFile(tmp, abs, segments, before, keepLocal)
        } catch (err) {
          await fs.rm(tmp, { force: true })
          throw err
        }
        this.index.set(key, { ...entryOf(op, placed), local: null })
        break
      }
    }
    // What it replaced under another spelling is gone from the disk; its deletion finds nothing.
    if (replaces) this.index.delete(replaces)
    if (op.kind !== 'deleted') this.realCase?.noted(path.dirname(abs), path.basename(abs), true)
    if (keepLocal !== undefined) this.realCase?.forget(path.dirname(abs))
    this.bounces.delete(key)
    this.treeChanged = true
    if (!this.closing) this.recheck.add(key)
  }

  /**
   * Counts one more time `key` was sent back to be looked at again before it could be applied;
   * true (and the count starts over) once that has happened more than 3 times in a row.
   */
  private bounced(key: string): boolean {
    const bounces = (this.bounces.get(key) ?? 0) + 1
    if (bounces <= 3) {
      this.bounces.set(key, bounces)
      return false
    }
    this.bounces.delete(key)
    return true
  }

  /**
   * `key`'s turn on a disk that ignores case, where lstat found the path under another spelling,
   * `other` (null when the listing could not tell). Deals with it and returns false, or returns
   * true when what is there is `other`'s obsolete copy, which `key`'s version replaces as it is.
   *
   * - A deletion is not about what is there: that is `other`, with versions of its own.
   * - `other` still current: two paths this disk can't hold both. `other` stays, `key` waits.
   * - `other` deleted and its copy here as recorded: a rename that changed only the case, done
   *   as a rename when the content is the same, and otherwise replaced.
   * - Anything else there is the user's: recorded first, as any local change.
   */
  private async otherSpelling(
    key: string,
    op: FileOp,
    other: string | null,
    st: Stats,
    renameFrom: Map<string, string>,
  ): Promise<boolean> {
    if (other === null) {
      // Changed while being looked at (lstat found it, its listing did not): looked at again, a
      // few times. A name this folding can't match (a disk's own rules for some letters) is
      // left alone: a deletion leaves what is there, a put waits.
      if (!this.bounced(key)) throw new LocalChangeRace()
      if (op.kind !== 'deleted') throw new SpellingInTheWay(key, 'another spelling of it')
    }
    if (op.kind === 'deleted') {
      if (this.index.get(key)) this.index.set(key, { ...entryOf(op, null), local: null })
      return false
    }
    if (other === null) return false
    const current = this.sync.current(other)?.op
    if (current && current.kind !== 'deleted') throw new SpellingInTheWay(key, other)
    const was = this.index.get(other)
    if (!was || was.local || !matchesDisk(was, st)) {
      if (!this.writable) throw new SpellingInTheWay(key, other)
      if (this.bounced(key)) throw new SpellingInTheWay(key, other)
      this.pendingScan.add(other)
      this.pendingApply.add(key)
      this.wanted = true
      return false
    }
    const from = toDiskPath(this.record.path, validateRemotePath(other))
    const to = toDiskPath(this.record.path, validateRemotePath(key))
    const sameFile =
      op.kind === 'file' && was.kind === 'file' && was.hash === op.hash && was.x === op.x
    if (sameFile || (op.kind === 'dir' && was.kind === 'dir')) {
      await fs.rename(from, to)
      this.realCase?.forget(path.dirname(from))
      this.realCase?.forget(path.dirname(to))
      if (op.kind === 'dir') {
        // The watcher may go on naming what is inside by the old spelling: it watches again.
        this.noteNewFolder(key)
        // Everything below moved along, as recorded: its entries follow it. Not what the folder
        // held that is deleted where it was and not put where it is now (deleted by the device
        // that renamed the folder): gone, as its deletion would have made it, unless changed
        // here (recorded then as this device's).
        const prefix = other + '/'
        const below = [...this.index.entries].filter(([k]) => k.startsWith(prefix))
        // Deepest first: a folder is empty, if it is to be, when its turn comes.
        below.sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
        for (const [k, e] of below) {
          const moved = key + k.slice(other.length)
          this.index.delete(k)
          const now = this.sync.current(moved)?.op
          if (this.sync.current(k)?.op.kind !== 'deleted' || (now && now.kind !== 'deleted')) {
            this.index.set(moved, e)
            continue
          }
          const there = toDiskPath(this.record.path, validateRemotePath(moved))
          const cst = await lstatOrNull(there)
          if (!cst) continue
          if (e.kind === 'dir' && cst.isDirectory()) {
            await fs.rmdir(there).catch(() => this.pendingScan.add(moved))
          } else if (e.kind !== 'dir' && !e.local && matchesDisk(e, cst)) {
            await fs.rm(there, { force: true })
          } else this.pendingScan.add(moved)
        }
      }
      if (op.kind === 'file') renameFrom.delete(`${op.hash}:${op.x}`)
      this.index.delete(other)
      this.index.set(key, { ...entryOf(op, await lstatOrNull(to)), local: null })
      this.log.info({ path: key, from: other }, 'renamed to a new spelling')
      this.bounces.delete(key)
      this.treeChanged = true
      if (!this.closing) this.recheck.add(key)
      return false
    }
    // A folder in the way of a file is removed by its own deletion; the file waits for it.
    if (was.kind === 'dir' || st.isDirectory()) throw new SpellingInTheWay(key, other)
    return true
  }

  /**
   * A deleted folder that was not empty when its deletion was applied (its children's deletions
   * came later) is removed once it is: the parents of this pass's deletions are looked at again.
   */
  private async sweepDeletedFolders(deleted: string[]): Promise<void> {
    const parents = new Set<string>()
    for (const k of deleted) {
      for (let p = parentKey(k); p !== '/'; p = parentKey(p)) parents.add(p)
    }
    for (const p of [...parents].sort().reverse()) {
      if (this.sync.current(p)?.op.kind !== 'deleted') continue
      const segments = p.slice(1).split('/')
      if (!(await parentsAreSafe(this.record.path, segments))) continue
      const abs = path.join(this.record.path, ...segments)
      const st = await this.lstatSpelled(abs, segments)
      if (!st?.isDirectory()) continue
      const left = await this.removeLocal(abs, st)
      const idx = this.index.get(p)
      if (idx?.kind === 'deleted') this.index.set(p, { ...idx, kept: keptOf(left) })
    }
  }

  private async placeFile(
    from: string,
    to: string,
    segments: string[],
    expected: Stats | null | undefined = undefined,
    keepLocal?: string,
  ): Promise<void> {
    if (!(await parentsAreSafe(this.record.path, segments))) {
      throw new Error('a parent folder became a symlink')
    }
    const st = await lstatOrNull(to)
    // Someone saved the file while the new version was being fetched: theirs is recorded first.
    if (expected !== undefined && !sameStat(expected, st)) throw new LocalChangeRace()
    if (st && st.isDirectory()) await this.removeEmptyFolder(to, segments)
    if (keepLocal !== undefined && st && (st.isFile() || st.isSymbolicLink())) {
      const kept = await renameKeeping(from, to, st, (i) => this.localCopyPath(keepLocal, i))
      this.keptLocal(keepLocal, kept)
      return
    }
    await fs.rename(from, to)
  }

  /** The `i`th place (1, 2, ...) a conflict copy of this device's change of `key` may take. */
  private localCopyPath(key: string, i: number): string {
    const copy = conflictName(key, Date.now(), i === 1 ? 'local' : `local${i}`)
    return toDiskPath(this.record.path, validateRemotePath(copy))
  }

  /** A change of `key` this device could not send is kept as the conflict copy at `copyPath`. */
  private keptLocal(key: string, copyPath: string): void {
    const copy = toDriveKey(path.relative(this.record.path, copyPath))
    this.log.info({ path: key, keptAs: copy }, 'kept a local change as a conflict copy')
    this.pendingScan.add(copy)
  }

  /**
   * Whether this device holds, below the folder `key`, a version that is still current: a file or
   * folder made beside the file or link that replaces the folder, by a device that never saw it
   * (a device that replaces a folder it has records everything below it as deleted first, so
   * having read the replacement means having read those deletions).
   */
  private holdsCurrent(key: string): boolean {
    for (const k of this.below(key)) {
      const cur = this.sync.current(k)?.op
      if (cur && cur.kind !== 'deleted') return true
    }
    return false
  }

  /**
   * Moves the folder at `abs` (path `key`) to a conflict copy's name, named from the folder's
   * version (its mtime and device), so every device that holds it picks the same name; the scan
   * then records it there as a new folder, and what it held here as deleted. Nothing in it is
   * lost, and the file or link that won the path takes it.
   */
  private async moveFolderAside(key: string, abs: string): Promise<void> {
    const idx = this.index.get(key)
    const dirs = this.sync.versions(key).filter((r) => r.op.kind === 'dir')
    const mine =
      dirs.find((r) => idx?.kind === 'dir' && vvKey(r.op.vv) === vvKey(idx.vv)) ?? dirs.at(-1)
    const mtime = mine?.op.mtime ?? Date.now()
    const device = mine?.op.origin ?? this.device
    const moved = await moveToFreeName(abs, (i) => {
      const name = conflictName(key, mtime, i === 1 ? device : `${device}${i}`)
      return toDiskPath(this.record.path, validateRemotePath(name))
    })
    const copy = toDriveKey(path.relative(this.record.path, moved))
    this.log.info({ path: key, keptAs: copy }, 'moved a folder aside for a file')
    this.pendingScan.add(copy)
    for (const k of this.below(key)) this.pendingScan.add(k)
    this.wanted = true
  }

  /**
   * Removes the folder where a file or link is to go. What the folder's deletions took is gone
   * by now (they are applied first); anything still inside is this device's own (ignored, or not
   * recorded yet), so it is never deleted: FolderInTheWay.
   */
  private async removeEmptyFolder(abs: string, segments: string[]): Promise<void> {
    try {
      await fs.rmdir(abs)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err
      await this.folderInTheWay(abs, segments)
      await fs.rm(abs, { recursive: true, force: true })
    }
  }

  /**
   * Throws FolderInTheWay, naming what this device keeps in the folder at `abs`: files not
   * recorded or changed since, ignored ones. What is there as recorded (synced content, which
   * the logs keep) and a desktop's junk (.DS_Store and the like) may go with the folder. Only
   * looks: the folder is removed by removeEmptyFolder, when the file is placed.
   */
  private async folderInTheWay(abs: string, segments: string[]): Promise<void> {
    const kept = await this.keptInside(abs, '/' + segments.join('/'))
    if (kept.length === 0) return
    const shown = kept.slice(0, 3)
    if (kept.length > 3) shown.push(`${kept.length - 3} more`)
    throw new FolderInTheWay(shown.join(', '))
  }

  /** What in the folder at `abs` (path `key`) is this device's own (see folderInTheWay). */
  private async keptInside(abs: string, key: string): Promise<string[]> {
    const kept: string[] = []
    let seen = 0
    const walk = async (dir: string, dirKey: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => [])
      for (const d of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const k = `${dirKey}/${d.name}`
        if (++seen > 10_000) {
          kept.push(k) // too many to look at: kept whole
          return
        }
        const p = path.join(dir, d.name)
        const st = await lstatOrNull(p)
        if (!st) continue
        const e = this.index.get(k)
        // (A folder whose deletion left it here, holding things kept, counts as recorded.)
        const recorded =
          !!e && !e.local && (e.kind === 'deleted' ? keptFolder(e, st) : matchesDisk(e, st))
        if (st.isDirectory()) {
          // A recorded folder goes if everything in it goes; one not recorded yet is the user's.
          const before = kept.length
          await walk(p, k)
          if (kept.length === before && !recorded) kept.push(k)
        } else if (!recorded && !(st.isFile() && isJunkName(d.name))) kept.push(k)
      }
    }
    await walk(abs, key)
    return kept
  }

  /** lstat of a path; null when a disk that ignores case holds it only under another spelling. */
  private async lstatSpelled(abs: string, segments: readonly string[]): Promise<Stats | null> {
    const st = await lstatOrNull(abs)
    // (A listing that can't be read leaves lstat's answer standing, as before this check.)
    if (st && this.realCase && !(await this.realCase.spelledSo(segments).catch(() => true))) {
      // There under another spelling: renamed, or named so by a watcher that kept an old one.
      // Whatever the new name is, a full scan finds it.
      this.respelledSeen = true
      return null
    }
    return st
  }

  /** Set when a scan found a path under another spelling (lstatSpelled). */
  private respelledSeen = false

  /** Removes what is at `abs`; returns the stat of a folder left because it is not empty. */
  private async removeLocal(abs: string, st: Stats | null): Promise<Stats | null> {
    if (!st) return null
    if (st.isDirectory()) {
      try {
        await fs.rmdir(abs)
      } catch (err) {
        // Something this device keeps (ignored or unsynced files) is still inside: leave it.
        if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err
        return st
      }
      return null
    }
    await fs.rm(abs, { force: true })
    return null
  }

  /** Writes a version's content to `target`: local copies first, the network for the rest. */
  private async writeContent(op: FileOp, target: string): Promise<void> {
    const fh = await fs.open(target, 'w', op.x ? 0o755 : 0o644)
    try {
      let offset = 0
      const offsets = op.chunks.map((c) => {
        const o = offset
        offset += c[4]
        return o
      })
      // Only the chunks in flight are held: each is dropped once written.
      const fetches = new Map<number, Promise<Buffer>>()
      const start = (i: number): void => {
        const c = op.chunks[i]
        if (!c) return
        const p = this.chunkData(op, c)
        p.catch(() => {})
        fetches.set(i, p)
      }
      for (let i = 0; i < Math.min(CHUNKS_AHEAD, op.chunks.length); i++) start(i)
      for (let i = 0; i < op.chunks.length; i++) {
        const data = await (fetches.get(i) as Promise<Buffer>)
        fetches.delete(i)
        start(i + CHUNKS_AHEAD)
        await writeFully(fh, data, 0, data.length, offsets[i] as number)
      }
      if (op.x) await fh.chmod(0o755)
    } finally {
      await fh.close()
    }
  }

  private async chunkData(op: FileOp, c: FileOp['chunks'][number]): Promise<Buffer> {
    const [hash, coreIdx, block, blocks, size] = c
    for (const src of this.index.sources(hash)) {
      try {
        const segs = src.key.slice(1).split('/')
        if (!(await parentsAreSafe(this.record.path, segs))) continue
        const fh = await fs.open(path.join(this.record.path, ...segs), 'r')
        try {
          const buf = Buffer.allocUnsafe(size)
          const { bytesRead } = await fh.read(buf, 0, size, src.offset)
          if (bytesRead === size && hashChunk(buf) === hash) return buf
        } finally {
          await fh.close()
        }
      } catch {
        // The local copy is gone or changed: fetch it instead.
      }
    }
    const coreKey = op.cores[coreIdx] as string
    // A core nobody serves in this pass is not asked again in it (each ask costs a timeout).
    if (this.unavailable.has(coreKey))
      throw new FetchUnavailable('no peer has this content right now')
    const core = this.openBlobs(coreKey)
    await core.ready()
    const parts: Buffer[] = []
    for (let i = 0; i < blocks; i++) {
      parts.push(core.get(block + i, { timeout: FETCH_TIMEOUT_MS }) as unknown as Buffer)
    }
    let got: Array<Buffer | null>
    try {
      got = await Promise.all(parts as unknown as Array<Promise<Buffer | null>>)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (
        code === 'REQUEST_TIMEOUT' ||
        code === 'SNAPSHOT_NOT_AVAILABLE' ||
        code === 'BLOCK_NOT_AVAILABLE'
      ) {
        this.unavailable.add(coreKey)
        throw new FetchUnavailable('no peer has this content right now')
      }
      throw err
    }
    if (got.some((b) => !b)) throw new FetchUnavailable('no peer has this content right now')
    const buf = got.length === 1 ? (got[0] as Buffer) : Buffer.concat(got as Buffer[])
    if (buf.length !== size || hashChunk(buf) !== hash) {
      throw new Error('a chunk does not match the hash its version names')
    }
    if (!this.chunkMap.has(hash)) {
      this.chunkMap.set(hash, { core: op.cores[coreIdx] as string, block, blocks, size })
    }
    return buf
  }

  // ---------------------------------------------------------------- versions and restore

  private retentionMs(): number {
    return (this.record.versionsDays ?? 30) * 24 * 3600 * 1000
  }

  /** Versions of a path still kept, newest first. */
  versions(key: string): VersionInfo[] {
    const all = this.sync.versions(key)
    const current = this.sync.current(key)
    const cutoff = Date.now() - this.retentionMs()
    const out: VersionInfo[] = []
    all.forEach((r: OpRef, i) => {
      const replacedAt = all[i + 1]?.op.at ?? Infinity
      const isCurrent = !!current && current.writer === r.writer && current.seq === r.seq
      if (!isCurrent && replacedAt < cutoff) return
      out.push({
        id: `${deviceOf(r.writer)}.${r.seq}`,
        kind: r.op.kind,
        size: r.op.size,
        mtime: r.op.mtime,
        at: r.op.at,
        device: r.op.origin,
        current: isCurrent,
      })
    })
    return out.reverse()
  }

  /**
   * Writes a kept version of a path to `dest` (default: the path in the folder, which then syncs
   * as a new change). Without `versionId`, the newest kept version with content that is not the
   * current one.
   */
  async restore(
    key: string,
    versionId: string | null,
    dest: string | null,
  ): Promise<{ version: string; path: string }> {
    const all = this.sync.versions(key)
    const listed = new Set(this.versions(key).map((v) => v.id))
    const idOf = (r: OpRef): string => `${deviceOf(r.writer)}.${r.seq}`
    let pick: OpRef | undefined
    if (versionId) {
      pick = all.find((r) => idOf(r) === versionId && listed.has(idOf(r)))
      if (!pick)
        throw new RangeError(`no kept version ${versionId} of ${key} (see \`spare versions\`)`)
    } else {
      const cur = this.sync.current(key)
      const curKey = cur ? contentKey(cur.op) : null
      pick = [...all]
        .reverse()
        .find(
          (r) =>
            listed.has(idOf(r)) &&
            r.op.kind !== 'deleted' &&
            r.op.kind !== 'dir' &&
            contentKey(r.op) !== curKey,
        )
      if (!pick) throw new RangeError(`${key} has no earlier version to restore`)
    }
    if (pick.op.kind === 'deleted' || pick.op.kind === 'dir') {
      throw new RangeError(
        `version ${idOf(pick)} of ${key} is a ${pick.op.kind === 'dir' ? 'folder' : 'deletion'}; it has no content`,
      )
    }
    const segments = validateRemotePath(key)
    const target = dest ?? toDiskPath(this.record.path, segments)
    // On a disk that ignores case, another path may stand where this one would go: not replaced.
    if (!dest && this.realCase && (await lstatOrNull(target))) {
      this.realCase.reset()
      const real = await this.realCase.onDisk(segments)
      if (!real || '/' + real.join('/') !== key) {
        throw new ApiError(
          'CONFLICT',
          `${real ? '/' + real.join('/') : 'another spelling of it'} is where ${key} would go on this disk, which ignores case; restore it to another place (--to)`,
        )
      }
    }
    if (!dest) await ensureSafeParents(this.record.path, segments)
    else await fs.mkdir(path.dirname(target), { recursive: true })
    const tmp = path.join(path.dirname(target), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`)
    try {
      if (pick.op.kind === 'symlink') await fs.symlink(pick.op.link ?? '', tmp)
      else await this.writeContent(pick.op, tmp)
      await fs.rename(tmp, target)
    } catch (err) {
      await fs.rm(tmp, { force: true })
      if (err instanceof FetchUnavailable)
        throw new Error('that version is not on this device and no peer has it right now', {
          cause: err,
        })
      throw err
    }
    if (!dest) this.rescanPath(key)
    return { version: idOf(pick), path: target }
  }

  // ---------------------------------------------------------------- hosting (donated disk)

  /** The folder's swarm topic (its root log's discovery key). */
  get topic(): Buffer | null {
    return this.root ? this.root.discoveryKey : null
  }

  /** Keys of every core of the folder: the members' logs and blobs cores. */
  coreKeys(): string[] {
    return [...new Set([...this.logs.keys(), ...this.blobCores.keys()])].sort()
  }

  /** Bytes of all the folder's cores (what a host keeps). */
  sizeBytes(): number {
    let n = 0
    for (const log of this.logs.values()) n += log.core.byteLength
    for (const core of this.blobCores.values()) n += core.byteLength
    return n
  }

  /** Blocks of all those cores. */
  blockCount(): number {
    let n = 0
    for (const log of this.logs.values()) n += log.core.length
    for (const core of this.blobCores.values()) n += core.length
    return n
  }

  /**
   * A random block this device holds among the first `have[core]` blocks of each core (the
   * owner's lengths when the host last had a whole period to fetch), drawn from all of them
   * alike, as stored (the ciphertext a host keeps: read through a session without the
   * encryption key).
   */
  async auditSample(
    have: Record<string, number>,
  ): Promise<{ core: string; index: number; block: Buffer } | null> {
    const mine = new Set([...this.logs.keys(), ...this.blobCores.keys()])
    const cores: Array<{ key: string; raw: Hypercore; n: number }> = []
    try {
      for (const [key, length] of Object.entries(have)) {
        if (length <= 0 || !mine.has(key)) continue
        const raw = this.ctx.store.get({ key: Buffer.from(key, 'hex') })
        cores.push({ key, raw, n: 0 })
        await raw.ready()
        cores[cores.length - 1]!.n = Math.min(length, raw.length)
      }
      // One block drawn from all of them alike, not a core first: a host keeping the small logs
      // and dropping the big blobs cores would pass half its audits.
      const total = cores.reduce((t, c) => t + c.n, 0)
      for (let attempt = 0; attempt < 8 && total > 0; attempt++) {
        let i = Math.floor(Math.random() * total)
        let c = cores[0]
        for (const x of cores) {
          c = x
          if (i < x.n) break
          i -= x.n
        }
        if (!c || !(await c.raw.has(i))) continue
        const block = await c.raw.get(i, { wait: false })
        if (block) return { core: c.key, index: i, block }
      }
      return null
    } finally {
      await Promise.all(cores.map((c) => c.raw.close().catch(() => {})))
    }
  }

  // ---------------------------------------------------------------- reporting

  /** Paths that cannot all exist on a case-insensitive file system (a walk over every path). */
  private async checkClashes(): Promise<void> {
    this.treeChanged = false
    const groups = new CaseGroups()
    const breather = new Breather()
    for (const key of this.sync.paths()) {
      const cur = this.sync.current(key)?.op
      if (cur && cur.kind !== 'deleted') groups.add(key)
      if (breather.due()) {
        await breather.pause()
        // Closing: the walk's answer would reach no one (treeChanged says to look again).
        if (this.closing) {
          this.treeChanged = true
          return
        }
      }
    }
    this.clashProblems = groups.clashes().map((group) => ({
      path: group[0] as string,
      reason: `differs only in case from ${group.slice(1).join(', ')}: these cannot all exist on Windows or macOS`,
    }))
  }

  /** The folder's totals (see counts.ts): paths that changed since the last read are measured. */
  private totals(): Totals {
    if (!this.sync) return { files: 0, bytes: 0, localBytes: 0, conflicts: 0 }
    return this.counts.current()
  }
}

/** Whether `key`, or a folder above it, has the same caseKey as one in `gone` (caseKeys). */
function respelledBy(key: string, gone: Set<string>): boolean {
  for (let p = key; p !== '/'; p = parentKey(p)) if (gone.has(caseKey(p))) return true
  return false
}

function sameStat(a: Stats | null, b: Stats | null): boolean {
  if (!a || !b) return a === b
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.mode === b.mode
}

/** The first parent of `segments` (folder-relative) that is a symlink, for messages. */
async function symlinkedParent(root: string, segments: string[]): Promise<string> {
  for (let i = 1; i < segments.length; i++) {
    const st = await lstatOrNull(path.join(root, ...segments.slice(0, i)))
    if (st?.isSymbolicLink()) return segments.slice(0, i).join('/')
  }
  return segments.slice(0, -1).join('/')
}

/**
 * Reads a file expected to hold `size` bytes; null when it holds more, and ECHANGED (readFully)
 * when it holds fewer: it is being written, and its turn in the scan looks again.
 */
export async function readSmallFile(file: string, size: number): Promise<Buffer | null> {
  const fd = await openForReading(file)
  try {
    const buf = Buffer.allocUnsafe(size + 1)
    // One read asks for a byte more than expected: a file read whole comes back short of it, so
    // a second read to find the end is needed only when the first came back shorter still.
    const first = await readAt(fd, buf, 0, size + 1, 0)
    if (first > size) return null
    if (first < size) {
      await readFully(fd, buf.subarray(first), size - first, first, file)
      if ((await readAt(fd, buf, size, 1, size)) !== 0) return null
    }
    return buf.subarray(0, size)
  } finally {
    await closeFd(fd)
  }
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p)
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'ENOTDIR'
    )
      return null
    throw err
  }
}

function entryOf(op: FileOp, st: Stats | null): Omit<LocalEntry, 'local'> {
  return {
    vv: op.vv,
    kind: op.kind,
    size: st ? st.size : op.size,
    mtime: st ? st.mtimeMs : op.mtime,
    ino: st ? st.ino : 0,
    x: op.x,
    hash: op.hash,
    chunks: op.chunks.map((c) => [c[0], c[4]]),
    link: op.link,
  }
}

function emptyEntry(kind: LocalEntry['kind'], st: Stats): LocalEntry {
  return {
    vv: {},
    kind,
    size: st.size,
    mtime: st.mtimeMs,
    ino: st.ino,
    x: false,
    hash: null,
    chunks: [],
    link: null,
    local: null,
  }
}

/**
 * The latest of the folder's versions of `key` that holds the content `probe` describes and is
 * newer than the index's entry: what this device placed there since that entry was saved.
 */
function placedVersion(
  state: SyncState,
  key: string,
  probe: FileOp,
  idx: LocalEntry,
  mtimeMs: number,
): FileOp | null {
  let found: FileOp | null = null
  for (const r of state.versions(key)) {
    if (r.op.kind !== probe.kind || contentKey(r.op) !== contentKey(probe)) continue
    // Placed files keep their version's mtime: the same bytes saved by the user do not.
    if (r.op.kind === 'file' && Math.abs(mtimeMs - r.op.mtime) >= 1) continue
    if (compare(idx.vv, r.op.vv) === 'before') found = r.op
  }
  return found
}

function contentKeyOfEntry(e: LocalEntry): string {
  switch (e.kind) {
    case 'deleted':
      return 'deleted'
    case 'dir':
      return 'dir'
    case 'symlink':
      return `l:${e.link ?? ''}`
    case 'file':
      return `f:${e.hash ?? ''}:${e.x ? 'x' : '-'}`
  }
}

function sameContent(e: LocalEntry, op: FileOp): boolean {
  return contentKeyOfEntry(e) === contentKey(op)
}

/** A regular file whose exec bit is what the index recorded (with matchesDisk: unchanged). */
function unchangedFile(e: LocalEntry, st: Stats): boolean {
  return e.kind === 'file' && st.isFile() && e.x === ((st.mode & 0o100) !== 0)
}

/**
 * A folder deleted elsewhere and left here because something this device does not sync (ignored
 * files, or entries whose deletions have not come yet) was inside: its deletion is recorded with
 * the folder's identity, so scans don't take it for a folder made again and send it back to
 * every device. A folder the user makes again there later is another folder: inodes are reused
 * at once, so its birth time (where the file system keeps one) tells it apart.
 */
function keptFolder(e: LocalEntry, st: Stats | null): boolean {
  return (
    e.kind === 'deleted' &&
    !!e.kept &&
    !!st &&
    st.isDirectory() &&
    st.ino === e.kept.ino &&
    st.birthtimeMs === e.kept.born
  )
}

/** The `kept` field for a folder `removeLocal` left in place, if it did. */
function keptOf(left: Stats | null): LocalEntry['kept'] {
  return left ? { ino: left.ino, born: left.birthtimeMs } : undefined
}

/** True when the disk still shows what the index recorded for the path. */
function matchesDisk(e: LocalEntry | undefined, st: Stats | null): boolean {
  if (e && keptFolder(e, st)) return true
  if (!e || e.kind === 'deleted') return !st
  if (!st) return false
  switch (e.kind) {
    case 'dir':
      return st.isDirectory()
    case 'symlink':
      return st.isSymbolicLink()
    case 'file':
      return st.isFile() && st.size === e.size && st.mtimeMs === e.mtime && st.ino === e.ino
  }
}

/**
 * True when a file or link on disk is exactly what the index recorded for it (size, mtime, inode
 * and exec bit of a file; a link's target), so replacing it loses nothing the logs do not hold.
 */
async function asRecorded(e: LocalEntry | undefined, st: Stats, abs: string): Promise<boolean> {
  if (!e || e.local || !matchesDisk(e, st)) return false
  if (e.kind === 'file') return unchangedFile(e, st)
  if (e.kind !== 'symlink') return false
  return (await fs.readlink(abs).catch(() => null)) === e.link
}

/**
 * What kept versions need (current ones and those replaced after `cutoff`): their blocks per
 * blobs core, and their chunk hashes.
 */
export function keptContent(
  state: SyncState,
  cutoff: number,
): { blocks: Map<string, Set<number>>; chunks: Set<string> } {
  const keep = new Map<string, Set<number>>()
  const chunks = new Set<string>()
  for (const key of state.paths()) {
    const all = state.versions(key)
    const front = new Set(state.frontier(key))
    all.forEach((r, i) => {
      const replacedAt = all[i + 1]?.op.at ?? Infinity
      if (!front.has(r) && replacedAt < cutoff) return
      for (const c of r.op.chunks) {
        chunks.add(c[0])
        const core = r.op.cores[c[1]] as string
        let set = keep.get(core)
        if (!set) {
          set = new Set()
          keep.set(core, set)
        }
        for (let b = c[2]; b < c[2] + c[3]; b++) set.add(b)
      }
    })
  }
  return { blocks: keep, chunks }
}

/**
 * Whether the core holds at least one block in [start, end). One `has` per block when the range
 * is not all held (bitfield lookups in memory, no disk reads).
 */
export async function holdsAny(
  core: { has(start: number, end?: number): Promise<boolean> },
  start: number,
  end: number,
): Promise<boolean> {
  if (await core.has(start, end)) return true
  for (let i = start; i < end; i++) if (await core.has(i)) return true
  return false
}

/** [start, end) runs of blocks below `length` that are not in `keep`. */
export function unkeptRanges(
  keep: Set<number> | undefined,
  length: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let start = -1
  for (let i = 0; i < length; i++) {
    const kept = keep?.has(i) ?? false
    if (!kept && start < 0) start = i
    if (kept && start >= 0) {
      out.push([start, i])
      start = -1
    }
  }
  if (start >= 0) out.push([start, length])
  return out
}

/** How much of a file preview() reads. */
export const PREVIEW_BYTES = 16 * 1024

export interface ConflictSide {
  kind: 'file' | 'dir' | 'symlink'
  size: number
  mtime: number
  /** The device whose content this is. */
  device: string
}

export interface ConflictInfo {
  /** The conflict copy. */
  path: string
  /** The path it is a copy of. */
  original: string
  copy: ConflictSide
  /** The file the copy sits beside; null when it was deleted since. */
  kept: ConflictSide | null
}

/** The bytes as text when they are UTF-8 text (a cut multi-byte character at the end is fine). */
function asText(head: Buffer, cut: boolean): string | null {
  if (head.includes(0)) return null
  let text = head.toString('utf8')
  if (cut) text = text.replace(/\uFFFD+$/, '')
  if (text.includes('\uFFFD')) return null
  return text
}
