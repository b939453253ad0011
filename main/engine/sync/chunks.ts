// Files split into fixed-size chunks for delta transfer, the way Syncthing does it: a peer that has
// an older version fetches only the chunks whose hashes changed. The chunk size grows with the
// file so a big file stays at no more than 2000 chunks. Every hash is BLAKE2b-256, in hex.
//
// The content hash is BLAKE2b-256 over all chunk hashes (raw, 32 bytes each, in order) followed
// by the size as 8 bytes little-endian, so an empty file has a well-defined hash as well.
import { promises as fs } from 'node:fs'
import * as sodium from 'sodium-native'
import { readAt } from '../util/fs-calls.ts'

const HASH_BYTES = 32
const SIZE_BYTES = 8
const MIN_CHUNK = 128 * 1024
export const MAX_CHUNK = 16 * 1024 * 1024
const MAX_CHUNKS = 2000

export interface ChunkInfo {
  /** Hex BLAKE2b-256 of the chunk's bytes. */
  hash: string
  size: number
}

export interface FileDigest {
  /** Hex, identity of the whole content (see the top of this file). */
  hash: string
  size: number
  chunkSize: number
  chunks: ChunkInfo[]
}

/**
 * The chunk size for a file of `size` bytes: the smallest power of two from 128 KiB up to 16 MiB
 * that keeps it at no more than 2000 chunks (16 MiB for anything bigger than that allows).
 */
export function chunkSizeFor(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad file size: ${size}`)
  let chunkSize = MIN_CHUNK
  while (chunkSize < MAX_CHUNK && Math.ceil(size / chunkSize) > MAX_CHUNKS) chunkSize *= 2
  return chunkSize
}

/**
 * Reads the file once, chunk by chunk into one reused buffer. Rejects with code 'ECHANGED' when
 * the file's size or modification time changes while it is read (it is being written: try again
 * later), and with the signal's reason when aborted between chunks.
 */
export async function digestFile(
  file: string,
  opts: { signal?: AbortSignal } = {},
): Promise<FileDigest> {
  const { signal } = opts
  signal?.throwIfAborted()
  const fh = await fs.open(file, 'r')
  try {
    const before = await fh.stat()
    if (!before.isFile()) throw new Error(`not a regular file: ${file}`)
    const size = before.size
    const chunkSize = chunkSizeFor(size)
    const digest = new Digest(size, chunkSize)
    // Two buffers, never bigger than the file (one byte at least, for the check for growth at the
    // end): the next chunk is read while the current one is hashed.
    const bufLen = Math.max(1, Math.min(chunkSize, size))
    const bufs = [Buffer.allocUnsafe(bufLen), size > chunkSize ? Buffer.allocUnsafe(bufLen) : null]
    const count = Math.ceil(size / chunkSize)
    const lengthOf = (i: number): number => Math.min(chunkSize, size - i * chunkSize)
    let reading = count > 0 ? readFully(fh, bufs[0]!, lengthOf(0), 0, file) : null
    for (let i = 0; i < count; i++) {
      await reading
      // Nothing is being read here, so throwing leaves no read behind on the closed handle.
      signal?.throwIfAborted()
      const next = i + 1
      reading =
        next < count ? readFully(fh, bufs[next % 2]!, lengthOf(next), next * chunkSize, file) : null
      digest.add(bufs[i % 2]!.subarray(0, lengthOf(i)))
    }
    const { bytesRead } = await fh.read(bufs[0]!, 0, 1, size)
    if (bytesRead !== 0) throw changed(file) // grew
    const after = await fh.stat()
    if (after.size !== size || after.mtimeMs !== before.mtimeMs) throw changed(file)
    return digest.finish()
  } finally {
    await fh.close()
  }
}

/** The digest of in-memory content; equal to digestFile() of a file holding the same bytes. */
export function digestBuffer(buf: Buffer): FileDigest {
  const size = buf.length
  const chunkSize = chunkSizeFor(size)
  const digest = new Digest(size, chunkSize)
  for (let pos = 0; pos < size; pos += chunkSize) {
    digest.add(buf.subarray(pos, Math.min(pos + chunkSize, size)))
  }
  return digest.finish()
}

/** Collects the chunk hashes side by side in one buffer, with room for the size at the end. */
class Digest {
  private readonly hashes: Buffer
  private readonly chunks: ChunkInfo[] = []

  constructor(
    private readonly size: number,
    private readonly chunkSize: number,
  ) {
    const count = Math.ceil(size / chunkSize)
    this.hashes = Buffer.alloc(count * HASH_BYTES + SIZE_BYTES)
    this.hashes.writeBigUInt64LE(BigInt(size), count * HASH_BYTES)
  }

  add(chunk: Uint8Array): void {
    const start = this.chunks.length * HASH_BYTES
    const end = start + HASH_BYTES
    sodium.crypto_generichash(this.hashes.subarray(start, end), chunk)
    this.chunks.push({ hash: this.hashes.toString('hex', start, end), size: chunk.byteLength })
  }

  finish(): FileDigest {
    const out = Buffer.alloc(HASH_BYTES)
    sodium.crypto_generichash(out, this.hashes)
    return {
      hash: out.toString('hex'),
      size: this.size,
      chunkSize: this.chunkSize,
      chunks: this.chunks,
    }
  }
}

/**
 * Fills buf[0, len) from the file at pos; the file shrank if it ends first. The file is a
 * FileHandle or a descriptor from util/fs-calls.ts.
 */
export async function readFully(
  fh: fs.FileHandle | number,
  buf: Buffer,
  len: number,
  pos: number,
  file: string,
): Promise<void> {
  for (let filled = 0; filled < len;) {
    const n =
      typeof fh === 'number'
        ? await readAt(fh, buf, filled, len - filled, pos + filled)
        : (await fh.read(buf, filled, len - filled, pos + filled)).bytesRead
    if (n === 0) throw changed(file)
    filled += n
  }
}

/** The error a read that found a file shorter than expected throws: it is being written. */
function changed(file: string): Error {
  const err: NodeJS.ErrnoException = new Error(`file changed while it was read: ${file}`)
  err.code = 'ECHANGED'
  return err
}
