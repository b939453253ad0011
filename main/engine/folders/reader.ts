// A reader's side of a shared folder: mirrors the owner's drive into a local path and keeps it
// live. Every entry from the network is validated; every file is written to a temp name and
// renamed into place; a reader's own edits are never overwritten silently (the local version is
// kept as a conflict copy) and are reported as local changes.
import { promises as fs, type Stats } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import Hyperdrive, { type DriveEntry } from 'hyperdrive'
import Hyperblobs from 'hyperblobs'
import type { Download } from 'hypercore'
import { watchFolder, type FolderWatcher } from './watcher.ts'
import type { LocalChange } from '../../../shared/contract.ts'
import { Folder, isDiskFull, type FolderContext } from './folder.ts'
import type { FolderRecord } from '../settings.ts'
import {
  TEMP_PREFIX,
  parentKey,
  ensureSafeParents,
  parentsAreSafe,
  removeStaleTemps,
  toDiskPath,
  toDriveKey,
  validateRemotePath,
} from './safe-path.ts'
import { parseRemoteEntry, type RemoteEntry } from './entry.ts'
import { readListing } from './listing.ts'
import { Recheck } from './recheck.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { waitAtMost } from '../util/wait.ts'
import { writeFully } from '../util/write-fully.ts'
import { moveToFreeName, renameKeeping } from '../util/keep-copy.ts'
import { onlyJunkInside } from '../util/junk.ts'
import { RealCase, foldsCase } from '../util/real-case.ts'

const PARALLEL_FILES = 8
/**
 * The index is rewritten whole, so not after every file or pass: at most every few seconds, and
 * at close. What a crash loses is found again by the next start's first pass (files that match
 * the remote entry by size and mtime are adopted, not fetched again).
 */
const INDEX_SAVE_MS = 5000
const DISK_FULL_RETRY_MS = 3000
/**
 * A file that could not be placed for another reason (a folder in the way that could not be moved,
 * an I/O error) is tried again this long after, then twice as long each time it fails again, up
 * to FAILED_RETRY_MAX_MS; every pass tries it too.
 */
const FAILED_RETRY_MS = 5000
const FAILED_RETRY_MAX_MS = 5 * 60_000
const LOCAL_DEBOUNCE_MS = 100
/**
 * A file this reader wrote is looked at again this long after (recheck.ts): events that arrive
 * while it is being written are skipped, and the watcher may merge the rest away.
 */
const RECHECK_AFTER_WRITE_MS = 750
/** Blocks of old versions between wanted ranges are fetched too when the hole is this small. */
const RANGE_GAP_BLOCKS = 16
/** Before a whole listing, the tree's nodes are read in parallel when there are at most this many. */
const TREE_WARM_MAX_NODES = 32_768
const TREE_WARM_PARALLEL = 32
/** How long a whole listing waits for those reads before it starts anyway. */
const TREE_WARM_WAIT_MS = 10_000
/** Blocks of packed files kept after use: more than the files written at once can span. */
const PACK_BLOCKS_KEPT = 32
/** Blocks of one file requested ahead of the one being written. */
const BLOCKS_AHEAD = 4

/** What this device last wrote for a path: tells a reader's own edits from the owner's. */
interface IndexRecord {
  version: string
  kind: 'file' | 'dir' | 'symlink'
  size: number
  mtime: number
  /** A symlink's target (absent from indexes written before it was recorded: not compared). */
  link?: string
}

/** What is on disk at a path: its lstat and, for a symlink, its target. */
interface OnDisk {
  st: Stats
  link: string | null
}

interface IndexFile {
  format: 1
  appliedVersion: number
  records: Record<string, IndexRecord>
}

export class ReaderFolder extends Folder {
  private readonly remote = new Map<string, RemoteEntry>()
  private index = new Map<string, IndexRecord>()
  private appliedVersion = 0
  private readonly local = new Map<string, LocalChange['kind']>()
  private blobs: Hyperblobs | null = null
  private watcher: FolderWatcher | null = null
  private running: Promise<void> | null = null
  private again = false
  private saveTimer: NodeJS.Timeout | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private localTimer: NodeJS.Timeout | null = null
  /** Set when the folder's disk finds names whatever their case (macOS, Windows): real-case.ts. */
  private realCase: RealCase | null = null
  private readonly recheck = new Recheck(RECHECK_AFTER_WRITE_MS, (keys) => {
    for (const k of keys) this.markLocal(k)
  })
  private readonly localDirty = new Set<string>()
  private localDirtyDirs = new Set<string>()
  private readonly writing = new Set<string>()
  /** Keys the watcher named while they were being written: looked at once the write ends. */
  private readonly dirtyWhileWriting = new Set<string>()
  /**
   * Keys whose file could not be placed (an error other than a full disk), with the reason listed
   * in `refused`. The applied version moves on, so every pass applies these again, and a timer
   * starts one while any are left.
   */
  private readonly failed = new Map<string, string>()
  private failedTimer: NodeJS.Timeout | null = null
  private failedDelay = FAILED_RETRY_MS
  /** Recently read blocks of packed files, oldest first (packBlock). */
  private readonly packBlocks = new Map<number, Promise<Buffer | null>>()
  private firstPassDone = false
  /** What the last whole listing read from the owner's listing, for tests and the log. */
  private lastListing: { version: number; entries: number; changed: number } | null = null
  /** A pass read the owner's listing, and the tree's nodes are not all here yet (fetchTree). */
  private wantTree = false
  /** The tree's nodes being fetched after such a pass (fetchTree). */
  private treeDownload: Download | null = null

