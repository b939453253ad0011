// Waiting for something, but not for ever.

/**
 * Waits until `promise` settles or `ms` have passed, whichever comes first; rejects when the
 * promise rejects in time. The timer is cleared either way, so nothing is left pending.
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Lets the event loop run (API calls, sockets, timers) during a long walk that would otherwise
 * hold it for seconds: a loop over 100,000 ops with nothing to wait for kept `folders.list`
 * waiting 1.7 s. `due()` is cheap enough to ask once per item; `pause()` yields once.
 */
export class Breather {
  private since = performance.now()

  constructor(private readonly everyMs = 50) {}

  /** Whether the loop has held the event loop for `everyMs` since it last paused. */
  due(): boolean {
    return performance.now() - this.since >= this.everyMs
  }

  /**
   * Yields for one whole turn of the event loop: the I/O callbacks and timers that are ready run
   * first. (One `setImmediate` from an I/O callback resumes in the same turn's check phase, before
   * the loop polls again; the second is in the next turn, after its timers and poll.)
   */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve))
    await new Promise<void>((resolve) => setImmediate(resolve))
    this.since = performance.now()
  }
}
