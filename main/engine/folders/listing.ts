// A published folder's listing: every entry of the owner's tree at one version, written as one
// blob of the folder's content core. A reader's first pass reads it in a few blocks, then the
// tree's changes since that version (a diff), instead of walking the tree node by node: each
// node is a round trip to a peer, and 5,000 entries took 1.3-1.6 s to list that way against
// about 0.15 s from a listing (docs/ARCHITECTURE.md, Performance).
//
// The listing is only a faster way to read what the tree says. The owner writes it from a
// snapshot of its own tree; the reader checks it as it checks the tree (every entry goes through
// the same validation), and falls back to walking the tree when the listing is missing, too big,
// damaged, or does not come in time. Its reference lives in the tree's Hyperbee under a key of
// its own, outside Hyperdrive's `files` namespace, so no listing or diff of the files sees it,
// and readers that do not know it ignore it.
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import type { BlobId, DriveEntry, DriveEntryValue, Hyperblobs } from 'hyperdrive'
import { z } from 'zod'
import { waitAtMost } from '../util/wait.ts'

/** The reference's key in the drive's Hyperbee (utf-8, outside Hyperdrive's `files` keys). */
export const LISTING_KEY = 'spare/listing'
export const LISTING_FORMAT = 1

/** When the owner writes a listing, and how long a reader waits for one. Only tests change these. */
export const LISTING = {
  /** Trees smaller than this list fast enough node by node (about 0.25 s for 1,000). */
  minEntries: 1000,
  /** Past this the listing would be tens of MB to hold and parse in one piece. */
  maxEntries: 200_000,
  /**
   * A new listing once the tree has this share of its entries in new nodes since the last (and
   * at least `minEntries`): the listings then take about as much room as the tree's own growth
   * (an entry in a listing is about 230 bytes, a node of the tree more), and a reader's diff
   * from the last one covers at most half the tree.
   */
  staleShare: 0.5,
  /** And at most this often, whatever the changes (the first listing waits for nothing). */
  minIntervalMs: 30 * 60 * 1000,
  /** A reader waits this long for the reference and for the listing's blocks, then walks the tree. */
  waitMs: 10_000,
  /**
   * ...and this long for the listing's first block. The owner has it; other readers have it only
   * if they read it themselves, so with the owner away it may never come: walking the tree
   * starts after this, not after `waitMs`.
   */
  firstBlockMs: 3_000,
}
/** The largest listing a reader fetches and parses. */
export const LISTING_MAX_BYTES = 64 * 1024 * 1024
/** Hyperblobs writes 64 KiB blocks: a listing's are never bigger than this. */
const LISTING_BLOCK_MAX = 256 * 1024
/** Blocks of a listing asked for at once. */
const LISTING_FETCH_AHEAD = 16

const BlobIdSchema = z.object({
  blockOffset: z.number().int().nonnegative(),
  blockLength: z
    .number()
    .int()
    .positive()
    .max(LISTING_MAX_BYTES / (64 * 1024)),
  byteOffset: z.number().int().nonnegative(),
  byteLength: z.number().int().positive().max(LISTING_MAX_BYTES),
})

const RefSchema = z.object({
  format: z.literal(LISTING_FORMAT),
  /** The tree's version the listing was made at. */
  version: z.number().int().positive(),
  entries: z.number().int().nonnegative(),
  blob: BlobIdSchema,
})
export type ListingRef = z.infer<typeof RefSchema>

const ListingSchema = z.object({
  format: z.literal(LISTING_FORMAT),
  version: z.number().int().positive(),
  entries: z.array(z.tuple([z.string(), z.object({}).passthrough()])),
})

interface ListingDb {
  get(key: string): Promise<{ value: unknown } | null>
  put(key: string, value: unknown): Promise<void>
}
const dbOf = (drive: Hyperdrive): ListingDb => drive.db as unknown as ListingDb

/** Whether the owner should write a new listing now (see LISTING). */
export function listingWanted(
  entries: number,
  version: number,
  last: { version: number; at: number } | null,
  now: number,
): boolean {
  if (entries < LISTING.minEntries || entries > LISTING.maxEntries) return false
  if (!last) return true
  if (version - last.version < Math.max(LISTING.minEntries, entries * LISTING.staleShare))
    return false
  return now - last.at >= LISTING.minIntervalMs
}

/**
 * The listing of the owner's tree at `version`, encoded; null when the tree has more entries
 * than a listing holds. Read from a snapshot, so writes meanwhile change nothing in it.
 */
export async function buildListing(
  drive: Hyperdrive,
  version: number,
): Promise<{ buf: Buffer; entries: number } | null> {
  const snapshot = drive.checkout(version)
  try {
    const entries: Array<[string, DriveEntryValue]> = []
    for await (const entry of snapshot.list('/', { recursive: true })) {
      if (entries.length >= LISTING.maxEntries) return null
      entries.push([entry.key, entry.value])
    }
    const doc = { format: LISTING_FORMAT, version, entries }
    return { buf: Buffer.from(JSON.stringify(doc)), entries: entries.length }
  } finally {
    await snapshot.close().catch(() => {})
  }
}

