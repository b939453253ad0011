import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Duplex, Readable } from 'streamx'
import { MAX_PIECE, TokenBucket, throttledPipe } from '../../../main/engine/limits/throttle.ts'

// Fake setTimeout and Date only: streamx runs on queueMicrotask, and setImmediate stays real so
// tests can let the streams settle between timer steps.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

/** Lets queued microtasks and stream callbacks run (setImmediate is not faked). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  await settle()
}

/** Tracks whether a promise settled, without awaiting it. */
function track(p: Promise<void>): { done: boolean; failed: unknown } {
  const state: { done: boolean; failed: unknown } = { done: false, failed: null }
  p.then(
    () => {
      state.done = true
    },
    (err: unknown) => {
      state.failed = err
    },
  )
  return state
}

describe('TokenBucket', () => {
  it('with no rate resolves every take at once', async () => {
    const b = new TokenBucket(null)
    const t = track(b.take(10 ** 12))
    await settle(1)
    expect(t.done).toBe(true)
    expect(b.waiting).toBe(0)
  })

  it('starts full: a take up to the burst resolves at once, take(0) always does', async () => {
    const b = new TokenBucket(1000, 100)
    const t1 = track(b.take(100))
    const t0 = track(b.take(0))
    await settle(1)
    expect(t1.done).toBe(true)
    expect(t0.done).toBe(true)
  })

  it('paces at the rate', async () => {
    const b = new TokenBucket(1000, 100)
    await b.take(100)
    const t = track(b.take(100))
    await advance(99)
    expect(t.done).toBe(false)
    await advance(1)
    expect(t.done).toBe(true)
  })

  it('200 KB at 1 MB/s in 16 KB takes lasts about (200 KB - burst) / rate', async () => {
    const b = new TokenBucket(1e6, MAX_PIECE)
    const start = Date.now()
    let end = 0
    void (async () => {
      for (let sent = 0; sent < 200_000; sent += 16_000) await b.take(16_000)
      end = Date.now()
    })()
    await advance(100)
    expect(end).toBe(0)
    await advance(100)
    // 13 takes of 16 KB = 208 KB, less the 64 KiB burst, at 1 MB/s: about 143 ms.
    expect(end - start).toBeGreaterThanOrEqual(135)
    expect(end - start).toBeLessThanOrEqual(160)
  })

  it('refills only up to the burst', async () => {
    const b = new TokenBucket(1000, 100)
    await advance(10_000)
    await b.take(100)
    const t = track(b.take(50))
    await advance(49)
    expect(t.done).toBe(false)
    await advance(1)
    expect(t.done).toBe(true)
  })

  it('a take larger than the burst is allowed and waits in proportion', async () => {
    const b = new TokenBucket(1000, 100)
    const t = track(b.take(500))
    await advance(399)
    expect(t.done).toBe(false)
    await advance(1)
    expect(t.done).toBe(true)
  })

  it('serves waiters first come, first served', async () => {
    const b = new TokenBucket(1000, 100)
    await b.take(100)
    const order: string[] = []
    const big = b.take(300).then(() => order.push('big'))
    const small = b.take(10).then(() => order.push('small'))
    await advance(200)
    expect(order).toEqual([]) // the small take does not overtake the big one
    await advance(100)
    expect(order).toEqual(['big'])
    await advance(10)
    expect(order).toEqual(['big', 'small'])
    await Promise.all([big, small])
  })

  it('many concurrent takers share the rate', async () => {
    const b = new TokenBucket(100_000, 10_000)
    const start = Date.now()
    let last = 0
    const all = Array.from({ length: 50 }, () => b.take(10_000).then(() => (last = Date.now())))
    await advance(10_000)
    await Promise.all(all)
    // 500 KB less the 10 KB burst at 100 KB/s.
    expect(last - start).toBeGreaterThanOrEqual(4890)
    expect(last - start).toBeLessThanOrEqual(4910)
  })

  it('setRate applies to the waiters already queued', async () => {
    const b = new TokenBucket(100, 100)
    await b.take(100)
    const t = track(b.take(1000)) // 10 s at 100 B/s
    await advance(1000)
    expect(t.done).toBe(false)
    b.setRate(1000) // 100 tokens earned so far; 900 more at 1000 B/s
    expect(b.ratePerSec).toBe(1000)
    await advance(899)
    expect(t.done).toBe(false)
    await advance(1)
    expect(t.done).toBe(true)
  })

  it('setRate can slow waiters down', async () => {
    const b = new TokenBucket(1000, 100)
    await b.take(100)
    const t = track(b.take(100))
    await advance(50)
    b.setRate(10) // 50 tokens earned; 50 more at 10 B/s
    await advance(4000)
    expect(t.done).toBe(false)
    await advance(1000)
    expect(t.done).toBe(true)
  })

  it('setRate(null) releases every waiter, and a rate again starts full', async () => {
    const b = new TokenBucket(10, 10)
    const ts = [track(b.take(1000)), track(b.take(1000))]
    b.setRate(null)
    await settle(1)
    expect(ts.every((t) => t.done)).toBe(true)
    b.setRate(1000)
    const t = track(b.take(b.burstBytes))
    await settle(1)
    expect(t.done).toBe(true)
  })

  it('without an explicit burst, holds a quarter second (at least 64 KiB) and follows setRate', () => {
    const b = new TokenBucket(1e6)
    expect(b.burstBytes).toBe(250_000)
    b.setRate(1000)
    expect(b.burstBytes).toBe(MAX_PIECE)
    expect(new TokenBucket(1000, 5).burstBytes).toBe(5)
  })

  it('destroy resolves every waiter and later takes at once', async () => {
    const b = new TokenBucket(1, 1)
    const ts = [track(b.take(1000)), track(b.take(5))]
    await settle(1)
    expect(ts.some((t) => t.done)).toBe(false)
    b.destroy()
    await settle(1)
    expect(ts.every((t) => t.done)).toBe(true)
    const later = track(b.take(10 ** 9))
    await settle(1)
    expect(later.done).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('an aborted take leaves the queue without spending tokens', async () => {
    const b = new TokenBucket(1000, 100)
    await b.take(100)
    const ac = new AbortController()
    const aborted = track(b.take(1000, { signal: ac.signal }))
    const next = track(b.take(100))
    await advance(50)
    ac.abort(new Error('gone'))
    await settle(1)
    expect((aborted.failed as Error).message).toBe('gone')
    expect(b.waiting).toBe(1)
    await advance(50)
    expect(next.done).toBe(true)
    await expect(b.take(1, { signal: ac.signal })).rejects.toThrow('gone')
  })

  it('refuses bad rates, bursts and counts', async () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError)
    expect(() => new TokenBucket(-1)).toThrow(RangeError)
    expect(() => new TokenBucket(Number.NaN)).toThrow(RangeError)
    expect(() => new TokenBucket(Infinity)).toThrow(RangeError)
    expect(() => new TokenBucket(10, 0)).toThrow(RangeError)
    expect(() => new TokenBucket(10).setRate(0)).toThrow(RangeError)
    await expect(new TokenBucket(10).take(-1)).rejects.toThrow(RangeError)
    await expect(new TokenBucket(null).take(Number.NaN)).rejects.toThrow(RangeError)
  })
})

