// The local index on disk: what a save keeps, what a reload gives back, and the set of paths
// with a read-only member's own change that folders.list reads instead of every entry.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { LocalIndex, indexText, type LocalEntry } from '../../../main/engine/sync/local-index.ts'
import { useFixtures } from '../../helpers/unit-fixtures.ts'

const fx = useFixtures()

function entry(o: Partial<LocalEntry> = {}): LocalEntry {
  return {
    vv: { d1: 1 },
    kind: 'file',
    size: 3,
    mtime: 1000.5,
    ino: 42,
    x: false,
    hash: 'ab'.repeat(32),
    chunks: [['cd'.repeat(32), 3]],
    link: null,
    local: null,
    ...o,
  }
}

describe('LocalIndex', () => {
  it('keeps the set of local changes in step with the entries, through a reload', async () => {
    const file = path.join(await fx.tmpDir('spare-index-'), 'index.json')
    const a = new LocalIndex(file)
    a.set('/mine.txt', entry({ local: 'added' }))
    a.set('/edited.txt', entry({ local: 'modified' }))
    a.set('/synced.txt', entry())
    a.set('/gone.txt', entry({ local: 'deleted' }))
    expect([...a.localKeys].sort()).toEqual(['/edited.txt', '/gone.txt', '/mine.txt'])
    a.set('/edited.txt', entry()) // the folder's version replaced the edit
    a.delete('/mine.txt') // the reader removed its own file again
    expect([...a.localKeys]).toEqual(['/gone.txt'])
    await a.save()

    const b = new LocalIndex(file)
    expect(await b.load()).toBe(null)
    expect([...b.localKeys]).toEqual(['/gone.txt'])
    expect(b.get('/gone.txt')?.local).toBe('deleted')
    expect(b.get('/synced.txt')).toEqual(entry())
  })

  it('keeps the identity of a deleted folder left on disk through a reload', async () => {
    const file = path.join(await fx.tmpDir('spare-index-'), 'index.json')
    const a = new LocalIndex(file)
    const kept = entry({ kind: 'deleted', hash: null, chunks: [], kept: { ino: 7, born: 123.25 } })
    a.set('/album', kept)
    await a.save()
    const b = new LocalIndex(file)
    expect(await b.load()).toBe(null)
    expect(b.get('/album')).toEqual(kept)
  })

  it('never saves an entry whose version is not in the log yet', async () => {
    // A save can come at any time (every few seconds); a kill -9 after it must not leave an
    // index that takes an unsent change as sent.
    const file = path.join(await fx.tmpDir('spare-index-'), 'index.json')
    const a = new LocalIndex(file)
    a.set('/doc.txt', entry({ vv: { d1: 1 } }))
    a.setProvisional('/doc.txt', entry({ vv: { d1: 2 }, size: 9 }))
    a.setProvisional('/new.txt', entry({ vv: { d1: 3 } }))
    expect(a.get('/doc.txt')?.vv).toEqual({ d1: 2 }) // the folder itself sees the new entry
    await a.save()
    const saved = new LocalIndex(file)
    await saved.load()
    expect(saved.get('/doc.txt')?.vv).toEqual({ d1: 1 })
    expect(saved.get('/new.txt')).toBeUndefined()

    a.confirm() // appended
    await a.save()
    const confirmed = new LocalIndex(file)
    await confirmed.load()
    expect(confirmed.get('/doc.txt')?.vv).toEqual({ d1: 2 })
    expect(confirmed.get('/new.txt')?.vv).toEqual({ d1: 3 })
  })

  it('finds the local files that hold a chunk as files share it, change and go', () => {
    const a = new LocalIndex('/nonexistent/index.json')
    const c = 'cd'.repeat(32)
    const other = 'ef'.repeat(32)
    const keys = (): string[] => [...a.sources(c)].map((s) => s.key).sort()
    a.set(
      '/a',
      entry({
        chunks: [
          [other, 5],
          [c, 3],
        ],
      }),
      false,
    )
    expect([...a.sources(c)]).toEqual([{ key: '/a', offset: 5, size: 3 }])
    a.set(
      '/a',
      entry({
        chunks: [
          [c, 3],
          [c, 3],
        ],
      }),
      false,
    ) // the same chunk twice in one file
    expect(keys()).toEqual(['/a'])
    a.set('/b', entry(), false)
    a.set('/c', entry(), false)
    expect(keys()).toEqual(['/a', '/b', '/c'])
    a.delete('/a')
    a.set('/b', entry({ chunks: [[other, 3]] }), false)
    expect(keys()).toEqual(['/c'])
    expect([...a.sources(other)].map((s) => s.key)).toEqual(['/b'])
    a.set('/c', entry({ kind: 'dir', chunks: [] }), false)
    expect(keys()).toEqual([])
    a.set('/d', entry(), false)
    expect(keys()).toEqual(['/d'])
  })

  it('puts back what provisional entries replaced when their append does not happen', () => {
    const a = new LocalIndex('/nonexistent/index.json')
    a.set('/doc.txt', entry({ vv: { d1: 1 } }))
    a.setProvisional('/doc.txt', entry({ vv: { d1: 2 } }))
    a.setProvisional('/doc.txt', entry({ vv: { d1: 3 } })) // changed again in the same batch
    a.setProvisional('/new.txt', entry({ vv: { d1: 4 }, chunks: [['ef'.repeat(32), 3]] }))
    expect(a.rollBack().sort()).toEqual(['/doc.txt', '/new.txt'])
    expect(a.get('/doc.txt')?.vv).toEqual({ d1: 1 })
    expect(a.get('/new.txt')).toBeUndefined()
    expect([...a.sources('ef'.repeat(32))]).toEqual([])
    expect(a.rollBack()).toEqual([])
  })

  it('sets a damaged file aside and starts empty', async () => {
    const file = path.join(await fx.tmpDir('spare-index-'), 'index.json')
    await fs.writeFile(file, '{"format":2,"entries":{"/a":{"kind":"file"}}}')
    const a = new LocalIndex(file)
    const aside = await a.load()
    expect(aside).toMatch(/index\.json\.corrupt-\d+$/)
    expect(a.entries.size).toBe(0)
    expect(a.localKeys.size).toBe(0)
    expect(await fs.readFile(aside as string, 'utf8')).toContain('"/a"')
  })

  it('writes the text JSON.stringify would, for any path name', async () => {
    const entries = new Map<string, LocalEntry>([
      ['/plain.txt', entry()],
      ['/quote "and" back\\slash', entry({ local: 'added' })],
      ['/ünï cödé/😀\n\t', entry({ kind: 'dir', hash: null, chunks: [] })],
      ['/__proto__', entry({ kind: 'deleted', kept: { ino: 9, born: 1.5 } })],
      ['/123', entry({ x: true, vv: { d1: 1, d2: 7 } })],
    ])
    const text = await indexText(entries)
    expect(text).toBe(JSON.stringify({ format: 2, entries: Object.fromEntries(entries) }))
    const file = path.join(await fx.tmpDir('spare-index-'), 'index.json')
    const a = new LocalIndex(file)
    for (const [k, e] of entries) a.set(k, e)
    await a.save()
    const b = new LocalIndex(file)
    expect(await b.load()).toBe(null)
    expect([...b.entries]).toEqual([...entries])
  })

  it('saves the entries as they were when the save began', async () => {
    const file = path.join(await fx.tmpDir('spare-index-'), 'index.json')
    const a = new LocalIndex(file)
    for (let i = 0; i < 20_000; i++) a.set(`/f${i}`, entry({ size: i }))
    const saved = a.save()
    // Changes made while the text is being made belong to the next save.
    a.set('/f0', entry({ size: 999 }))
    a.delete('/f1')
    a.set('/late', entry())
    await saved
    const b = new LocalIndex(file)
    expect(await b.load()).toBe(null)
    expect(b.entries.size).toBe(20_000)
    expect(b.get('/f0')?.size).toBe(0)
    expect(b.get('/f1')?.size).toBe(1)
    expect(b.get('/late')).toBeUndefined()
    await a.save()
    const c = new LocalIndex(file)
    await c.load()
    expect(c.get('/f0')?.size).toBe(999)
    expect(c.get('/f1')).toBeUndefined()
    expect(c.get('/late')).toEqual(entry())
  })
})
