// Rate limits for hosting traffic: a token bucket per direction and a pipe that paces a
// replication stream through them.
//
// TokenBucket: tokens are bytes. The bucket refills at `ratePerSec` up to `burstBytes` and starts
// full. take(n) resolves once n tokens were taken. A take larger than the burst is allowed: while
// it is at the head of the queue the bucket may fill up to n, so it waits about n / rate. A null
// rate means no limit: every take resolves at once. setRate() applies to the waiters already
// queued. destroy() resolves every waiter, and later takes resolve at once.
//
// Order of waiters (give to get). Each take has a priority (a number, 0 by default; the hosting
// layer passes the peer's ledger balance). When the bucket is contended, the waiter with the
// highest priority goes first; among equal priorities, first come, first served (a small take
// never overtakes a big one of the same priority queued before it). Strict priority alone would
// let a low-priority waiter wait as long as higher ones keep coming: so a waiter that has waited
// `maxWaitMs` (5 s by default) goes ahead of every younger one (the oldest such first). A low
// balance therefore costs a peer at most about maxWaitMs per piece while the link is saturated by
// better-placed peers (at least one 64 KiB piece per maxWaitMs per stream), never starvation.
// Without a rate limit nothing waits and priorities play no part.
//
// throttledPipe: inner (a Hypercore replication stream) ⇄ outer (a Hyperswarm connection), each
// direction through a streamx Transform that takes tokens for a chunk before passing it on. The
// Transform calls back only after its chunk went through, so a slow bucket backs up into
// write() === false and the source pauses: nothing is buffered beyond a chunk and the streams'
// high-water marks.
import { Transform } from 'streamx'

/** Chunks are split to at most this size before taking tokens, so pacing stays smooth. */
export const MAX_PIECE = 64 * 1024

/** The smallest default burst: one full piece goes through without waiting on an idle bucket. */
const MIN_BURST = MAX_PIECE

/** Without an explicit burst, a bucket holds a quarter second of traffic (at least 64 KiB). */
function defaultBurst(rate: number | null): number {
  return rate === null ? MIN_BURST : Math.max(MIN_BURST, Math.ceil(rate / 4))
}

function checkRate(rate: number | null): void {
  if (rate !== null && !(rate > 0 && Number.isFinite(rate))) {
    throw new RangeError(
      `A rate must be a positive number of bytes per second or null, not ${rate}`,
    )
  }
}

/** A waiter that has waited this long goes ahead of younger ones, whatever their priority. */
export const DEFAULT_MAX_WAIT_MS = 5000

interface Waiter {
  n: number
  priority: number
  /** Arrival order: FIFO among equal priorities, and the oldest for maxWaitMs. */
  seq: number
  /** When it was queued (ms). */
  at: number
  resolve: () => void
  reject: (err: unknown) => void
  signal: AbortSignal | null
  onAbort: (() => void) | null
}

export interface TakeOptions {
  /** Drops the take from the queue (no tokens spent) and rejects it with the signal's reason. */
  signal?: AbortSignal
  /** Higher goes first when the bucket is contended (default 0; see the top of the file). */
  priority?: number
}

/** True when a should be served before b (priority, then arrival). */
function before(a: Waiter, b: Waiter): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority
  return a.seq < b.seq
}

export class TokenBucket {
  private rate: number | null
  private burst: number
  private readonly fixedBurst: boolean
  private readonly maxWaitMs: number
  private tokens: number
  private last: number
  /** Waiters sorted by priority (highest first), then arrival. */
  private readonly queue: Waiter[] = []
  private seq = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private destroyed = false

  constructor(ratePerSec: number | null, burstBytes?: number, opts: { maxWaitMs?: number } = {}) {
    checkRate(ratePerSec)
    if (burstBytes !== undefined && !(burstBytes > 0 && Number.isFinite(burstBytes))) {
      throw new RangeError(`A burst must be a positive number of bytes, not ${burstBytes}`)
    }
    const maxWait = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS
    if (!(maxWait >= 0)) throw new RangeError(`maxWaitMs must be >= 0, not ${maxWait}`)
    this.rate = ratePerSec
    this.fixedBurst = burstBytes !== undefined
    this.burst = burstBytes ?? defaultBurst(ratePerSec)
    this.maxWaitMs = maxWait
    this.tokens = this.burst
    this.last = Date.now()
  }

  /** Bytes per second, or null for no limit. */
  get ratePerSec(): number | null {
    return this.rate
  }

  get burstBytes(): number {
    return this.burst
  }

  /** Takes currently queued behind the bucket. */
  get waiting(): number {
    return this.queue.length
  }

