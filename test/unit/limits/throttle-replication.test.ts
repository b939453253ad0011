// A real Hypercore replication through throttledPipe, in real time: store A's replication stream
// is the inner side, an in-memory transport the outer side, store B sits at the far end. The
// bounds are generous (these machines are noisy); the fake-timer tests in throttle.test.ts pin
// the pacing exactly.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import Corestore from 'corestore'
import { Duplex } from 'streamx'
import { MAX_PIECE, TokenBucket, throttledPipe } from '../../../main/engine/limits/throttle.ts'
import { useFixtures } from '../../helpers/unit-fixtures.ts'

const fx = useFixtures()

const BLOCK = 8 * 1024

/** Counts the bytes taken through a bucket. */
class CountingBucket extends TokenBucket {
  taken = 0
  override take(n: number, opts?: { signal?: AbortSignal }): Promise<void> {
    this.taken += n
    return super.take(n, opts)
  }
}

/** An in-memory transport: what one end writes, the other reads, with backpressure. */
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

async function openStore(name: string): Promise<Corestore> {
  const store = new Corestore(path.join(await fx.tmpDir('spare-limits-'), name))
  await store.ready()
  fx.defer(() => store.close())
  return store
}

async function fill(store: Corestore, name: string, blocks: number, seed: number) {
  const core = store.get({ name })
  await core.ready()
  const data = Array.from({ length: blocks }, (_, i) => Buffer.alloc(BLOCK, (i + seed) & 0xff))
  await core.append(data)
  return { core, data }
}

describe('throttledPipe over a Corestore replication', () => {
  it('replicates both ways and holds each direction to its rate', async () => {
    const storeA = await openStore('a')
    const storeB = await openStore('b')
    // 320 KiB for B to fetch from A (A uploads), 128 KiB for A to fetch from B (A downloads).
    const fromA = await fill(storeA, 'a', 40, 1)
    const fromB = await fill(storeB, 'b', 16, 101)

    const up = new CountingBucket(512_000, 16_384)
    const down = new CountingBucket(256_000, 16_384)
    const [outerA, outerB] = duplexPair()
    const replA = storeA.replicate(true)
    const replB = storeB.replicate(false)
    for (const s of [outerA, outerB, replA, replB]) s.on('error', () => {})
    const stop = throttledPipe(replA, outerA, up, down)
    // B's side is not throttled: its replication stream talks to the transport directly.
    const stopB = throttledPipe(replB, outerB, new TokenBucket(null), new TokenBucket(null))
    fx.defer(() => {
      stop()
      stopB()
      up.destroy()
      down.destroy()
    })

    const start = Date.now()
    const atB = storeB.get({ key: fromA.core.key })
    const atA = storeA.get({ key: fromB.core.key })
    await Promise.all([atB.ready(), atA.ready()])
    const timed = async (core: typeof atA, length: number): Promise<number> => {
      await core.download({ start: 0, end: length }).done()
      return Date.now() - start
    }
    const [msB, msA] = await Promise.all([timed(atB, 40), timed(atA, 16)])

    for (let i = 0; i < 40; i++) expect((await atB.get(i))!.equals(fromA.data[i]!)).toBe(true)
    for (let i = 0; i < 16; i++) expect((await atA.get(i))!.equals(fromB.data[i]!)).toBe(true)

    // Every byte crossed the buckets: at least the block data each way.
    expect(up.taken).toBeGreaterThanOrEqual(40 * BLOCK)
    expect(down.taken).toBeGreaterThanOrEqual(16 * BLOCK)
    // (320 KiB - 16 KiB burst) / 512 KB/s ≈ 0.6 s; (128 KiB - 16 KiB) / 256 KB/s ≈ 0.45 s.
    expect(msB).toBeGreaterThanOrEqual(450)
    expect(msA).toBeGreaterThanOrEqual(330)
    expect(msB).toBeLessThan(20_000)
    // The rate held: bytes over time never beat the rate (plus the burst).
    // (take() counts a piece when asked, before it waits: one piece of slack.)
    expect(up.taken).toBeLessThanOrEqual(
      16_384 + MAX_PIECE + (512_000 * (Date.now() - start)) / 1000,
    )
  })
})
