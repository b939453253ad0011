// Chunk content lives in each writer's blobs core: a chunk is stored once, as one or more blocks,
// and any op in the folder may point at it. Readers fetch chunks by (core, first block, count) and
// check them against the chunk hash the op names, whoever wrote it.
import crypto from 'hypercore-crypto'
import type Hypercore from 'hypercore'

/** Blocks of at most this size: big blocks replicate faster (PERF-NOTES), small ones dedup. */
export const BLOCK_SIZE = 256 * 1024
/** Pending blocks are appended once they reach this many bytes (at the next put or flush). */
const FLUSH_BYTES = 8 * 1024 * 1024

export interface ChunkLocation {
  core: string
  block: number
  blocks: number
  size: number
}

export function hashChunk(buf: Uint8Array): string {
  return crypto.hash(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)).toString('hex')
}

/** The whole-content hash: BLAKE2b-256 of every chunk hash, then the size (8 bytes, LE). */
export function contentHash(chunkHashes: string[], size: number): string {
  const parts = chunkHashes.map((h) => Buffer.from(h, 'hex'))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(size))
  parts.push(len)
  return crypto.hash(parts).toString('hex')
}

/** Appends chunks to a writer's blobs core in batches; knows where each will land. */
export class BlobWriter {
  private pending: Buffer[] = []
  private pendingBytes = 0

  constructor(
    private readonly core: Hypercore,
    /** The core's key, hex. */
    readonly coreHex: string,
  ) {}

  /**
   * Queues a chunk; returns where it will be once flushed. The buffer is copied, unless `owned`:
   * the caller hands it over and never writes to it again (a small file read whole, where the
   * copy was a third of the bytes indexing such files allocated).
   */
  async put(chunk: Uint8Array, owned = false): Promise<ChunkLocation> {
    // Flushed before queuing, not after: a flush that fails (a full disk) throws before this
    // chunk is queued, so the caller's retry does not queue it a second time.
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush()
    const block = this.core.length + this.pending.length
    let blocks = 0
    for (let i = 0; i < chunk.byteLength || (i === 0 && chunk.byteLength === 0); i += BLOCK_SIZE) {
      const part = chunk.subarray(i, i + BLOCK_SIZE)
      this.pending.push(
        owned ? Buffer.from(part.buffer, part.byteOffset, part.byteLength) : Buffer.from(part),
      )
      blocks++
      if (chunk.byteLength === 0) break
    }
    this.pendingBytes += chunk.byteLength
    return { core: this.coreHex, block, blocks, size: chunk.byteLength }
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return
    const blocks = this.pending
    const bytes = this.pendingBytes
    this.pending = []
    this.pendingBytes = 0
    try {
      await this.core.append(blocks)
    } catch (err) {
      // Not stored (a full disk): the blocks stay queued in front, so every location handed out
      // still names them and the next flush stores them there.
      this.pending = blocks.concat(this.pending)
      this.pendingBytes += bytes
      throw err
    }
  }
}
