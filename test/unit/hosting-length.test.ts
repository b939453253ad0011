// A hosted core's length is the owner's word: it signs its own cores, so it can append millions of
// tiny blocks (or sign a tree claiming 2^40 of them). The host counted the blocks it held with a
// `has` per block of the core's length at every start (and would fetch, batch after batch, as far
// as that length went). With a real donor (SpareNode) whose hosting opens a core of many tiny
// blocks:
//   - the count of held blocks is the bitfield's, not a `has` per block;
//   - the host looks at no more blocks of a core than the agreement pays for at MIN_BLOCK_BYTES.
import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import Hypercore from 'hypercore'
import type Corestore from 'corestore'
import type { SpareNode } from '../../main/engine/node.ts'
import { MIN_BLOCK_BYTES, type Hosting } from '../../main/engine/hosting/hosting.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface HostedView {
  folder: string
  owner: string
  topic: string
  cores: string[]
  agreedBytes: number
  since: number
  lastNeededAt: number
  priority: number
  lastReceiptTo: number
  auditsAnswered: number
}

/** The parts of a node's Hosting this test drives (private to the class). */
interface HostingInside {
  state: { hosted: HostedView[] }
  cores: Map<string, { blocks: number; next: number }>
  openHosted(h: HostedView): void
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

const BLOCKS = 200_000

/** A core of BLOCKS 8-byte blocks in the donor's store (held in full), and its key. */
async function tinyBlocks(node: SpareNode): Promise<string> {
  const store = (node as unknown as { store: Corestore }).store
  const core = store.get({ name: `tiny-${randomBytes(4).toString('hex')}` })
  await core.ready()
  for (let i = 0; i < BLOCKS; i += 10_000) {
    await core.append(Array.from({ length: 10_000 }, () => Buffer.alloc(8)))
  }
  return core.key.toString('hex')
}

/** Hosts `key` at the donor as if an owner had asked for `agreedBytes`. */
function host(node: SpareNode, key: string, agreedBytes: number): void {
  const inside = hostingOf(node)
  const topic = randomBytes(32).toString('hex')
  const now = Date.now()
  const h: HostedView = {
    folder: topic.slice(0, 16),
    owner: randomBytes(32).toString('hex'),
    topic,
    cores: [key],
    agreedBytes,
    since: now,
    lastNeededAt: now,
    priority: 0,
    lastReceiptTo: now,
    auditsAnswered: 0,
  }
  inside.state.hosted.push(h)
  inside.openHosted(h)
}

// Counts every `has` made on any Hypercore while a test runs.
const realHas = Hypercore.prototype.has
let hasCalls = 0
Hypercore.prototype.has = function (this: Hypercore, start: number, end?: number) {
  hasCalls++
  return realHas.call(this, start, end)
}
afterEach(() => {
  hasCalls = 0
})

describe('hosting a core of many tiny blocks', () => {
  it('counts the blocks it holds from the bitfield, not a has() per block', async () => {
    await fx.testnet()
    const d = await fx.readyNode()
    await d.setDonateLimits({ diskBytes: 1e9 })
    const key = await tinyBlocks(d)
    hasCalls = 0
    host(d, key, BLOCKS * MIN_BLOCK_BYTES * 2)
    const counted = await waitFor(
      () => {
        const e = hostingOf(d).cores.get(key)
        return e && e.blocks > 0 ? e.blocks : null
      },
      30_000,
      'the donor counting what it holds',
    )
    expect(counted).toBe(BLOCKS)
    // Bounded work: a few calls at most, not one per block.
    expect(hasCalls).toBeLessThan(100)
  }, 120_000)

  it('looks at no more blocks of a core than the agreement pays for', async () => {
    await fx.testnet()
    const d = await fx.readyNode()
    await d.setDonateLimits({ diskBytes: 1e9 })
    const key = await tinyBlocks(d)
    const agreed = 1000 * MIN_BLOCK_BYTES
    host(d, key, agreed)
    const counted = await waitFor(
      () => {
        const e = hostingOf(d).cores.get(key)
        return e && e.blocks > 0 ? e.blocks : null
      },
      30_000,
      'the donor counting what it holds',
    )
    expect(counted).toBe(1000)
  }, 120_000)
})
