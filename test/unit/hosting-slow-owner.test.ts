// A host fetching from an owner whose hosting upload is limited far below the host's download,
// with real nodes on a local testnet: the owner's one upload queue carries the batches of all the
// folder's cores, so a batch's blocks come slowly (a 16-block batch takes longer than an audit
// period here) and a core's blocks can wait behind another core's.
//   - What the host holds reaches the owner as the blocks come, not once a whole batch is in: an
//     owner forgives a missing block only while what its host says it holds grows.
//   - A batch that brings no block for the stall time after some came is a slow owner, not a gap:
//     it is asked for again at once. A gap is looked at again only after GAP_RETRY_MS (60 s).
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// A stall time below what a block of the folder (128 KiB) needs at OWNER_UP (2 s), above what
// one 64 KiB piece of the owner's upload needs (1 s); the host tells its owner what it holds
// every quarter audit period (500 ms). Audits every 2 s with 10 s to answer.
useHostingTimers('audit=2000,timeout=10000,receipt=600000,gone=600000,window=100,stall=1750')

/** The owner's hosting upload, and its folder's size: about 16 s of upload. */
const OWNER_UP = 64 * 1024
const OWNER_SIZE = 1024 * 1024

describe('a host of an owner with a low upload limit', () => {
  it('holds the folder long before a gap would be retried, and says so as it goes', async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    await h.setDonateLimits({ diskBytes: 1e9 })
    const a = await fx.readyNode()
    await a.setDonateLimits({ upBytesPerSec: OWNER_UP })
    const src = path.join(await fx.tmpDir('spare-slow-owner-src-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(OWNER_SIZE))
    const { folder } = await a.share(src)

    // What the owner hears its host holds, every value it took on the way.
    const seen: number[] = []
    const timer = setInterval(() => {
      const bytes = a.listFolders().find((f) => f.id === folder.id)?.hosts?.[0]?.bytes
      if (bytes !== undefined && bytes !== seen.at(-1)) seen.push(bytes)
    }, 50)
    fx.defer(() => clearInterval(timer))

    // About 16 s of upload. A batch given up as a gap would wait 60 s before it is asked again.
    await waitFor(
      () => (seen.at(-1) ?? 0) >= OWNER_SIZE,
      45_000,
      'the host holding the whole folder',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the owner heard it held: ${seen.join(', ')}`)
    })
    expect(seen).toEqual([...seen].sort((x, y) => x - y))
    // Told as the blocks came (a block every 2 s), not once per 16-block batch.
    expect(seen.filter((b) => b > 0 && b < OWNER_SIZE).length).toBeGreaterThanOrEqual(4)
    const held = (await h.donateStatus()).hosting.find((x) => x.folder === folder.id)
    expect(held?.bytes).toBeGreaterThanOrEqual(OWNER_SIZE)
  }, 90_000)
})
