// Reading the logs is one pass at a time. `open()` reads them itself while the sync loop can
// already be started by an append or a peer; two passes over one log at once each took the
// block at `read` before the other moved it on: one op applied twice (once under the next op's
// number) and the next op never read, until a restart.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hypercore from 'hypercore'
import { SpareService } from '../../main/engine/api/service.ts'
import { deviceOf, encodeOp, type FileOp } from '../../main/engine/sync/ops.ts'
import { NO_CONTENT } from '../../main/engine/sync/sync-folder.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** The parts of a two-way folder this test reaches into (private in SyncFolder). */
interface FolderInside {
  ownKey: string
  ownLog: Hypercore
  logs: Map<string, { core: Hypercore; read: number }>
  sync: { history: Map<string, Array<{ writer: string; seq: number; op: FileOp }>> }
  readLogs(): Promise<void>
}

describe('reading the logs', () => {
  it('reads each op once, under its own number, when passes are asked for at once', async () => {
    const dir = await fx.tmpDir('spare-read-once-') // removed after the node closes
    const node = await fx.readyNode()
    const service = new SpareService(node)
    await fs.writeFile(path.join(dir, 'a.txt'), 'a')
    const { folder } = (await service.call('folders.share', { path: dir })) as {
      folder: { id: string }
    }
    await waitFor(() => node.listFolders()[0]?.state === 'idle', 20_000)
    const inside = (node as unknown as { folders: Map<string, FolderInside> }).folders.get(
      folder.id,
    )!
    const device = deviceOf(inside.ownKey)
    const base = inside.ownLog.length
    const ops: FileOp[] = Array.from({ length: 20 }, (_, i) => ({
      t: 'file',
      path: `/made-${i}`,
      vv: { [device]: 1000 + i },
      kind: 'dir',
      mtime: 1_790_000_000_000,
      ...NO_CONTENT,
      origin: device,
      at: 1_790_000_000_000 + i,
    }))
    await inside.ownLog.append(ops.map((o) => encodeOp(o)))
    // The append has kicked the sync loop too: three passes asked for at once.
    await Promise.all([inside.readLogs(), inside.readLogs()])

    expect(inside.logs.get(inside.ownKey)!.read).toBe(inside.ownLog.length)
    for (let i = 0; i < ops.length; i++) {
      const refs = inside.sync.history.get(`/made-${i}`) ?? []
      expect(
        refs.map((r) => r.seq),
        `/made-${i}`,
      ).toEqual([base + i])
    }
  })
})
