// A published folder's listing (folders/listing.ts): the owner writes every entry of its tree in
// one blob, and a reader's first pass reads that and the changes since instead of walking the
// tree node by node. Real nodes on a local testnet. The reader must end with exactly the owner's
// tree whether the listing is fresh, behind the tree, damaged, or lying about paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hyperdrive from 'hyperdrive'
import type { SpareNode } from '../../main/engine/node.ts'
import {
  LISTING,
  LISTING_KEY,
  listingWanted,
  ownListing,
  readListing,
  writeListing,
  type ListingRef,
} from '../../main/engine/folders/listing.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'
import { diffTrees, snapshotTree } from '../helpers/daemon.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { FolderSummary } from '../../shared/contract.ts'

const fx = useFixtures()
const saved = { ...LISTING }
beforeAll(() => {
  LISTING.minEntries = 20
})
afterAll(() => {
  Object.assign(LISTING, saved)
})

interface FolderInternals {
  drive: Hyperdrive | null
  lastListing?: { version: number; entries: number; changed: number } | null
}

function folderOf(node: SpareNode): FolderInternals {
  const folders = (node as unknown as { folders: Map<string, FolderInternals> }).folders
  const folder = [...folders.values()][0]
  if (!folder?.drive) throw new Error('no drive open')
  return folder
}

async function share(node: SpareNode, dir: string): Promise<{ invite: string }> {
  return (await new SpareService(node).call('folders.share', { path: dir, mode: 'publish' })) as {
    invite: string
  }
}

async function join(node: SpareNode, invite: string, dir: string): Promise<void> {
  await new SpareService(node).call('folders.join', { invite, path: dir })
}

async function summary(node: SpareNode): Promise<FolderSummary> {
  const [f] = (await new SpareService(node).call('folders.list', {})) as FolderSummary[]
  return f!
}

/** A folder of `n` files in a few nested folders, an empty folder, an executable and a link. */
async function fill(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `d${i % 4}`, i % 2 ? 'deeper' : '')
    await fs.mkdir(sub, { recursive: true })
    await fs.writeFile(path.join(sub, `f${i}.txt`), `file ${i}\n`)
  }
  await fs.mkdir(path.join(dir, 'empty'))
  await fs.writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 })
  await fs.symlink('d0/f0.txt', path.join(dir, 'link'))
}

/** Waits until the owner has written a listing (it does so once its import is done). */
async function listingOf(owner: SpareNode): Promise<ListingRef> {
  return waitFor(() => ownListing(folderOf(owner).drive!), 20_000, "the owner's listing")
}

