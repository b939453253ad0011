// A throttled host fetches one batch at a time (an audit must not wait behind many): a batch that
// brings nothing, a gap no peer can fill, must not hold that turn for its whole stall time while
// other folders wait. Real nodes on a local testnet: a donor (SpareNode) with a download limit
// keeping a folder of one owner (SpareNode) that ends in blocks its owner cleared (as every
// member's retention sweep clears the blocks of expired versions), then another owner's folder.
// It held the turn: the second folder fetched nothing, its owner failed the host's audits once
// its first two audit periods had passed, released it and banned it for that folder, and the
// folder was left with no host at all.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Corestore from 'corestore'
import type { SpareNode } from '../../main/engine/node.ts'
import type { Hosting, HostableFolder } from '../../main/engine/hosting/hosting.ts'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// A batch that brings no block is given up after a minute (default 20 s), far longer than the
// second folder needs at the rate.
useHostingTimers('audit=700,timeout=2000,receipt=600000,gone=600000,window=100,stall=60000')

const RATE = 256 * 1024
const SIZE = 2 * 1024 * 1024
/** Blocks at the end of the first folder's blobs core that no peer has. */
const GAP = 3

/** The part of a node's Hosting this test reads (private to the class). */
interface HostingInside {
  deps: { folders(): HostableFolder[] }
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

async function shareFile(a: SpareNode, name: string): Promise<string> {
  const src = path.join(await fx.tmpDir(`spare-stall-${name}-`), 'src')
  await fs.mkdir(src, { recursive: true })
  await fs.writeFile(path.join(src, `${name}.bin`), randomBytes(SIZE))
  return (await a.share(src)).folder.id
}

async function heldOf(h: SpareNode, id: string): Promise<number> {
  return (await h.donateStatus()).hosting.find((x) => x.folder === id)?.bytes ?? 0
}

describe('a throttled host with a gap no peer can fill', () => {
  it("fetches another folder while the gap's batch waits out its stall time", async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    const a = await fx.readyNode()
    const gapped = await shareFile(a, 'gapped')
    // The last blocks of its blobs core are gone from the owner, its only peer.
    const folder = hostingOf(a)
      .deps.folders()
      .find((f) => f.id === gapped)
    if (!folder) throw new Error('the owner has no such folder')
    await waitFor(() => folder.sizeBytes() >= SIZE, 30_000, 'the owner to index the file')
    const store = (a as unknown as { store: Corestore }).store
    const cores = await Promise.all(
      folder.coreKeys().map(async (key) => {
        const core = store.get({ key: Buffer.from(key, 'hex') })
        await core.ready()
        return core
      }),
    )
    const blobs = cores.reduce((x, y) => (y.byteLength > x.byteLength ? y : x))
    expect(blobs.length).toBeGreaterThan(2 * GAP)
    const blockBytes = blobs.byteLength / blobs.length
    // The last blocks: the host holds every block before them, so it passes its audits.
    await blobs.clear(blobs.length - GAP, blobs.length)
    for (const core of cores) await core.close()

    // Now the donor: it takes the folder, fetches it up to the gap, and the batch of the gap
    // brings nothing.
    await h.setDonateLimits({ diskBytes: 1e9, downBytesPerSec: RATE })
    await waitFor(
      async () => (await heldOf(h, gapped)) >= SIZE - (GAP + 2) * blockBytes,
      60_000,
      'the host to fetch the gapped folder up to the gap',
    )
    const b = await fx.readyNode()
    const other = await shareFile(b, 'other')
    await waitFor(
      async () => (await heldOf(h, other)) >= SIZE,
      40_000,
      'the host to fetch the other folder while the gap waits',
    ).catch(async (err: Error) => {
      const hosting = (await h.donateStatus()).hosting
      const hosts = hostingOf(b)
        .deps.folders()
        .map((f) => ({ id: f.id, sized: f.sized(), size: f.sizeBytes(), want: f.hostsWanted }))
      throw new Error(`${err.message}; ${JSON.stringify(hosting)} ${JSON.stringify(hosts)}`)
    })
    // Kept, not failed and banned meanwhile.
    expect(
      b
        .listFolders()
        .find((f) => f.id === other)
        ?.hosts?.map((x) => x.host),
    ).toEqual([h.nodeId])
  }, 180_000)
})