  /**
   * Resolves once n tokens (bytes) were taken. With `signal`, an abort drops the take from the
   * queue (no tokens are spent) and rejects it with the signal's reason. `priority`: see the top
   * of the file (NaN counts as 0).
   */
  take(n: number, opts: TakeOptions = {}): Promise<void> {
    if (!(n >= 0 && Number.isFinite(n))) {
      return Promise.reject(new RangeError(`take() needs a byte count >= 0, not ${n}`))
    }
    const signal = opts.signal ?? null
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.destroyed || this.rate === null || n === 0) return Promise.resolve()
    this.refill()
    if (this.queue.length === 0 && this.tokens >= n) {
      this.tokens -= n
      return Promise.resolve()
    }
    const p = opts.priority
    const priority = typeof p === 'number' && !Number.isNaN(p) ? p : 0
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        n,
        priority,
        seq: this.seq++,
        at: Date.now(),
        resolve,
        reject,
        signal,
        onAbort: null,
      }
      if (signal) {
        w.onAbort = () => this.abort(w)
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      // Sorted insert (after every waiter that goes before it).
      let i = this.queue.length
      while (i > 0 && before(w, this.queue[i - 1]!)) i--
      this.queue.splice(i, 0, w)
      // A new head may be served at once, or needs another wait than the one scheduled.
      if (this.head() === w) this.drain()
      else this.schedule()
    })
  }

  /** Changes the rate; queued takes are paced at the new rate from now on (null: released). */
  setRate(ratePerSec: number | null): void {
    checkRate(ratePerSec)
    if (this.destroyed) return
    this.refill()
    const wasUnlimited = this.rate === null
    this.rate = ratePerSec
    if (!this.fixedBurst) this.burst = defaultBurst(ratePerSec)
    if (wasUnlimited) this.tokens = this.burst
    else this.tokens = Math.min(this.tokens, Math.max(this.burst, this.headNeed()))
    this.drain()
  }

  /** Resolves every queued take; later takes resolve at once. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.clearTimer()
    for (const w of this.queue.splice(0)) this.settle(w, null)
  }

  /**
   * The waiter served next: the oldest one that has waited maxWaitMs, if any; else the first in
   * priority order.
   */
  private head(): Waiter | undefined {
    const first = this.queue[0]
    if (!first || this.queue.length === 1) return first
    let oldest = first
    for (const w of this.queue) if (w.seq < oldest.seq) oldest = w
    return Date.now() - oldest.at >= this.maxWaitMs ? oldest : first
  }

  private headNeed(): number {
    return this.head()?.n ?? 0
  }

  /** Adds the tokens earned since the last refill, up to the burst (or the head's need). */
  private refill(): void {
    const now = Date.now()
    const elapsed = Math.max(0, now - this.last)
    this.last = now
    if (this.rate === null) return
    // Capped again on every refill: after a big head was aborted, its savings do not linger.
    const cap = Math.max(this.burst, this.headNeed())
    this.tokens = Math.min(cap, this.tokens + (elapsed * this.rate) / 1000)
  }

  /** Serves queued takes in order while tokens last, then waits for the head. */
  private drain(): void {
    this.clearTimer()
    if (this.destroyed) return
    this.refill()
    while (this.queue.length > 0) {
      const head = this.head()!
      if (this.rate !== null && this.tokens < head.n) break
      this.queue.splice(this.queue.indexOf(head), 1)
      if (this.rate !== null) this.tokens -= head.n
      this.settle(head, null)
    }
    this.schedule()
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0 || this.rate === null) return
    const missing = this.headNeed() - this.tokens
    let ms = Math.max(1, Math.ceil((missing * 1000) / this.rate))
    // Wake up when the oldest waiter comes of age too: it may become the head.
    if (this.queue.length > 1) {
      let oldest = this.queue[0]!
      for (const w of this.queue) if (w.seq < oldest.seq) oldest = w
      const age = this.maxWaitMs - (Date.now() - oldest.at)
      if (age > 0) ms = Math.min(ms, Math.max(1, Math.ceil(age)))
    }
    this.timer = setTimeout(() => {
      this.timer = null
      this.drain()
    }, ms)
  }

  private clearTimer(): void {
    if (this.timer === null) return
    clearTimeout(this.timer)
    this.timer = null
  }

  private abort(w: Waiter): void {
    const wasHead = this.head() === w
    const i = this.queue.indexOf(w)
    if (i === -1) return
    this.queue.splice(i, 1)
    this.settle(w, w.signal?.reason ?? new Error('Aborted'))
    // The head may have changed (its need was what the timer waited for).
    if (wasHead) this.drain()
  }

  private settle(w: Waiter, err: unknown): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort)
    if (err === null) w.resolve()
    else w.reject(err)
  }
}