describe('TokenBucket priorities (give to get)', () => {
  it('serves a higher priority first, and waiters of equal priority in arrival order', async () => {
    const b = new TokenBucket(1000, 100)
    await b.take(100)
    const order: string[] = []
    const takes = [
      ['a', 0],
      ['b', 5],
      ['c', 5],
      ['d', 1],
      ['e', 0],
      ['f', -Infinity],
      ['g', 5],
    ] as const
    const all = takes.map(([name, priority]) =>
      b.take(100, { priority }).then(() => order.push(name)),
    )
    await advance(99)
    expect(order).toEqual([])
    await advance(1)
    expect(order).toEqual(['b'])
    await advance(200)
    expect(order).toEqual(['b', 'c', 'g'])
    await advance(400)
    expect(order).toEqual(['b', 'c', 'g', 'd', 'a', 'e', 'f'])
    await Promise.all(all)
    expect(b.waiting).toBe(0)
  })

  it('a higher priority that fits the tokens goes at once, past a big head still filling', async () => {
    const b = new TokenBucket(1000, 100)
    const big = track(b.take(300))
    const urgent = track(b.take(60, { priority: 1 }))
    await settle(1)
    expect(urgent.done).toBe(true)
    expect(big.done).toBe(false)
    // The big one now needs the 60 tokens back as well: 300 - 40 left at 1000/s.
    await advance(259)
    expect(big.done).toBe(false)
    await advance(1)
    expect(big.done).toBe(true)
  })

  it('strict priority holds a low waiter back while higher ones keep coming, up to maxWaitMs', async () => {
    for (const maxWaitMs of [300, 60_000]) {
      const b = new TokenBucket(1000, 100, { maxWaitMs })
      await b.take(100)
      const low = track(b.take(100, { priority: 0 }))
      let highs = 0
      let stop = false
      // A busy better-placed peer: always one take waiting.
      const busy = (async () => {
        while (!stop) {
          await b.take(100, { priority: 10 })
          highs++
        }
      })()
      await advance(250)
      expect(low.done).toBe(false)
      expect(highs).toBe(2)
      await advance(250)
      if (maxWaitMs === 300) {
        // It came of age at 300 ms and took the next 100 tokens (at 400 ms).
        expect(low.done).toBe(true)
        expect(highs).toBe(4)
      } else {
        expect(low.done).toBe(false)
        expect(highs).toBe(5)
      }
      stop = true
      await advance(1000)
      await busy
      expect(low.done).toBe(true)
    }
  })

  it('NaN counts as priority 0; maxWaitMs 0 is plain first come, first served', async () => {
    const b = new TokenBucket(1000, 100, { maxWaitMs: 0 })
    await b.take(100)
    const order: string[] = []
    const all = [
      b.take(100, { priority: 0 }).then(() => order.push('first')),
      b.take(100, { priority: 9 }).then(() => order.push('second')),
    ]
    await advance(200)
    expect(order).toEqual(['first', 'second'])
    await Promise.all(all)
    const c = new TokenBucket(1000, 100)
    await c.take(100)
    const order2: string[] = []
    const all2 = [
      c.take(100, { priority: Number.NaN }).then(() => order2.push('nan')),
      c.take(100, { priority: -1 }).then(() => order2.push('minus')),
      c.take(100, { priority: 0 }).then(() => order2.push('zero')),
    ]
    await advance(300)
    expect(order2).toEqual(['nan', 'zero', 'minus'])
    await Promise.all(all2)
    expect(() => new TokenBucket(10, 10, { maxWaitMs: -1 })).toThrow(RangeError)
  })

  it('two pipes on one upload bucket: the better balance gets the bandwidth', async () => {
    const up = new TokenBucket(100_000, 16_384)
    const free = new TokenBucket(null)
    const pipes = [0, 100].map((balance) => {
      const [local, inner] = duplexPair()
      const [outer, remote] = duplexPair()
      for (const s of [local, inner, outer, remote]) s.on('error', () => {})
      const stop = throttledPipe(inner, outer, up, free, { upPriority: () => balance })
      return { local, remote, stop, got: collect(remote) }
    })
    const [poor, rich] = pipes as [(typeof pipes)[0], (typeof pipes)[0]]
    const data = pattern(200_000, 4)
    for (const p of pipes) {
      for (let off = 0; off < data.length; off += 10_000)
        p.local.write(data.subarray(off, off + 10_000))
    }
    await advance(1500)
    // 16 KB of burst + 150 KB: nearly all of it went to the richer peer.
    expect(rich.got.bytes).toBeGreaterThanOrEqual(140_000)
    expect(poor.got.bytes).toBeLessThanOrEqual(30_000)
    await advance(3000)
    for (const p of pipes) {
      expect(Buffer.concat(p.got.chunks).equals(data)).toBe(true)
      p.stop()
    }
  })
})

