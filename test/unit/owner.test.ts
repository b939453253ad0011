// The owner of a published folder (folders/owner.ts) with real parts: a real SpareNode on a local
// testnet sharing a real folder, and its drive looked at directly. What the owner publishes must
// be what was on disk: never a copy torn by a write during the read, never what a symlink put in
// a file's place points to, never entries of a folder that is no longer there.
import { describe, expect, it, vi } from 'vitest'
import { execFileSync } from 'node:child_process'
import { constants as fsConstants, promises as fs } from 'node:fs'
import path from 'node:path'
import type Hyperdrive from 'hyperdrive'
import type { BlobId } from 'hyperdrive'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface DiskItem {
  kind: 'file' | 'dir' | 'symlink'
  size: number
  mtime: number
  executable: boolean
}

/** The parts of an owner folder this test drives (private to the engine: the test looks in). */
interface OwnerInternals {
  drive: Hyperdrive | null
  state: string
  apply(changes: string[], removed: string[], disk: Map<string, DiskItem>): Promise<void>
  walk(dir: string, out: Map<string, DiskItem>): Promise<void>
}

function ownerOf(node: SpareNode, id: string): OwnerInternals {
  const folders = (node as unknown as { folders: Map<string, OwnerInternals> }).folders
  const folder = folders.get(id)
  if (!folder?.drive) throw new Error('the owner has no drive open')
  return folder
}

async function share(dir: string): Promise<{ node: SpareNode; owner: OwnerInternals }> {
  const node = await fx.readyNode()
  const res = (await new SpareService(node).call('folders.share', {
    path: dir,
    mode: 'publish',
  })) as { folder: { id: string } }
  const owner = ownerOf(node, res.folder.id)
  await waitFor(() => owner.state === 'idle', 10_000, 'the first scan')
  return { node, owner }
}

async function keys(drive: Hyperdrive): Promise<string[]> {
  const out: string[] = []
  for await (const e of drive.list('/', { recursive: true })) out.push(e.key)
  return out.sort()
}

/** Every block of the folder's blobs core, as one buffer: what was ever published. */
async function allBlobBytes(drive: Hyperdrive): Promise<Buffer> {
  const blobs = await drive.getBlobs()
  const parts: Buffer[] = []
  for (let i = 0; i < blobs.core.length; i++) {
    const b = await blobs.core.get(i)
    if (b) parts.push(b)
  }
  return Buffer.concat(parts)
}

/** The content of `key` in every entry ever written for it (each block of the tree). */
async function publishedVersions(drive: Hyperdrive, key: string): Promise<Buffer[]> {
  const blobs = await drive.getBlobs()
  const out: Buffer[] = []
  for (let seq = 1; seq < drive.db.core.length; seq++) {
    const node = await drive.db.getBySeq(seq)
    // Keys are stored under hyperdrive's 'files' prefix: "files\0/path".
    if (!node || Buffer.from(node.key).toString() !== `files\0${key}`) continue
    const blob = (node.value as { blob: BlobId | null }).blob
    if (!blob) continue
    const parts: Buffer[] = []
    for (let i = blob.blockOffset; i < blob.blockOffset + blob.blockLength; i++) {
      parts.push((await blobs.core.get(i))!)
    }
    out.push(Buffer.concat(parts))
  }
  return out
}

