// Rate limits for hosting traffic: a token bucket per direction and a pipe that paces a
// replication stream through them.
//
// TokenBucket: tokens are bytes. The bucket refills at `ratePerSec` up to `burstBytes` and starts
// full. take(n) resolves once n tokens were taken; waiters are served strictly first come, first
// served (a small take never overtakes a big one queued before it). A take larger than the burst
// is allowed: while it is at the head of the queue the bucket may fill up to n, so it waits about
// n / rate. A null rate means no limit: every take resolves at once. setRate() applies to the
// waiters already queued. destroy() resolves every waiter, and later takes resolve at once.
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

interface Waiter {
  n: number
  resolve: () => void
  reject: (err: unknown) => void
  signal: AbortSignal | null
  onAbort: (() => void) | null
}

export class TokenBucket {
  private rate: number | null
  private burst: number
  private readonly fixedBurst: boolean
  private tokens: number
  private last: number
  private readonly queue: Waiter[] = []
  private timer: ReturnType<typeof setTimeout> | null = null
  private destroyed = false

  constructor(ratePerSec: number | null, burstBytes?: number) {
    checkRate(ratePerSec)
    if (burstBytes !== undefined && !(burstBytes > 0 && Number.isFinite(burstBytes))) {
      throw new RangeError(`A burst must be a positive number of bytes, not ${burstBytes}`)
    }
    this.rate = ratePerSec
    this.fixedBurst = burstBytes !== undefined
    this.burst = burstBytes ?? defaultBurst(ratePerSec)
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
   * queue (no tokens are spent) and rejects it with the signal's reason.
   */
  take(n: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
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
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { n, resolve, reject, signal, onAbort: null }
      if (signal) {
        w.onAbort = () => this.abort(w)
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.queue.push(w)
      this.schedule()
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

  private headNeed(): number {
    return this.queue[0]?.n ?? 0
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
      const head = this.queue[0]!
      if (this.rate !== null && this.tokens < head.n) break
      this.queue.shift()
      if (this.rate !== null) this.tokens -= head.n
      this.settle(head, null)
    }
    this.schedule()
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0 || this.rate === null) return
    const missing = this.headNeed() - this.tokens
    const ms = Math.max(1, Math.ceil((missing * 1000) / this.rate))
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
    const i = this.queue.indexOf(w)
    if (i === -1) return
    this.queue.splice(i, 1)
    this.settle(w, w.signal?.reason ?? new Error('Aborted'))
    // The head may have changed (its need was what the timer waited for).
    if (i === 0) this.drain()
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
 * which is what makes backpressure reach the source.
 */
export function throttleTransform(bucket: TokenBucket): Transform {
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
          await bucket.take(piece.byteLength, { signal: abort.signal })
          if (stream.destroying || stream.destroyed) return
          stream.push(piece)
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

/**
 * Connects inner ⇄ outer: inner → outer takes `up` tokens, outer → inner takes `down` tokens.
 * An error on any stream, or a close that was not preceded by the end of its readable side (a
 * destroy), destroys all four; the other streams close without an error of their own, the error
 * is reported by the stream that had it. A graceful end travels on instead: inner's end reaches
 * outer.end() once the last bytes went through the bucket. Returns a teardown function.
 */
export function throttledPipe(
  inner: PipeStream,
  outer: PipeStream,
  up: TokenBucket,
  down: TokenBucket,
): () => void {
  const upward: PipeStream = throttleTransform(up)
  const downward: PipeStream = throttleTransform(down)
  const all = [inner, upward, downward, outer]
  let done = false
  const teardown = (): void => {
    if (done) return
    done = true
    for (const s of all) if (!s.destroyed) s.destroy()
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
  return teardown
}
