// Parsed file ops: the shape they are kept in, and telling an op read back from the one recorded.
import { describe, expect, it } from 'vitest'
import { decodeOp, encodeOp, sameFileOp, type FileOp } from '../../../main/engine/sync/ops.ts'

const core = 'a1'.repeat(32)

function op(o: Partial<FileOp> = {}): FileOp {
  return {
    t: 'file',
    path: '/d/f.bin',
    vv: { a1a1a1a1a1a1: 3, b2b2b2b2b2b2: 1 },
    kind: 'file',
    mtime: 1_790_000_000_123,
    size: 4096,
    x: false,
    hash: 'cd'.repeat(32),
    chunkSize: 65536,
    cores: [core],
    chunks: [['ef'.repeat(32), 0, 7, 1, 4096]],
    link: null,
    origin: 'a1a1a1a1a1a1',
    at: 1_790_000_000_456,
    ...o,
  }
}

describe('file ops', () => {
  it('reads back as the same op, with the core list shared among ops', () => {
    const a = decodeOp(encodeOp(op())) as FileOp
    const b = decodeOp(encodeOp(op({ path: '/d/g.bin' }))) as FileOp
    expect(a).toEqual(op())
    expect(sameFileOp(a, op())).toBe(true)
    expect(a.cores).toBe(b.cores)
    expect(Object.isFrozen(a.cores)).toBe(true)
  })

  it('tells ops that differ in any field apart', () => {
    const differ: Array<Partial<FileOp>> = [
      { path: '/d/g.bin' },
      { vv: { a1a1a1a1a1a1: 3 } },
      { vv: { a1a1a1a1a1a1: 3, b2b2b2b2b2b2: 2 } },
      { vv: { a1a1a1a1a1a1: 3, c3c3c3c3c3c3: 1 } },
      { kind: 'deleted' },
      { mtime: 1 },
      { size: 1 },
      { x: true },
      { hash: 'ce'.repeat(32) },
      { chunkSize: 1 },
      { cores: [core, 'b2'.repeat(32)] },
      { chunks: [['ef'.repeat(32), 0, 8, 1, 4096]] },
      { chunks: [] },
      { link: 'x' },
      { origin: 'b2b2b2b2b2b2' },
      { at: 2 },
    ]
    for (const d of differ) expect(sameFileOp(op(d), op()), JSON.stringify(d)).toBe(false)
  })
})

describe('bounds on what an op names', () => {
  it('refuses a chunk larger than any device makes, in bytes or in blocks', () => {
    // Every member fetches a chunk's blocks at once and holds it whole: a billion blocks named
    // by one op ran each of them out of memory at every start.
    const h = 'ef'.repeat(32)
    const bad: FileOp['chunks'] = [
      [h, 0, 0, 1_000_000_000, 4096],
      [h, 0, 0, 65, 4096],
      [h, 0, 0, 1, 16 * 1024 * 1024 + 1],
      [h, 0, 0, 1, 2 ** 50],
    ]
    for (const c of bad) {
      expect(() => decodeOp(encodeOp(op({ chunks: [c] }))), JSON.stringify(c)).toThrow(
        'a chunk is larger than any device makes',
      )
    }
    // The largest an honest device writes: 16 MiB in 64 blocks of 256 KiB.
    const big = op({ size: 16 * 1024 * 1024, chunks: [[h, 0, 0, 64, 16 * 1024 * 1024]] })
    expect(decodeOp(encodeOp(big))).toEqual(big)
  })
})
