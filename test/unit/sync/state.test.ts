import { describe, expect, it } from 'vitest'
import { compare, merge, bump, vvKey } from '../../../main/engine/sync/vv.ts'
import { SyncState, rank } from '../../../main/engine/sync/state.ts'
import {
  decodeOp,
  encodeOp,
  deviceOf,
  type FileOp,
  type Op,
} from '../../../main/engine/sync/ops.ts'
import { conflictName, isConflictName } from '../../../main/engine/sync/conflict-name.ts'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const C = 'c'.repeat(64)
const dA = deviceOf(A)
const dB = deviceOf(B)
const dC = deviceOf(C)

function file(p: string, vv: Record<string, number>, o: Partial<FileOp> = {}): FileOp {
  const origin = o.origin ?? Object.keys(vv).sort((x, y) => (vv[y] ?? 0) - (vv[x] ?? 0))[0] ?? dA
  return {
    t: 'file',
    path: p,
    vv,
    kind: 'file',
    mtime: 1000,
    size: 3,
    x: false,
    hash: (o.hash ?? 'f'.repeat(64)) as string,
    chunkSize: 131072,
    cores: [],
    chunks: [],
    link: null,
    origin,
    at: 1,
    ...o,
  }
}

const h = (c: string): string => c.repeat(64)

/** A state where B and C were added by A (the root). */
function group(): SyncState {
  const s = new SyncState(A)
  s.apply(A, 0, { t: 'init', blobs: h('1'), label: 'a', at: 0, proof: null })
  s.apply(A, 1, { t: 'invite', pub: h('9'), expires: 1e15 })
  s.apply(A, 2, { t: 'add', key: B, invite: h('9') })
  s.apply(A, 3, { t: 'invite', pub: h('8'), expires: 1e15 })
  s.apply(A, 4, { t: 'add', key: C, invite: h('8') })
  s.apply(B, 0, { t: 'init', blobs: h('2'), label: 'b', at: 0, proof: null })
  s.apply(C, 0, { t: 'init', blobs: h('3'), label: 'c', at: 0, proof: null })
  return s
}

describe('version vectors', () => {
  it('compares', () => {
    expect(compare({ a: 1 }, { a: 1 })).toBe('equal')
    expect(compare({ a: 1 }, { a: 2 })).toBe('before')
    expect(compare({ a: 2 }, { a: 1 })).toBe('after')
    expect(compare({ a: 1 }, { b: 1 })).toBe('concurrent')
    expect(compare({}, { a: 1 })).toBe('before')
    expect(compare({ a: 1, b: 0 }, { a: 1 })).toBe('equal')
    expect(compare({ a: 2, b: 1 }, { a: 1, b: 2 })).toBe('concurrent')
  })
  it('merges, bumps and keys canonically', () => {
    expect(merge({ a: 2, b: 1 }, { b: 3, c: 1 })).toEqual({ a: 2, b: 3, c: 1 })
    expect(bump({ a: 2 }, 'b', 5)).toEqual({ a: 2, b: 5 })
    expect(bump({ b: 7 }, 'b', 5)).toEqual({ b: 8 })
    expect(vvKey({ b: 1, a: 2 })).toBe(vvKey({ a: 2, b: 1 }))
    expect(vvKey({ a: 1, z: 0 })).toBe('a:1')
  })
})

describe('ops from peers', () => {
  it('round-trips and refuses malformed ops with a reason', () => {
    const op = file('/x', { [dA]: 1 })
    expect(decodeOp(encodeOp(op))).toEqual(op)
    expect(() => decodeOp(Buffer.from('{nope'))).toThrow(/not JSON/)
    expect(() => decodeOp(Buffer.from(JSON.stringify({ t: 'file' })))).toThrow(/not a valid op/)
    const badChunk = { ...op, chunks: [[h('1'), 3, 0, 1, 10]] }
    expect(() => decodeOp(Buffer.from(JSON.stringify(badChunk)))).toThrow(
      /core the op does not list/,
    )
    const noHash = { ...op, hash: null }
    expect(() => decodeOp(Buffer.from(JSON.stringify(noHash)))).toThrow(/no content hash/)
    const badVv = { ...op, vv: { nothex: 1 } }
    expect(() => decodeOp(Buffer.from(JSON.stringify(badVv)))).toThrow(/not a valid op/)
  })
})