/**
 * An in-memory transport: what one end writes, the other reads. A write calls back only once the
 * other end's reader made room, so backpressure crosses it like it crosses a socket.
 */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const blocked = new Map<Duplex, () => void>()
  const make = (i: number): Duplex =>
    new Duplex({
      write(data, cb) {
        const peer = ends[1 - i]!
        if (peer.push(data)) cb(null)
        else blocked.set(peer, () => cb(null))
      },
      read(cb) {
        const resume = blocked.get(ends[i]!)
        blocked.delete(ends[i]!)
        resume?.()
        cb(null)
      },
      final(cb) {
        ends[1 - i]!.push(null)
        cb(null)
      },
    })
  ends.push(make(0), make(1))
  return [ends[0]!, ends[1]!]
}

function collect(stream: Duplex): { bytes: number; chunks: Buffer[]; ended: boolean } {
  const got = { bytes: 0, chunks: [] as Buffer[], ended: false }
  stream.on('data', (data: unknown) => {
    const buf = data as Buffer
    got.bytes += buf.byteLength
    got.chunks.push(buf)
  })
  stream.on('end', () => {
    got.ended = true
  })
  return got
}

function pattern(n: number, seed: number): Buffer {
  const buf = Buffer.alloc(n)
  for (let i = 0; i < n; i++) buf[i] = (i * 31 + seed) & 0xff
  return buf
}

/**
 * local ⇄ [inner | throttledPipe | outer] ⇄ remote: `local` plays the replication stream's far
 * end (what Hypercore reads and writes), `remote` the other peer.
 */
function setup(up: TokenBucket, down: TokenBucket) {
  const [local, inner] = duplexPair()
  const [outer, remote] = duplexPair()
  for (const s of [local, inner, outer, remote]) s.on('error', () => {})
  const stop = throttledPipe(inner, outer, up, down)
  return { local, inner, outer, remote, stop }
}

