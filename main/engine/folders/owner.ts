// The owner's side of a shared folder: the folder on disk is the truth; it is imported into an
// encrypted Hyperdrive and kept live by a file watcher (milliseconds, not Syncthing's 10 s
// batches) plus a periodic full rescan as a safety net.
import { constants as fsConstants, promises as fs, type Dirent, type Stats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import Hyperdrive, { type HyperblobsBatch } from 'hyperdrive'
import { watchFolder, type FolderWatcher } from './watcher.ts'
import type { LocalChange } from '../../../shared/contract.ts'
import { Folder, type FolderContext } from './folder.ts'
import type { FolderRecord } from '../settings.ts'
import { TEMP_PREFIX, parentKey, toDriveKey } from './safe-path.ts'
import { EntryMetaSchema, type EntryMeta } from './entry.ts'
import { LISTING, buildListing, listingWanted, ownListing, writeListing } from './listing.ts'
import { RealCase, foldsCase } from '../util/real-case.ts'

/** Files up to this size are read whole and put in a batch; larger ones are streamed. */
const SMALL_FILE = 1024 * 1024
/**
 * Files up to this size share blocks ("packs") instead of taking one block each: 5,000 files of 4
 * KiB are then 320 blocks to hash, store, request, prove and verify, not 5,000. An entry of a
 * packed file names the pack's blocks and, in its metadata, where in them the file starts.
 */
const PACK_FILE_MAX = 16 * 1024
/** A pack is sealed before it would pass this size: hyperblobs' block size, so one block. */
const PACK_BYTES = 64 * 1024
/** Block size for streamed files: bigger blocks replicate faster (PERF-NOTES). */
export const CHUNK = 256 * 1024
/**
 * A streamed file is read this much at a time, the next read going on while the blocks of the
 * last one are hashed, encrypted and stored: hyperblobs appends a stream's blocks 16 at a time.
 */
const READ_BLOCKS = 16
const READ_BYTES = READ_BLOCKS * CHUNK
/** Commit a batch after this many entries or bytes, so readers see progress early. */
const BATCH_ENTRIES = 1000
const BATCH_BYTES = 64 * 1024 * 1024
const WATCH_DEBOUNCE_MS = 30
/** Small files read ahead of the one being stored. */
const READ_AHEAD = 16
/** Entries of a directory looked at (lstat) at once during a scan. */
const WALK_AHEAD = 32
const RESCAN_INTERVAL_MS = 10 * 60 * 1000
/**
 * A big file changed this recently (its ctime: no program can set it) is looked at again once it
 * has been still this long, not streamed now: a file being written (a download, a recording)
 * changes while it is read, and each torn read leaves its blocks in the blobs core for good
 * (3 s of a file growing by 5 MB/s once stored 523 MB).
 */
const BIG_FILE_QUIET_MS = 1000
/**
 * A small file published again within this long of its last version (a log appended every
 * 100 ms once published a version, and stored a block, per append) waits until it has been still
 * for SMALL_FILE_QUIET_MS, or until this long has passed since that version: one being written
 * on and on still reaches readers about once a second. A file written once, or saved again later,
 * is published at once.
 */
/** The coarsest file clock's tick (FAT's mtime: 2 s): a write within it may keep the mtime. */
const COARSE_TICK_MS = 2000
const SMALL_REPUBLISH_MS = 1000
const SMALL_FILE_QUIET_MS = 300

interface DiskItem {
  kind: 'file' | 'dir' | 'symlink'
  size: number
  mtime: number
  executable: boolean
  /** The inode's change time: moves on every write, even one that keeps the size and mtime. */
  ctime: number
}

interface Known {
  kind: 'file' | 'dir' | 'symlink'
  size: number
  mtime: number
  executable: boolean
  linkname: string | null
  /**
   * The ctime of what was published, when this run read it (not kept in the drive: unknown after
   * a restart until a scan finds the path unchanged). Size and mtime alone miss a save within
   * the same tick of a coarse clock (HFS+ and FAT: seconds; ext4: milliseconds) that kept the size.
   */
  ctime?: number
}

export function isIgnoredName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX)
}

export class OwnerFolder extends Folder {
  private watcher: FolderWatcher | null = null
  private readonly known = new Map<string, Known>()
  /** Set when the folder's disk finds names whatever their case (macOS, Windows): real-case.ts. */
  private realCase: RealCase | null = null
  private readonly dirty = new Set<string>()
  /** Big files changing when last looked at, to be looked at again (BIG_FILE_QUIET_MS). */
  private readonly deferred = new Set<string>()
  /** Small files this run published, and when (kept while SMALL_REPUBLISH_MS may apply). */
  private readonly publishedAt = new Map<string, number>()
  /** Small files held back until they are still (SMALL_FILE_QUIET_MS): one timer each. */
  private readonly quietTimers = new Map<string, NodeJS.Timeout>()
  private debounce: NodeJS.Timeout | null = null
  private rescanTimer: NodeJS.Timeout | null = null
  private working: Promise<void> = Promise.resolve()
  private fullScanPending = false
  /** The newest listing of the tree (listing.ts): its version, and when it was written here. */
  private listing: { version: number; at: number } | null = null
  private listingBusy = false
  /** After a failed listing, the next is not tried before this (ms since the epoch). */
  private listingRetryAt = 0

