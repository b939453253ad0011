// Two-way folders through real daemons and the real CLI on a local testnet: writers joining by
// invite, live changes both ways, conflicts, edit against delete, versions and restore, ignores,
// moves without transfer, removing a member, read-only members.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Conflict, FolderSummary } from '../../shared/contract.ts'
import type { SpareClient } from '../../shared/client.ts'
import { connect } from '../../main/daemon/http-client.ts'
import {
  type TestDaemon,
  snapshotTree,
  startDaemon,
  tempDir,
  waitFor,
  waitForSameTree,
} from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'

/** The daemon's local API, for what the CLI doesn't show (the UI's calls). */
async function apiOf(d: TestDaemon): Promise<SpareClient> {
  return (await connect(d.dataDir)).client
}

const t = useLocalTestnet()

interface Writer {
  daemon: TestDaemon
  dir: string
}

/** A folder shared by a first writer and joined as writer by `n - 1` more. */
async function writers(
  n: number,
  seed?: (dir: string) => Promise<void>,
): Promise<{ ws: Writer[]; id: string }> {
  const first = await startDaemon(t.cleanup, t.network)
  const dir0 = path.join(await tempDir(t.cleanup), 'w0')
  await fs.mkdir(dir0)
  if (seed) await seed(dir0)
  const { folder } = await first.json<{ folder: FolderSummary }>(['share', dir0])
  const ws: Writer[] = [{ daemon: first, dir: dir0 }]
  for (let i = 1; i < n; i++) {
    const d = await startDaemon(t.cleanup, t.network)
    const { invite } = await first.json<{ invite: string }>(['invite', folder.id])
    const dir = path.join(await tempDir(t.cleanup), `w${i}`)
    const res = await d.json<{ folder: FolderSummary }>(['join', invite, dir])
    expect(res.folder.role).toBe('writer')
    ws.push({ daemon: d, dir })
  }
  for (const w of ws) {
    await waitFor(
      async () => (await w.daemon.json<unknown[]>(['members', folder.id])).length === n,
      {
        what: `${n} members`,
        timeoutMs: 60_000,
      },
    )
  }
  return { ws, id: folder.id }
}

async function allSame(ws: Writer[], timeoutMs = 60_000): Promise<void> {
  for (const w of ws.slice(1)) await waitForSameTree(ws[0]!.dir, w.dir, timeoutMs)
}

