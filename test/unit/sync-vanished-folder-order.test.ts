// A scan that finds a folder gone (deleted, or replaced by a file) records everything that was
// below it as deleted, and those deletions go into the log before the folder's own op: ops go out
// 500 at a time, and a device that has read the folder's op must have read them too (a writer
// that took the folder's files for versions still current would move them aside as a conflict
// copy; moveFolderAside relies on it). Checked on the writer's own log, where the order is exact.
// One real node; the folder goes while it is closed.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FileOp } from '../../main/engine/sync/ops.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** The part of a two-way folder this test reaches into (private in SyncFolder). */
interface FolderInside {
  ownKey: string
  sync: { history: Map<string, Array<{ writer: string; seq: number; op: FileOp }>> }
}

/** Where in its own log the device recorded each path's last op (seq), and that op's kind. */
function lastOwnOps(node: SpareNode, id: string): Map<string, { seq: number; kind: string }> {
  const inside = (node as unknown as { folders: Map<string, FolderInside> }).folders.get(id)!
  const out = new Map<string, { seq: number; kind: string }>()
  for (const [p, refs] of inside.sync.history) {
    const own = refs.filter((r) => r.writer === inside.ownKey).sort((a, b) => a.seq - b.seq)
    const last = own.at(-1)
    if (last) out.set(p, { seq: last.seq, kind: last.op.kind })
  }
  return out
}

const BELOW = ['/x/a.txt', '/x/sub', '/x/sub/b.txt', '/x/sub/deeper', '/x/sub/deeper/c.txt']

async function folderGone(replaceWithFile: boolean): Promise<void> {
  const dir = await fx.tmpDir('spare-vanish-')
  const dataDir = path.join(await fx.tmpDir('spare-vanish-data-'), 'data')
  let node = await fx.readyNode({ dataDir })
  const service = new SpareService(node)
  await fs.mkdir(path.join(dir, 'x', 'sub', 'deeper'), { recursive: true })
  await fs.writeFile(path.join(dir, 'x', 'a.txt'), 'a\n')
  await fs.writeFile(path.join(dir, 'x', 'sub', 'b.txt'), 'b\n')
  await fs.writeFile(path.join(dir, 'x', 'sub', 'deeper', 'c.txt'), 'c\n')
  const { folder } = (await service.call('folders.share', { path: dir, mode: 'sync' })) as {
    folder: { id: string }
  }
  await waitFor(() => node.listFolders()[0]?.state === 'idle', 20_000)
  expect(lastOwnOps(node, folder.id).get('/x/sub/deeper/c.txt')?.kind).toBe('file')

  // Gone while the node is closed: the scan at start finds it, every path in one sorted batch
  // (the watcher would split the paths into batches as it likes).
  await node.close()
  await fs.rm(path.join(dir, 'x'), { recursive: true })
  if (replaceWithFile) await fs.writeFile(path.join(dir, 'x'), 'now a file\n')
  node = await fx.readyNode({ dataDir })
  const kind = replaceWithFile ? 'file' : 'deleted'
  await waitFor(
    () =>
      lastOwnOps(node, folder.id).get('/x')?.kind === kind &&
      node.listFolders()[0]?.state === 'idle',
    20_000,
    'x to be recorded',
  )
  const ops = lastOwnOps(node, folder.id)
  const x = ops.get('/x')!
  for (const p of BELOW) {
    const op = ops.get(p)
    expect(op?.kind, p).toBe('deleted')
    // Before the folder's op: a device that read that op has read this deletion.
    expect(op!.seq, p).toBeLessThan(x.seq)
  }
  // Children before their folder all the way down, too.
  expect(ops.get('/x/sub/deeper/c.txt')!.seq).toBeLessThan(ops.get('/x/sub/deeper')!.seq)
  expect(ops.get('/x/sub/b.txt')!.seq).toBeLessThan(ops.get('/x/sub')!.seq)
}

describe("a vanished folder's contents are recorded before the folder", () => {
  it('a folder deleted: its files and folders are deleted first in the log', async () => {
    await folderGone(false)
  }, 60_000)

  it('a folder replaced by a file: the same, before the file', async () => {
    await folderGone(true)
  }, 60_000)
})
