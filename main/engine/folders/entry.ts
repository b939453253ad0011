// What Spare stores in a drive entry's metadata, and how it is checked when it comes from a peer.
import { z } from 'zod'
import type { DriveEntry } from 'hyperdrive'

export const EntryMetaSchema = z.object({
  kind: z.enum(['file', 'dir', 'symlink']),
  /** Modification time in whole milliseconds. */
  mtime: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
  /**
   * A packed file (folders/owner.ts): its bytes start this far into the content of its blob's
   * blocks, which it shares with other small files. Absent: the file starts its blocks.
   */
  packed: z.number().int().nonnegative().optional(),
})
export type EntryMeta = z.infer<typeof EntryMetaSchema>

export interface RemoteEntry {
  key: string
  meta: EntryMeta
  executable: boolean
  linkname: string | null
  blob: { blockOffset: number; blockLength: number; byteOffset: number; byteLength: number } | null
  /** Identity of this version of the entry: equal strings mean equal content and attributes. */
  version: string
}

const BlobSchema = z.object({
  blockOffset: z.number().int().nonnegative(),
  blockLength: z.number().int().nonnegative(),
  byteOffset: z.number().int().nonnegative(),
  byteLength: z.number().int().nonnegative(),
})

/** A packed file may lie in at most this many blocks (a reader reads them whole). */
const MAX_PACK_BLOCKS = 4

/** Parses an entry from a peer's drive; throws with a reason when it is malformed. */
export function parseRemoteEntry(entry: DriveEntry): RemoteEntry {
  const meta = EntryMetaSchema.safeParse(entry.value.metadata)
  if (!meta.success) throw new Error('entry has no valid metadata')
  const value = entry.value
  // Folders and symlinks have no content to be packed in: `packed` means nothing for them.
  const { packed: _packed, ...unpacked } = meta.data
  if (meta.data.kind === 'symlink') {
    if (typeof value.linkname !== 'string' || !value.linkname || value.linkname.includes('\0')) {
      throw new Error('symlink entry has no valid target')
    }
    return {
      key: entry.key,
      meta: unpacked,
      executable: false,
      linkname: value.linkname,
      blob: null,
      version: `l:${value.linkname}:${meta.data.mtime}`,
    }
  }
  if (meta.data.kind === 'dir') {
    return {
      key: entry.key,
      meta: unpacked,
      executable: false,
      linkname: null,
      blob: null,
      version: 'd',
    }
  }
  const blob = value.blob === null ? null : BlobSchema.safeParse(value.blob)
  if (blob && !blob.success) throw new Error('file entry has an invalid blob reference')
  const b = blob ? blob.data : null
  if (meta.data.packed !== undefined) {
    // Packs are one block (owner.ts); a few are allowed, more would make a reader hold them all.
    if (!b) throw new Error('packed file entry has no blob')
    if (b.blockLength > MAX_PACK_BLOCKS) throw new Error('packed file entry spans too many blocks')
  }
  const size = b ? b.byteLength : 0
  return {
    key: entry.key,
    meta: { ...meta.data, size },
    executable: !!value.executable,
    linkname: null,
    blob: b,
    version: `f:${b ? `${b.byteOffset}+${b.byteLength}` : 'empty'}:${meta.data.mtime}:${value.executable ? 'x' : '-'}`,
  }
}
