/**
 * Paths to look at again a fixed time after each was written. @parcel/watcher merges the events
 * of one batch (a batch closes after 50 ms of quiet, or 500 ms at most), so "written by Spare,
 * then deleted or edited by the user" can bring no event at all; a folder looks again at every
 * path it wrote, each `delayMs` after its own write (not after the first of a burst).
 */
export class Recheck {
  /** Path → when it is due; in order of due time, since every path waits the same. */
  private readonly due = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly delayMs: number,
    private readonly onDue: (keys: string[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(key: string): void {
    if (this.closed) return
    this.due.delete(key) // written again: due later, and last in order
    this.due.set(key, this.now() + this.delayMs)
    this.arm()
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.due.clear()
  }

  private arm(): void {
    if (this.timer || this.closed) return
    const first = this.due.values().next()
    if (first.done) return
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.value - this.now()))
    this.timer.unref()
  }

  private fire(): void {
    this.timer = null
    if (this.closed) return
    const now = this.now()
    const keys: string[] = []
    for (const [key, at] of this.due) {
      if (at > now) break
      keys.push(key)
      this.due.delete(key)
    }
    if (keys.length) this.onDue(keys)
    this.arm()
  }
}
