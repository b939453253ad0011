// The block an owner audits a host on is drawn from every block of the folder's cores alike. It
// used to pick a core first: a folder's logs are a few blocks and its blobs cores most of its
// bytes, so a host that kept the logs and dropped the content passed about half of its audits.
// A real node sharing a real folder; auditSample is what the hosting layer calls.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import type { HostableFolder } from '../../main/engine/hosting/hosting.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

function folderOf(node: SpareNode, id: string): HostableFolder {
  const f = (node as unknown as { folders: Map<string, HostableFolder> }).folders.get(id)
  if (!f) throw new Error('no such folder')
  return f
}

describe('auditSample', () => {
  it('draws a block from all cores alike, so the content is audited as often as it weighs', async () => {
    await fx.testnet()
    const node = await fx.readyNode()
    const src = path.join(await fx.tmpDir('spare-audit-sample-'), 'src')
    await fs.mkdir(src)
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(16 * 256 * 1024)) // 16 blocks
    const { folder } = await node.share(src)
    await waitFor(
      () => node.listFolders().find((f) => f.id === folder.id)?.state === 'idle',
      30_000,
    )
    const f = folderOf(node, folder.id)
    const store = (node as unknown as { store: { get(o: { key: Buffer }): HypercoreLike } }).store
    const have: Record<string, number> = {}
    let blobBlocks = 0
    let allBlocks = 0
    for (const key of f.coreKeys()) {
      const core = store.get({ key: Buffer.from(key, 'hex') })
      await core.ready()
      have[key] = core.length
      allBlocks += core.length
      if (core.length >= 16) blobBlocks += core.length
      await core.close()
    }
    expect(blobBlocks).toBeGreaterThanOrEqual(16)
    let fromBlobs = 0
    const N = 300
    for (let n = 0; n < N; n++) {
      const s = await f.auditSample(have)
      if (!s) throw new Error('no sample')
      expect(s.index).toBeLessThan(have[s.core] ?? 0)
      if ((have[s.core] ?? 0) >= 16) fromBlobs++
    }
    // Expected share: blobBlocks / allBlocks (about 0.8 here); a core-first draw gives about 0.5.
    const expected = blobBlocks / allBlocks
    expect(fromBlobs / N).toBeGreaterThan(expected - 0.12)
    expect(fromBlobs / N).toBeLessThan(expected + 0.12)
  }, 60_000)
})

interface HypercoreLike {
  ready(): Promise<void>
  close(): Promise<void>
  length: number
}