async function synced(aDir: string, bDir: string, b: SpareNode): Promise<void> {
  const want = await snapshotTree(aDir)
  let diff = ''
  await waitFor(
    async () => {
      diff = diffTrees(want, await snapshotTree(bDir).catch(() => ({})))
      return diff === '' && (await summary(b)).state === 'idle'
    },
    30_000,
    'the reader to hold the owner tree',
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${diff}`)
  })
}

describe('the listing a published folder writes for readers', () => {
  it('is read by a new reader, with the changes made since it, for the exact tree', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-listing-')
    const [aDir, bDir] = [path.join(root, 'a'), path.join(root, 'b')]
    await fs.mkdir(aDir)
    await fill(aDir, 40)
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network })
    const { invite } = await share(a, aDir)
    const ref = await listingOf(a)
    // 40 files, 6 folders, the empty one, the script and the link.
    expect(ref.entries).toBe(49)
    // Changes after the listing, too few for a new one: the reader must take them from the tree.
    await fs.writeFile(path.join(aDir, 'd1', 'deeper', 'f1.txt'), 'changed\n')
    await fs.rm(path.join(aDir, 'd2', 'f2.txt'))
    await fs.writeFile(path.join(aDir, 'd3', 'new.txt'), 'new\n')
    await fs.rm(path.join(aDir, 'empty'), { recursive: true })
    const drive = folderOf(a).drive!
    await waitFor(
      async () =>
        (await drive.entry('/d3/new.txt')) &&
        !(await drive.entry('/d2/f2.txt')) &&
        !(await drive.entry('/empty')) &&
        (await summary(a)).state === 'idle',
      20_000,
      'the owner to publish the changes',
    )
    expect((await ownListing(drive))?.version).toBe(ref.version)

    await join(b, invite, bDir)
    await synced(aDir, bDir, b)
    expect(folderOf(b).lastListing).toMatchObject({ version: ref.version, entries: 49 })
    expect(folderOf(b).lastListing!.changed).toBeGreaterThanOrEqual(4)
    // Then the rest of the tree's nodes, so it can serve readers that walk the tree.
    const version = drive.version
    await waitFor(
      () => folderOf(b).drive!.core.contiguousLength >= version,
      20_000,
      'the reader to hold the whole tree',
    )
    // Live changes after the first pass go on as before.
    await fs.writeFile(path.join(aDir, 'later.txt'), 'later\n')
    await synced(aDir, bDir, b)

    // The owner goes away, and the listing is nowhere (b drops its copy): a new reader walks the
    // tree, every node of which b fetched after its listed pass.
    const now = drive.version
    await waitFor(() => folderOf(b).drive!.core.contiguousLength >= now, 20_000, 'the tree at b')
    const ref2 = (await ownListing(drive))!
    await a.close()
    const bBlobs = await folderOf(b).drive!.getBlobs()
    await (bBlobs.core as unknown as { clear(s: number, e: number): Promise<void> }).clear(
      ref2.blob.blockOffset,
      ref2.blob.blockOffset + ref2.blob.blockLength,
    )
    const saveFirst = LISTING.firstBlockMs
    LISTING.firstBlockMs = 300
    fx.defer(() => (LISTING.firstBlockMs = saveFirst))
    const c = await fx.readyNode({ network })
    const cDir = path.join(root, 'c')
    await join(c, invite, cDir)
    await synced(bDir, cDir, c)
    expect(folderOf(c).lastListing ?? null).toBeNull()
  }, 90_000)

  it('is written again once the tree has moved on, and kept across a restart', async () => {
    const saveInterval = LISTING.minIntervalMs
    LISTING.minIntervalMs = 0
    fx.defer(() => (LISTING.minIntervalMs = saveInterval))
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-listing-')
    const aDir = path.join(root, 'a')
    await fs.mkdir(aDir)
    await fill(aDir, 30)
    const dataDir = path.join(root, 'data')
    const a = await fx.readyNode({ network, dataDir })
    await share(a, aDir)
    const first = await listingOf(a)
    // New nodes in the tree since the listing: at least minEntries (20) and half the entries.
    for (let i = 0; i < 40; i++) await fs.writeFile(path.join(aDir, `more${i}.txt`), `${i}\n`)
    const second = await waitFor(
      async () => {
        // The 40 files may come in more than one import run, and a listing after each.
        const ref = await ownListing(folderOf(a).drive!)
        return ref && ref.entries === first.entries + 40 ? ref : null
      },
      20_000,
      'a listing with the 40 new files',
    )
    expect(second.entries).toBe(first.entries + 40)
    await a.close()
    const again = await fx.readyNode({ network, dataDir })
    await waitFor(async () => (await summary(again)).state === 'idle', 20_000, 'the restart')
    await new Promise((r) => setTimeout(r, 500))
    // Nothing changed: the listing is the one from before, not a new one.
    expect(await ownListing(folderOf(again).drive!)).toEqual(second)
  }, 90_000)

  it('is not used when damaged or naming what the tree lacks: the reader walks the tree', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-listing-')
    const [aDir, bDir, outside] = ['a', 'b', 'outside'].map((d) => path.join(root, d)) as [
      string,
      string,
      string,
    ]
    await fs.mkdir(aDir)
    await fs.mkdir(outside)
    await fill(aDir, 25)
    const a = await fx.readyNode({ network })
    const { invite } = await share(a, aDir)
    const ref = await listingOf(a)
    const drive = folderOf(a).drive!
    const db = drive.db as unknown as { put(k: string, v: unknown): Promise<void> }
    const listing = (doc: unknown, entries: number): { buf: Buffer; entries: number } => ({
      buf: Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)),
      entries,
    })
    const damaged: Array<() => Promise<unknown>> = [
      () => db.put(LISTING_KEY, 'nonsense'),
      () => db.put(LISTING_KEY, { ...ref, format: 2 }),
      () => db.put(LISTING_KEY, { ...ref, version: drive.version + 10 }),
      () => db.put(LISTING_KEY, { ...ref, entries: LISTING.maxEntries + 1 }),
      // The blocks of a packed file, not of a listing: more bytes than the reference says.
      async () => db.put(LISTING_KEY, { ...ref, blob: (await drive.entry('/run.sh'))!.value.blob }),
      () => db.put(LISTING_KEY, { ...ref, blob: { ...ref.blob, blockOffset: 1_000_000 } }),
      () => writeListing(drive, listing('{"format":1,"version":', 3), drive.version),
      () => writeListing(drive, listing({ format: 1, version: 1, entries: [] }, 0), drive.version),
      () => writeListing(drive, listing({ format: 1, version: 2, entries: [] }, 3), 2),
      () => writeListing(drive, listing({ format: 1, version: 2, entries: [['/a', 7]] }, 1), 2),
    ]
    for (const [i, damage] of damaged.entries()) {
      await damage()
      const bDir_ = `${bDir}${i}`
      const b = await fx.readyNode({ network })
      await join(b, invite, bDir_)
      await synced(aDir, bDir_, b)
      expect(folderOf(b).lastListing ?? null).toBeNull()
      await b.close()
    }

    // A listing whose first block no peer has (the owner away, readers that never read it): the
    // reader waits `firstBlockMs` for it, then walks the tree.
    const saveFirst = LISTING.firstBlockMs
    LISTING.firstBlockMs = 300
    fx.defer(() => (LISTING.firstBlockMs = saveFirst))
    await db.put(LISTING_KEY, ref)
    const blobs = await drive.getBlobs()
    await (blobs.core as unknown as { clear(s: number, e: number): Promise<void> }).clear(
      ref.blob.blockOffset,
      ref.blob.blockOffset + 1,
    )
    // A reader holding the whole tree (a restart) does not wait for it: it walks its own tree.
    const snapshot = drive.checkout(drive.version)
    await expect(readListing(snapshot, blobs, { treeHere: true })).rejects.toThrow(
      'the tree is here but the listing is not',
    )
    await expect(readListing(snapshot, blobs)).rejects.toThrow('did not come in time')
    await snapshot.close()
    {
      const b = await fx.readyNode({ network })
      await join(b, invite, `${bDir}-gone`)
      await synced(aDir, `${bDir}-gone`, b)
      expect(folderOf(b).lastListing ?? null).toBeNull()
      await b.close()
    }

    // A listing whose entries try to escape the folder: refused one by one, as the tree's are.
    const blob = (await drive.entry('/run.sh'))!.value.blob
    const file = {
      executable: false,
      linkname: null,
      blob,
      metadata: { kind: 'file', mtime: 1, size: blob!.byteLength },
    }
    const entries: Array<[string, unknown]> = []
    for await (const e of drive.list('/', { recursive: true })) entries.push([e.key, e.value])
    entries.push(['/../escape.txt', file], ['/sub/../../escape2.txt', file])
    const version = drive.version
    const buf = Buffer.from(JSON.stringify({ format: 1, version, entries }))
    await writeListing(drive, { buf, entries: entries.length }, version)
    const b = await fx.readyNode({ network })
    const bDir_ = `${bDir}-hostile`
    await join(b, invite, bDir_)
    await synced(aDir, bDir_, b)
    expect(folderOf(b).lastListing).toMatchObject({ version, entries: entries.length })
    const refused = (await summary(b)).refused
    for (const p of ['/../escape.txt', '/sub/../../escape2.txt'])
      expect(refused).toContainEqual({ path: p, reason: 'path escapes the folder' })
    expect(await fs.readdir(outside)).toEqual([])
    expect(await fs.readdir(root)).not.toContain('escape.txt')
  }, 120_000)
})

describe('when the owner writes a listing', () => {
  it('waits for enough entries, then for enough change and time', () => {
    const min = LISTING.minEntries
    expect(listingWanted(min - 1, 100, null, 0)).toBe(false)
    expect(listingWanted(min, 100, null, 0)).toBe(true)
    expect(listingWanted(LISTING.maxEntries + 1, 100, null, 0)).toBe(false)
    const last = { version: 1000, at: 0 }
    const n = 400
    const due = n * LISTING.staleShare // new nodes since the last listing
    const later = LISTING.minIntervalMs
    expect(listingWanted(n, 1000 + due - 1, last, later)).toBe(false)
    expect(listingWanted(n, 1000 + due, last, later)).toBe(true)
    expect(listingWanted(n, 1000 + due, last, later - 1)).toBe(false)
    // Never fewer new nodes than minEntries, however small the tree.
    expect(listingWanted(min, 1000 + min - 1, last, later)).toBe(false)
  })
})
