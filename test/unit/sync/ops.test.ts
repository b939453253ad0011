// Parsed file ops: the shape they are kept in, and telling an op read back from the one recorded.
import { describe, expect, it } from 'vitest'
import {
  FileOpSchema,
  decodeOp,
  encodeOp,
  fileOpOf,
  plainFileOp,
  sameFileOp,
  type FileOp,
} from '../../../main/engine/sync/ops.ts'

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

describe('the plain file op check (decodeOp without the schema parser)', () => {
  /** Values a field can be set to, most of them wrong for most fields. */
  const odd: unknown[] = [
    null,
    undefined,
    true,
    0,
    -0,
    -1,
    1.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    '',
    'x',
    '/',
    'a1a1a1a1a1a1',
    'A1A1A1A1A1A1',
    'ef'.repeat(32),
    'EF'.repeat(32),
    'ef'.repeat(33),
    '/' + 'p'.repeat(4095),
    '/' + 'p'.repeat(4096),
    [],
    {},
    ['ef'.repeat(32), 0, 7, 1, 4096],
    [['ef'.repeat(32), 0, 7, 1, 4096, 9]],
    [['ef'.repeat(32), 0, 7, 1]],
    [['ef'.repeat(32), 0, -7, 1, 4096]],
    [['ef'.repeat(32), '0', 7, 1, 4096]],
    [core, 'zz'],
    { a1a1a1a1a1a1: 0 },
    { a1a1a1a1a1a1: 1.5 },
    { A1A1A1A1A1A1: 1 },
    { __proto__: 5 },
    'file',
    'deleted',
    'socket',
    // Two UTF-16 units but one code point, which is how the schema counts a string's length.
    '😀',
    '/😀',
    'a/',
  ]
  const fields = Object.keys(op()) as Array<keyof FileOp>

  /** What the schema makes of `raw`, in the shape decodeOp keeps. */
  function bySchema(raw: unknown): FileOp | null {
    const res = FileOpSchema.safeParse(raw)
    return res.success ? fileOpOf(res.data) : null
  }

  it('takes the ops devices write, as the schema parses them', () => {
    const samples = [
      op(),
      op({ kind: 'dir', hash: null, chunks: [], size: 0 }),
      op({ kind: 'symlink', hash: null, chunks: [], link: '../x' }),
      op({ kind: 'deleted', hash: null, chunks: [], vv: {} }),
      op({ x: true, path: '/ünï cödé/😀', cores: [core, 'b2'.repeat(32)] }),
    ]
    for (const o of samples) {
      const raw: unknown = JSON.parse(encodeOp(o).toString())
      const plain = plainFileOp(raw)
      expect(plain).not.toBeNull()
      expect(plain).toEqual(bySchema(JSON.parse(encodeOp(o).toString())))
    }
  })

  it('never takes what the schema refuses, and parses what it takes the same way', () => {
    let taken = 0
    let refused = 0
    const check = (raw: unknown): void => {
      const plain = plainFileOp(raw)
      const schema = bySchema(structuredClone(raw))
      if (plain) {
        taken++
        expect(schema).toEqual(plain)
      } else if (!schema) refused++
    }
    for (const f of fields) {
      for (const v of odd) check({ ...JSON.parse(encodeOp(op()).toString()), [f]: v })
      const missing = JSON.parse(encodeOp(op()).toString()) as Record<string, unknown>
      delete missing[f]
      check(missing)
      check({ ...missing, extra: 1 })
    }
    check({ ...JSON.parse(encodeOp(op()).toString()), extra: 1 })
    check(JSON.parse(`{"__proto__":1,${encodeOp(op()).toString().slice(1)}`))
    for (const v of odd) check(v)
    check({
      ...op(),
      vv: Object.fromEntries(
        Array.from({ length: 1025 }, (_, i) => [i.toString(16).padStart(12, '0'), 1]),
      ),
    })
    // Both kinds of answer came up: the check is not vacuous.
    expect(taken).toBeGreaterThan(20)
    expect(refused).toBeGreaterThan(200)
  })

  it('gives the schema the last word on what it does not take', () => {
    const raw = { ...JSON.parse(encodeOp(op()).toString()), path: '/' + 'p'.repeat(4096) }
    expect(plainFileOp(raw)).toBeNull()
    expect(() => decodeOp(Buffer.from(JSON.stringify(raw)))).toThrow(/not a valid op/)
    // An unknown field is dropped by the schema, as before.
    const extra = { ...JSON.parse(encodeOp(op()).toString()), note: 'hi' }
    expect(plainFileOp(extra)).toBeNull()
    expect(decodeOp(Buffer.from(JSON.stringify(extra)))).toEqual(op())
  })
})
