// Two-way folders on a disk that finds names whatever their case (macOS, Windows), against a
// device on a Linux disk that tells 'Readme.md' from 'README.md'. A rename that changes only the
// case reaches other devices as the new name added and the old one deleted; on such a disk,
// deleting the old name after placing the new one would delete the file just placed, and that
// loss would then sync back. B's folder is on casefs (test/helpers/casefs.py, FUSE), A's on tmp.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { SpareNode } from '../../main/engine/node.ts'
import { RealCase, foldsCase } from '../../main/engine/util/real-case.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'
import { caseFsTests, caseInsensitiveDir } from '../helpers/casefs.ts'

const fx = useFixtures()

interface Listed {
  state: string
  files: number
  problems: Array<{ path: string; reason: string }>
}

function folder(node: SpareNode): Listed {
  return node.listFolders()[0] as unknown as Listed
}

/** Every path below `dir` with its content ('<dir>' for folders), as the disk spells them. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = `${prefix}/${e.name}`
      if (e.isDirectory()) {
        out[p] = '<dir>'
        await walk(path.join(d, e.name), p)
      } else out[p] = await fs.readFile(path.join(d, e.name), 'utf8')
    }
  }
  await walk(dir, '')
  return out
}

/** A tree as text, whatever the order its paths were listed in. */
function sorted(t: Record<string, string> | null): string {
  return t ? JSON.stringify(Object.entries(t).sort(([a], [b]) => (a < b ? -1 : 1))) : 'none'
}

