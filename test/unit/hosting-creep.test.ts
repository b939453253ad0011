// A miss past what a host holds is forgiven while it is still fetching, and "still fetching" went
// by the count of blocks it says it holds growing between audits: its word. A host that kept
// nothing and raised that count by a block or so per audit went unfailed for as many audit periods
// as the folder has blocks. With real nodes on a local testnet: a donor (SpareNode) keeping an
// owner's (SpareNode) folder, whose status is changed to creep so (the only fake).
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import type { FolderSummary } from '../../shared/contract.ts'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

function hostsOf(node: SpareNode, id: string): NonNullable<FolderSummary['hosts']> {
  return node.listFolders().find((f) => f.id === id)?.hosts ?? []
}

const SLOW_SIZE = 8 * 1024 * 1024

describe('an honest host fetching slowly', () => {
  // Short periods, though longer than a batch takes (1 MiB: 2 s at 512 KiB/s), as the default
  // ones are; the default rate a host still fetching must keep up (16 KiB/s). An audit waits
  // behind the batch the throttle is passing, hence the timeout.
  useHostingTimers('audit=3000,timeout=8000,receipt=60000,gone=600000,window=100')

  // A host whose downloads are limited to 512 KiB/s takes some 16 s (5 audit periods) to fetch
  // an 8 MiB folder: it says what it holds as it goes, and none of its misses is held against it.
  it('is not failed while it fetches a large folder', async () => {
    await fx.testnet()
    const h = await fx.readyNode()
    await h.setDonateLimits({ diskBytes: 1e9, downBytesPerSec: 512 * 1024 })
    const a = await fx.readyNode()
    const src = path.join(await fx.tmpDir('spare-slow-src-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(SLOW_SIZE))
    const { folder } = await a.share(src)
    const id = folder.id
    const started = Date.now()
    const failed: string[] = []
    const watch = setInterval(() => {
      const r = hostsOf(a, id).find((x) => x.host === h.nodeId)
      const last = r?.lastAudit
      if (last && !last.ok && last.reason !== 'the host is still fetching that block') {
        failed.push(`${last.at}: ${last.reason}`)
      }
    }, 100)
    fx.defer(() => clearInterval(watch))
    await waitFor(
      async () => {
        const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
        return held && held.bytes >= SLOW_SIZE
      },
      90_000,
      'the host holding the whole folder',
    ).catch((err: Error) => {
      const r = hostsOf(a, id).find((x) => x.host === h.nodeId)
      throw new Error(`${err.message}: ${JSON.stringify(r)}, failed ${JSON.stringify(failed)}`)
    })
    const took = Date.now() - started
    // It was slow (the limit held), yet still a host, and it had failed no audit.
    expect(took).toBeGreaterThan(10_000)
    expect(hostsOf(a, id).some((x) => x.host === h.nodeId)).toBe(true)
    expect([...new Set(failed)]).toEqual([])
  }, 150_000)
})