describe('two-way folders', () => {
  it('a joined writer syncs both ways, live', async () => {
    const { ws } = await writers(2, async (d) => {
      await fs.writeFile(path.join(d, 'a.txt'), 'from A\n')
      await fs.mkdir(path.join(d, 'sub'))
    })
    const [a, b] = ws as [Writer, Writer]
    await allSame(ws)
    await fs.writeFile(path.join(b.dir, 'b.txt'), 'from B\n')
    await fs.writeFile(path.join(b.dir, 'sub', 'deep.txt'), 'deep\n')
    await waitFor(
      async () =>
        (await fs.readFile(path.join(a.dir, 'b.txt'), 'utf8').catch(() => '')) === 'from B\n',
    )
    await fs.appendFile(path.join(a.dir, 'b.txt'), 'and A\n')
    await waitFor(
      async () => (await fs.readFile(path.join(b.dir, 'b.txt'), 'utf8')) === 'from B\nand A\n',
    )
    await fs.rm(path.join(b.dir, 'a.txt'))
    await allSame(ws)
    expect(Object.keys(await snapshotTree(a.dir)).sort()).toEqual(['b.txt', 'sub', 'sub/deep.txt'])
  })

  it('concurrent edits while apart keep both: the winner keeps the name, the other a conflict copy', async () => {
    const { ws, id } = await writers(2, async (d) => {
      await fs.writeFile(path.join(d, 'doc.txt'), 'base\n')
    })
    const [a, b] = ws as [Writer, Writer]
    await allSame(ws)
    await b.daemon.stop()
    await fs.writeFile(path.join(a.dir, 'doc.txt'), 'edited on A\n')
    await fs.writeFile(path.join(b.dir, 'doc.txt'), 'edited on B, later\n')
    const later = new Date(Date.now() + 60_000)
    await fs.utimes(path.join(b.dir, 'doc.txt'), later, later)
    await waitFor(async () => {
      const v = await a.daemon.json<Array<{ current: boolean }>>(['versions', id, 'doc.txt'])
      return v.length >= 2
    })
    await b.daemon.start()
    await allSame(ws)
    const tree = await snapshotTree(a.dir)
    const copies = Object.keys(tree).filter((k) => k.includes('.sync-conflict-'))
    expect(copies).toHaveLength(1)
    expect(copies[0]).toMatch(/^doc\.sync-conflict-\d{8}-\d{6}-[0-9a-f]{12}\.txt$/)
    // The later mtime wins the name; the other content is kept in the copy.
    expect(await fs.readFile(path.join(a.dir, 'doc.txt'), 'utf8')).toBe('edited on B, later\n')
    expect(await fs.readFile(path.join(a.dir, copies[0]!), 'utf8')).toBe('edited on A\n')
    const listed = await b.daemon.json<Conflict[]>(['conflicts', id])
    expect(listed).toMatchObject([
      {
        path: '/' + copies[0],
        original: '/doc.txt',
        kept: { kind: 'file', size: 'edited on B, later\n'.length },
        copy: { kind: 'file', size: 'edited on A\n'.length },
      },
    ])
    expect(listed[0]!.kept!.device).not.toBe(listed[0]!.copy.device)
    const text = await a.daemon.cli(['conflicts', id])
    expect(text.stdout).toContain('copy of /doc.txt')

    // Both sides, to compare: as text, from the files on this device.
    const api = await apiOf(a.daemon)
    expect(await api.call('folders.preview', { id, path: 'doc.txt' })).toEqual({
      size: 19,
      text: 'edited on B, later\n',
      truncated: false,
    })
    expect((await api.call('folders.preview', { id, path: copies[0]! })).text).toBe('edited on A\n')
    await expect(api.call('folders.preview', { id, path: '../../etc/passwd' })).rejects.toThrow()
    await expect(api.call('folders.preview', { id, path: 'nope.txt' })).rejects.toThrow(
      /not in the folder/,
    )

    // Keeping the copy moves it over the original, on every device; the replaced text stays a
    // version. A path that is no conflict copy is refused.
    const bad = await a.daemon.cli(['resolve', id, 'doc.txt', '--keep', 'copy'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/not a conflict copy/)
    expect((await a.daemon.cli(['resolve', id, copies[0]!, '--keep', 'both'])).code).toBe(2)
    const res = await a.daemon.cli(['resolve', id, copies[0]!, '--keep', 'copy'])
    expect(res.code, res.stderr).toBe(0)
    await waitFor(
      async () => (await fs.readFile(path.join(b.dir, 'doc.txt'), 'utf8')) === 'edited on A\n',
    )
    await allSame(ws)
    expect(
      Object.keys(await snapshotTree(b.dir)).filter((k) => k.includes('.sync-conflict-')),
    ).toEqual([])
    expect(await b.daemon.json<Conflict[]>(['conflicts', id])).toEqual([])
    const versions = await b.daemon.json<Array<{ size: number }>>(['versions', id, 'doc.txt'])
    expect(versions.some((v) => v.size === 'edited on B, later\n'.length)).toBe(true)
  })

  it('an edit beats a concurrent delete', async () => {
    const { ws } = await writers(2, async (d) => {
      await fs.writeFile(path.join(d, 'keep.txt'), 'v1\n')
    })
    const [a, b] = ws as [Writer, Writer]
    await allSame(ws)
    await b.daemon.stop()
    await fs.rm(path.join(a.dir, 'keep.txt'))
    await fs.writeFile(path.join(b.dir, 'keep.txt'), 'v2 from B\n')
    await waitFor(async () => (await a.daemon.folders())[0]?.state === 'idle')
    await new Promise((r) => setTimeout(r, 300))
    await b.daemon.start()
    await allSame(ws)
    expect(await fs.readFile(path.join(a.dir, 'keep.txt'), 'utf8')).toBe('v2 from B\n')
    const tree = await snapshotTree(a.dir)
    expect(Object.keys(tree).filter((k) => k.includes('sync-conflict'))).toEqual([])
  })

  it('keeps replaced and deleted versions and restores them in place or elsewhere', async () => {
    const { ws, id } = await writers(2)
    const [a, b] = ws as [Writer, Writer]
    const file = path.join(a.dir, 'notes', 'n.txt')
    await fs.mkdir(path.dirname(file))
    for (const v of ['one\n', 'two\n', 'three\n']) {
      await fs.writeFile(file, v)
      await waitFor(
        async () =>
          (await fs.readFile(path.join(b.dir, 'notes', 'n.txt'), 'utf8').catch(() => '')) === v,
      )
    }
    const versions = await b.daemon.json<Array<{ id: string; current: boolean; size: number }>>([
      'versions',
      id,
      'notes/n.txt',
    ])
    expect(versions.map((v) => v.size)).toEqual([6, 4, 4])
    expect(versions[0]!.current).toBe(true)
    // Restore the oldest version elsewhere, then the previous one in place (it syncs).
    const dest = path.join(await tempDir(t.cleanup), 'old.txt')
    const r1 = await b.daemon.json<{ version: string; path: string }>([
      'restore',
      id,
      '/notes/n.txt',
      '--version',
      versions[2]!.id,
      '--to',
      dest,
    ])
    expect(r1.path).toBe(dest)
    expect(await fs.readFile(dest, 'utf8')).toBe('one\n')
    await b.daemon.json(['restore', id, 'notes/n.txt'])
    await waitFor(async () => (await fs.readFile(file, 'utf8')) === 'two\n')
    // Deleted files stay restorable.
    await fs.rm(file)
    await waitFor(async () => !(await exists(path.join(b.dir, 'notes', 'n.txt'))))
    await b.daemon.json(['restore', id, 'notes/n.txt'])
    await waitFor(async () => (await fs.readFile(file, 'utf8').catch(() => '')) === 'two\n')
    // Bad input: a clear error, exit 2, nothing changed.
    const bad = await b.daemon.cli(['restore', id, 'notes/n.txt', '--version', 'nope'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/version id/)
    const missing = await b.daemon.cli([
      'restore',
      id,
      'notes/n.txt',
      '--version',
      'aaaaaaaaaaaa.99',
    ])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/no kept version/)
    const escape = await b.daemon.cli(['versions', id, '../../etc/passwd'])
    expect(escape.code).toBe(2)
    // Retention: with 0 days only current versions are listed.
    await b.daemon.json(['keep-versions', id, '0'])
    const kept = await b.daemon.json<unknown[]>(['versions', id, 'notes/n.txt'])
    expect(kept).toHaveLength(1)
    expect((await b.daemon.cli(['keep-versions', id, 'ten'])).code).toBe(2)
  })

  it('.spareignore syncs and is obeyed; OS junk and temp files never sync', async () => {
    const { ws } = await writers(2)
    const [a, b] = ws as [Writer, Writer]
    await fs.writeFile(path.join(a.dir, '.spareignore'), '# build output\n*.log\nbuild/\n')
    await waitFor(async () => exists(path.join(b.dir, '.spareignore')))
    await fs.writeFile(path.join(a.dir, 'app.log'), 'noise')
    await fs.mkdir(path.join(b.dir, 'build'))
    await fs.writeFile(path.join(b.dir, 'build', 'out.o'), 'obj')
    await fs.writeFile(path.join(b.dir, '.DS_Store'), 'junk')
    await fs.writeFile(path.join(b.dir, '~$report.docx'), 'lock')
    await fs.writeFile(path.join(b.dir, 'real.txt'), 'real')
    await waitFor(async () => exists(path.join(a.dir, 'real.txt')))
    await new Promise((r) => setTimeout(r, 500))
    expect(await exists(path.join(b.dir, 'app.log'))).toBe(false)
    expect(await exists(path.join(a.dir, 'build'))).toBe(false)
    expect(await exists(path.join(a.dir, '.DS_Store'))).toBe(false)
    expect(await exists(path.join(a.dir, '~$report.docx'))).toBe(false)
  })

  it('moves, renames and content that exists are not transferred again; a 1 MB edit inside 25 MB sends little', async () => {
    const { ws } = await writers(2)
    const [a, b] = ws as [Writer, Writer]
    const big = path.join(a.dir, 'big.bin')
    await writeRandom(big, 25 * 1024 * 1024, 3)
    await allSame(ws, 120_000)
    const down = async (): Promise<number> =>
      (await b.daemon.json<Array<{ bytesDown: number }>>(['peers'])).reduce(
        (s, p) => s + p.bytesDown,
        0,
      )
    let before = await down()
    await fs.mkdir(path.join(a.dir, 'moved'))
    await fs.rename(big, path.join(a.dir, 'moved', 'renamed.bin'))
    await fs.copyFile(path.join(a.dir, 'moved', 'renamed.bin'), path.join(a.dir, 'copy.bin'))
    await allSame(ws, 120_000)
    expect((await down()) - before).toBeLessThan(512 * 1024)
    before = await down()
    const fh = await fs.open(path.join(a.dir, 'copy.bin'), 'r+')
    const { randomBytes } = await import('node:crypto')
    await fh.write(randomBytes(1024 * 1024), 0, 1024 * 1024, 10 * 1024 * 1024 + 12345)
    await fh.close()
    await allSame(ws, 120_000)
    const sent = (await down()) - before
    console.log('bytes down for the 1 MB edit', sent, 'before', before)
    expect(sent).toBeGreaterThan(1024 * 1024)
    expect(sent).toBeLessThan(3 * 1024 * 1024)
  })

  it('renaming or deleting a folder takes everything below it along, on every device', async () => {
    const { ws } = await writers(2, async (d) => {
      await fs.mkdir(path.join(d, 'album', 'day1'), { recursive: true })
      await writeRandom(path.join(d, 'album', 'a.jpg'), 2 * 1024 * 1024, 5)
      await writeRandom(path.join(d, 'album', 'day1', 'b.jpg'), 1024 * 1024, 6)
      await fs.mkdir(path.join(d, 'trash', 'deep'), { recursive: true })
      await fs.writeFile(path.join(d, 'trash', 'deep', 'x.txt'), 'x')
    })
    const [a, b] = ws as [Writer, Writer]
    await allSame(ws)
    const down = async (): Promise<number> =>
      (await b.daemon.json<Array<{ bytesDown: number }>>(['peers'])).reduce(
        (n, p) => n + p.bytesDown,
        0,
      )
    const before = await down()
    await fs.rename(path.join(a.dir, 'album'), path.join(a.dir, 'album-2026'))
    await fs.rm(path.join(a.dir, 'trash'), { recursive: true })
    await allSame(ws)
    expect(Object.keys(await snapshotTree(b.dir)).sort()).toEqual([
      'album-2026',
      'album-2026/a.jpg',
      'album-2026/day1',
      'album-2026/day1/b.jpg',
    ])
    expect((await down()) - before).toBeLessThan(256 * 1024)
    // The renaming device counts each file once.
    await waitFor(async () => (await a.daemon.folders())[0]!.files === 2)
  })

  it("a removed writer's later changes are refused by everyone", async () => {
    const { ws, id } = await writers(3)
    const [a, b, c] = ws as [Writer, Writer, Writer]
    const members = await a.daemon.json<Array<{ device: string; you: boolean }>>(['members', id])
    const cDevice = (
      await c.daemon.json<Array<{ device: string; you: boolean }>>(['members', id])
    ).find((m) => m.you)!.device
    expect(members.map((m) => m.device)).toContain(cDevice)
    await fs.writeFile(path.join(c.dir, 'before.txt'), 'accepted')
    await allSame(ws)
    const removed = await a.daemon.json<{ removed: boolean }>(['remove', id, cDevice])
    expect(removed.removed).toBe(true)
    await waitFor(async () =>
      (await b.daemon.json<Array<{ device: string; removed: boolean }>>(['members', id])).some(
        (m) => m.device === cDevice && m.removed,
      ),
    )
    await fs.writeFile(path.join(c.dir, 'after.txt'), 'refused')
    await fs.writeFile(path.join(b.dir, 'from-b.txt'), 'fine')
    await waitFor(async () => exists(path.join(a.dir, 'from-b.txt')))
    await new Promise((r) => setTimeout(r, 1000))
    expect(await exists(path.join(a.dir, 'after.txt'))).toBe(false)
    expect(await exists(path.join(b.dir, 'after.txt'))).toBe(false)
    expect(await exists(path.join(a.dir, 'before.txt'))).toBe(true)
    // A bad member name is a clear error.
    expect((await a.daemon.cli(['remove', id, 'zz'])).code).toBe(2)
    expect((await a.daemon.cli(['remove', id, 'abcdef'])).code).toBe(2)
  })

  it('a read-only member receives changes, keeps its own edits local, and cannot invite writers', async () => {
    const { ws, id } = await writers(1, async (d) => {
      await fs.writeFile(path.join(d, 'shared.txt'), 'v1')
    })
    const [a] = ws as [Writer]
    const r = await startDaemon(t.cleanup, t.network)
    const { invite } = await a.daemon.json<{ invite: string }>(['invite', id, '--read-only'])
    const dir = path.join(await tempDir(t.cleanup), 'ro')
    const joined = await r.json<{ folder: FolderSummary }>(['join', invite, dir])
    expect(joined.folder.role).toBe('reader')
    await waitForSameTree(a.dir, dir)
    await fs.writeFile(path.join(dir, 'mine.txt'), 'local only')
    await waitFor(async () =>
      (await r.folders())[0]!.localChanges.some((c) => c.path === '/mine.txt'),
    )
    await fs.writeFile(path.join(a.dir, 'shared.txt'), 'v2')
    await waitFor(async () => (await fs.readFile(path.join(dir, 'shared.txt'), 'utf8')) === 'v2')
    expect(await exists(path.join(a.dir, 'mine.txt'))).toBe(false)
    const res = await r.cli(['invite', id])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/not a writer/)
  })

  it('reports names that clash by case or are invalid on other systems, and never merges them', async () => {
    const { ws } = await writers(2)
    const [a, b] = ws as [Writer, Writer]
    await fs.writeFile(path.join(a.dir, 'Readme.md'), 'A')
    await fs.writeFile(path.join(b.dir, 'README.md'), 'B')
    await fs.writeFile(path.join(a.dir, 'what?.txt'), 'q')
    await allSame(ws)
    expect(await fs.readFile(path.join(a.dir, 'Readme.md'), 'utf8')).toBe('A')
    expect(await fs.readFile(path.join(a.dir, 'README.md'), 'utf8')).toBe('B')
    await waitFor(async () => {
      const f = (await b.daemon.folders())[0]!
      return (
        f.problems.some((p) => /case/.test(p.reason)) &&
        f.problems.some((p) => p.path === '/what?.txt')
      )
    })
  })

  it('a writer invite works once; a second device with it is never accepted', async () => {
    const { ws, id } = await writers(1)
    const [a] = ws as [Writer]
    const { invite } = await a.daemon.json<{ invite: string }>(['invite', id])
    const d1 = await startDaemon(t.cleanup, t.network)
    const d2 = await startDaemon(t.cleanup, t.network)
    await d1.json(['join', invite, path.join(await tempDir(t.cleanup), 'j1')])
    await waitFor(async () => (await a.daemon.json<unknown[]>(['members', id])).length === 2)
    await d2.json(['join', invite, path.join(await tempDir(t.cleanup), 'j2')])
    await new Promise((r) => setTimeout(r, 4000))
    expect(await a.daemon.json<unknown[]>(['members', id])).toHaveLength(2)
    expect((await d2.folders())[0]!.waitingForAccept).toBe(true)
  })
})