/**
 * Appends the listing to the content core and points the tree at it. The caller makes sure
 * nothing else appends to the content core meanwhile (the owner's work queue).
 */
export async function writeListing(
  drive: Hyperdrive,
  listing: { buf: Buffer; entries: number },
  version: number,
): Promise<ListingRef> {
  const blobs = (await drive.getBlobs()) as Hyperblobs & { put(buf: Buffer): Promise<BlobId> }
  const blob = await blobs.put(listing.buf)
  const ref: ListingRef = { format: LISTING_FORMAT, version, entries: listing.entries, blob }
  await dbOf(drive).put(LISTING_KEY, ref)
  return ref
}

/** The owner's own newest listing reference (read locally), or null when it has none. */
export async function ownListing(drive: Hyperdrive): Promise<ListingRef | null> {
  const node = await dbOf(drive)
    .get(LISTING_KEY)
    .catch(() => null)
  const ref = RefSchema.safeParse(node?.value)
  return ref.success ? ref.data : null
}

/**
 * The entries of the listing a reader's snapshot points at, and the version they are of. Null
 * when the tree has no listing. Throws, saying why, when it has one that can't be used (the caller
 * then walks the tree): a damaged reference or blob, a version the snapshot does not have, or
 * blocks that did not come in time (LISTING), or, with `treeHere` (the reader holds every node of
 * the tree), blocks that are not here.
 */
export async function readListing(
  snapshot: Hyperdrive,
  blobs: { core: Hypercore },
  opts: { treeHere?: boolean } = {},
): Promise<{ version: number; entries: DriveEntry[] } | null> {
  const lookup = dbOf(snapshot).get(LISTING_KEY)
  lookup.catch(() => {}) // a late failure after the wait below is not an unhandled rejection
  let node: { value: unknown } | null | undefined
  await waitAtMost(
    lookup.then((n) => (node = n)),
    LISTING.waitMs,
  )
  if (node === undefined) throw new Error('its reference did not come in time')
  if (node === null) return null
  const ref = RefSchema.safeParse(node.value)
  if (!ref.success) throw new Error('its reference is damaged')
  const { blob, version } = ref.data
  if (version >= snapshot.version) throw new Error('it names a version the tree does not have')
  if (ref.data.entries > LISTING.maxEntries) throw new Error('it lists too many entries')
  const end = blob.blockOffset + blob.blockLength
  // The content core's length may not be known yet, just after the join.
  if (end > blobs.core.length)
    await waitAtMost(
      blobs.core.update({ wait: true }).catch(() => false),
      Math.min(LISTING.firstBlockMs, LISTING.waitMs),
    )
  if (end > blobs.core.length) throw new Error('its blocks lie past the end of the folder content')
  // With the whole tree here, walking it costs no round trip: a listing that is not here too is
  // not waited for (its peers may not have it).
  if (opts.treeHere && !(await blobs.core.has(blob.blockOffset, end)))
    throw new Error('the tree is here but the listing is not')
  const started = Date.now()
  const get = (i: number, ms: number): Promise<Buffer | null> =>
    ms > 0 ? blobs.core.get(i, { timeout: ms }).catch(() => null) : Promise.resolve(null)
  const first = await get(blob.blockOffset, Math.min(LISTING.firstBlockMs, LISTING.waitMs))
  if (!first) throw new Error('its first block did not come in time')
  // A few blocks at a time, each checked: a hostile owner's blocks could be of any size.
  const blocks: Buffer[] = []
  let bytes = 0
  const take = (block: Buffer | null): void => {
    if (!block) throw new Error('its blocks did not come in time')
    bytes += block.length
    if (block.length > LISTING_BLOCK_MAX || bytes > blob.byteLength)
      throw new Error('its blocks do not match its reference')
    blocks.push(block)
  }
  take(first)
  for (let at = blob.blockOffset + 1; at < end; at += LISTING_FETCH_AHEAD) {
    const left = LISTING.waitMs - (Date.now() - started)
    const batch = Array.from({ length: Math.min(LISTING_FETCH_AHEAD, end - at) }, (_, i) =>
      get(at + i, left),
    )
    for (const block of await Promise.all(batch)) take(block)
  }
  const all = Buffer.concat(blocks)
  if (all.length !== blob.byteLength) throw new Error('its blocks do not match its reference')
  let parsed: unknown
  try {
    parsed = JSON.parse(all.toString('utf8'))
  } catch {
    throw new Error('it is not valid JSON')
  }
  const listed = (parsed as { entries?: unknown } | null)?.entries
  if (!Array.isArray(listed) || listed.length !== ref.data.entries)
    throw new Error('it does not hold the entries its reference counts')
  const doc = ListingSchema.safeParse(parsed)
  if (!doc.success) throw new Error('it is not a listing of this format')
  if (doc.data.version !== version) throw new Error('it is of another version than its reference')
  return {
    version,
    entries: doc.data.entries.map(([key, value]) => ({
      seq: 0,
      key,
      // Checked entry by entry by the caller (parseRemoteEntry), as the tree's entries are.
      value: value as unknown as DriveEntryValue,
    })),
  }
}