  constructor(record: FolderRecord, ctx: FolderContext) {
    super(record, ctx)
  }

  get version(): number {
    return this.appliedVersion
  }

  private get indexFile(): string {
    return path.join(this.ctx.stateDir, 'index.json')
  }

  localChanges(): LocalChange[] {
    return [...this.local]
      .map(([p, kind]) => ({ path: p, kind }))
      .sort((a, b) => a.path.localeCompare(b.path))
  }

  async open(): Promise<void> {
    await fs.mkdir(this.record.path, { recursive: true })
    await this.loadIndex()
    await removeStaleTemps(this.record.path)
    this.realCase = (await foldsCase(this.record.path, TEMP_PREFIX))
      ? new RealCase(this.record.path)
      : null
    if (this.realCase) this.log.info('the folder is on a disk that ignores case')
    const drive = new Hyperdrive(this.ctx.store, Buffer.from(this.record.key, 'hex'), {
      encryptionKey: Buffer.from(this.record.encryptionKey, 'hex'),
    })
    await drive.ready()
    this.drive = drive
    this.ctx.swarm.countTraffic(drive.core)
    drive.getBlobs().then(
      (blobs) => this.ctx.swarm.countTraffic(blobs.core),
      () => {},
    )
    drive.core.on('append', () => this.schedule())
    drive.core.on('peer-add', () => {
      this.changed()
      this.schedule()
    })
    drive.core.on('peer-remove', () => this.changed())
    const done = drive.findingPeers()
    this.ctx.swarm
      .join(drive.discoveryKey)
      .then(() => this.ctx.swarm.flush())
      .catch((err: Error) => this.log.warn({ err: err.message }, 'join failed'))
      .finally(() => {
        done()
        this.schedule()
      })
    await this.startWatcher()
    this.state = 'syncing'
    this.schedule()
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.stopTimers()
    for (const t of [this.saveTimer, this.retryTimer, this.localTimer, this.failedTimer])
      if (t) clearTimeout(t)
    this.recheck.close()
    this.treeDownload?.destroy()
    await this.watcher?.close()
    // Close the drive before waiting for the running pass: a pass waiting for blocks from a
    // peer that left would otherwise wait forever; closing makes those reads fail at once.
    if (this.drive) {
      await this.ctx.swarm.leave(this.drive.discoveryKey).catch(() => {})
      await this.drive.close()
    }
    await this.running?.catch(() => {})
    await this.saveIndex().catch(() => {})
  }

  async purge(): Promise<void> {
    const drive = new Hyperdrive(this.ctx.store, Buffer.from(this.record.key, 'hex'), {
      encryptionKey: Buffer.from(this.record.encryptionKey, 'hex'),
    })
    await drive.ready()
    await drive.purge()
    await fs.rm(this.ctx.stateDir, { recursive: true, force: true })
  }

  // ---- the local index ----

  private async loadIndex(): Promise<void> {
    let problem: string
    try {
      const doc = JSON.parse(await fs.readFile(this.indexFile, 'utf8')) as IndexFile
      if (doc.format !== 1 || typeof doc.records !== 'object') throw new Error('unknown format')
      this.index = new Map(Object.entries(doc.records))
      this.appliedVersion = Number.isInteger(doc.appliedVersion) ? doc.appliedVersion : 0
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      // A directory in its place (or a file that cannot be read) was skipped without a word, and
      // every save after failed on it: it is set aside like a damaged one.
      problem = (err as Error).message
    }
    // The index is a cache of what we wrote; the folder itself is intact. Rebuild it and say so.
    this.log.warn({ file: this.indexFile, err: problem }, 'sync index unreadable; rebuilding')
    const aside = `${this.indexFile}.corrupt-${Date.now()}`
    await fs.rename(this.indexFile, aside).catch(() => {})
  }