  constructor(record: FolderRecord, ctx: FolderContext) {
    super(record, ctx)
  }

  get version(): number {
    return this.drive ? this.drive.version : 0
  }

  localChanges(): LocalChange[] {
    return []
  }

  /** Creates the drive for a new folder; returns its keys. */
  static async create(
    ctx: FolderContext,
    namespace: string,
    encryptionKey: Buffer,
  ): Promise<{ key: Buffer; discoveryKey: Buffer }> {
    const drive = new Hyperdrive(ctx.store.namespace(namespace), { encryptionKey })
    await drive.ready()
    await drive.getBlobs()
    const out = { key: drive.key, discoveryKey: drive.discoveryKey }
    await drive.close()
    return out
  }

  async open(): Promise<void> {
    const { namespace, encryptionKey } = this.record
    if (!namespace) throw new Error('owner folder without a store namespace')
    const drive = new Hyperdrive(this.ctx.store.namespace(namespace), {
      encryptionKey: Buffer.from(encryptionKey, 'hex'),
    })
    await drive.ready()
    const blobs = await drive.getBlobs()
    this.drive = drive
    this.ctx.swarm.countTraffic(drive.core)
    this.ctx.swarm.countTraffic(blobs.core)
    drive.core.on('peer-add', () => this.changed())
    drive.core.on('peer-remove', () => this.changed())
    await this.loadKnown()
    const listed = await ownListing(drive)
    // Written before this start: when is not known, so a stale one may be replaced at once.
    this.listing = listed ? { version: listed.version, at: 0 } : null
    await fs.mkdir(this.record.path, { recursive: true })
    this.realCase = (await foldsCase(this.record.path, TEMP_PREFIX))
      ? new RealCase(this.record.path)
      : null
    if (this.realCase) this.log.info('the folder is on a disk that ignores case')
    await this.startWatcher()
    this.ctx.swarm
      .join(drive.discoveryKey)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'join failed'))
    this.scheduleFullScan()
    this.rescanTimer = setInterval(() => this.scheduleFullScan(), RESCAN_INTERVAL_MS)
    this.rescanTimer.unref()
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.stopTimers()
    if (this.debounce) clearTimeout(this.debounce)
    if (this.rescanTimer) clearInterval(this.rescanTimer)
    for (const t of this.quietTimers.values()) clearTimeout(t)
    await this.watcher?.close()
    await this.working.catch(() => {})
    if (this.drive) {
      await this.ctx.swarm.leave(this.drive.discoveryKey).catch(() => {})
      await this.drive.close()
    }
  }

  /** Drops the folder's cores from the store (unshare). */
  async purge(): Promise<void> {
    const { namespace, encryptionKey } = this.record
    if (!namespace) return
    const drive = new Hyperdrive(this.ctx.store.namespace(namespace), {
      encryptionKey: Buffer.from(encryptionKey, 'hex'),
    })
    await drive.ready()
    await drive.purge()
  }

  private async loadKnown(): Promise<void> {
    const drive = this.drive
    if (!drive) return
    this.known.clear()
    for await (const entry of drive.list('/', { recursive: true })) {
      const meta = EntryMetaSchema.safeParse(entry.value.metadata)
      if (!meta.success) continue
      this.known.set(entry.key, {
        kind: meta.data.kind,
        size: entry.value.blob ? entry.value.blob.byteLength : 0,
        mtime: meta.data.mtime,
        executable: !!entry.value.executable,
        linkname: entry.value.linkname,
      })
    }
    this.recount()
  }

  private recount(): void {
    let files = 0
    let bytes = 0
    for (const k of this.known.values()) {
      if (k.kind === 'dir') continue
      files++
      bytes += k.size
    }
    this.files = files
    this.bytes = bytes
    this.localBytes = bytes
  }

  private async startWatcher(): Promise<void> {
    this.watcher = await watchFolder(
      this.record.path,
      (keys) => {
        for (const key of keys) this.dirty.add(key)
        this.kick()
      },
      (err) => {
        this.log.warn({ err: err.message }, 'watcher error; rescanning')
        this.scheduleFullScan()
      },
      // A burst of changes is over: the watcher may have lost some (watchFolder).
      () => this.scheduleFullScan(),
    )
  }

  private kick(): void {
    if (this.closing) return
    if (this.debounce) clearTimeout(this.debounce)
    this.debounce = setTimeout(() => {
      this.debounce = null
      this.enqueue(() => this.processDirty())
    }, WATCH_DEBOUNCE_MS)
  }

  private enqueue(task: () => Promise<void>): void {
    this.working = this.working.then(task).catch(async (err: Error) => {
      if (this.closing) return
      this.log.error({ err: err.message }, 'import failed')
      this.setState('error', `import failed: ${err.message}`)
      // `known` already holds what the failed run meant to write: left so, the next scan would
      // find disk and drive alike and never write it. What the drive holds is the truth.
      await this.loadKnown().catch(() => {})
      setTimeout(() => this.scheduleFullScan(), 5000).unref()
    })
  }

  scheduleFullScan(): void {
    if (this.fullScanPending || this.closing) return
    this.fullScanPending = true
    this.enqueue(async () => {
      this.fullScanPending = false
      await this.fullScan()
    })
  }

  /** Walks the whole folder and brings the drive in line with it. */
  private async fullScan(): Promise<void> {
    if (this.closing) return
    if (this.state !== 'scanning') this.setState('syncing')
    const started = Date.now()
    const disk = new Map<string, DiskItem>()
    await this.walk(this.record.path, disk)
    const changes: string[] = []
    for (const [key, item] of disk) {
      const k = this.known.get(key)
      if (!k || !sameItem(k, item)) changes.push(key)
      else k.ctime ??= item.ctime
    }
    const removed = [...this.known.keys()].filter((key) => !disk.has(key))
    await this.apply(changes, removed, disk)
    this.log.info(
      {
        ms: Date.now() - started,
        entries: disk.size,
        changed: changes.length,
        removed: removed.length,
      },
      'full scan done',
    )
    this.finishWork()
  }

  private async processDirty(): Promise<void> {
    if (this.closing || this.dirty.size === 0) return
    // Watchers can name the wrong sibling (seen with @parcel/watcher after renames into place):
    // every entry we know in a folder that had an event is looked at again too.
    // A folder named by an event is walked again (it may be another folder now, or moved in
    // with files no event names); a sibling folder added here only because of its neighbour's
    // event is not: events inside it name what changes there, and walking every sibling folder
    // made one change beside big folders cost an lstat of every file below them.
    const named = new Set(this.dirty)
    const dirs = new Set([...this.dirty].map(parentKey))
    for (const key of this.known.keys()) if (dirs.has(parentKey(key))) this.dirty.add(key)
    const keys = [...this.dirty]
    this.dirty.clear()
    this.setState('syncing')
    const disk = new Map<string, DiskItem>()
    const removed: string[] = []
    const replaced = new Set<string>()
    const folders = new Map<string, Promise<boolean>>()
    this.realCase?.reset()
    for (const key of keys) {
      const segments = key.slice(1).split('/')
      const abs = path.join(this.record.path, ...segments)
      let st: Stats
      try {
        // Below a folder now a link, lstat would look through it: at what the link points to,
        // outside the folder (a folder deleted and a link put in its place brings events for
        // each file it held). Such a path is not in the folder any more.
        if (!(await this.inRealFolder(key, folders))) throw new Error('not in the folder')
        st = await fs.lstat(abs)
        // On a disk that ignores case, lstat finds a path renamed to another spelling under
        // its old name too: it is gone (its new name has events of its own).
        // (A listing that can't be read leaves lstat's answer standing, as before this check.)
        if (this.realCase && !(await this.realCase.spelledSo(segments).catch(() => true))) {
          throw new Error('renamed to another spelling')
        }
      } catch {
        removed.push(key)
        // A removed directory takes everything below it.
        const prefix = key + '/'
        for (const k of this.known.keys()) if (k.startsWith(prefix)) removed.push(k)
        continue
      }
      const item = toItem(st)
      const wasDir = this.known.get(key)?.kind === 'dir'
      if (item?.kind === 'dir' && wasDir && !named.has(key)) {
        disk.set(key, item) // a sibling folder still a folder: not walked (above)
        continue
      }
      // What was a folder and is now a file, a link or another folder (one moved away, another
      // put in its place) may bring no event for what the old one held: what we know below it
      // and is not on disk now is gone.
      if (item?.kind === 'dir' || wasDir) replaced.add(key)
      if (!item) {
        if (this.known.has(key)) removed.push(key) // now a FIFO, socket or device: not synced
        continue
      }
      disk.set(key, item)
      if (item.kind === 'dir') {
        // A directory that appeared (moved in) may hold files the watcher reports late or not at all.
        await this.walk(abs, disk)
      }
    }
    if (replaced.size > 0) {
      for (const k of this.known.keys()) {
        if (disk.has(k)) continue
        for (let p = parentKey(k); p !== '/'; p = parentKey(p)) {
          if (replaced.has(p)) {
            removed.push(k)
            break
          }
        }
      }
    }
    const changes = [...disk].filter(([key, item]) => {
      const k = this.known.get(key)
      if (k && sameItem(k, item)) {
        k.ctime ??= item.ctime
        return false
      }
      return true
    })
    await this.apply(
      changes.map(([k]) => k),
      [...new Set(removed)].filter((k) => this.known.has(k)),
      disk,
    )
    this.finishWork()
  }

  /**
   * Whether every folder above `key` is a real folder now (not a link, not gone), each looked at
   * once per `seen`.
   */
  private inRealFolder(key: string, seen: Map<string, Promise<boolean>>): Promise<boolean> {
    const parent = parentKey(key)
    if (parent === '/') return Promise.resolve(true)
    let real = seen.get(parent)
    if (!real) {
      real = (async () => {
        if (!(await this.inRealFolder(parent, seen))) return false
        const abs = path.join(this.record.path, ...parent.slice(1).split('/'))
        return (await fs.lstat(abs).catch(() => null))?.isDirectory() === true
      })()
      seen.set(parent, real)
    }
    return real
  }

  private finishWork(): void {
    if (this.closing) return
    this.recount()
    this.lastSyncAt = new Date()
    // Not idle while changes wait: one named by the watcher, or a big file being written.
    if (this.dirty.size === 0 && this.deferred.size === 0) this.setState('idle')
    this.changed()
    this.listSoon()
  }

  /**
   * Writes a new listing of the tree for readers' first passes when the last one is missing or
   * stale (listing.ts). It is read from a snapshot beside the work queue, so the import goes on
   * meanwhile; only the append waits for its turn in the queue, where nothing else is appending.
   * A failure costs nothing but the listing: readers then walk the tree.
   */
  private listSoon(): void {
    const drive = this.drive
    if (!drive || this.closing || this.listingBusy || Date.now() < this.listingRetryAt) return
    const version = drive.version
    if (!listingWanted(this.known.size, version, this.listing, Date.now())) return
    this.listingBusy = true
    const failed = (err: Error): void => {
      if (this.closing) return
      this.listingRetryAt = Date.now() + LISTING.minIntervalMs
      this.log.warn({ err: err.message }, 'cannot write the folder listing')
    }
    buildListing(drive, version)
      .then((listing) => {
        if (!listing || this.closing) {
          this.listingBusy = false
          return
        }
        this.enqueue(async () => {
          try {
            if (this.closing) return
            const ref = await writeListing(drive, listing, version)
            this.listing = { version, at: Date.now() }
            this.log.info({ version, entries: ref.entries, bytes: ref.blob.byteLength }, 'listed')
          } catch (err) {
            failed(err as Error)
          } finally {
            this.listingBusy = false
          }
        })
      })
      .catch((err: Error) => {
        this.listingBusy = false
        failed(err)
      })
  }

  private async walk(dir: string, out: Map<string, DiskItem>): Promise<void> {
    let entries: Dirent[]
    try {
      entries = await fs.readdir(dir, { withFileTypes: true })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return
      throw err
    }
    // readdir follows a symlink: a folder replaced by one since its lstat would have us list
    // (and publish) what the link points to, outside the folder.
    if (dir !== this.record.path) {
      const st = await fs.lstat(dir).catch(() => null)
      if (!st?.isDirectory()) return
    }
    const names = entries.filter((d) => !isIgnoredName(d.name)).map((d) => d.name)
    // A directory's entries are looked at WALK_AHEAD at a time: one lstat after another spent
    // most of the walk waiting on the thread pool. Entries still go out in readdir's order.
    for (let i = 0; i < names.length; i += WALK_AHEAD) {
      const group = names.slice(i, i + WALK_AHEAD).map((name) => path.join(dir, name))
      const items = await Promise.all(
        group.map((abs) => fs.lstat(abs).then(toItem, () => null)), // gone since readdir: skip
      )
      for (let j = 0; j < group.length; j++) {
        const item = items[j]
        if (!item) continue
        const abs = group[j]!
        out.set(toDriveKey(path.relative(this.record.path, abs)), item)
        if (item.kind === 'dir') await this.walk(abs, out)
      }
    }
  }

  /**
   * When a small file published less than SMALL_REPUBLISH_MS ago and changed since less than
   * SMALL_FILE_QUIET_MS ago (being written on, likely) is to be looked at again; null when it is
   * to be published now.
   */
  private holdUntil(key: string, item: DiskItem, now: number): number | null {
    if (item.kind !== 'file' || item.size > SMALL_FILE) return null
    const last = this.publishedAt.get(key)
    if (last === undefined || now - last >= SMALL_REPUBLISH_MS) return null
    const still = now - item.ctime
    if (still < 0 || still >= SMALL_FILE_QUIET_MS) return null
    return Math.min(last + SMALL_REPUBLISH_MS, item.ctime + SMALL_FILE_QUIET_MS)
  }

  /** Looks at `key` again at `at` (once: a timer already set for it stands). */
  private lookAgainAt(key: string, at: number): void {
    if (this.quietTimers.has(key) || this.closing) return
    this.deferred.add(key)
    const timer = setTimeout(
      () => {
        this.quietTimers.delete(key)
        this.deferred.delete(key)
        this.dirty.add(key)
        this.kick()
      },
      Math.max(10, at - Date.now()),
    )
    timer.unref()
    this.quietTimers.set(key, timer)
  }

  /** Writes changed entries and deletions to the drive in batches. */
  private async apply(
    changes: string[],
    removed: string[],
    disk: Map<string, DiskItem>,
  ): Promise<void> {
    const drive = this.drive
    if (!drive || (changes.length === 0 && removed.length === 0)) return
    const blobs = await drive.getBlobs()
    const started = Date.now()
    if (this.publishedAt.size > 1024) {
      for (const [k, t] of this.publishedAt) {
        if (started - t >= SMALL_REPUBLISH_MS) this.publishedAt.delete(k)
      }
    }
    let batch = drive.batch()
    // Small files' content goes into one blob batch: one append (one signature, one write) per
    // flush instead of one per file. Nothing else may append to the blobs core while it holds
    // blocks, so it is flushed before any streamed file and before the entries are committed.
    let blobBatch: HyperblobsBatch | null = null
    let entries = 0
    let bytes = 0
    // Small files waiting for their pack to be sealed; their entries are written then.
    let pack: Array<{
      key: string
      buf: Buffer
      at: number
      meta: EntryMeta
      executable: boolean
    }> = []
    let packBytes = 0
    const sealPack = async (): Promise<void> => {
      if (pack.length === 0) return
      const files = pack
      const size = packBytes
      pack = []
      packBytes = 0
      if (!blobBatch) blobBatch = blobs.batch()
      const id = await blobBatch.put(
        Buffer.concat(
          files.map((f) => f.buf),
          size,
        ),
      )
      for (const f of files) {
        await batch.putEntry(f.key, {
          blob: {
            blockOffset: id.blockOffset,
            blockLength: id.blockLength,
            byteOffset: id.byteOffset + f.at,
            byteLength: f.buf.length,
          },
          executable: f.executable,
          metadata: { ...f.meta, packed: f.at },
        })
      }
    }
    const flushBlobs = async (): Promise<void> => {
      await sealPack()
      const pending = blobBatch
      blobBatch = null
      if (pending) await pending.flush()
    }
    const flush = async (): Promise<void> => {
      await flushBlobs()
      if (entries === 0) return
      await batch.flush()
      batch = drive.batch()
      entries = 0
      bytes = 0
      this.recount()
      this.changed()
    }
    // Deepest first, so a folder's children go before the folder.
    for (const key of removed.sort((a, b) => b.length - a.length)) {
      await batch.del(key)
      this.known.delete(key)
      entries++
    }
    // Parents before children.
    changes.sort()
    const requeue: string[] = []
    // A folder the walk saw may be a link by now: what is read below it would come from outside.
    const folders = new Map<string, Promise<boolean>>()
    /** Big files changing now: looked at again once they may have stopped (BIG_FILE_QUIET_MS). */
    const requeueLater: string[] = []
    const absOf = (key: string): string => path.join(this.record.path, ...key.slice(1).split('/'))
    // Read small files a few ahead of the one being stored: the disk works while we hash.
    const reads = new Map<string, Promise<SmallRead | null>>()
    let ahead = 0
    const readAhead = (): void => {
      for (; ahead < changes.length && reads.size < READ_AHEAD; ahead++) {
        const key = changes[ahead]!
        const item = disk.get(key)
        if (!item || item.kind !== 'file' || item.size > SMALL_FILE) continue
        if (this.holdUntil(key, item, started) !== null) continue
        const p = readSmall(absOf(key))
        p.catch(() => {}) // awaited (and its error handled) when its turn comes
        reads.set(key, p)
      }
    }
    try {
      for (let i = 0; i < changes.length; i++) {
        if (this.closing) break
        const key = changes[i]!
        if (ahead <= i) ahead = i
        readAhead()
        const item = disk.get(key)
        if (!item) continue
        const abs = absOf(key)
        const meta: EntryMeta = { kind: item.kind, mtime: item.mtime, size: item.size }
        if (!(await this.inRealFolder(key, folders))) {
          requeue.push(key) // looked at again: gone from the folder
          continue
        }
        try {
          if (item.kind === 'dir') {
            await batch.putEntry(key, { blob: null, metadata: meta })
            this.known.set(key, { ...item, linkname: null })
          } else if (item.kind === 'symlink') {
            const linkname = await fs.readlink(abs)
            await batch.symlink(key, linkname, { metadata: meta })
            this.known.set(key, { ...item, linkname })
          } else if (item.size <= SMALL_FILE) {
            const hold = this.holdUntil(key, item, Date.now())
            const pending = reads.get(key)
            reads.delete(key)
            if (hold !== null) {
              this.lookAgainAt(key, hold) // being written on: once it holds still
              continue
            }
            const read = await (pending ?? readSmall(abs))
            // Changed while we read it (or no longer a small file): publish nothing, look again.
            if (!read || !sameFile(read.st, await fs.lstat(abs))) {
              requeue.push(key)
              continue
            }
            const { buf } = read
            const fileMeta: EntryMeta = { kind: 'file', mtime: mtimeOf(read.st), size: buf.length }
            const executable = isExecutable(read.st)
            const k = this.known.get(key)
            if (
              k?.kind === 'file' &&
              k.size === buf.length &&
              k.mtime === fileMeta.mtime &&
              k.executable === executable &&
              (await publishedEquals(drive, blobs, key, buf))
            ) {
              // Only its ctime moved (an extended attribute set, a link made, a chmod to the same
              // mode): what is published is what is on disk.
              k.ctime = read.st.ctimeMs
              continue
            }
            if (buf.length > 0 && buf.length <= PACK_FILE_MAX) {
              if (packBytes + buf.length > PACK_BYTES) await sealPack()
              const at = packBytes
              pack.push({ key, buf, at, meta: fileMeta, executable })
              packBytes += buf.length
            } else {
              if (!blobBatch) blobBatch = blobs.batch()
              const blob = buf.length > 0 ? await blobBatch.put(buf) : null
              await batch.putEntry(key, { blob, executable, metadata: fileMeta })
            }
            this.known.set(key, {
              kind: 'file',
              size: buf.length,
              mtime: fileMeta.mtime,
              executable,
              linkname: null,
              ctime: read.st.ctimeMs,
            })
            this.publishedAt.set(key, Date.now())
            bytes += buf.length
          } else {
            await flushBlobs()
            const before = await fs.lstat(abs)
            if (!before.isFile()) {
              requeue.push(key) // replaced since the walk: look again
              continue
            }
            const age = Date.now() - before.ctimeMs
            if (age >= 0 && age < BIG_FILE_QUIET_MS) {
              requeueLater.push(key) // still being written, likely: once it holds still
              continue
            }
            // Stream big files straight from disk: never buffered whole. The blob gets its entry
            // only when the file did not change while it was read: a torn copy is never published,
            // and a read is given up as soon as the file is seen to change.
            const ws = blobs.createWriteStream()
            let torn = false
            const still = async (): Promise<boolean> => {
              const now = await fs.lstat(abs).catch(() => null)
              torn ||= !now || !sameFile(before, now)
              return !torn
            }
            await streamFile(abs, ws, still).catch((err: unknown) => {
              if (!torn) throw err
            })
            if (torn || !(await still()) || ws.id.byteLength !== before.size) {
              requeueLater.push(key)
              continue
            }
            const fileMeta: EntryMeta = { kind: 'file', mtime: mtimeOf(before), size: before.size }
            const executable = isExecutable(before)
            await batch.putEntry(key, {
              blob: before.size > 0 ? ws.id : null,
              executable,
              metadata: fileMeta,
            })
            this.known.set(key, {
              kind: 'file',
              size: before.size,
              mtime: fileMeta.mtime,
              executable,
              linkname: null,
              ctime: before.ctimeMs,
            })
            bytes += before.size
          }
          entries++
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (REPLACED.has(code ?? '')) {
            requeue.push(key) // it moved or was replaced while we read it: look again
            continue
          }
          if (code === 'EACCES' || code === 'EPERM') {
            this.log.warn({ path: key, code }, 'cannot read a file; skipped')
            continue
          }
          throw err
        }
        if (entries >= BATCH_ENTRIES || bytes >= BATCH_BYTES) await flush()
      }
    } catch (err) {
      // Keep the blobs core consistent with what was committed: store the pending blocks (they
      // are referenced by nothing yet, which is harmless) before giving up this run.
      await flushBlobs().catch(() => {})
      throw err
    }
    await flush()
    await batch.flush().catch(() => {})
    for (const key of requeue) this.dirty.add(key)
    if (requeue.length) this.kick()
    if (requeueLater.length) {
      for (const key of requeueLater) this.deferred.add(key)
      setTimeout(() => {
        for (const key of requeueLater) {
          this.deferred.delete(key)
          this.dirty.add(key)
        }
        this.kick()
      }, BIG_FILE_QUIET_MS).unref()
    }
  }
}