describe('merged state', () => {
  it('a dominated version is history; the newest is current', () => {
    const s = group()
    s.apply(A, 5, file('/f', { [dA]: 1 }, { hash: h('1') }))
    s.apply(B, 1, file('/f', { [dA]: 1, [dB]: 2 }, { hash: h('2') }))
    expect(s.frontier('/f')).toHaveLength(1)
    expect(s.current('/f')?.op.hash).toBe(h('2'))
    expect(s.versions('/f')).toHaveLength(2)
    expect(s.resolution('/f', 5)).toBeNull()
  })

  it('concurrent versions: later mtime wins, the other becomes a conflict copy; merged vector dominates both', () => {
    const s = group()
    s.apply(A, 5, file('/d/r.txt', { [dA]: 1 }, { hash: h('1'), mtime: 2000 }))
    s.apply(B, 1, file('/d/r.txt', { [dB]: 1 }, { hash: h('2'), mtime: 3000 }))
    expect(s.current('/d/r.txt')?.op.hash).toBe(h('2'))
    const plan = s.resolution('/d/r.txt', 99)!
    expect(plan.merge.hash).toBe(h('2'))
    expect(compare(plan.merge.vv, { [dA]: 1 })).toBe('after')
    expect(compare(plan.merge.vv, { [dB]: 1 })).toBe('after')
    expect(plan.copies).toHaveLength(1)
    expect(plan.copies[0]!.path).toBe(conflictName('/d/r.txt', 2000, dA))
    expect(plan.copies[0]!.hash).toBe(h('1'))
    // Two devices recording the same resolution converge: equal vectors and content are one version.
    s.apply(A, 6, { ...plan.merge, at: 100 })
    s.apply(C, 1, { ...plan.merge, at: 101 })
    expect(s.frontier('/d/r.txt')).toHaveLength(1)
  })

  it('an edit beats a concurrent delete, with no conflict copy', () => {
    const s = group()
    s.apply(A, 5, file('/k', { [dA]: 1 }, { hash: h('1') }))
    s.apply(A, 6, file('/k', { [dA]: 2 }, { kind: 'deleted', hash: null, mtime: 9e12 }))
    s.apply(B, 1, file('/k', { [dA]: 1, [dB]: 3 }, { hash: h('2'), mtime: 1 }))
    expect(s.current('/k')?.op.kind).toBe('file')
    expect(s.resolution('/k', 1)!.copies).toEqual([])
  })

  it('the same content written concurrently is not a conflict copy', () => {
    const s = group()
    s.apply(A, 5, file('/same', { [dA]: 1 }, { hash: h('1'), mtime: 1 }))
    s.apply(B, 1, file('/same', { [dB]: 1 }, { hash: h('1'), mtime: 2 }))
    expect(s.resolution('/same', 1)!.copies).toEqual([])
  })

  it('does not recreate a conflict copy someone already handled', () => {
    const s = group()
    s.apply(A, 5, file('/c', { [dA]: 1 }, { hash: h('1'), mtime: 1000 }))
    s.apply(B, 1, file('/c', { [dB]: 1 }, { hash: h('2'), mtime: 2000 }))
    const copyPath = conflictName('/c', 1000, dA)
    s.apply(C, 1, file(copyPath, { [dA]: 1, [dC]: 1 }, { kind: 'deleted', hash: null }))
    expect(s.resolution('/c', 1)!.copies).toEqual([])
  })

  it('is the same whatever order the logs arrive in', () => {
    const ops: Array<[string, Op]> = [
      [A, file('/p', { [dA]: 1 }, { hash: h('1'), mtime: 5 })],
      [B, file('/p', { [dB]: 1 }, { hash: h('2'), mtime: 5 })],
      [C, file('/p', { [dC]: 1 }, { hash: h('3'), mtime: 4 })],
      [C, file('/q', { [dC]: 2 }, { hash: h('4') })],
      [A, file('/q', { [dA]: 2, [dC]: 2 }, { kind: 'deleted', hash: null })],
    ]
    const results = new Set<string>()
    for (let perm = 0; perm < 30; perm++) {
      const s = group()
      const seqs = new Map<string, number>([
        [A, 5],
        [B, 1],
        [C, 1],
      ])
      // Shuffle across logs but keep each log's order.
      const queues = new Map<string, Op[]>()
      for (const [w, op] of ops) queues.set(w, [...(queues.get(w) ?? []), op])
      let x = perm + 1
      while ([...queues.values()].some((q) => q.length)) {
        x = (x * 1103515245 + 12345) % 2 ** 31
        const ws = [...queues.keys()].filter((k) => queues.get(k)!.length)
        const w = ws[x % ws.length]!
        const seq = seqs.get(w)!
        s.apply(w, seq, queues.get(w)!.shift()!)
        seqs.set(w, seq + 1)
      }
      results.add(
        JSON.stringify(['/p', '/q'].map((p) => [s.current(p)?.op.hash, s.resolution(p, 0)])),
      )
    }
    expect(results.size).toBe(1)
  })

  it('ranks deterministically: live > deleted, then mtime, then device, then content', () => {
    const base = file('/r', { [dA]: 1 })
    expect(rank(base, { ...base, kind: 'deleted', mtime: 9e9 })).toBeGreaterThan(0)
    expect(rank({ ...base, mtime: 2 }, { ...base, mtime: 1 })).toBeGreaterThan(0)
    expect(rank({ ...base, origin: dB }, { ...base, origin: dA })).toBeGreaterThan(0)
    expect(rank({ ...base, hash: h('2') }, { ...base, hash: h('1') })).toBeGreaterThan(0)
  })
})

