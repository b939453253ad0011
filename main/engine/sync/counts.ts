// What `spare folders` counts for a two-way folder (files, bytes, bytes held here, conflict
// copies), kept up to date from the paths that changed instead of a walk over every path. At
// 100,000 files that walk held the event loop for 0.24-0.37 s every 2 s while the folder was
// listed (the bench and the app poll it), and its numbers could be 2 s old.
import { isConflictName } from './conflict-name.ts'
import type { Breather } from '../util/wait.ts'

/**
 * A path's part in the totals: null when it counts for nothing (gone, a folder, ignored);
 * otherwise the file's size and whether this device holds that content.
 */
export type Measure = (key: string) => { size: number; local: boolean } | null

export interface Totals {
  files: number
  bytes: number
  localBytes: number
  conflicts: number
}

/** How long one read of the totals measures changed paths before it answers with what it has. */
export const READ_BUDGET_MS = 20

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

export class FolderCounts {
  private files = 0
  private conflicts = 0
  /**
   * Exact whatever peers claim: a size is any safe integer, and sums of such kept by adding and
   * subtracting as numbers would lose what was below them for good (the walk made them afresh).
   */
  private bytes = 0n
  private localBytes = 0n
  /**
   * What each counted path adds to the totals: its size, or -(size + 1) when this device holds
   * the content. One number a path (a small integer for files under 1 GiB).
   */
  private readonly counted = new Map<string, number>()
  /** Paths whose part may have changed since it was last measured. */
  private readonly touched = new Set<string>()

  /** `keys` lists every path there is; `measure` gives a path's part as it is now. */
  constructor(
    private readonly keys: () => Iterable<string>,
    private readonly measure: Measure,
  ) {}

  /** `key`'s part may have changed (its versions, its index entry). */
  touch(key: string): void {
    this.touched.add(key)
  }

  /** Every path's part may have changed (membership, ignore rules). */
  touchAll(): void {
    for (const key of this.counted.keys()) this.touched.add(key)
    for (const key of this.keys()) this.touched.add(key)
  }

  /** Paths not measured again yet since they changed. */
  get behind(): number {
    return this.touched.size
  }

  /**
   * The totals, after measuring changed paths for at most `budgetMs`: after a change to 100,000
   * paths, a read answers at once with the paths measured so far (`behind` says how many are
   * left) instead of holding the event loop; `catchUp` measures the rest.
   */
  current(budgetMs = READ_BUDGET_MS): Totals {
    const until = performance.now() + budgetMs
    let n = 0
    for (const key of this.touched) {
      this.remeasure(key)
      if (++n % 512 === 0 && performance.now() >= until) break
    }
    // Byte counts past what a number holds exactly (only sizes no device writes reach them) are
    // reported as the largest that does, which every client's schema takes.
    const safe = (b: bigint): number => (b > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(b))
    return {
      files: this.files,
      bytes: safe(this.bytes),
      localBytes: safe(this.localBytes),
      conflicts: this.conflicts,
    }
  }

  /**
   * Measures every changed path, letting the event loop run as `breather` says; stops early
   * once `stop` says so (the folder is closing: what is left is measured by no one).
   */
  async catchUp(breather: Breather, stop: () => boolean = () => false): Promise<void> {
    for (const key of this.touched) {
      this.remeasure(key)
      if (breather.due()) {
        await breather.pause()
        if (stop()) return
      }
    }
  }

  private remeasure(key: string): void {
    this.touched.delete(key)
    const was = this.counted.get(key)
    if (was !== undefined) {
      const size = BigInt(was < 0 ? -was - 1 : was)
      this.files--
      this.bytes -= size
      if (was < 0) this.localBytes -= size
      if (isConflictName(key)) this.conflicts--
      this.counted.delete(key)
    }
    const part = this.measure(key)
    if (!part) return
    this.counted.set(key, part.local ? -part.size - 1 : part.size)
    const size = BigInt(part.size)
    this.files++
    this.bytes += size
    if (part.local) this.localBytes += size
    if (isConflictName(key)) this.conflicts++
  }
}