/** What streamFile writes a file's blocks to: a hyperblobs write stream (streamx) or a Node one. */
export interface BlockSink {
  /** false once the blocks waiting to be written reach the stream's high-water mark. */
  write(block: Buffer): boolean
  end(): unknown
  destroy(): unknown
  on(event: 'drain' | 'finish' | 'close' | 'error', listener: (err?: unknown) => void): unknown
}

/**
 * Waits for a sink's events. A sink that failed or closed (at any time, also between two waits)
 * makes every wait reject with why. Its `error` stays listened to for good, so an error it emits
 * later is not an uncaught exception: the waits are how its failure is reported.
 */
function sinkWaiter(sink: BlockSink): (event: 'drain' | 'finish') => Promise<void> {
  type Wait = { event: 'drain' | 'finish'; resolve: () => void; reject: (err: Error) => void }
  const waits = new Set<Wait>()
  let failed: Error | null = null
  const fail = (err: Error): void => {
    failed ??= err
    for (const w of waits) w.reject(failed)
    waits.clear()
  }
  const settle = (event: 'drain' | 'finish'): void => {
    for (const w of waits) {
      if (w.event !== event) continue
      waits.delete(w)
      w.resolve()
    }
  }
  sink.on('error', (err) =>
    fail(err instanceof Error ? err : new Error(`write stream failed: ${String(err)}`)),
  )
  // After `finish` nothing waits any more; before it, a close is a failure.
  sink.on('close', () => fail(new Error('write stream closed before it finished')))
  sink.on('drain', () => settle('drain'))
  sink.on('finish', () => settle('finish'))
  return (event) =>
    failed
      ? Promise.reject(failed)
      : new Promise((resolve, reject) => waits.add({ event, resolve, reject }))
}

