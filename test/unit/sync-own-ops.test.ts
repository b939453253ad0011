// A device takes the ops it appends to its own log as the appended bytes parse, without reading
// those blocks back from the store: after a scan of 100,000 files, reading them back one by one
// was a quarter of the time to index the folder. What every other member reads from the same
// bytes must still be what this device applies: an op that does not parse is refused here too.
// Real nodes on disk; the log's reads are only counted.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hypercore from 'hypercore'
import { SpareService } from '../../main/engine/api/service.ts'
import { deviceOf, type FileOp, type Op } from '../../main/engine/sync/ops.ts'
import { NO_CONTENT } from '../../main/engine/sync/sync-folder.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** The parts of a two-way folder this test reaches into (private in SyncFolder). */
interface FolderInside {
  ownKey: string
  ownLog: Hypercore
  logs: Map<string, { core: Hypercore; read: number }>
  sync: { current(path: string): { op: FileOp } | null }
  refused: Array<{ path: string; reason: string }>
  appendOwn(ops: FileOp[]): Promise<void>
  readLogs(): Promise<void>
}

async function sharedFolder(): Promise<{
  dir: string
  service: SpareService
  inside: FolderInside
  reads: number[]
}> {
  const dir = await fx.tmpDir('spare-own-ops-')
  const node = await fx.readyNode()
  const service = new SpareService(node)
  await fs.writeFile(path.join(dir, 'first.txt'), 'first')
  const { folder } = (await service.call('folders.share', { path: dir })) as {
    folder: { id: string }
  }
  await waitFor(() => node.listFolders()[0]?.state === 'idle', 20_000)
  const inside = (node as unknown as { folders: Map<string, FolderInside> }).folders.get(folder.id)!
  // Every block of this device's log that is read from the store from now on.
  const reads: number[] = []
  const log = inside.logs.get(inside.ownKey)!.core
  const realGet = log.get.bind(log)
  log.get = ((index: number, opts?: unknown) => {
    reads.push(index)
    return realGet(index, opts as Parameters<typeof realGet>[1])
  }) as typeof log.get
  return { dir, service, inside, reads }
}

describe("a device's own ops", () => {
  it('are applied as appended, without reading the blocks back', async () => {
    const { dir, inside, reads } = await sharedFolder()
    const base = inside.ownLog.length
    for (let i = 0; i < 40; i++) await fs.writeFile(path.join(dir, `f${i}.txt`), `content ${i}`)
    await waitFor(
      () => Array.from({ length: 40 }, (_, i) => inside.sync.current(`/f${i}.txt`)).every(Boolean),
      20_000,
      'the new files to be recorded and applied',
    )
    expect(inside.ownLog.length).toBeGreaterThanOrEqual(base + 40)
    expect(inside.logs.get(inside.ownKey)!.read).toBe(inside.ownLog.length)
    expect(reads.filter((seq) => seq >= base)).toEqual([])
    // Applied as the bytes say: the content each file holds.
    const op = inside.sync.current('/f7.txt')!.op
    expect(op.size).toBe('content 7'.length)
    expect(op.origin).toBe(deviceOf(inside.ownKey))
  })

  it('refuses an appended op that no member could parse, as a reader of the log would', async () => {
    const { inside, reads } = await sharedFolder()
    const device = deviceOf(inside.ownKey)
    const base = inside.ownLog.length
    const good: FileOp = {
      t: 'file',
      path: '/made',
      vv: { [device]: 5000 },
      kind: 'dir',
      mtime: 1_790_000_000_000,
      ...NO_CONTENT,
      origin: device,
      at: 1_790_000_000_000,
    }
    // A chunk that names a core the op does not list: it encodes, but does not parse.
    const bad = {
      ...good,
      path: '/broken',
      vv: { [device]: 5001 },
      kind: 'file',
      hash: 'ab'.repeat(32),
      size: 3,
      chunkSize: 65536,
      cores: [],
      chunks: [['cd'.repeat(32), 4, 0, 1, 3]],
    } as unknown as FileOp
    // The sync loop appends inside its own cycle, so no other pass reads the log meanwhile; its
    // append events are held off here the same way (a cycle "running").
    const loop = inside as unknown as { running: Promise<void> | null }
    loop.running = new Promise(() => {})
    try {
      await inside.appendOwn([good, bad])
      await inside.readLogs()
    } finally {
      loop.running = null
    }

    expect(inside.logs.get(inside.ownKey)!.read).toBe(base + 2)
    expect(inside.sync.current('/made')?.op.kind).toBe('dir')
    expect(inside.sync.current('/broken')).toBeNull()
    expect(inside.refused).toContainEqual({
      path: `log ${device}#${base + 1}`,
      reason: 'a chunk names a core the op does not list',
    })
    expect(reads.filter((seq) => seq >= base)).toEqual([])
    // What another member reads from those bytes is what this device applied.
    const read = JSON.parse(((await inside.ownLog.get(base)) as Buffer).toString()) as Op
    expect(read).toMatchObject({ path: '/made', kind: 'dir' })
  })
})