describe('membership', () => {
  it('adds writers by invite and refuses logs nobody added', () => {
    const s = group()
    expect([...s.members().keys()].sort()).toEqual([A, B, C])
    const stranger = 'd'.repeat(64)
    s.addLog(stranger)
    s.apply(stranger, 0, file('/evil', { [deviceOf(stranger)]: 1 }))
    expect(s.current('/evil')).toBeNull()
    expect(s.invites().used).toEqual(new Set([h('9'), h('8')]))
  })

  it('a removed writer keeps what it wrote before the cut and loses everything after', () => {
    const s = group()
    s.apply(C, 1, file('/before', { [dC]: 1 }))
    s.apply(C, 2, file('/after', { [dC]: 2 }))
    s.apply(A, 5, { t: 'remove', key: C, upTo: 2 })
    expect(s.members().get(C)?.removed).toBe(true)
    expect(s.current('/before')).not.toBeNull()
    expect(s.current('/after')).toBeNull()
    // Its later membership ops do nothing either.
    s.apply(C, 3, { t: 'remove', key: A, upTo: 0 })
    expect(s.members().get(A)?.removed).toBe(false)
  })

  it('mutual removals resolve the same way on every device', () => {
    const one = group()
    const two = group()
    one.apply(B, 1, { t: 'remove', key: C, upTo: 1 })
    one.apply(C, 1, { t: 'remove', key: B, upTo: 1 })
    two.apply(C, 1, { t: 'remove', key: B, upTo: 1 })
    two.apply(B, 1, { t: 'remove', key: C, upTo: 1 })
    const summary = (s: SyncState): string =>
      JSON.stringify([...s.members().values()].map((m) => [m.key.slice(0, 1), m.removed]))
    expect(summary(one)).toBe(summary(two))
    // B sorts first: its removal of C counts, C's removal of B (after the cut) does not.
    expect(one.members().get(C)?.removed).toBe(true)
    expect(one.members().get(B)?.removed).toBe(false)
  })
})

