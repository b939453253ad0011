// Gives back the disk of blocks Spare deleted. Every block of 4 KiB or more lives in one of
// RocksDB's blob files, which hold the blocks of all cores written at about the same time; a
// deleted block's bytes stay in its file until a garbage collection copies the file's live
// blocks into a new one and deletes the old file.
//
// RocksDB's own collection is off (age cut-off 0): it runs inside every compaction and copies
// the live blocks of the oldest quarter of blob files whether they hold garbage or not. During
// an import or a first sync that is most of RocksDB's work: appending 512 MiB took 3.1-4.0 s of
// CPU with it and 2.4 s without (docs/ARCHITECTURE.md, Performance). Spare collects instead when
// there is garbage to collect: after it deletes (a purge, expired versions, an eviction), 10
// minutes after the start and then daily, it compacts the store (so RocksDB counts what range
// deletions left in the blob files) and, when that garbage is at least `minGarbageBytes` and
// `garbageShare` of the blob files, runs one forced collection over every blob file.
import type CoreStorage from 'hypercore-storage'
import type { Logger } from './logger.ts'

/** RocksDB's codes (rocksdb-native's `constants`). */
const GC_POLICY_FORCE = 1
const GC_POLICY_DISABLE = 2
const BOTTOMMOST_FORCE = 2

export const RECLAIM_DEFAULTS = {
  /** Wait after a deletion before looking: deletions come in runs (an eviction, a GC pass). */
  delayMs: 2_000,
  /**
   * Looked at this long after the start, and this often after, anyway: for deletions Spare did
   * not hear of (a crash before the look). A look compacts the whole store.
   */
  firstLookMs: 10 * 60 * 1000,
  recheckMs: 24 * 60 * 60 * 1000,
  /** Collected only when this much is garbage... */
  minGarbageBytes: 64 * 1024 * 1024,
  /** ...and it is at least this share of the blob files: a collection rewrites every live block. */
  garbageShare: 0.25,
}

export type ReclaimTimers = typeof RECLAIM_DEFAULTS

export interface ReclaimResult {
  /** Bytes in blob files before and after, and the garbage counted in them before. */
  before: number
  garbage: number
  after: number
  collected: boolean
}

export class StoreReclaim {
  private timer: NodeJS.Timeout | null = null
  private dueAt = 0
  private recheck: NodeJS.Timeout | null = null
  private running: Promise<ReclaimResult | null> | null = null
  private again = false
  private closed = false

  constructor(
    private readonly storage: CoreStorage,
    private readonly log: Logger,
    private readonly timers: ReclaimTimers = RECLAIM_DEFAULTS,
  ) {
    this.recheck = setInterval(() => this.soon(0), timers.recheckMs)
    this.recheck.unref()
    this.soon(timers.firstLookMs)
  }

  /**
   * Looks for garbage `delayMs` from now (or after `ms`); calls made meanwhile join that look,
   * or bring it forward.
   */
  soon(ms = this.timers.delayMs): void {
    if (this.closed) return
    const due = Date.now() + ms
    if (this.timer) {
      if (due >= this.dueAt) return
      clearTimeout(this.timer)
    }
    this.dueAt = due
    this.timer = setTimeout(() => {
      this.timer = null
      void this.run().catch((err: Error) => {
        if (!this.closed) this.log.warn({ err: err.message }, 'reclaiming disk failed')
      })
    }, ms)
    this.timer.unref()
  }

  /** Compacts, and collects the blob files' garbage when there is enough of it. */
  async run(): Promise<ReclaimResult | null> {
    if (this.closed) return null
    if (this.running) {
      this.again = true // a deletion since that run began: look once more after it
      return this.running
    }
    this.running = this.pass().finally(() => {
      this.running = null
      if (this.again && !this.closed) {
        this.again = false
        this.soon(0)
      }
    })
    return this.running
  }

  private async pass(): Promise<ReclaimResult | null> {
    const db = this.storage.db
    // Range deletions (a purged core, cleared blocks) are counted as garbage only once a
    // compaction has carried them over the keys they cover. Its collection is off: rocksdb-native's
    // default for a manual compaction (policy DEFAULT, age cut-off 0.25) would rewrite the live
    // blocks of the oldest quarter of the blob files on every look, garbage or not.
    await db.compact({ blobGarbageCollectionPolicy: GC_POLICY_DISABLE })
    if (this.closed) return null
    const before = await this.property('rocksdb.live-blob-file-size')
    const garbage = await this.property('rocksdb.live-blob-file-garbage-size')
    const worth =
      garbage >= this.timers.minGarbageBytes && garbage >= before * this.timers.garbageShare
    if (!worth || this.closed) return { before, garbage, after: before, collected: false }
    const started = Date.now()
    await db.compact({
      blobGarbageCollectionPolicy: GC_POLICY_FORCE,
      blobGarbageCollectionAgeCutoff: 1,
      bottommostLevelCompaction: BOTTOMMOST_FORCE,
    })
    const after = await this.property('rocksdb.live-blob-file-size')
    this.log.info(
      { before, garbage, after, ms: Date.now() - started },
      'collected deleted blocks from the store',
    )
    return { before, garbage, after, collected: true }
  }

  private async property(name: string): Promise<number> {
    const v = Number(await this.storage.db.getProperty(name))
    if (!Number.isFinite(v)) throw new Error(`RocksDB property ${name} is not a number`)
    return v
  }

  /** Stops the timers and waits for a running pass (RocksDB can't stop a compaction midway). */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    if (this.recheck) clearInterval(this.recheck)
    this.timer = this.recheck = null
    await this.running?.catch(() => {})
  }
}