describe('the owner of a published folder', () => {
  it('drops what a folder held when it is moved away and a file or another folder takes its place', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    const away = path.join(root, 'away')
    await fs.mkdir(path.join(dir, 'a'), { recursive: true })
    await fs.mkdir(path.join(dir, 'b'), { recursive: true })
    await fs.mkdir(away)
    await fs.writeFile(path.join(dir, 'a', 'x'), 'x')
    await fs.writeFile(path.join(dir, 'b', 'old'), 'old')
    const { owner } = await share(dir)
    const drive = owner.drive!
    expect(await keys(drive)).toEqual(['/a', '/a/x', '/b', '/b/old'])

    // Moved out of the folder: the watcher says only that a and b changed, nothing of below.
    await fs.rename(path.join(dir, 'a'), path.join(away, 'a'))
    await fs.writeFile(path.join(dir, 'a'), 'now a file')
    await fs.rename(path.join(dir, 'b'), path.join(away, 'b'))
    await fs.mkdir(path.join(dir, 'b'))
    await fs.writeFile(path.join(dir, 'b', 'new'), 'new')

    await waitFor(
      async () => (await keys(drive)).join(',') === '/a,/b,/b/new',
      5000,
      'the drive to hold only what is on disk',
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${(await keys(drive)).join(',')}`)
    })
    expect((await drive.entry('/a'))?.value.blob?.byteLength).toBe('now a file'.length)
  })

  it('does not walk a sibling folder again when a file beside it changes', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(path.join(dir, 'big', 'deep'), { recursive: true })
    for (let i = 0; i < 300; i++) await fs.writeFile(path.join(dir, 'big', 'deep', `f${i}`), `${i}`)
    await fs.writeFile(path.join(dir, 'beside'), 'one')
    const { owner } = await share(dir)
    const drive = owner.drive!
    const below = path.join(dir, 'big') + path.sep
    const looked: string[] = []
    const lstat = fs.lstat.bind(fs)
    const spy = vi.spyOn(fs, 'lstat').mockImplementation(((p: string) => {
      if (String(p).startsWith(below)) looked.push(String(p))
      return lstat(p)
    }) as typeof fs.lstat)
    try {
      await fs.writeFile(path.join(dir, 'beside'), 'two, longer')
      await fs.writeFile(path.join(dir, 'new'), 'new')
      await waitFor(
        async () => (await drive.entry('/new')) !== null && owner.state === 'idle',
        5000,
        'the change to be published',
      )
      expect((await drive.entry('/beside'))?.value.blob?.byteLength).toBe('two, longer'.length)
    } finally {
      spy.mockRestore()
    }
    // The folder beside the change was looked at (is it still a folder?), not walked: nothing
    // below it changed, and events inside it would say so.
    expect(looked).toEqual([])
    expect(await keys(drive)).toContain('/big/deep/f299')
  })

  it('never follows a symlink put in the place of a file it is about to read', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    const secret = 'SECRET-OUTSIDE-THE-FOLDER-' + 'z'.repeat(40)
    await fs.writeFile(path.join(root, 'outside.txt'), secret)
    await fs.writeFile(path.join(root, 'outside-big.bin'), Buffer.alloc(2 * 1024 * 1024, secret))
    const { owner } = await share(dir)
    const drive = owner.drive!

    // What a scan saw (files, and a symlink) and what is there when the owner reads them: the
    // state a walk leaves when files are replaced between its lstat and the read.
    const mtime = Date.now()
    const disk = new Map<string, DiskItem>([
      ['/small', { kind: 'file', size: secret.length, mtime, executable: false }],
      ['/big', { kind: 'file', size: 2 * 1024 * 1024, mtime, executable: false }],
      ['/was-link', { kind: 'symlink', size: 0, mtime, executable: false }],
    ])
    await fs.symlink(path.join(root, 'outside.txt'), path.join(dir, 'small'))
    await fs.symlink(path.join(root, 'outside-big.bin'), path.join(dir, 'big'))
    await fs.writeFile(path.join(dir, 'was-link'), 'a file now')
    await owner.apply([...disk.keys()], [], disk)

    // Looked at again, each is published as what it is: links as links, the file as a file.
    await waitFor(
      async () =>
        (await drive.entry('/small'))?.value.linkname === path.join(root, 'outside.txt') &&
        (await drive.entry('/big'))?.value.linkname === path.join(root, 'outside-big.bin') &&
        (await drive.entry('/was-link'))?.value.blob?.byteLength === 'a file now'.length,
      5000,
      'the links and the file to be published as they are',
    )
    expect((await allBlobBytes(drive)).includes('SECRET-OUTSIDE')).toBe(false)
  })

  it('never lists what a symlink put in the place of a folder it is about to list points to', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    await fs.mkdir(path.join(root, 'outside'))
    await fs.writeFile(path.join(root, 'outside', 'secret.txt'), 'secret')
    const { owner } = await share(dir)
    // The walk saw a folder 'sub' (lstat); it is a symlink when the walk comes to list it.
    await fs.symlink(path.join(root, 'outside'), path.join(dir, 'sub'))
    const out = new Map<string, DiskItem>()
    await owner.walk(path.join(dir, 'sub'), out)
    expect([...out.keys()]).toEqual([])
  })

  it('never publishes what a folder replaced by a symlink holds in its target', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(path.join(dir, 'sub'), { recursive: true })
    await fs.writeFile(path.join(dir, 'sub', 'notes.txt'), 'inside')
    await fs.writeFile(path.join(dir, 'sub', 'other.txt'), 'inside too')
    // A folder outside holding files of the same names.
    await fs.mkdir(path.join(root, 'outside'))
    const secret = 'SECRET-OUTSIDE-THE-FOLDER'
    await fs.writeFile(path.join(root, 'outside', 'notes.txt'), secret)
    await fs.writeFile(path.join(root, 'outside', 'other.txt'), secret + '-2')
    const { owner } = await share(dir)
    const drive = owner.drive!
    // The folder is deleted (events for each file in it) and a link to the outside put there.
    await fs.rm(path.join(dir, 'sub'), { recursive: true })
    await fs.symlink(path.join(root, 'outside'), path.join(dir, 'sub'))
    await waitFor(
      async () => (await drive.entry('/sub'))?.value.linkname === path.join(root, 'outside'),
      5000,
      'the link to be published',
    )
    await waitFor(() => owner.state === 'idle', 5000, 'the owner to settle')
    expect(await keys(drive)).toEqual(['/sub'])
    expect((await allBlobBytes(drive)).includes('SECRET-OUTSIDE')).toBe(false)
  })

  it('does not wait on a FIFO put in the place of a file it is about to read', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, 'keep'), 'kept')
    const { owner } = await share(dir)
    const disk = new Map<string, DiskItem>([
      ['/fifo', { kind: 'file', size: 10, mtime: Date.now(), executable: false }],
    ])
    execFileSync('mkfifo', [path.join(dir, 'fifo')])
    const outcome = await Promise.race([
      owner.apply(['/fifo'], [], disk).then(() => 'done'),
      new Promise((r) => setTimeout(() => r('hung'), 5000)),
    ])
    if (outcome === 'hung') {
      // Let the read blocked on the FIFO end, so the node can close.
      const fh = await fs.open(
        path.join(dir, 'fifo'),
        fsConstants.O_WRONLY | fsConstants.O_NONBLOCK,
      )
      await fh.close()
    }
    expect(outcome).toBe('done')
    expect(await owner.drive!.entry('/fifo')).toBeNull()
    expect(await owner.drive!.entry('/keep')).not.toBeNull()
  })

  it('never publishes a copy of a file torn by writes while it is read', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    const sizes = { '/big': 4 * 1024 * 1024, '/small': 512 * 1024 }
    for (const [key, size] of Object.entries(sizes))
      await fs.writeFile(path.join(dir, key), Buffer.alloc(size, 'A'))
    const { owner } = await share(dir)
    const drive = owner.drive!

    // Rewrite both files in place, 64 KiB at a time, all As then all Bs, over and over: a read
    // that overlaps a pass sees some of each.
    const stopAt = Date.now() + 1500
    let letter = 'B'
    while (Date.now() < stopAt) {
      for (const [key, size] of Object.entries(sizes)) {
        const fh = await fs.open(path.join(dir, key), 'r+')
        const piece = Buffer.alloc(64 * 1024, letter)
        for (let at = 0; at < size; at += piece.length) {
          await fh.write(piece, 0, piece.length, at)
          await new Promise((r) => setImmediate(r))
        }
        await fh.close()
      }
      letter = letter === 'A' ? 'B' : 'A'
    }
    const last = letter === 'A' ? 'B' : 'A'
    await waitFor(
      async () => {
        for (const [key, size] of Object.entries(sizes)) {
          const versions = await publishedVersions(drive, key)
          const now = versions.at(-1)
          if (!now?.equals(Buffer.alloc(size, last))) return false
        }
        return owner.state === 'idle'
      },
      15_000,
      'the last content to be published',
    ).catch(async (err: Error) => {
      const info = []
      for (const key of Object.keys(sizes)) {
        const v = await publishedVersions(drive, key)
        info.push(
          `${key}: ${v.length} versions, last ${v.at(-1)?.subarray(0, 1).toString()}..${v.at(-1)?.subarray(-1).toString()} ${v.at(-1)?.length}`,
        )
      }
      throw new Error(`${err.message} (${last}, ${owner.state}): ${info.join('; ')}`)
    })
    for (const [key, size] of Object.entries(sizes)) {
      const versions = await publishedVersions(drive, key)
      expect(versions.length).toBeGreaterThanOrEqual(2) // the first, and the last
      for (const content of versions) {
        const whole =
          content.equals(Buffer.alloc(size, 'A')) || content.equals(Buffer.alloc(size, 'B'))
        expect(whole, `${key}: a published version is torn`).toBe(true)
      }
    }
  })
})

describe('the owner reading a big file that changes', () => {
  it('gives the read up and publishes the files after it whole', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    const { owner } = await share(dir)
    const drive = owner.drive!
    const big = path.join(dir, 'big')
    await fs.writeFile(big, Buffer.alloc(64 * 1024 * 1024, 'A'))
    const small = Array.from({ length: 20 }, (_, i) => `/small-${String(i).padStart(2, '0')}`)
    // Not packed (over 16 KiB): each is a blob of its own, read whole by drive.get.
    const content = (key: string): string => `content of ${key}\n`.repeat(1500)
    for (const key of small) await fs.writeFile(path.join(dir, key), content(key))
    // Still for longer than a big file must be before it is read.
    await new Promise((r) => setTimeout(r, 1200))
    const disk = new Map<string, DiskItem>()
    await owner.walk(dir, disk)
    const applying = owner.apply([...disk.keys()], [], disk)
    await new Promise((r) => setTimeout(r, 30))
    const fh = await fs.open(big, 'r+')
    await fh.write(Buffer.from('B'), 0, 1, 0)
    await fh.close()
    await applying
    const blobs = await drive.getBlobs()
    for (const key of small) {
      const blob = (await drive.entry(key))?.value.blob
      const blocks: Buffer[] = []
      for (let i = blob!.blockOffset; i < blob!.blockOffset + blob!.blockLength; i++)
        blocks.push((await blobs.core.get(i))!)
      expect(Buffer.concat(blocks).toString() === content(key), key).toBe(true)
    }
  })

  // A big file the owner finds being written (a download, a recording, a log) is not published
  // while it changes, and its reads meanwhile must not pile up in the folder's store: each torn
  // read of a streamed file leaves its blocks in the blobs core for good.
  it('does not store copy after copy of a big file while it is being written', async () => {
    const root = await fx.tmpDir('spare-growing-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    const { owner } = await share(dir)
    const blobs = await owner.drive!.getBlobs()
    const before = blobs.core.byteLength
    // Written for 3 s: 8 MiB at first, then 128 KiB every 25 ms.
    const file = path.join(dir, 'growing.bin')
    const fh = await fs.open(file, 'w')
    await fh.write(Buffer.alloc(8 * 1024 * 1024, 1))
    const chunk = Buffer.alloc(128 * 1024, 2)
    const until = Date.now() + 3000
    while (Date.now() < until) {
      await fh.write(chunk)
      await new Promise((r) => setTimeout(r, 25))
    }
    await fh.close()
    const size = (await fs.stat(file)).size
    await waitFor(
      async () => (await owner.drive!.entry('/growing.bin'))?.value.blob?.byteLength === size,
      30_000,
      'the whole file to be published',
    )
    const stored = blobs.core.byteLength - before
    // The published copy, and at most a few torn reads besides.
    expect(stored, `${stored} bytes stored for a file of ${size}`).toBeLessThan(3 * size)
  }, 60_000)
})

describe('the owner after a failed import', () => {
  it('writes what the failed run did not, on its next scan', async () => {
    const root = await fx.tmpDir('spare-owner-')
    const dir = path.join(root, 'shared')
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, 'first'), 'first')
    const { owner } = await share(dir)
    const drive = owner.drive!
    // The next commit fails (as a full disk or a closing store would make it), once.
    const batch = drive.batch.bind(drive)
    let failures = 0
    drive.batch = () => {
      const b = batch()
      if (failures++ === 0) {
        // As a failed append does: the batch is dropped (its lock released) and the call throws.
        const db = b.db as unknown as { close(): Promise<void> }
        b.flush = async () => {
          await db.close()
          throw new Error('injected: commit failed')
        }
      }
      return b
    }
    await fs.writeFile(path.join(dir, 'second'), 'second')
    await waitFor(() => owner.state === 'error', 5000, 'the import to fail')
    await waitFor(
      async () => (await drive.entry('/second')) !== null && owner.state === 'idle',
      10_000,
      'the file to be written by the next scan',
    )
  }, 20_000)
})

// A small file written a little at a time (a log appended every 100 ms) was published on every
// append: a version, and a block, each time. It is published again only once it holds still (or
// a second after its last version); a file written once still goes out at once.
describe('the owner of a small file written slowly', () => {
  it('publishes far fewer versions than writes, and the last content reaches the reader', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-slow-writes-')
    const [aDir, bDir] = [path.join(root, 'a'), path.join(root, 'b')]
    await fs.mkdir(aDir)
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network })
    const res = (await new SpareService(a).call('folders.share', {
      path: aDir,
      mode: 'publish',
    })) as { folder: { id: string }; invite: string }
    await new SpareService(b).call('folders.join', { invite: res.invite, path: bDir })
    const owner = ownerOf(a, res.folder.id)
    const drive = owner.drive!
    const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

    // Written once: arrives, published once.
    await fs.writeFile(path.join(aDir, 'once.txt'), 'x'.repeat(4096))
    await waitFor(
      async () => (await read(path.join(bDir, 'once.txt'))) === 'x'.repeat(4096),
      30_000,
      'the file written once at the reader',
    )
    expect(await publishedVersions(drive, '/once.txt')).toHaveLength(1)

    const log = path.join(aDir, 'app.log')
    let text = ''
    for (let i = 0; i < 20; i++) {
      text += `line ${i}\n`
      await fs.appendFile(log, `line ${i}\n`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await waitFor(
      async () => (await read(path.join(bDir, 'app.log'))) === text && owner.state === 'idle',
      30_000,
      'the whole log at the reader',
    )
    const versions = await publishedVersions(drive, '/app.log')
    expect(versions.at(-1)?.toString()).toBe(text)
    expect(versions.length, `${versions.length} versions for 20 writes`).toBeLessThanOrEqual(8)
  }, 60_000)
})