describe('conflict names', () => {
  it('follows Syncthing: NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT', () => {
    const t = Date.UTC(2026, 10, 26, 7, 5, 9)
    expect(conflictName('/a/report.final.pdf', t, 'abc123abc123')).toBe(
      '/a/report.final.sync-conflict-20261126-070509-abc123abc123.pdf',
    )
    expect(conflictName('/.bashrc', t, 'x')).toBe('/.bashrc.sync-conflict-20261126-070509-x')
    expect(conflictName('/Makefile', t, 'x')).toBe('/Makefile.sync-conflict-20261126-070509-x')
    expect(isConflictName('/a/b.sync-conflict-20261126-070509-abc.txt')).toBe(true)
    expect(isConflictName('/a/b.txt')).toBe(false)
  })
})

describe('content hashes', () => {
  it('the writer path (blobs.ts) and digestFile agree', async () => {
    const { digestBuffer } = await import('../../../main/engine/sync/chunks.ts')
    const { contentHash, hashChunk } = await import('../../../main/engine/sync/blobs.ts')
    const { randomBytes } = await import('node:crypto')
    for (const size of [0, 1, 131072, 131073, 1_000_000]) {
      const buf = randomBytes(size)
      const d = digestBuffer(buf)
      const hashes: string[] = []
      for (let i = 0; i < size; i += d.chunkSize)
        hashes.push(hashChunk(buf.subarray(i, i + d.chunkSize)))
      expect(contentHash(hashes, size)).toBe(d.hash)
      expect(hashes).toEqual(d.chunks.map((c) => c.hash))
    }
  })
})

describe('retention', () => {
  it('keeps the blocks of current versions and of versions replaced after the cutoff', async () => {
    const { keptContent, unkeptRanges } = await import('../../../main/engine/sync/sync-folder.ts')
    const s = group()
    const core = h('7')
    const v = (n: number, at: number, blocks: [number, number]): FileOp =>
      file(
        '/f',
        { [dA]: n },
        {
          at,
          hash: h(String(n)),
          cores: [core],
          chunks: [[h(String(n)), 0, blocks[0], blocks[1], 10]],
        },
      )
    s.apply(A, 5, v(1, 100, [0, 2])) // replaced at 200: expired with cutoff 250
    s.apply(A, 6, v(2, 200, [2, 2])) // replaced at 300: kept
    s.apply(A, 7, v(3, 300, [4, 1])) // current
    const { blocks, chunks } = keptContent(s, 250)
    expect([...(blocks.get(core) ?? [])].sort()).toEqual([2, 3, 4])
    expect(chunks.has(h('1'))).toBe(false)
    expect(chunks.has(h('3'))).toBe(true)
    expect(unkeptRanges(blocks.get(core), 8)).toEqual([
      [0, 2],
      [5, 8],
    ])
    expect(unkeptRanges(undefined, 3)).toEqual([[0, 3]])
    expect(unkeptRanges(new Set([0, 1, 2]), 3)).toEqual([])
  })
})

describe('member labels', () => {
  it("shows a member's label and blobs core once its init op arrives after the add", () => {
    const s = new SyncState(A)
    s.apply(A, 0, { t: 'init', blobs: h('1'), label: 'laptop', at: 0, proof: null })
    s.apply(A, 1, { t: 'invite', pub: h('9'), expires: 1e15 })
    s.apply(A, 2, { t: 'add', key: B, invite: h('9') })
    s.addLog(B)
    // B is a member before its own log is read: no label yet.
    expect(s.members().get(B)).toMatchObject({ label: '', blobs: null })
    s.apply(B, 0, { t: 'init', blobs: h('2'), label: 'desktop', at: 0, proof: null })
    expect(s.members().get(B)).toMatchObject({ label: 'desktop', blobs: h('2') })
    expect(s.members().get(A)).toMatchObject({ label: 'laptop' })
  })
})

