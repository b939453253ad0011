// StoreReclaim with real parts: RocksDB through hypercore-storage and Corestore in temp
// folders, and a real SpareNode that unshares a folder.
import { describe, expect, it, vi } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import Corestore from 'corestore'
import CoreStorage from 'hypercore-storage'
import type Hypercore from 'hypercore'
import pino from 'pino'
import { RECLAIM_DEFAULTS, StoreReclaim } from '../../main/engine/store-reclaim.ts'
import { SyncFolder } from '../../main/engine/sync/sync-folder.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const MiB = 1024 * 1024
const log = pino({ level: 'silent' })

/** Bytes in the store's blob files, where every block of 4 KiB or more lives. */
async function blobBytes(dir: string): Promise<number> {
  let total = 0
  for (const name of await fs.readdir(dir, { recursive: true })) {
    if (!name.endsWith('.blob')) continue
    // A collection running meanwhile deletes files between the listing and the stat.
    total += (await fs.stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size
  }
  return total
}

async function openStore(dir: string): Promise<{ storage: CoreStorage; store: Corestore }> {
  // As the node opens it: RocksDB's own collection off. Small memtables: blocks reach blob files.
  const storage = new CoreStorage(dir, {
    writeBufferSize: 4 * MiB,
    blobGarbageCollectionAgeCutOff: 0,
  })
  const store = new Corestore(storage)
  await store.ready()
  fx.defer(() => store.close())
  return { storage, store }
}

/** Appends `mib` MiB to each core, in turns, 1 MiB at a time: their blocks share blob files. */
async function fill(cores: Hypercore[], mib: number): Promise<Map<Hypercore, Buffer[]>> {
  const written = new Map<Hypercore, Buffer[]>(cores.map((c) => [c, []]))
  for (let i = 0; i < mib; i++) {
    for (const core of cores) {
      const blocks = Array.from({ length: 4 }, () => randomBytes(256 * 1024))
      await core.append(blocks)
      written.get(core)!.push(...blocks)
    }
  }
  return written
}

const timers = { ...RECLAIM_DEFAULTS, minGarbageBytes: 8 * MiB }

/** Counts the store's manual compactions: one a look, two when it collects. */
function countCompactions(storage: CoreStorage): { n: number } {
  const count = { n: 0 }
  const db = storage.db
  const compact = db.compact.bind(db)
  db.compact = async (opts) => {
    count.n++
    return compact(opts)
  }
  return count
}

describe('StoreReclaim', () => {
  it('gives back the disk of a purged core and keeps every block of the others', async () => {
    const dir = path.join(await fx.tmpDir('spare-reclaim-'), 'store')
    const { storage, store } = await openStore(dir)
    const gone = store.get({ name: 'gone', encryptionKey: randomBytes(32) })
    const kept = store.get({ name: 'kept', encryptionKey: randomBytes(32) })
    await Promise.all([gone.ready(), kept.ready()])
    const written = await fill([gone, kept], 24)
    const reclaim = new StoreReclaim(storage, log, timers)
    fx.defer(() => reclaim.close())

    await gone.purge()
    const before = await blobBytes(dir)
    expect(before).toBeGreaterThan(40 * MiB) // both cores' blocks are in blob files

    const result = await reclaim.run()
    expect(result?.collected).toBe(true)
    expect(result!.garbage).toBeGreaterThan(16 * MiB)
    const after = await blobBytes(dir)
    // The purged core's 24 MiB are gone from the disk; the kept core's are all still there.
    expect(before - after).toBeGreaterThan(16 * MiB)
    expect(after).toBeGreaterThanOrEqual(24 * MiB)
    const blocks = written.get(kept)!
    for (let i = 0; i < blocks.length; i++) {
      expect((await kept.get(i, { wait: false }))?.equals(blocks[i]!), `block ${i}`).toBe(true)
    }
  })

  it('leaves the blob files alone while the garbage is a small share of them', async () => {
    const dir = path.join(await fx.tmpDir('spare-reclaim-'), 'store')
    const { storage, store } = await openStore(dir)
    const core = store.get({ name: 'big', encryptionKey: randomBytes(32) })
    await core.ready()
    await fill([core], 40)
    await core.clear(0, 16) // 4 MiB of 40: below both the share and the minimum
    const blobFiles = async (): Promise<string[]> =>
      (await fs.readdir(dir, { recursive: true })).filter((n) => n.endsWith('.blob')).sort()
    const files = await blobFiles()
    expect(files.length).toBeGreaterThanOrEqual(4) // enough files for a quarter to be one
    const reclaim = new StoreReclaim(storage, log, timers)
    fx.defer(() => reclaim.close())

    const result = await reclaim.run()
    expect(result?.collected).toBe(false)
    expect(result!.garbage).toBeGreaterThan(0) // counted, but not worth a rewrite
    // No blob file was rewritten: the look itself collects nothing (RocksDB's blob files sit
    // under `db/`, hence the recursive listing). The look's own flush may add one.
    const now = await blobFiles()
    expect(files.filter((f) => !now.includes(f))).toEqual([])
    expect(await core.get(20, { wait: false })).not.toBeNull()
  })

  it('joins calls made while it waits, and does nothing once closed', async () => {
    const dir = path.join(await fx.tmpDir('spare-reclaim-'), 'store')
    const { storage } = await openStore(dir)
    const reclaim = new StoreReclaim(storage, log, { ...timers, delayMs: 20 })
    const passes = countCompactions(storage)
    reclaim.soon()
    reclaim.soon()
    reclaim.soon()
    await waitFor(() => passes.n >= 1, 5000)
    await new Promise((r) => setTimeout(r, 200))
    expect(passes.n).toBe(1) // one compaction: nothing was worth collecting
    await reclaim.close()
    expect(await reclaim.run()).toBeNull()
    reclaim.soon()
    await new Promise((r) => setTimeout(r, 100))
    expect(passes.n).toBe(1)
  })

  it('brings a later look forward when blocks are deleted', async () => {
    const dir = path.join(await fx.tmpDir('spare-reclaim-'), 'store')
    const { storage } = await openStore(dir)
    const passes = countCompactions(storage)
    // The start's look is an hour away; a deletion's is 20 ms away and takes its place.
    const reclaim = new StoreReclaim(storage, log, {
      ...timers,
      firstLookMs: 3600_000,
      delayMs: 20,
    })
    fx.defer(() => reclaim.close())
    await new Promise((r) => setTimeout(r, 100))
    expect(passes.n).toBe(0)
    reclaim.soon()
    await waitFor(() => passes.n >= 1, 5000)
  })
})

describe('SpareNode', () => {
  it('gives back the disk of an unshared folder', async () => {
    const node = await fx.readyNode({ reclaimTimers: { delayMs: 50, minGarbageBytes: 8 * MiB } })
    const folder = await fx.tmpDir('spare-reclaim-folder-')
    for (let i = 0; i < 3; i++)
      await fs.writeFile(path.join(folder, `f${i}`), randomBytes(16 * MiB))
    const { id } = (await node.share(folder)).folder
    await waitFor(() => node.listFolders().find((f) => f.id === id)?.state === 'idle', 30_000)
    const store = path.join(node.dataDir, 'store')
    const before = await blobBytes(store)
    expect(before).toBeGreaterThan(24 * MiB) // most of the 48 MiB was flushed to blob files

    await node.unshare(id)
    await waitFor(async () => (await blobBytes(store)) < before - 24 * MiB, 30_000)
    const names = await fs.readdir(folder)
    expect(names.sort()).toEqual(['f0', 'f1', 'f2']) // the files on disk stay
  }, 90_000)

  it('looks once after expired versions are dropped, not at every sweep after', async () => {
    const soon = vi.spyOn(StoreReclaim.prototype, 'soon')
    fx.defer(async () => soon.mockRestore())
    const node = await fx.readyNode()
    const folder = await fx.tmpDir('spare-reclaim-sync-')
    await fs.writeFile(path.join(folder, 'old.bin'), randomBytes(2 * MiB))
    const { id } = (await node.share(folder)).folder // two-way
    const idle = (): boolean => node.listFolders().find((f) => f.id === id)?.state === 'idle'
    await waitFor(idle, 30_000)
    await fs.rm(path.join(folder, 'old.bin'))
    const summary = () => node.listFolders().find((f) => f.id === id)
    await waitFor(() => summary()?.files === 0 && summary()?.state === 'idle', 30_000)
    soon.mockClear()

    await node.configure(id, { versionsDays: 0 }) // old.bin's blocks go now
    await waitFor(() => soon.mock.calls.length > 0, 30_000, 'a look after the blocks went')
    // Another sweep (the hourly one): nothing is left to drop, and nothing calls for a look.
    await new Promise((r) => setTimeout(r, 500))
    soon.mockClear()
    const sweeps = vi.spyOn(
      SyncFolder.prototype as unknown as { collectGarbage(): Promise<void> },
      'collectGarbage',
    )
    fx.defer(async () => sweeps.mockRestore())
    await node.configure(id, { versionsDays: 0 })
    await waitFor(() => sweeps.mock.results.length > 0, 30_000, 'another sweep')
    await sweeps.mock.results[0]!.value
    await new Promise((r) => setTimeout(r, 200))
    expect(soon.mock.calls.length).toBe(0)
  }, 90_000)
})