describe('two-way folders under stress', () => {
  it('syncs a file larger than a daemon may hold in memory', async () => {
    const size = 1200 * 1024 * 1024 + 77
    const { ws } = await writers(2)
    const [a, b] = ws as [Writer, Writer]
    // Random head and tail, zeros between (sparse: no disk spent): every chunk is read and hashed.
    const h = await fs.open(path.join(a.dir, 'huge.img'), 'w')
    await h.truncate(size)
    const { randomBytes } = await import('node:crypto')
    await h.write(randomBytes(3 << 20), 0, 3 << 20, 0)
    await h.write(Buffer.from('tail'), 0, 4, size - 4)
    await h.close()
    const peak = { a: 0, b: 0 }
    const rss = async (pid: number): Promise<number> => {
      const status = await fs.readFile(`/proc/${pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
    }
    await waitFor(
      async () => {
        peak.a = Math.max(peak.a, await rss(a.daemon.proc!.pid!))
        peak.b = Math.max(peak.b, await rss(b.daemon.proc!.pid!))
        const st = await fs.stat(path.join(b.dir, 'huge.img')).catch(() => null)
        return st?.size === size
      },
      { timeoutMs: 240_000, intervalMs: 250, what: 'the big file' },
    )
    await allSame(ws, 240_000)
    expect(peak.a).toBeLessThan(400 * 1024 * 1024)
    expect(peak.b).toBeLessThan(400 * 1024 * 1024)
  }, 300_000)
})

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

async function writeRandom(file: string, size: number, seed: number): Promise<void> {
  const { writeRandomFile } = await import('../helpers/daemon.ts')
  await writeRandomFile(file, size, seed)
}