describe('membership after a removal', () => {
  it("a removed writer's later removals never count, whichever key sorts first", () => {
    // B sorts before C: its removal of A (after its own cut) was once applied first.
    const s = group()
    s.apply(C, 1, { t: 'remove', key: B, upTo: 1 })
    s.apply(B, 1, { t: 'invite', pub: h('7'), expires: 1e15 })
    s.apply(B, 2, { t: 'remove', key: A, upTo: 0 })
    expect(s.members().get(B)?.removed).toBe(true)
    expect(s.members().get(A)?.removed).toBe(false)
    expect(s.members().get(C)?.removed).toBe(false)
  })

  it('a removed writer cannot remove a third member after its cut, though its key sorts first', () => {
    const s = group()
    const D = 'd'.repeat(64)
    s.apply(A, 5, { t: 'invite', pub: h('7'), expires: 1e15 })
    s.apply(A, 6, { t: 'add', key: D, invite: h('7') })
    s.apply(C, 1, { t: 'remove', key: B, upTo: 1 })
    s.apply(B, 1, { t: 'remove', key: D, upTo: 0 })
    expect(s.members().get(B)?.removed).toBe(true)
    expect(s.members().get(D)?.removed).toBe(false)
    // B having read C's log past C's removal of it: not concurrent, C's removal stands.
    const t = group()
    t.apply(C, 1, { t: 'remove', key: B, upTo: 1 })
    t.apply(B, 1, { t: 'remove', key: C, upTo: 2 })
    expect(t.members().get(B)?.removed).toBe(true)
    expect(t.members().get(C)?.removed).toBe(false)
  })

  it('a writer a removed member added after its cut can remove no one', () => {
    const s = group()
    const D = '0'.repeat(64)
    s.apply(A, 5, { t: 'remove', key: B, upTo: 1 })
    s.apply(B, 1, { t: 'add', key: D, invite: h('6') })
    s.apply(D, 0, { t: 'init', blobs: h('4'), label: 'd', at: 0, proof: null })
    s.apply(D, 1, { t: 'remove', key: A, upTo: 0 })
    s.apply(A, 6, file('/kept', { [dA]: 1 }))
    expect(s.members().has(D)).toBe(false)
    expect(s.members().get(A)?.removed).toBe(false)
    expect(s.current('/kept')).not.toBeNull()
  })

  it('invites a removed member recorded are no longer open', () => {
    const s = group()
    s.apply(B, 1, { t: 'invite', pub: h('7'), expires: 1e15 })
    expect(s.invites().open.has(h('7'))).toBe(true)
    s.apply(A, 5, { t: 'remove', key: B, upTo: 2 })
    expect(s.invites().open.has(h('7'))).toBe(false)
    expect(s.invites().open.has(h('9'))).toBe(true)
  })
})

describe('membership with two paths to a member', () => {
  it("a member's removal of the writer above it counts while another add still admits it", () => {
    // A adds C (seq 2) and D (seq 4); C adds E, which adds B; D adds B too. B is found through
    // D (the shorter path) but also belongs through C, added before the cut B names.
    const s = new SyncState(A)
    const D = 'd'.repeat(64)
    const E = 'e'.repeat(64)
    s.apply(A, 0, { t: 'init', blobs: h('1'), label: 'a', at: 0, proof: null })
    s.apply(A, 1, { t: 'invite', pub: h('9'), expires: 1e15 })
    s.apply(A, 2, { t: 'add', key: C, invite: h('9') })
    s.apply(A, 3, { t: 'invite', pub: h('8'), expires: 1e15 })
    s.apply(A, 4, { t: 'add', key: D, invite: h('8') })
    s.apply(C, 0, { t: 'init', blobs: h('3'), label: 'c', at: 0, proof: null })
    s.apply(C, 1, { t: 'add', key: E, invite: h('7') })
    s.apply(E, 0, { t: 'init', blobs: h('5'), label: 'e', at: 0, proof: null })
    s.apply(E, 1, { t: 'add', key: B, invite: h('6') })
    s.apply(D, 0, { t: 'init', blobs: h('4'), label: 'd', at: 0, proof: null })
    s.apply(D, 1, { t: 'add', key: B, invite: h('6') })
    s.apply(B, 0, { t: 'init', blobs: h('2'), label: 'b', at: 0, proof: null })
    expect(s.members().get(B)?.addedBy).toBe(D)
    s.apply(B, 1, { t: 'remove', key: A, upTo: 3 })
    expect(s.members().get(A)?.removed).toBe(true)
    expect(s.members().get(B)?.removed).toBe(false)
    expect(s.members().has(D)).toBe(false)
  })
})