/** What throttledPipe needs of a stream. Streamx streams (Hyperswarm, Hypercore) fit. */
export interface PipeStream {
  write(data: unknown): boolean
  end(data?: unknown): unknown
  pause(): unknown
  resume(): unknown
  destroy(err?: Error | null): unknown
  readonly destroyed: boolean
  /** Used for 'data', 'end', 'close', 'drain' and 'error'. */
  on(event: string, fn: (...args: unknown[]) => void): unknown
}

/**
 * A streamx Transform that takes `bucket` tokens for every chunk before passing it on, chunks
 * split to at most MAX_PIECE bytes. Its callback runs only after the whole chunk went through,
 * which is what makes backpressure reach the source. `priority` is read for every piece (so a
 * peer whose balance changes moves up or down at once).
 */
export function throttleTransform(
  bucket: TokenBucket,
  priority?: () => number,
  onPassed?: (bytes: number) => void,
): Transform {
  const abort = new AbortController()
  const stream: Transform = new Transform({
    transform(data: unknown, cb: (err: Error | null, mapped: unknown) => void) {
      if (!(data instanceof Uint8Array)) {
        cb(new TypeError('A throttled stream carries bytes (Uint8Array chunks)'), null)
        return
      }
      const buf = data
      void (async () => {
        for (let off = 0; off < buf.byteLength; off += MAX_PIECE) {
          const piece = buf.subarray(off, Math.min(buf.byteLength, off + MAX_PIECE))
          await bucket.take(piece.byteLength, { signal: abort.signal, priority: priority?.() })
          if (stream.destroying || stream.destroyed) return
          stream.push(piece)
          onPassed?.(piece.byteLength)
        }
      })().then(
        () => cb(null, null),
        (err: unknown) => {
          // An abort on destroy is no error of the stream's: it is already going away.
          if (stream.destroying || stream.destroyed) cb(null, null)
          else cb(err instanceof Error ? err : new Error(String(err)), null)
        },
      )
    },
    predestroy() {
      abort.abort(new Error('Stream destroyed'))
    },
  })
  return stream
}

/** Feeds src into dest, pausing src while dest is backed up; ends dest when src ends. */
function pump(src: PipeStream, dest: PipeStream): void {
  src.on('data', (data) => {
    if (!dest.write(data)) src.pause()
  })
  dest.on('drain', () => src.resume())
  src.on('end', () => dest.end())
}

/** What throttledPipe returns: its teardown, and how far the upward direction got. */
export interface ThrottledPipe {
  (): void
  /** Bytes from inner that went through the `up` bucket so far. */
  sentUp(): number
  /** Resolves once sentUp() reaches `bytes` (at once when it has), or when the pipe is torn down. */
  whenSentUp(bytes: number): Promise<void>
}

/**
 * Connects inner ⇄ outer: inner → outer takes `up` tokens, outer → inner takes `down` tokens.
 * An error on any stream, or a close that was not preceded by the end of its readable side (a
 * destroy), destroys all four; the other streams close without an error of their own, the error
 * is reported by the stream that had it. A graceful end travels on instead: inner's end reaches
 * outer.end() once the last bytes went through the bucket. `opts` gives each direction's
 * priority on its bucket (see TokenBucket). Returns a teardown function.
 */
export function throttledPipe(
  inner: PipeStream,
  outer: PipeStream,
  up: TokenBucket,
  down: TokenBucket,
  opts: { upPriority?: () => number; downPriority?: () => number } = {},
): ThrottledPipe {
  let sent = 0
  let waiters: Array<{ bytes: number; resolve: () => void }> = []
  const upward: PipeStream = throttleTransform(up, opts.upPriority, (n) => {
    sent += n
    if (!waiters.some((w) => w.bytes <= sent)) return
    const due = waiters.filter((w) => w.bytes <= sent)
    waiters = waiters.filter((w) => w.bytes > sent)
    for (const w of due) w.resolve()
  })
  const downward: PipeStream = throttleTransform(down, opts.downPriority)
  const all = [inner, upward, downward, outer]
  let done = false
  const teardown = (): void => {
    if (done) return
    done = true
    for (const s of all) if (!s.destroyed) s.destroy()
    for (const w of waiters.splice(0)) w.resolve()
  }
  for (const s of all) {
    let ended = false
    s.on('end', () => {
      ended = true
    })
    s.on('close', () => {
      if (!ended) teardown()
    })
    // An error listener on every stream: a late error after teardown must not become uncaught.
    s.on('error', teardown)
  }
  pump(inner, upward)
  pump(upward, outer)
  pump(outer, downward)
  pump(downward, inner)
  return Object.assign(teardown, {
    sentUp: () => sent,
    whenSentUp: (bytes: number): Promise<void> =>
      done || sent >= bytes
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ bytes, resolve })),
  })
}
