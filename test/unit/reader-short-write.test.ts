// A published folder's reader must never place a file that was not written whole. Two real nodes
// on a local testnet; at B the write of the last block of a file's temp copy takes only half of
// it, as a write does when the disk fills up, and the next write fails with ENOSPC (the file
// handle's writes are wrapped: the process edge). The file must not appear under its name short:
// the reader reports the full disk, retries, and places the whole file once writes succeed.
import { afterEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { TEMP_PREFIX } from '../../main/engine/folders/safe-path.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const realOpen = fs.open
let restore: (() => void) | null = null

afterEach(() => {
  fs.open = realOpen
  restore?.()
  restore = null
})

/**
 * Cuts short the last write into the first temp file opened under `dir` for a file of `size`
 * bytes, then fails the next write to it with ENOSPC. Returns what happened.
 */
function cutLastWrite(dir: string, size: number): { cut: boolean; failed: boolean } {
  const state = { cut: false, failed: false }
  const watched = new WeakMap<FileHandle, { written: number }>()
  let proto: { write: FileHandle['write'] } | null = null
  fs.open = (async (...args: Parameters<typeof fs.open>) => {
    const fh = await realOpen(...args)
    const file = String(args[0])
    if (!state.cut && path.dirname(file) === dir && path.basename(file).startsWith(TEMP_PREFIX)) {
      watched.set(fh, { written: 0 })
    }
    if (!proto) {
      proto = Object.getPrototypeOf(fh) as { write: FileHandle['write'] }
      const realWrite = proto.write
      const write = realWrite as (...a: unknown[]) => Promise<{ bytesWritten: number }>
      proto.write = async function (this: FileHandle, ...w: unknown[]) {
        const seen = watched.get(this)
        const [buf, offset, length, position] = w as [Uint8Array, number, number, number | null]
        if (seen && state.cut) {
          watched.delete(this)
          state.failed = true
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
          })
        }
        if (seen && typeof length === 'number' && seen.written + length === size && length > 1) {
          state.cut = true
          return write.call(this, buf, offset, Math.floor(length / 2), position)
        }
        const res = await write.apply(this, w)
        if (seen) seen.written += res.bytesWritten
        return res
      } as FileHandle['write']
      restore = () => {
        if (proto) proto.write = realWrite
      }
    }
    return fh
  }) as typeof fs.open
  return state
}

describe('a published folder reader', () => {
  it('never places a file whose last write was cut short by a full disk', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-short-')
    const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    await fs.mkdir(aDir)
    const size = 1024 * 1024 + 100_000
    const data = randomBytes(size)
    await fs.writeFile(path.join(aDir, 'big.bin'), data)
    const shared = (await new SpareService(a).call('folders.share', {
      path: aDir,
      mode: 'publish',
    })) as { invite: string }
    await fs.mkdir(bDir)
    const state = cutLastWrite(bDir, size)
    const bs = new SpareService(b)
    await bs.call('folders.join', { invite: shared.invite, path: bDir })
    const bFile = path.join(bDir, 'big.bin')
    // Whenever the file is there under its name, it is whole.
    let sawError = false
    await waitFor(
      async () => {
        const [f] = (await bs.call('folders.list', {})) as FolderSummary[]
        if (f?.state === 'error' && /disk full/.test(f.error ?? '')) sawError = true
        const got = await fs.readFile(bFile).catch(() => null)
        if (got) {
          expect(got.length).toBe(size)
          expect(got.equals(data)).toBe(true)
          return true
        }
        return false
      },
      60_000,
      'big.bin at B',
    )
    expect(state.cut).toBe(true)
    expect(state.failed).toBe(true)
    expect(sawError).toBe(true)
  }, 120_000)
})
