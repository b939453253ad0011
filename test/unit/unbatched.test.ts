// Protomux batching off: a download between two Swarms (real HyperDHTs on a local testnet, real
// Corestores on disk) must arrive whole with the seeder sending no batch frame, where the same
// download over Corestore's own replication stream is sent in batches (so the check can fail).
import path from 'node:path'
import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { Swarm } from '../../main/engine/net/swarm.ts'
import { parseNetwork, openNetwork } from '../../main/engine/net/network.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const BLOCKS = 96
const BLOCK = 64 * 1024

/** Protomux's batch frame: control channel 0, message type 0. */
function isBatch(frame: Uint8Array): boolean {
  return frame.length > 2 && frame[0] === 0 && frame[1] === 0
}

/** Records whether each frame written to a stream is a batch (wraps its write). */
function recordFrames(stream: { write(b: Uint8Array): boolean }): boolean[] {
  const frames: boolean[] = []
  const write = stream.write.bind(stream)
  stream.write = (b: Uint8Array): boolean => {
    frames.push(isBatch(b))
    return write(b)
  }
  return frames
}

async function seeded(dir: string): Promise<{ store: Corestore; core: Hypercore; data: Buffer[] }> {
  const store = new Corestore(dir)
  fx.defer(() => store.close())
  const core = store.get({ name: 'blocks' })
  await core.ready()
  const data = Array.from({ length: BLOCKS }, () => crypto.randomBytes(BLOCK))
  await core.append(data)
  return { store, core, data }
}

async function fetchAll(core: Hypercore, data: Buffer[]): Promise<void> {
  await core.download({ start: 0, end: BLOCKS }).done()
  for (let i = 0; i < BLOCKS; i++) expect((await core.get(i))!.equals(data[i]!)).toBe(true)
}

describe('unbatched replication', () => {
  it('batches responses over a plain Corestore stream (the control)', async () => {
    const dir = await fx.tmpDir()
    const a = await seeded(path.join(dir, 'a'))
    const b = new Corestore(path.join(dir, 'b'))
    fx.defer(() => b.close())
    const sa = a.store.replicate(true)
    const sb = b.replicate(false)
    // The stream Protomux writes its frames to (a NoiseSecretStream; typed loosely upstream).
    const frames = recordFrames(sa.noiseStream as unknown as { write(b: Uint8Array): boolean })
    sa.pipe(sb).pipe(sa)
    fx.defer(() => {
      sa.destroy()
      sb.destroy()
    })
    const copy = b.get({ key: a.core.key })
    await copy.ready()
    await fetchAll(copy, a.data)
    expect(frames.filter(Boolean).length).toBeGreaterThan(0)
  })

  it('sends every message of a Swarm connection in a frame of its own', async () => {
    const dir = await fx.tmpDir()
    const network = await fx.testnet()
    const log = pino({ level: 'silent' })
    const open = async (store: Corestore): Promise<Swarm> => {
      const net = await openNetwork(parseNetwork(network, 0), HyperDHT.keyPair())
      const swarm = new Swarm(net.dht, HyperDHT.keyPair(), store, log)
      fx.defer(async () => {
        await swarm.close()
        await net.close()
      })
      return swarm
    }
    const a = await seeded(path.join(dir, 'a'))
    const b = new Corestore(path.join(dir, 'b'))
    fx.defer(() => b.close())
    const copy = b.get({ key: a.core.key })
    await copy.ready()

    const sa = await open(a.store)
    const sb = await open(b)
    // Swarm's own handler has already made the mux and started replication by the time this
    // one runs; what the seeder sends from here on is recorded (on every connection, should
    // Hyperswarm replace one).
    const sent: boolean[][] = []
    sa.on('connection', (conn: { write(b: Uint8Array): boolean }) => {
      sent.push(recordFrames(conn))
    })
    await sa.join(a.core.discoveryKey)
    await sb.join(a.core.discoveryKey)
    await fetchAll(copy, a.data)
    const frames = sent.flat()
    expect(frames.length).toBeGreaterThan(BLOCKS) // a frame per block at least
    expect(frames.filter(Boolean)).toEqual([])
  })
})