describe('throttledPipe', () => {
  it('carries data both ways, each direction at its own rate', async () => {
    const up = new TokenBucket(100_000, 16_384)
    const down = new TokenBucket(50_000, 16_384)
    const { local, remote, stop } = setup(up, down)
    const upData = pattern(300_000, 1)
    const downData = pattern(150_000, 2)
    const atRemote = collect(remote)
    const atLocal = collect(local)
    for (let off = 0; off < upData.length; off += 10_000)
      local.write(upData.subarray(off, off + 10_000))
    for (let off = 0; off < downData.length; off += 10_000) {
      remote.write(downData.subarray(off, off + 10_000))
    }

    await advance(1000)
    // About burst + 1 s of rate each way, within a chunk.
    expect(atRemote.bytes).toBeGreaterThanOrEqual(100_000)
    expect(atRemote.bytes).toBeLessThanOrEqual(16_384 + 100_000 + 10_000)
    expect(atLocal.bytes).toBeGreaterThanOrEqual(50_000)
    expect(atLocal.bytes).toBeLessThanOrEqual(16_384 + 50_000 + 10_000)

    await advance(1000)
    expect(atRemote.bytes).toBeLessThan(upData.length) // (300 KB - 16 KB) / 100 KB/s = 2.84 s
    expect(atLocal.bytes).toBeLessThan(downData.length) // (150 KB - 16 KB) / 50 KB/s = 2.67 s

    await advance(1000)
    expect(Buffer.concat(atRemote.chunks).equals(upData)).toBe(true)
    expect(Buffer.concat(atLocal.chunks).equals(downData)).toBe(true)
    stop()
  })

  it('splits big chunks so pacing stays smooth', async () => {
    const up = new TokenBucket(MAX_PIECE * 10, MAX_PIECE)
    const down = new TokenBucket(null)
    const { local, remote, stop } = setup(up, down)
    const atRemote = collect(remote)
    const data = pattern(MAX_PIECE * 5, 3)
    local.write(data) // one 320 KiB chunk
    await advance(0)
    expect(atRemote.bytes).toBe(MAX_PIECE) // the burst, not the whole chunk
    await advance(100)
    expect(atRemote.bytes).toBe(MAX_PIECE * 2)
    await advance(300)
    expect(Buffer.concat(atRemote.chunks).equals(data)).toBe(true)
    expect(Math.max(...atRemote.chunks.map((c) => c.byteLength))).toBeLessThanOrEqual(MAX_PIECE)
    stop()
  })

  it('backpressure reaches the source: a fast writer is held to the rate, not buffered', async () => {
    const up = new TokenBucket(64_000, 16_384)
    const down = new TokenBucket(null)
    const { local, remote, stop } = setup(up, down)
    let produced = 0
    // 4 MiB on demand: far more than 5 s at the rate, yet finite, so a broken throttle fails the
    // test instead of spinning forever.
    const source = new Readable({
      read(cb) {
        produced += 16_384
        this.push(produced > 4 * 1024 * 1024 ? null : Buffer.alloc(16_384))
        cb(null)
      },
    })
    source.pipe(local)
    const atRemote = collect(remote)
    await advance(5000)
    // 16 KB burst + 5 s × 64 KB/s = 336 KB through; what is held in between stays bounded by the
    // streams' high-water marks, not by how fast the source could go.
    expect(atRemote.bytes).toBeGreaterThanOrEqual(300_000)
    expect(atRemote.bytes).toBeLessThanOrEqual(340_000 + 16_384)
    expect(produced - atRemote.bytes).toBeLessThan(256 * 1024)
    source.destroy()
    stop()
  })

  it('a graceful end travels through after the last bytes', async () => {
    const up = new TokenBucket(10_000, 1000)
    const { local, inner, outer, remote } = setup(up, new TokenBucket(null))
    const atRemote = collect(remote)
    const data = pattern(5000, 4)
    local.end(data)
    await advance(200)
    expect(atRemote.ended).toBe(false)
    expect(inner.destroyed || outer.destroyed).toBe(false)
    await advance(300)
    expect(atRemote.ended).toBe(true)
    expect(Buffer.concat(atRemote.chunks).equals(data)).toBe(true)
  })

  it('an error on the outer side destroys the inner one, and the reverse', async () => {
    const a = setup(new TokenBucket(null), new TokenBucket(null))
    a.outer.destroy(new Error('transport failed'))
    await settle()
    expect(a.inner.destroyed).toBe(true)

    const b = setup(new TokenBucket(null), new TokenBucket(null))
    b.inner.destroy() // a close without an end: the replication stream went away
    await settle()
    expect(b.outer.destroyed).toBe(true)
  })

  it('the teardown function destroys both sides and drops takes waiting on the buckets', async () => {
    const up = new TokenBucket(1000, 1000)
    const { local, inner, outer, stop } = setup(up, new TokenBucket(null))
    local.write(pattern(50_000, 5))
    await advance(10)
    expect(up.waiting).toBe(1)
    stop()
    await settle()
    expect(inner.destroyed).toBe(true)
    expect(outer.destroyed).toBe(true)
    expect(up.waiting).toBe(0)
    stop() // idempotent
  })
})