/**
 * Writes a file's content to `sink` as blocks of CHUNK bytes and ends it, reading READ_BYTES at a
 * time with the next read in flight while the last one's blocks are appended (a read stream read
 * one 256 KiB block after another: the disk idle while each append was stored, the appends idle
 * while it read, about 40% of the owner's import time).
 *
 * Two read buffers take turns, so a file's reads allocate nothing after the first two. Every
 * 4 MiB read used to be a new Buffer, kept until its blocks were stored: 500 MB of them in the
 * bench's import, which V8 counts towards its next full collection. A buffer is read into again
 * only once each block handed from it has been written through: hyperblobs keeps the blocks it
 * is given (no copy) until it appends 16 of them, and calls back only once they are stored, and
 * the stream emits `drain` only when nothing is queued or being written. Every read but the
 * last is whole (readFull), so each buffer's 16 blocks are one such batch. A buffer is not
 * reused when its last write did not wait for `drain` (a sink with a high-water mark above
 * CHUNK), or when the blocks written so far are not a whole number of batches.
 *
 * `still` is asked after each read; when it says the file changed, the sink is destroyed and
 * nothing more is read (the caller gives the copy up).
 */
export async function streamFile(
  abs: string,
  sink: BlockSink,
  still?: () => Promise<boolean>,
): Promise<void> {
  const wait = sinkWaiter(sink)
  let fh: FileHandle | null = null
  let next: Promise<Buffer> | null = null
  try {
    fh = (await openRegular(abs)).fh
    const file = fh
    const buffers: (Buffer | null)[] = [null, null]
    let turn = 0
    const read = async (i: number): Promise<Buffer> => {
      const buf = (buffers[i] ??= Buffer.allocUnsafe(READ_BYTES))
      const n = await readFull(
        async (at, length) => (await file.read(buf, at, length, null)).bytesRead,
        READ_BYTES,
      )
      return buf.subarray(0, n)
    }
    let written = 0
    next = read(turn)
    for (;;) {
      const buf: Buffer = await next
      next = null
      if (buf.length === 0) break
      // Changed since the read began: the caller gives this copy up; read no further.
      if (still && !(await still())) throw new Error(`changed while read: ${abs}`)
      const mine = turn
      turn ^= 1
      // The other buffer's blocks were all written through in the last turn (or it was dropped).
      next = read(turn)
      next.catch(() => {}) // awaited in turn (or dropped when this ends early)
      let waited = false
      for (let at = 0; at < buf.length; at += CHUNK) {
        waited = false
        written++
        if (!sink.write(buf.subarray(at, at + CHUNK))) {
          await wait('drain')
          waited = true
        }
      }
      // Its blocks may still be held (no drain waited for, or not the 16th of a batch): the
      // next read into this turn gets a new buffer.
      if (!waited || written % READ_BLOCKS !== 0) buffers[mine] = null
    }
    const finished = wait('finish')
    sink.end()
    await finished
  } catch (err) {
    // Without an error: a sink destroyed with one would emit it, and the caller has it already.
    sink.destroy()
    throw err
  } finally {
    // A read still in flight must end before its handle closes.
    if (next) await next.catch(() => {})
    await fh?.close()
  }
}