describe('member labels from peers', () => {
  it('shows no control characters a member put in its label', () => {
    const s = new SyncState(A)
    s.apply(A, 0, {
      t: 'init',
      blobs: h('1'),
      label: 'x\u001b]0;pwned\u0007\u009by\n',
      at: 0,
      proof: null,
    })
    expect(s.members().get(A)?.label).toBe('x\ufffd]0;pwned\ufffd\ufffdy\ufffd')
  })
})

describe('versions with the same vector', () => {
  it('are one version: a copied vector with other content is settled once, not forever', () => {
    const s = group()
    s.apply(A, 5, file('/p', { [dA]: 1 }, { hash: '1'.repeat(64), mtime: 1000 }))
    // B copies A's vector (A's log reached it: causal order holds) with its own content.
    s.apply(B, 1, file('/p', { [dA]: 1 }, { hash: '2'.repeat(64), mtime: 2000, origin: dA }))
    let seq = 6
    for (let round = 0; round < 3; round++) {
      const plan = s.resolution('/p', 10 + round)
      if (!plan) break
      for (const op of [...plan.copies, plan.merge]) s.apply(A, seq++, op)
    }
    expect(s.resolution('/p', 99)).toBeNull()
    expect(s.frontier('/p')).toHaveLength(1)
  })
})

describe('membership from random removals', () => {
  it('is the same whatever order the logs arrive in', () => {
    const D = 'd'.repeat(64)
    const E = 'e'.repeat(64)
    const keys = [A, B, C, D, E]
    for (let trial = 0; trial < 200; trial++) {
      let x = trial * 7919 + 1
      const rnd = (n: number): number => {
        x = (x * 1103515245 + 12345) % 2 ** 31
        return x % n
      }
      // A adds everyone; then each log writes a few random adds and removals.
      const ops: Array<[string, Op]> = [
        [D, { t: 'init', blobs: h('4'), label: 'd', at: 0, proof: null }],
        [E, { t: 'init', blobs: h('5'), label: 'e', at: 0, proof: null }],
      ]
      ops.push([A, { t: 'add', key: D, invite: h('7') }])
      ops.push([B, { t: 'add', key: E, invite: h('6') }])
      for (let i = 0; i < 8; i++) {
        const author = keys[rnd(keys.length)]!
        const target = keys[rnd(keys.length)]!
        ops.push([author, { t: 'remove', key: target, upTo: rnd(8) }])
      }
      const results = new Set<string>()
      for (let perm = 0; perm < 6; perm++) {
        const s = group()
        const seqs = new Map<string, number>([
          [A, 5],
          [B, 1],
          [C, 1],
          [D, 0],
          [E, 0],
        ])
        const queues = new Map<string, Op[]>()
        for (const [w, op] of ops) queues.set(w, [...(queues.get(w) ?? []), op])
        let y = perm + 1
        while ([...queues.values()].some((q) => q.length)) {
          y = (y * 1103515245 + 12345) % 2 ** 31
          const ws = [...queues.keys()].filter((k) => queues.get(k)!.length)
          const w = ws[y % ws.length]!
          const seq = seqs.get(w)!
          s.addLog(w)
          s.apply(w, seq, queues.get(w)!.shift()!)
          seqs.set(w, seq + 1)
          s.members()
        }
        results.add(JSON.stringify([...s.members().values()].map((m) => [m.key[0], m.upTo])))
      }
      expect(results.size, `trial ${trial}`).toBe(1)
    }
  })
})
