// Writing all of a buffer through a file handle.
import type { FileHandle } from 'node:fs/promises'

/** The part of a FileHandle that writeFully uses. */
export type Writable = Pick<FileHandle, 'write'>

/**
 * Writes `length` bytes of `buf` from `offset`, at `position` (null: where the handle is).
 * A write may take fewer bytes than it was given without failing: a disk that fills up takes
 * what fits, and only the next write fails (ENOSPC). So this writes again until every byte is
 * taken; a write that takes nothing is reported as a full disk rather than tried for ever.
 */
export async function writeFully(
  fh: Writable,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number | null,
): Promise<void> {
  let done = 0
  while (done < length) {
    const { bytesWritten } = await fh.write(
      buf,
      offset + done,
      length - done,
      position === null ? null : position + done,
    )
    if (bytesWritten <= 0) {
      const err = new Error('no room left on the device: a write took no bytes')
      throw Object.assign(err, { code: 'ENOSPC' })
    }
    done += bytesWritten
  }
}