/**
 * Reads until `length` bytes are in or the file ends (`read` returns 0), and returns how many
 * came. A read may return less than asked before the end (network and FUSE file systems do):
 * streamFile's blocks must then still be whole, or its buffers would fall out of step with the
 * sink's batches of 16.
 */
export async function readFull(
  read: (at: number, length: number) => Promise<number>,
  length: number,
): Promise<number> {
  let n = 0
  while (n < length) {
    const got = await read(n, length - n)
    if (got === 0) break
    n += got
  }
  return n
}

/**
 * Errors of a path that was something else when we came to read it than when the walk saw it: a
 * file gone or become a folder, a symlink (ELOOP: O_NOFOLLOW), a FIFO or socket (ENXIO,
 * ENOTREG), a symlink become a file (EINVAL from readlink).
 */
const REPLACED = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENXIO', 'ENOTREG', 'EINVAL'])

/**
 * Opens a regular file for reading, with its stat. A symlink put in the file's place after the
 * walk is not followed (its target may be anywhere: publishing it would publish a file outside
 * the folder), and a FIFO is not waited on (opening one to read blocks until something writes
 * to it).
 */
async function openRegular(abs: string): Promise<{ fh: FileHandle; st: Stats }> {
  const fh = await fs.open(
    abs,
    fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK,
  )
  try {
    const st = await fh.stat()
    if (!st.isFile()) {
      throw Object.assign(new Error(`not a regular file: ${abs}`), { code: 'ENOTREG' })
    }
    return { fh, st }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/** Whether the drive's entry for `key` holds exactly `buf` (read from this device's own blocks). */
async function publishedEquals(
  drive: Hyperdrive,
  blobs: { core: { get(i: number, o: { wait: boolean }): Promise<Buffer | null> } },
  key: string,
  buf: Buffer,
): Promise<boolean> {
  const entry = await drive.entry(key).catch(() => null)
  if (!entry) return false
  const blob = entry.value.blob
  if (!blob) return buf.length === 0
  if (blob.byteLength !== buf.length) return false
  const parts: Buffer[] = []
  for (let i = blob.blockOffset; i < blob.blockOffset + blob.blockLength; i++) {
    const block = await blobs.core.get(i, { wait: false }).catch(() => null)
    if (!block) return false
    parts.push(block)
  }
  const meta = EntryMetaSchema.safeParse(entry.value.metadata)
  const at = meta.success ? (meta.data.packed ?? 0) : 0
  return Buffer.concat(parts)
    .subarray(at, at + blob.byteLength)
    .equals(buf)
}

interface SmallRead {
  buf: Buffer
  /** The file as it was before it was read; compared with it after. */
  st: Stats
}

/**
 * A small file's content and its stat, both of the file opened (openRegular: ENOTREG or ELOOP
 * when it is no longer a regular file), or null when it is too big now or shrank while read.
 * Whether it changed
 * during or after the read is for the caller's later lstat to say (sameFile).
 */
async function readSmall(abs: string): Promise<SmallRead | null> {
  const { fh, st } = await openRegular(abs)
  try {
    if (st.size > SMALL_FILE) return null
    const buf = Buffer.allocUnsafe(st.size)
    let n = 0
    while (n < st.size) {
      const { bytesRead } = await fh.read(buf, n, st.size - n, n)
      if (bytesRead === 0) return null
      n += bytesRead
    }
    return { buf, st }
  } finally {
    await fh.close()
  }
}

/** True when nothing about the file changed between two lstat()s: same file, size, times, mode. */
function sameFile(a: Stats, b: Stats): boolean {
  return (
    b.isFile() &&
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.mode === b.mode
  )
}

function mtimeOf(st: Stats): number {
  return Math.floor(st.mtimeMs)
}

function isExecutable(st: Stats): boolean {
  return (st.mode & 0o111) !== 0
}

function toItem(st: Stats): DiskItem | null {
  const mtime = mtimeOf(st)
  const ctime = st.ctimeMs
  if (st.isSymbolicLink()) return { kind: 'symlink', size: 0, mtime, executable: false, ctime }
  if (st.isDirectory()) return { kind: 'dir', size: 0, mtime: 0, executable: false, ctime }
  if (st.isFile())
    return { kind: 'file', size: st.size, mtime, executable: isExecutable(st), ctime }
  return null // sockets, FIFOs, devices: not synced
}

function sameItem(k: Known, item: DiskItem): boolean {
  if (k.kind !== item.kind) return false
  if (item.kind === 'dir') return true
  if (k.ctime !== undefined && k.ctime !== item.ctime) {
    if (item.size <= SMALL_FILE) return false
    // A big file's ctime counts only within a coarse clock's tick of the published mtime: only a
    // write then can have kept the mtime. One set later by an attribute (macOS sets some on
    // opening a file) would have the owner read and publish gigabytes again, and readers fetch
    // them.
    if (item.ctime >= k.mtime && item.ctime - k.mtime < COARSE_TICK_MS) return false
  }
  return k.size === item.size && k.mtime === item.mtime && k.executable === item.executable
}