async function sameTree(dir: string, want: Record<string, string>, what: string): Promise<void> {
  await waitFor(
    // (A read may meet a file renamed meanwhile: looked at again.)
    async () => sorted(await tree(dir).catch(() => null)) === sorted(want),
    30_000,
    what,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}; found ${JSON.stringify(await tree(dir))}`)
  })
}

async function idle(...nodes: SpareNode[]): Promise<void> {
  for (const n of nodes) await waitFor(() => folder(n).state === 'idle', 30_000, 'idle')
}

/**
 * A pair sharing a folder holding `files`, two-way or published by A: A on a case-sensitive
 * disk, B on a case-insensitive one.
 */
async function pair(files: Record<string, string>, mode: 'sync' | 'publish' = 'sync') {
  const p = await twoNodes(fx, 'spare-case-')
  const bDir = path.join(await caseInsensitiveDir(fx), 'b')
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(p.aDir, rel)), { recursive: true })
    await fs.writeFile(path.join(p.aDir, rel), content)
  }
  const shared = (await p.as.call('folders.share', { path: p.aDir, mode })) as {
    invite: string
  }
  await p.bs.call('folders.join', { invite: shared.invite, path: bDir })
  return { ...p, bDir }
}

describe.runIf(caseFsTests)('a disk that ignores case', () => {
  it('is told from one that does not, and spells paths as its listings do', async () => {
    const ci = await caseInsensitiveDir(fx)
    const cs = await fx.tmpDir('spare-case-cs-')
    // Empty: a probe file tells, and is gone after.
    expect(await foldsCase(ci, '.spare-tmp-')).toBe(true)
    expect(await foldsCase(cs, '.spare-tmp-')).toBe(false)
    expect(await fs.readdir(ci)).toEqual([])
    expect(await fs.readdir(cs)).toEqual([])
    // With names in it: those tell, with nothing written.
    for (const dir of [ci, cs]) {
      await fs.mkdir(path.join(dir, 'Docs'))
      await fs.writeFile(path.join(dir, 'Docs', 'Readme.md'), 'x')
    }
    expect(await foldsCase(ci, '.spare-tmp-')).toBe(true)
    expect(await foldsCase(cs, '.spare-tmp-')).toBe(false)
    expect(await fs.readdir(ci)).toEqual(['Docs'])

    const real = new RealCase(ci)
    expect(await real.spelledSo(['Docs', 'Readme.md'])).toBe(true)
    expect(await real.spelledSo(['docs', 'Readme.md'])).toBe(false)
    expect(await real.spelledSo(['Docs', 'README.md'])).toBe(false)
    expect(await real.onDisk(['DOCS', 'readme.MD'])).toEqual(['Docs', 'Readme.md'])
    expect(await real.onDisk(['Docs', 'gone.md'])).toBeNull()
    // Listings are kept until forgotten, noted or reset.
    await fs.rename(path.join(ci, 'Docs', 'Readme.md'), path.join(ci, 'Docs', 'README.md'))
    expect(await real.spelledSo(['Docs', 'README.md'])).toBe(false)
    real.noted(path.join(ci, 'Docs'), 'README.md', true)
    expect(await real.spelledSo(['Docs', 'README.md'])).toBe(true)
    expect(await real.spelledSo(['Docs', 'Readme.md'])).toBe(false)
    await fs.rename(path.join(ci, 'Docs'), path.join(ci, 'docs'))
    real.reset()
    expect(await real.onDisk(['DOCS', 'readme.md'])).toEqual(['docs', 'README.md'])
    // Another Unicode form of the same name is the same spelling (macOS stores NFD).
    await fs.writeFile(path.join(ci, 'cafe\u0301.txt'), 'x')
    real.forget(ci)
    expect(await real.spelledSo(['caf\u00e9.txt'])).toBe(true)
    // A folder that can't be listed is an error, not an empty folder (nor a missing path).
    await fs.mkdir(path.join(ci, 'box.unlistable'))
    await fs.writeFile(path.join(ci, 'box.unlistable', 'f.txt'), 'x')
    await expect(fs.readdir(path.join(ci, 'box.unlistable'))).rejects.toThrow(/EIO/)
    real.reset()
    await expect(real.spelledSo(['box.unlistable', 'f.txt'])).rejects.toThrow(/EIO/)
    await expect(real.onDisk(['box.unlistable', 'f.txt'])).rejects.toThrow(/EIO/)
    expect(await real.onDisk(['nothing', 'f.txt'])).toBeNull()
  })

  it('keeps files in a folder it cannot list, however often it scans', async () => {
    const { a, b, aDir, bDir } = await pair({ 'box.unlistable/f.txt': 'f\n', 'top.txt': 't\n' })
    const all = { '/box.unlistable': '<dir>', '/box.unlistable/f.txt': 'f\n', '/top.txt': 't\n' }
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'box.unlistable', 'f.txt'), 'utf8').catch(() => '')) ===
        'f\n',
      30_000,
      'B holds the file',
    )
    // A new folder from A makes B watch again and scan in full: the walk can't list the box,
    // and f.txt is looked at alone. Its listing fails; lstat's answer stands.
    await fs.mkdir(path.join(aDir, 'later'))
    await waitFor(
      async () => (await fs.stat(path.join(bDir, 'later')).catch(() => null)) !== null,
      30_000,
      'B has later/',
    )
    await new Promise((r) => setTimeout(r, 2500))
    await idle(b, a)
    expect(await tree(aDir)).toEqual({ ...all, '/later': '<dir>' })
    expect(await fs.readFile(path.join(bDir, 'box.unlistable', 'f.txt'), 'utf8')).toBe('f\n')
  }, 120_000)

  it('takes a rename that changes only the case as a rename, for files and folders', async () => {
    const { a, b, bs, aDir, bDir } = await pair({
      'Readme.md': 'read me\n',
      'Docs/a.txt': 'a\n',
      'Docs/Sub/b.txt': 'b\n',
      'keep.txt': 'keep\n',
    })
    const start = {
      '/Docs': '<dir>',
      '/Docs/Sub': '<dir>',
      '/Docs/Sub/b.txt': 'b\n',
      '/Docs/a.txt': 'a\n',
      '/Readme.md': 'read me\n',
      '/keep.txt': 'keep\n',
    }
    await sameTree(bDir, start, 'B holds the folder')
    await idle(a, b)
    const ino = async (rel: string): Promise<number> => (await fs.lstat(path.join(bDir, rel))).ino
    const [readmeIno, aIno] = [await ino('Readme.md'), await ino('Docs/a.txt')]

    await fs.rename(path.join(aDir, 'Readme.md'), path.join(aDir, 'README.md'))
    await fs.rename(path.join(aDir, 'Docs'), path.join(aDir, 'DOCS'))
    const renamed = {
      '/DOCS': '<dir>',
      '/DOCS/Sub': '<dir>',
      '/DOCS/Sub/b.txt': 'b\n',
      '/DOCS/a.txt': 'a\n',
      '/README.md': 'read me\n',
      '/keep.txt': 'keep\n',
    }
    await sameTree(bDir, renamed, 'B renamed both').catch((err: Error) => {
      throw new Error(
        `${err.message}; B: ${JSON.stringify(folder(b))} A: ${JSON.stringify(folder(a))}`,
      )
    })
    await idle(b, a)
    // Nothing was lost at B, so nothing is deleted back at A; and it stays so.
    expect(await tree(aDir)).toEqual(renamed)
    await new Promise((r) => setTimeout(r, 1500))
    await idle(b, a)
    expect(await tree(bDir)).toEqual(renamed)
    expect(await tree(aDir)).toEqual(renamed)
    expect(folder(b).files).toBe(4)
    expect(folder(b).problems).toEqual([])
    // Renamed in place, not deleted and fetched again.
    expect([await ino('README.md'), await ino('DOCS/a.txt')]).toEqual([readmeIno, aIno])
    // The old name's version is not restored over the new name, which stands where it would go.
    const id = (b.listFolders()[0] as unknown as { id: string }).id
    await expect(bs.call('folders.restore', { id, path: '/Readme.md' })).rejects.toThrow(
      /\/README\.md is where \/Readme\.md would go/,
    )
    expect(await tree(bDir)).toEqual(renamed)

    // Renamed at B, on the case-insensitive disk: reaches A as a rename too.
    await fs.rename(path.join(bDir, 'README.md'), path.join(bDir, 'readme.md'))
    await fs.rename(path.join(bDir, 'DOCS', 'Sub'), path.join(bDir, 'DOCS', 'sub'))
    const back = {
      '/DOCS': '<dir>',
      '/DOCS/a.txt': 'a\n',
      '/DOCS/sub': '<dir>',
      '/DOCS/sub/b.txt': 'b\n',
      '/keep.txt': 'keep\n',
      '/readme.md': 'read me\n',
    }
    await sameTree(aDir, back, 'A took B’s renames')
    await idle(a, b)
    expect(await tree(bDir)).toEqual(back)
    expect(folder(a).files).toBe(4)

    // A folder renamed and a file in it deleted at once: the file goes, nothing else.
    await fs.rename(path.join(aDir, 'DOCS'), path.join(aDir, 'Docs'))
    await fs.rm(path.join(aDir, 'Docs', 'a.txt'))
    const last = {
      '/Docs': '<dir>',
      '/Docs/sub': '<dir>',
      '/Docs/sub/b.txt': 'b\n',
      '/keep.txt': 'keep\n',
      '/readme.md': 'read me\n',
    }
    await sameTree(bDir, last, 'B renamed the folder, without the deleted file')
    await idle(b, a)
    await new Promise((r) => setTimeout(r, 1500))
    await idle(b, a)
    expect(await tree(aDir)).toEqual(last)
    expect(await tree(bDir)).toEqual(last)
    expect(folder(b).files).toBe(3)
  }, 120_000)

  it('moves a waiting name into the place of the other spelling once that is deleted', async () => {
    const { a, b, aDir, bDir } = await pair({ 'Plan.txt': 'same\n' })
    await sameTree(bDir, { '/Plan.txt': 'same\n' }, 'B holds it')
    const before = (await fs.lstat(path.join(bDir, 'Plan.txt'))).ino
    // The new spelling first, while the old one is still there: B can hold only one.
    await fs.writeFile(path.join(aDir, 'PLAN.txt'), 'same\n')
    await waitFor(
      () => folder(b).problems.some((p) => p.path === '/PLAN.txt' && /only in case/.test(p.reason)),
      30_000,
      'B waits with the new spelling',
    )
    // The old one's deletion comes in a later pass: the file is renamed, not fetched again.
    await fs.rm(path.join(aDir, 'Plan.txt'))
    await sameTree(bDir, { '/PLAN.txt': 'same\n' }, 'B holds the new spelling')
    expect((await fs.lstat(path.join(bDir, 'PLAN.txt'))).ino).toBe(before)
    await idle(b, a)
    expect(await tree(aDir)).toEqual({ '/PLAN.txt': 'same\n' })
    expect(folder(b).problems).toEqual([])
  }, 120_000)

  it('drops what a folder renamed by case lost in the same change', async () => {
    const { a, b, as, aDir, bDir } = await pair({ 'Docs/a.txt': 'a\n', 'Docs/b.txt': 'b\n' })
    await sameTree(
      bDir,
      { '/Docs': '<dir>', '/Docs/a.txt': 'a\n', '/Docs/b.txt': 'b\n' },
      'B holds the folder',
    )
    await idle(a, b)
    const before = (await fs.lstat(path.join(bDir, 'Docs', 'b.txt'))).ino
    // Both changes reach B at once: A records them while it is paused.
    await as.call('sync.pause', {})
    await fs.rename(path.join(aDir, 'Docs'), path.join(aDir, 'DOCS'))
    await fs.rm(path.join(aDir, 'DOCS', 'a.txt'))
    // (A records within its 30 ms watch debounce; a second is ample. Paused, it shows 'paused'.)
    await new Promise((r) => setTimeout(r, 1000))
    await as.call('sync.resume', {})
    const want = { '/DOCS': '<dir>', '/DOCS/b.txt': 'b\n' }
    await sameTree(bDir, want, 'B renamed the folder, without the deleted file')
    expect((await fs.lstat(path.join(bDir, 'DOCS', 'b.txt'))).ino).toBe(before)
    await idle(b, a)
    await new Promise((r) => setTimeout(r, 1500))
    await idle(b, a)
    expect(await tree(bDir)).toEqual(want)
    expect(await tree(aDir)).toEqual(want)
  }, 120_000)

  it('keeps one of two names that differ only in case, and places the other once it can', async () => {
    const { a, b, aDir, bDir } = await pair({ 'Notes.txt': 'upper\n', 'notes.txt': 'lower\n' })
    // B holds the first in order; the other waits, named in the folder's problems.
    await sameTree(bDir, { '/Notes.txt': 'upper\n' }, 'B holds one of them')
    await waitFor(
      () =>
        folder(b).problems.some(
          (p) => p.path === '/notes.txt' && /differ only in case/.test(p.reason),
        ),
      30_000,
      'the problem names the other',
    )
    await idle(a)
    // Neither is lost at A, nor changed.
    expect(await tree(aDir)).toEqual({ '/Notes.txt': 'upper\n', '/notes.txt': 'lower\n' })
    await new Promise((r) => setTimeout(r, 1500))
    expect(await tree(aDir)).toEqual({ '/Notes.txt': 'upper\n', '/notes.txt': 'lower\n' })
    expect(await tree(bDir)).toEqual({ '/Notes.txt': 'upper\n' })

    // The one B holds is deleted at A: the other takes its place.
    await fs.rm(path.join(aDir, 'Notes.txt'))
    await sameTree(bDir, { '/notes.txt': 'lower\n' }, 'B holds the other now')
    await waitFor(
      () => folder(b).problems.every((p) => p.path !== '/notes.txt'),
      30_000,
      'no problem',
    )
    await idle(b, a)
    expect(await tree(aDir)).toEqual({ '/notes.txt': 'lower\n' })
  }, 120_000)
})

describe.runIf(caseFsTests)('a reader on a disk that ignores case', () => {
  async function published(files: Record<string, string>) {
    const p = await pair(files, 'publish')
    await sameTree(p.bDir, await tree(p.aDir), 'the reader holds the folder')
    return p
  }

  it("mirrors the owner's renames that change only the case", async () => {
    const { aDir, bDir } = await published({ 'Readme.md': 'read me\n', 'Docs/a.txt': 'a\n' })
    await fs.rename(path.join(aDir, 'Readme.md'), path.join(aDir, 'README.md'))
    await fs.rename(path.join(aDir, 'Docs'), path.join(aDir, 'docs'))
    await sameTree(
      bDir,
      { '/README.md': 'read me\n', '/docs': '<dir>', '/docs/a.txt': 'a\n' },
      'the reader renamed both',
    )
  }, 120_000)

  it('keeps its own rename when the owner deletes the old name', async () => {
    const { aDir, bDir } = await published({ 'Readme.md': 'read me\n' })
    // The reader's own rename is never sent; the owner then deletes the name it knows.
    await fs.rename(path.join(bDir, 'Readme.md'), path.join(bDir, 'README.md'))
    await fs.rm(path.join(aDir, 'Readme.md'))
    await fs.writeFile(path.join(aDir, 'after.txt'), 'after\n')
    await sameTree(
      bDir,
      { '/README.md': 'read me\n', '/after.txt': 'after\n' },
      'the deletion applied, the renamed file kept',
    )
    await new Promise((r) => setTimeout(r, 1500))
    expect(await tree(bDir)).toEqual({ '/README.md': 'read me\n', '/after.txt': 'after\n' })
  }, 120_000)
})

describe.runIf(caseFsTests)('an owner on a disk that ignores case', () => {
  it('publishes its renames that change only the case, and edits made after them', async () => {
    const p = await twoNodes(fx, 'spare-case-own-')
    const aDir = path.join(await caseInsensitiveDir(fx), 'a')
    await fs.mkdir(path.join(aDir, 'Docs'), { recursive: true })
    await fs.writeFile(path.join(aDir, 'Readme.md'), 'read me\n')
    await fs.writeFile(path.join(aDir, 'Docs', 'a.txt'), 'a\n')
    const shared = (await p.as.call('folders.share', { path: aDir, mode: 'publish' })) as {
      invite: string
    }
    await p.bs.call('folders.join', { invite: shared.invite, path: p.bDir })
    await sameTree(p.bDir, await tree(aDir), 'the reader holds the folder')

    await fs.rename(path.join(aDir, 'Readme.md'), path.join(aDir, 'README.md'))
    await fs.rename(path.join(aDir, 'Docs'), path.join(aDir, 'DOCS'))
    const renamed = { '/DOCS': '<dir>', '/DOCS/a.txt': 'a\n', '/README.md': 'read me\n' }
    await sameTree(p.bDir, renamed, 'the reader took both renames')
    // Changes inside the renamed folder are seen under its new name.
    await fs.writeFile(path.join(aDir, 'DOCS', 'a.txt'), 'a, edited\n')
    await fs.writeFile(path.join(aDir, 'DOCS', 'b.txt'), 'b\n')
    await sameTree(
      p.bDir,
      { ...renamed, '/DOCS/a.txt': 'a, edited\n', '/DOCS/b.txt': 'b\n' },
      'the reader took the edits',
    )
  }, 120_000)
})