  private scheduleSave(): void {
    if (this.saveTimer || this.closing) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null
      this.saveIndex().catch((err: Error) =>
        this.log.warn({ err: err.message }, 'cannot save index'),
      )
    }, INDEX_SAVE_MS)
  }

  private async saveIndex(): Promise<void> {
    const doc: IndexFile = {
      format: 1,
      appliedVersion: this.appliedVersion,
      records: Object.fromEntries(this.index),
    }
    await writeFileAtomic(this.indexFile, JSON.stringify(doc))
  }

  // ---- the sync loop ----

  private schedule(): void {
    if (this.closing) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.runPasses().finally(() => {
      this.running = null
    })
  }

  private async runPasses(): Promise<void> {
    do {
      this.again = false
      try {
        await this.pass()
      } catch (err) {
        if (this.closing) return
        if (isDiskFull(err)) {
          this.setState(
            'error',
            `disk full: cannot write into ${this.record.path}; sync paused, retrying`,
          )
          this.retryLater()
          return
        }
        this.log.error({ err: (err as Error).message }, 'sync pass failed')
        this.setState('error', `sync failed: ${(err as Error).message}`)
        this.retryLater()
        return
      }
    } while (this.again && !this.closing)
  }

  private retryLater(): void {
    if (this.retryTimer || this.closing) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.schedule()
    }, DISK_FULL_RETRY_MS)
  }

  /** Starts a pass for the keys that failed, after a delay that grows while they keep failing. */
  private retryFailedLater(): void {
    if (this.failed.size === 0) {
      this.failedDelay = FAILED_RETRY_MS
      return
    }
    if (this.failedTimer || this.closing) return
    this.failedTimer = setTimeout(() => {
      this.failedTimer = null
      this.schedule()
    }, this.failedDelay)
    this.failedDelay = Math.min(this.failedDelay * 2, FAILED_RETRY_MAX_MS)
  }

  private failedAt(key: string, reason: string): void {
    const before = this.failed.get(key)
    if (before !== undefined && before !== reason)
      this.refused = this.refused.filter((r) => r.path !== key || r.reason !== before)
    this.failed.set(key, reason)
    this.refuse(key, reason)
  }

  /** The key was applied: a failure it had is over, and no longer listed. */
  private succeeded(key: string): void {
    const reason = this.failed.get(key)
    if (reason === undefined) return
    this.failed.delete(key)
    this.refused = this.refused.filter((r) => r.path !== key || r.reason !== reason)
    this.changed()
  }

  private async pass(): Promise<void> {
    const drive = this.drive
    if (!drive || this.closing) return
    await drive.update({ wait: false }).catch(() => false)
    const target = drive.version
    if (target <= 1 && drive.core.length === 0) {
      // Nothing known of the folder yet: wait for a peer.
      this.setState('syncing')
      return
    }
    const blobs = await drive.getBlobs()
    if (!this.blobs) this.blobs = new Hyperblobs(blobs.core)
    const snapshot = drive.checkout(target)
    let keys: Set<string>
    try {
      if (!this.firstPassDone || this.appliedVersion === 0 || this.appliedVersion > target) {
        keys = await this.loadRemote(snapshot, drive.core.contiguousLength >= target)
      } else if (this.appliedVersion === target) {
        keys = new Set()
      } else {
        keys = await this.loadDiff(snapshot, this.appliedVersion)
      }
    } finally {
      // The rest of the pass works from the entries listed, not the snapshot: closing it now
      // frees the tree nodes the listing read ahead before any file is fetched.
      await snapshot.close().catch(() => {})
    }
    for (const key of this.failed.keys()) keys.add(key)
    this.recount()
    if (keys.size > 0 || !this.firstPassDone) {
      this.setState('syncing')
      await this.applyKeys(keys)
    }
    this.appliedVersion = target
    this.firstPassDone = true
    if (this.wantTree) this.fetchTree(drive, target)
    this.lastSyncAt = new Date()
    this.scheduleSave()
    this.recount()
    this.retryFailedLater()
    // A whole pass went through: whatever error stood (a full disk, a failed pass) is over.
    this.setState('idle')
  }

  /**
   * Loads the whole remote tree (first pass): every key is checked against disk. `treeHere`: every
   * node of the tree is in the local store (a restart), so walking it needs no peer.
   */
  private async loadRemote(snapshot: Hyperdrive, treeHere: boolean): Promise<Set<string>> {
    const keys = new Set<string>()
    const seen = new Set<string>()
    const add = (entry: DriveEntry): void => {
      seen.add(entry.key)
      this.acceptEntry(entry)
      keys.add(entry.key)
    }
    if (!(await this.loadListed(snapshot, treeHere, add, (key) => seen.delete(key)))) {
      await this.warmTree(snapshot)
      for await (const entry of snapshot.list('/', { recursive: true })) add(entry)
    }
    for (const key of [...this.remote.keys()]) {
      if (!seen.has(key)) {
        this.remote.delete(key)
        keys.add(key)
      }
    }
    for (const key of this.index.keys()) if (!seen.has(key)) keys.add(key)
    return keys
  }

  /**
   * The whole tree from the owner's listing (listing.ts) and the changes since it: a few blocks
   * and a short diff instead of a round trip per node. False, with nothing taken, when the tree
   * has no listing or it can't be used; the caller then walks the tree. `add` takes each entry of
   * the tree; `unsee` a listed key deleted since (the caller drops what it did not see).
   */
  private async loadListed(
    snapshot: Hyperdrive,
    treeHere: boolean,
    add: (entry: DriveEntry) => void,
    unsee: (key: string) => void,
  ): Promise<boolean> {
    let listed: Awaited<ReturnType<typeof readListing>>
    try {
      listed = await readListing(snapshot, this.blobs!, { treeHere })
    } catch (err) {
      if (!this.closing)
        this.log.warn(
          { err: (err as Error).message },
          'the folder listing is not usable; reading the tree',
        )
      return false
    }
    if (!listed) return false
    for (const entry of listed.entries) add(entry)
    let changed = 0
    for await (const { left, right } of snapshot.diff(listed.version, '/')) {
      changed++
      if (left) add(left)
      else if (right) unsee(right.key)
    }
    this.lastListing = { version: listed.version, entries: listed.entries.length, changed }
    this.wantTree = true
    this.log.info(this.lastListing, 'read the folder listing')
    return true
  }

  /**
   * After a first pass from the listing, fetches the rest of the tree's nodes, once the files are
   * written: a reader that walked the tree held all of them, and so could serve a later reader
   * that walks it (its listing not usable) while the owner is away. A fetch cut short (a peer
   * left) is started again by the next pass.
   */
  private fetchTree(drive: Hyperdrive, target: number): void {
    if (this.treeDownload || this.closing) return
    if (drive.core.contiguousLength >= target) {
      this.wantTree = false
      return
    }
    const download = drive.core.download({ start: 0, end: target })
    this.treeDownload = download
    download
      .done()
      .catch(() => {}) // destroyed at close, or a peer left: the next pass tries again
      .finally(() => {
        if (this.treeDownload === download) this.treeDownload = null
        if (drive.core.contiguousLength >= target) this.wantTree = false
      })
  }

  /**
   * Reads the tree's nodes into the snapshot's node cache, many at a time, before a whole listing.
   * Listing reads one node after another, each a round trip: to a peer for nodes not here yet,
   * else through the thread pool to RocksDB, a few hundred µs each on a busy machine. Read ahead
   * in parallel, the listing finds them in memory (5,000 entries on a first sync: listed 1.5-1.8
   * s after joining instead of 3.3-4.1 s). Only for trees that fit hyperbee's cache (65,536
   * nodes), and for at most TREE_WARM_WAIT_MS: nodes of old versions that no peer holds any more
   * never come, and the listing does not need them. Reads still waiting go on beside the
   * listing and end with the snapshot.
   */
  private async warmTree(snapshot: Hyperdrive): Promise<void> {
    const length = snapshot.db.version
    if (length <= 2 || length > TREE_WARM_MAX_NODES) return
    let next = 1
    const reader = async (): Promise<void> => {
      while (next < length && !this.closing) {
        const seq = next++
        await snapshot.db.getBySeq(seq).catch(() => null)
      }
    }
    await waitAtMost(
      Promise.all(Array.from({ length: TREE_WARM_PARALLEL }, reader)),
      TREE_WARM_WAIT_MS,
    )
  }

  private async loadDiff(snapshot: Hyperdrive, from: number): Promise<Set<string>> {
    const keys = new Set<string>()
    for await (const { left, right } of snapshot.diff(from, '/')) {
      if (left) {
        this.acceptEntry(left)
        keys.add(left.key)
      } else if (right) {
        this.remote.delete(right.key)
        keys.add(right.key)
      }
    }
    return keys
  }

  private acceptEntry(entry: DriveEntry): void {
    try {
      validateRemotePath(entry.key)
      this.remote.set(entry.key, parseRemoteEntry(entry))
    } catch (err) {
      this.remote.delete(entry.key)
      this.refuse(entry.key, (err as Error).message)
    }
  }

  private recount(): void {
    let files = 0
    let bytes = 0
    let have = 0
    for (const e of this.remote.values()) {
      if (e.meta.kind === 'dir') continue
      files++
      bytes += e.meta.size
      const rec = this.index.get(e.key)
      if (rec && rec.version === e.version) have += e.meta.size
    }
    this.files = files
    this.bytes = bytes
    this.localBytes = have
    this.changed()
  }

  /** Brings each key on disk in line with the remote tree: deletions, then folders, then files. */
  private async applyKeys(keys: Set<string>): Promise<void> {
    this.realCase?.reset()
    const deletions: string[] = []
    const dirs: RemoteEntry[] = []
    const files: RemoteEntry[] = []
    for (const key of keys) {
      const e = this.remote.get(key)
      if (!e) deletions.push(key)
      else if (e.meta.kind === 'dir') dirs.push(e)
      else files.push(e)
    }
    // A deletion or folder that fails (a path too long here, an I/O error) is tried again later,
    // as a file is: thrown, it failed the whole pass, and every pass after it, for ever.
    const oneKey = async (key: string, apply: () => Promise<void>): Promise<void> => {
      try {
        await apply()
        this.succeeded(key)
      } catch (err) {
        if (isDiskFull(err) || this.closing) throw err
        this.log.warn({ path: key, err: (err as Error).message }, 'cannot apply a change')
        this.failedAt(key, (err as Error).message)
      }
    }
    for (const key of deletions.sort((a, b) => b.length - a.length))
      await oneKey(key, () => this.applyDelete(key))
    dirs.sort((a, b) => a.key.localeCompare(b.key))
    for (const e of dirs) await oneKey(e.key, () => this.applyDir(e))
    // Files of one block first, and their blocks fetched before any other. Each such file is a
    // request of its own, and behind the big blocks of other files in flight it waits its turn
    // (measured: 5,000 small files finished only after 500 MB of big ones were in). Fetched
    // first, they are written while the big ones download. Each kind goes in the order of the
    // blobs core, so reads hit blocks as they arrive.
    const multi = (e: RemoteEntry): number => ((e.blob?.blockLength ?? 0) > 1 ? 1 : 0)
    files.sort(
      (a, b) => multi(a) - multi(b) || (a.blob?.blockOffset ?? 0) - (b.blob?.blockOffset ?? 0),
    )
    // One download per run of neighbouring blocks, not one per file: thousands of small ranges
    // cost the replicator more than the blocks themselves.
    const wanted = (small: boolean): Array<[number, number]> =>
      mergeRanges(
        files
          .filter(
            (f) =>
              f.blob && f.blob.blockLength > 0 && (multi(f) === 0) === small && this.needsWrite(f),
          )
          .map((f) => [f.blob!.blockOffset, f.blob!.blockOffset + f.blob!.blockLength] as const),
        RANGE_GAP_BLOCKS,
      )
    const downloads: Download[] = []
    let stopped = false
    const fetch = (ranges: Array<[number, number]>): Promise<unknown> => {
      if (stopped) return Promise.resolve()
      const started = ranges.map(([start, end]) => this.blobs!.core.download({ start, end }))
      downloads.push(...started)
      return Promise.all(started.map((d) => d.done()))
    }
    // The big files' ranges start once the small files' blocks are in, or could not all come
    // (a peer left): each file's own reads then ask for what it still lacks.
    const big = wanted(false)
    fetch(wanted(true))
      .then(
        () => fetch(big),
        () => fetch(big),
      )
      .catch(() => {}) // destroyed when the pass ends: nothing waits for these but the files
    try {
      let next = 0
      let failure: unknown = null
      const worker = async (): Promise<void> => {
        while (next < files.length && !this.closing && !failure) {
          const e = files[next++]!
          try {
            await this.applyFile(e)
            this.succeeded(e.key)
          } catch (err) {
            if (isDiskFull(err)) failure = err
            else if (!this.closing) {
              // Tried again later (retryFailedLater), not given up: the applied version moves on.
              this.log.warn({ path: e.key, err: (err as Error).message }, 'cannot write a file')
              this.failedAt(e.key, (err as Error).message)
            }
          }
        }
      }
      await Promise.all(Array.from({ length: PARALLEL_FILES }, worker))
      if (failure) throw failure
    } finally {
      stopped = true
      for (const d of downloads) d.destroy()
    }
  }

  private needsWrite(e: RemoteEntry): boolean {
    const rec = this.index.get(e.key)
    return !rec || rec.version !== e.version
  }

  private diskPath(key: string): { abs: string; segments: string[] } {
    const segments = validateRemotePath(key)
    return { abs: toDiskPath(this.record.path, segments), segments }
  }

  private async applyDelete(key: string): Promise<void> {
    const rec = this.index.get(key)
    if (!rec) return
    let abs: string
    let segments: string[]
    try {
      ;({ abs, segments } = this.diskPath(key))
    } catch {
      this.index.delete(key)
      return
    }
    if (!(await parentsAreSafe(this.record.path, segments))) {
      this.index.delete(key)
      return
    }
    let seen = await lookAt(abs)
    // On a disk that ignores case, another spelling of the path may be what lstat found: the
    // owner's new name for it, or the user's. It is not this deletion's to remove.
    if (seen && this.realCase && !(await this.realCase.spelledSo(segments))) seen = null
    if (seen && rec.kind !== 'dir' && matchesRecord(seen, rec)) {
      // Its record goes once it is removed: a removal that fails is tried again (applyKeys).
      await fs.rm(abs, { force: true })
      this.realCase?.noted(path.dirname(abs), path.basename(abs), false)
      this.local.delete(key)
    }
    this.index.delete(key)
    this.scheduleSave()
    if (!seen) return
    if (rec.kind === 'dir') {
      // Only when empty, or holding only a desktop's junk (.DS_Store and the like): the user's
      // files and folders stay.
      if (seen.st.isDirectory()) {
        await fs
          .rmdir(abs)
          .catch(async () => {
            if (await onlyJunkInside(abs)) await fs.rm(abs, { recursive: true, force: true })
          })
          .catch(() => {})
      }
      return
    }
    // The reader changed it: keep their version, now a local addition.
    if (!matchesRecord(seen, rec)) this.markLocal(key)
  }

  private async applyDir(e: RemoteEntry): Promise<void> {
    let abs: string
    let segments: string[]
    try {
      ;({ abs, segments } = this.diskPath(e.key))
      await ensureSafeParents(this.record.path, segments)
    } catch (err) {
      this.refuse(e.key, (err as Error).message)
      return
    }
    const seen = await lookAt(abs)
    if (seen && !seen.st.isDirectory()) {
      const rec = this.index.get(e.key)
      if (rec && rec.kind !== 'dir' && matchesRecord(seen, rec)) {
        // The owner turned a file (or symlink) into a folder, and this is the reader's unedited
        // copy of the old one: nothing of the user's to keep. (rm removes a link, not its target.)
        await fs.rm(abs, { force: true })
      } else {
        // The user's: kept as a conflict copy (renaming a symlink moves the link itself).
        await this.moveAside(abs, e.key)
      }
    }
    if (!seen || !seen.st.isDirectory())
      await fs.mkdir(abs).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err
      })
    this.index.set(e.key, { version: 'd', kind: 'dir', size: 0, mtime: 0 })
  }

  private async applyFile(e: RemoteEntry): Promise<void> {
    let abs: string
    let segments: string[]
    try {
      ;({ abs, segments } = this.diskPath(e.key))
    } catch (err) {
      this.refuse(e.key, (err as Error).message)
      return
    }
    // A path below a symlink of the remote tree would be written through that link: refuse it.
    for (let i = 1; i < segments.length; i++) {
      if (this.remote.get('/' + segments.slice(0, i).join('/'))?.meta.kind === 'symlink') {
        this.refuse(e.key, 'a parent folder is a symlink')
        return
      }
    }
    const rec = this.index.get(e.key)
    const seen = await lookAt(abs)
    if (seen && rec && rec.version === e.version && matchesRecord(seen, rec)) return // in sync
    // Already what the owner has: a previous run placed it and stopped before its index was saved
    // (with or without a record of an older version), or the user copied it in. Adopt it. Not
    // when it is still what this reader wrote for the older version: a change that kept the size
    // and mtime (a save within one tick of a coarse clock) would otherwise never be written.
    if (seen && matchesRemote(seen, e) && !(rec && matchesRecord(seen, rec))) {
      this.record_(e)
      this.markLocal(e.key)
      return
    }
    if (seen && rec && rec.version === e.version) {
      this.markLocal(e.key) // the reader's own edit of an unchanged file: leave it
      return
    }
    if (!seen && rec && rec.version === e.version) {
      this.markLocal(e.key) // the reader deleted it; the owner didn't change it
      return
    }
    let dir: string
    try {
      dir = await ensureSafeParents(this.record.path, segments)
    } catch (err) {
      this.refuse(e.key, (err as Error).message)
      return
    }
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`)
    this.writing.add(e.key)
    try {
      if (e.meta.kind === 'symlink') {
        await fs.symlink(e.linkname!, tmp)
      } else {
        await this.writeContent(tmp, e)
      }
      // Re-check the parents just before the rename: nothing may have been swapped for a symlink.
      if (!(await parentsAreSafe(this.record.path, segments)))
        throw new Error('a parent folder became a symlink')
      const keep = await this.makeRoom(abs, e, this.index.get(e.key))
      if (keep) {
        const kept = await renameKeeping(tmp, abs, keep, (i) => this.conflictTarget(abs, i))
        this.keptAside(e.key, kept)
      } else await fs.rename(tmp, abs)
      if (e.meta.kind === 'symlink') {
        const t = new Date(e.meta.mtime)
        await fs.lutimes(abs, t, t).catch(() => {})
      }
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {})
      throw err
    } finally {
      this.writing.delete(e.key)
      if (this.dirtyWhileWriting.delete(e.key)) this.markLocal(e.key)
    }
    this.record_(e)
    this.local.delete(e.key)
    this.recountSoon()
    this.recheck.add(e.key)
  }

  /**
   * Clears the way for the owner's version of `e` at `abs`, just before it is renamed there. Looked
   * at now, not when the pass began: the download can take minutes, and meanwhile the user may
   * have edited, replaced or created the file. What is the user's is kept as a conflict copy;
   * what is this reader's own unedited copy (it matches the index record), or already the
   * owner's new version, is replaced. Returns the stat of a file or link of the user's that is to
   * be kept as a conflict copy when the owner's version is renamed over it (renameKeeping).
   */
  private async makeRoom(
    abs: string,
    e: RemoteEntry,
    rec: IndexRecord | undefined,
  ): Promise<Stats | null> {
    const now = await lookAt(abs)
    if (!now) return null
    if (now.st.isDirectory()) {
      // The owner replaced a folder with a file. Its files were deleted earlier in the pass
      // (deletions come first); the folder is removed when that left it empty and it was the
      // owner's. One still holding the user's files is kept whole as a conflict copy.
      if (rec?.kind === 'dir') {
        try {
          await fs.rmdir(abs)
          return null
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err
        }
        // Only a desktop's junk left in it (.DS_Store and the like): nothing of the user's.
        if (await onlyJunkInside(abs)) {
          await fs.rm(abs, { recursive: true, force: true })
          return null
        }
      }
      await this.moveAside(abs, e.key)
      return null
    }
    // Same content as the owner's (only the exec bit may differ): nothing to keep either.
    if ((rec && rec.kind !== 'dir' && matchesRecord(now, rec)) || matchesRemote(now, e, false))
      return null
    // A file or link: copied as the owner's version is renamed over it, so the path never stands
    // empty in between.
    return now.st
  }

  /**
   * Writes a file's content to `tmp` through one file handle, reading its blocks by index a few
   * ahead (the merged download ranges are already fetching them), then sets mode and mtime on the
   * same handle. Cheaper than a blob read stream piped into a write stream plus stat/chmod/utimes.
   */
  private async writeContent(tmp: string, e: RemoteEntry): Promise<void> {
    const blob = e.blob
    if (blob && blob.blockLength > 0 && !(await this.blocksExist(blob)))
      throw new Error('the file names blocks past the end of the folder content its peers have')
    const fh = await fs.open(tmp, 'w', 0o600)
    try {
      let written = 0
      if (blob && e.meta.packed !== undefined) {
        // A small file sharing its blocks with others: its bytes lie `packed` into them.
        const parts: Buffer[] = []
        for (let i = blob.blockOffset; i < blob.blockOffset + blob.blockLength; i++) {
          const block = await this.packBlock(i)
          if (!block) throw new Error('a block of the file is not available')
          parts.push(block)
        }
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
        const at = e.meta.packed
        if (at + blob.byteLength > all.length)
          throw new Error('a packed file lies outside its blocks')
        await writeFully(fh, all, at, blob.byteLength, null)
        written = blob.byteLength
      } else if (blob && blob.blockLength > 0) {
        const core = this.blobs!.core
        const end = blob.blockOffset + blob.blockLength
        let next = blob.blockOffset
        const ahead: Array<Promise<Buffer | null>> = []
        const fill = (): void => {
          while (next < end && ahead.length < BLOCKS_AHEAD) {
            const block = core.get(next++)
            // Awaited in turn below; when an earlier read fails, these are dropped unawaited and
            // must not become unhandled rejections (they reject when the drive closes).
            block.catch(() => {})
            ahead.push(block)
          }
        }
        fill()
        while (ahead.length) {
          const block = await ahead.shift()!
          fill()
          if (!block) throw new Error('a block of the file is not available')
          await writeFully(fh, block, 0, block.length, null)
          written += block.length
        }
      }
      if (written !== e.meta.size)
        throw new Error(`short write (${written} of ${e.meta.size} bytes)`)
      await fh.chmod(e.executable ? 0o755 : 0o644)
      const t = new Date(e.meta.mtime)
      await fh.utimes(t, t)
    } finally {
      await fh.close()
    }
  }

  /**
   * Whether the content core holds (or its peers have) the blocks a file names. A block past the
   * end of the core as every connected peer has it can never come: read, it would be waited for forever,
   * and the pass (and every later version of the folder) with it. The file is failed instead, and
   * tried again by later passes.
   */
  private async blocksExist(blob: { blockOffset: number; blockLength: number }): Promise<boolean> {
    const core = this.blobs!.core
    const end = blob.blockOffset + blob.blockLength
    if (end <= core.length) return true
    // Waits for every connected peer's length. With none connected, nobody has said the blocks
    // do not exist: they are waited for (a peer that has them may come).
    await core.update({ wait: true }).catch(() => false)
    return end <= core.length || core.peers.length === 0
  }

  /**
   * A block of packed files. The files of one pack come one after another (files are written in
   * the order of the blobs core), so the last few blocks are kept: each is read and decrypted
   * once, not once per file in it (16 files of 4 KiB share a 64 KiB block).
   */
  private packBlock(index: number): Promise<Buffer | null> {
    let block = this.packBlocks.get(index)
    if (block) {
      this.packBlocks.delete(index) // to the end: most recently used
    } else {
      const read = this.blobs!.core.get(index)
      // Only blocks that came are kept: a failed or missing one is asked for again next time.
      read.then(
        (b) => {
          if (!b && this.packBlocks.get(index) === read) this.packBlocks.delete(index)
        },
        () => {
          if (this.packBlocks.get(index) === read) this.packBlocks.delete(index)
        },
      )
      block = read
    }
    this.packBlocks.set(index, block)
    for (const k of this.packBlocks.keys()) {
      if (this.packBlocks.size <= PACK_BLOCKS_KEPT) break
      this.packBlocks.delete(k)
    }
    return block
  }

  private record_(e: RemoteEntry): void {
    const rec: IndexRecord = {
      version: e.version,
      kind: e.meta.kind,
      size: e.meta.size,
      mtime: e.meta.mtime,
    }
    if (e.linkname !== null) rec.link = e.linkname
    this.index.set(e.key, rec)
    this.scheduleSave()
  }

  private recountTimer: NodeJS.Timeout | null = null
  private recountSoon(): void {
    if (this.recountTimer) return
    this.recountTimer = setTimeout(() => {
      this.recountTimer = null
      if (!this.closing) this.recount()
    }, 200)
  }

  /** The `i`th name (1, 2, ...) a conflict copy of `abs` may take. */
  private conflictTarget(abs: string, i: number): string {
    const ext = path.extname(abs)
    const base = abs.slice(0, abs.length - ext.length)
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
    return `${base}.sync-conflict-${stamp}-local${i > 1 ? `-${i - 1}` : ''}${ext}`
  }

  /**
   * Keeps the reader's version of a folder holding its files (or of a file the owner's folder
   * replaces) as a conflict copy before the owner's lands.
   */
  private async moveAside(abs: string, key: string): Promise<void> {
    this.keptAside(key, await moveToFreeName(abs, (i) => this.conflictTarget(abs, i)))
  }

  /** The user's version of `key` is kept as the conflict copy at `target`. */
  private keptAside(key: string, target: string): void {
    this.log.warn(
      { path: key, keptAs: path.basename(target) },
      'kept a local edit as a conflict copy',
    )
    this.markLocal(toDriveKey(path.relative(this.record.path, target)))
    // Local changes listed below a folder moved aside are now in the copy.
    const below = key + '/'
    for (const k of this.local.keys()) if (k.startsWith(below)) this.markLocal(k)
  }

  // ---- local changes (the reader's own edits) ----

  private async startWatcher(): Promise<void> {
    this.watcher = await watchFolder(
      this.record.path,
      (keys) => {
        for (const key of keys) {
          this.localDirty.add(key)
          // Watchers can name the wrong sibling (seen with @parcel/watcher after renames into
          // place), so every file we know in the same folder is checked again too.
          this.localDirtyDirs.add(parentKey(key))
        }
        if (this.localTimer) return
        this.localTimer = setTimeout(() => {
          this.localTimer = null
          this.classifyDirty().catch(() => {})
        }, LOCAL_DEBOUNCE_MS)
      },
      (err) => this.log.warn({ err: err.message }, 'watcher error'),
    )
  }

  private markLocal(key: string): void {
    this.localDirty.add(key)
    if (!this.localTimer) {
      this.localTimer = setTimeout(() => {
        this.localTimer = null
        this.classifyDirty().catch(() => {})
      }, LOCAL_DEBOUNCE_MS)
    }
  }

  private async classifyDirty(): Promise<void> {
    const dirs = this.localDirtyDirs
    this.localDirtyDirs = new Set()
    if (dirs.size) {
      for (const key of this.index.keys()) if (dirs.has(parentKey(key))) this.localDirty.add(key)
    }
    const keys = [...this.localDirty]
    this.localDirty.clear()
    let changed = false
    for (const key of keys) {
      if (this.writing.has(key)) {
        this.dirtyWhileWriting.add(key) // looked at when the write ends (applyFile)
        continue
      }
      const kind = await this.classify(key)
      const before = this.local.get(key)
      if (kind === before) continue
      changed = true
      if (kind) this.local.set(key, kind)
      else this.local.delete(key)
    }
    if (changed) this.changed()
  }

  private async classify(key: string): Promise<LocalChange['kind'] | null> {
    const abs = path.join(this.record.path, ...key.slice(1).split('/'))
    const seen = await lookAt(abs)
    const rec = this.index.get(key)
    const e = this.remote.get(key)
    if (!seen) return rec && rec.kind !== 'dir' ? 'deleted' : null
    if (seen.st.isDirectory()) return rec || e ? null : 'added'
    if (!rec) return e && matchesRemote(seen, e) ? null : 'added'
    return matchesRecord(seen, rec) ? null : 'modified'
  }
}

/** Merges sorted [start, end) ranges whose gap is at most `gap` blocks. */
export function mergeRanges(
  ranges: ReadonlyArray<readonly [number, number]>,
  gap: number,
): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  for (const [start, end] of sorted) {
    const last = out[out.length - 1]
    if (last && start <= last[1] + gap) last[1] = Math.max(last[1], end)
    else out.push([start, end])
  }
  return out
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fs.lstat(p)
  } catch {
    return null
  }
}

async function lookAt(p: string): Promise<OnDisk | null> {
  const st = await lstatOrNull(p)
  if (!st) return null
  const link = st.isSymbolicLink() ? await fs.readlink(p).catch(() => null) : null
  return { st, link }
}

function kindOf(st: Stats): 'file' | 'dir' | 'symlink' | null {
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isDirectory()) return 'dir'
  if (st.isFile()) return 'file'
  return null
}

function matchesRecord({ st, link }: OnDisk, rec: IndexRecord): boolean {
  if (kindOf(st) !== rec.kind) return false
  if (rec.kind === 'file') return st.size === rec.size && sameMtime(st.mtimeMs, rec.mtime)
  if (rec.kind === 'symlink') return rec.link === undefined || link === rec.link
  return true
}

/** Times set through utimes come back with float error (x.9999 ms): compare within a millisecond. */
function sameMtime(diskMs: number, recordedMs: number): boolean {
  return Math.abs(diskMs - recordedMs) < 1
}

/**
 * Disk already holds the owner's version: same kind and target, or same size and mtime (and exec
 * bit, unless `withMode` is false).
 */
function matchesRemote({ st, link }: OnDisk, e: RemoteEntry, withMode = true): boolean {
  if (kindOf(st) !== e.meta.kind) return false
  if (e.meta.kind === 'file') {
    return (
      st.size === e.meta.size &&
      sameMtime(st.mtimeMs, e.meta.mtime) &&
      (!withMode || ((st.mode & 0o111) !== 0) === e.executable)
    )
  }
  if (e.meta.kind === 'symlink') return link === e.linkname
  return true
}
