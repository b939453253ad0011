// The folder's totals kept from changed paths must always equal a walk over every path, and a
// read of them must answer in bounded time however many paths changed.
import { describe, expect, it } from 'vitest'
import { FolderCounts, type Measure } from '../../../main/engine/sync/counts.ts'
import { conflictName } from '../../../main/engine/sync/conflict-name.ts'
import { Breather } from '../../../main/engine/util/wait.ts'

type Part = { size: number; local: boolean } | null

/** The totals by a walk over every path, as the folder counted before. */
function walked(world: Map<string, Part>): Record<string, number> {
  const t = { files: 0, bytes: 0, localBytes: 0, conflicts: 0 }
  for (const [key, part] of world) {
    if (!part) continue
    t.files++
    t.bytes += part.size
    if (part.local) t.localBytes += part.size
    if (/\.sync-conflict-/.test(key)) t.conflicts++
  }
  return t
}

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function counting(world: Map<string, Part>): { c: FolderCounts; measured: string[] } {
  const measured: string[] = []
  const measure: Measure = (k) => {
    measured.push(k)
    return world.get(k) ?? null
  }
  return { c: new FolderCounts(() => world.keys(), measure), measured }
}

describe('FolderCounts', () => {
  it('counts files, bytes, bytes held here and conflict copies', () => {
    const copy = conflictName('/a.txt', 1_700_000_000_000, 'abcdef')
    expect(copy).toMatch(/\.sync-conflict-/)
    const world = new Map<string, Part>([
      ['/a.txt', { size: 10, local: true }],
      ['/b.txt', { size: 5, local: false }],
      ['/dir', null],
      [copy, { size: 7, local: true }],
    ])
    const { c } = counting(world)
    c.touchAll()
    expect(c.current()).toEqual({ files: 3, bytes: 22, localBytes: 17, conflicts: 1 })
    expect(c.behind).toBe(0)
  })

  it('measures only the paths it was told of, and matches a full walk after each change', () => {
    const next = rng(7)
    const world = new Map<string, Part>()
    const keys = Array.from({ length: 60 }, (_, i) =>
      i % 10 === 9 ? conflictName(`/f${i}.txt`, 1_700_000_000_000 + i, 'abcdef') : `/f${i}.txt`,
    )
    const { c, measured } = counting(world)
    const since = new Set<string>()
    for (let step = 0; step < 3000; step++) {
      const key = keys[Math.floor(next() * keys.length)] as string
      const r = next()
      if (r < 0.45) world.set(key, { size: Math.floor(next() * 3e9), local: next() < 0.5 })
      else if (r < 0.6) world.set(key, null)
      else if (r < 0.75) world.delete(key)
      else if (r < 0.77) {
        // A change that reaches every path: nothing is told path by path.
        for (const k of world.keys()) world.set(k, { size: 1, local: true })
        c.touchAll()
        measured.length = 0
        since.clear()
        expect(c.current()).toEqual(walked(world))
        continue
      }
      c.touch(key)
      since.add(key)
      if (next() < 0.3) {
        measured.length = 0
        expect(c.current()).toEqual(walked(world))
        expect(measured.sort()).toEqual([...since].sort())
        since.clear()
      }
    }
  })

  it('answers a read within its budget after a large change, and catches up in pauses', async () => {
    const world = new Map<string, Part>()
    const { c, measured } = counting(world)
    const slow = (k: string): Part => {
      const until = performance.now() + 0.01
      while (performance.now() < until);
      return world.get(k) ?? null
    }
    const s = new FolderCounts(() => world.keys(), slow)
    for (let i = 0; i < 50_000; i++) {
      world.set(`/n${i}`, { size: i, local: i % 2 === 0 })
      c.touch(`/n${i}`)
      s.touch(`/n${i}`)
    }
    // Each path takes at least 10 µs to measure, 0.5 s for all of them: a read with a budget
    // of 20 ms stops part way, with totals that hold the paths it measured.
    const partial = { ...s.current(20) }
    expect(s.behind).toBeGreaterThan(0)
    expect(partial.files).toBe(50_000 - s.behind)

    // A timer that comes due while catching up runs before the catch-up ends.
    let ticked = false
    setTimeout(() => (ticked = true), 1)
    await s.catchUp(new Breather())
    expect(ticked).toBe(true)
    expect(s.behind).toBe(0)
    expect({ ...s.current() }).toEqual(walked(world))

    // Without a slow measure, one read does it all.
    expect({ ...c.current(1000) }).toEqual(walked(world))
    expect(measured.length).toBe(50_000)
  })

  it('stays exact with sizes no device writes, and reports what a number holds', () => {
    const world = new Map<string, Part>([['/small', { size: 2, local: true }]])
    const { c } = counting(world)
    c.touchAll()
    expect(c.current().bytes).toBe(2)
    // A peer's op may claim any safe integer: added and taken away again, nothing is lost.
    world.set('/huge', { size: Number.MAX_SAFE_INTEGER, local: true })
    c.touch('/huge')
    expect(c.current()).toMatchObject({
      files: 2,
      bytes: Number.MAX_SAFE_INTEGER,
      localBytes: Number.MAX_SAFE_INTEGER,
    })
    world.delete('/huge')
    c.touch('/huge')
    expect(c.current()).toEqual({ files: 1, bytes: 2, localBytes: 2, conflicts: 0 })
  })
})
