// Sharing a folder from one owner to several readers, through real daemons and the real CLI on
// a local testnet.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary, Peer } from '../../shared/contract.ts'
import {
  type TestDaemon,
  localTestnet,
  snapshotTree,
  startDaemon,
  tempDir,
  waitFor,
  waitForSameTree,
  writeRandomFile,
} from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'

const t = useLocalTestnet()

async function makeTree(root: string): Promise<void> {
  await fs.mkdir(path.join(root, 'docs', 'nested', 'deeper'), { recursive: true })
  await fs.mkdir(path.join(root, 'empty-dir', 'empty-child'), { recursive: true })
  await fs.writeFile(path.join(root, 'hello.txt'), 'hello world\n')
  await fs.writeFile(path.join(root, 'empty-file'), '')
  await fs.writeFile(path.join(root, 'docs', 'nested', 'deeper', 'note.md'), '# deep\n')
  await fs.writeFile(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
  await fs.writeFile(path.join(root, 'ünïcødé name.txt'), 'unicode\n')
  await fs.symlink('hello.txt', path.join(root, 'link-to-hello'))
  await fs.symlink('/etc/passwd', path.join(root, 'absolute-link'))
  await fs.symlink('missing-target', path.join(root, 'dangling'))
  await writeRandomFile(path.join(root, 'docs', 'big.bin'), 6 * 1024 * 1024 + 12, 7)
  for (let i = 0; i < 40; i++)
    await fs.writeFile(path.join(root, 'docs', `small-${i}.txt`), `file ${i}\n`.repeat(i + 1))
}

async function share(
  owner: TestDaemon,
  dir: string,
): Promise<{ invite: string; folder: FolderSummary }> {
  return owner.json<{ invite: string; folder: FolderSummary }>(['share', dir, '--publish'])
}

/** An owner sharing `src` and a reader that has mirrored it completely. */
async function syncedPair(src: string): Promise<{
  owner: TestDaemon
  reader: TestDaemon
  dst: string
  invite: string
  folder: FolderSummary
}> {
  const owner = await startDaemon(t.cleanup, t.network)
  const reader = await startDaemon(t.cleanup, t.network)
  const { invite, folder } = await share(owner, src)
  const dst = path.join(await tempDir(t.cleanup), 'mirror')
  expect((await reader.cli(['join', invite, dst])).code).toBe(0)
  await waitForSameTree(src, dst)
  return { owner, reader, dst, invite, folder }
}

/** An owner that has imported all of `src`, and a reader that has just joined it. */
async function joinAfterImport(
  src: string,
): Promise<{ owner: TestDaemon; reader: TestDaemon; dst: string }> {
  const owner = await startDaemon(t.cleanup, t.network)
  const reader = await startDaemon(t.cleanup, t.network)
  const { invite } = await share(owner, src)
  await waitFor(async () => (await owner.folders())[0]?.state === 'idle', { timeoutMs: 90_000 })
  const dst = path.join(await tempDir(t.cleanup), 'mirror')
  expect((await reader.cli(['join', invite, dst])).code).toBe(0)
  return { owner, reader, dst }
}

describe('sharing a folder', () => {
  it('mirrors a tree to two readers, then keeps them live through adds, changes, deletes and moves', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await makeTree(src)
    const owner = await startDaemon(t.cleanup, t.network)
    const r1 = await startDaemon(t.cleanup, t.network)
    const r2 = await startDaemon(t.cleanup, t.network)
    const { invite, folder } = await share(owner, src)
    expect(invite).toMatch(/^spare1[a-z0-9]+$/)
    expect(folder.role).toBe('owner')

    const dst1 = path.join(await tempDir(t.cleanup), 'mirror-1')
    const dst2 = path.join(await tempDir(t.cleanup), 'mirror-2')
    const joined = await r1.json<{ folder: FolderSummary }>(['join', invite, dst1])
    expect(joined.folder.id).toBe(folder.id)
    expect(joined.folder.role).toBe('reader')
    expect((await r2.cli(['join', invite, dst2])).code).toBe(0)

    await waitForSameTree(src, dst1)
    await waitForSameTree(src, dst2)
    const tree = await snapshotTree(dst1)
    expect(tree['run.sh']?.exec).toBe(true)
    expect(tree['hello.txt']?.exec).toBe(false)
    expect(tree['link-to-hello']).toEqual({ type: 'symlink', target: 'hello.txt' })
    expect(tree['absolute-link']).toEqual({ type: 'symlink', target: '/etc/passwd' })
    expect(tree['empty-dir/empty-child']).toEqual({ type: 'dir' })
    expect(tree['empty-file']?.size).toBe(0)

    // spare folders --json on a reader: counts match and it settles idle.
    await waitFor(async () => {
      const [f] = await r1.folders()
      return !!f && f.state === 'idle' && f.localBytes === f.bytes
    })
    const [f1] = await r1.folders()
    const [fo] = await owner.folders()
    expect(f1).toMatchObject({
      id: folder.id,
      path: dst1,
      role: 'reader',
      files: fo!.files,
      bytes: fo!.bytes,
    })
    expect(f1!.peers).toBeGreaterThan(0)
    expect(f1!.localChanges).toEqual([])
    // Peer bookkeeping: the reader received the content, the owner sent it.
    const readerPeers = await r1.json<Peer[]>(['peers'])
    expect(
      readerPeers.some((p) => p.folders.includes(folder.id) && p.bytesDown > 6 * 1024 * 1024),
    ).toBe(true)
    const ownerPeers = await owner.json<Peer[]>(['peers'])
    expect(ownerPeers.reduce((n, p) => n + p.bytesUp, 0)).toBeGreaterThan(6 * 1024 * 1024)

    // Live changes: add, change, delete, move a file and a folder, chmod.
    await fs.writeFile(path.join(src, 'added.txt'), 'new file\n')
    await fs.writeFile(path.join(src, 'hello.txt'), 'hello again, changed\n')
    await fs.rm(path.join(src, 'docs', 'small-3.txt'))
    await fs.rename(path.join(src, 'docs', 'small-4.txt'), path.join(src, 'moved-small-4.txt'))
    await fs.rename(path.join(src, 'docs', 'nested'), path.join(src, 'nested-moved'))
    await fs.chmod(path.join(src, 'hello.txt'), 0o755)
    await fs.rm(path.join(src, 'empty-dir'), { recursive: true })
    await fs.mkdir(path.join(src, 'new-empty'))
    await waitForSameTree(src, dst1)
    await waitForSameTree(src, dst2)
    expect((await snapshotTree(dst1))['hello.txt']?.exec).toBe(true)
  })

  it('lets a late reader complete from another reader while the owner is offline', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await makeTree(src)
    const owner = await startDaemon(t.cleanup, t.network)
    const r1 = await startDaemon(t.cleanup, t.network)
    const { invite } = await share(owner, src)
    const dst1 = path.join(await tempDir(t.cleanup), 'm1')
    await r1.cli(['join', invite, dst1])
    await waitForSameTree(src, dst1)
    await waitFor(async () => (await r1.folders())[0]?.state === 'idle')

    expect(await owner.stop()).toBe(0)
    const r2 = await startDaemon(t.cleanup, t.network)
    const dst2 = path.join(await tempDir(t.cleanup), 'm2')
    expect((await r2.cli(['join', invite, dst2])).code).toBe(0)
    await waitForSameTree(src, dst2, 90_000)
  })

  it('recovers a byte-identical tree after kill -9 of a reader mid-transfer', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    for (let i = 0; i < 6; i++)
      await writeRandomFile(path.join(src, `big-${i}.bin`), 24 * 1024 * 1024, i + 1)
    for (let i = 0; i < 200; i++) await fs.writeFile(path.join(src, `f-${i}.txt`), `x${i}`)
    const { reader, dst } = await joinAfterImport(src)
    // Kill it once some but not all content has arrived.
    await waitFor(
      async () => {
        const [f] = await reader.folders()
        return !!f && f.localBytes > 0 && f.localBytes < f.bytes
      },
      { intervalMs: 20, timeoutMs: 60_000, what: 'a partial transfer' },
    )
    await reader.kill9()
    await reader.start()
    await waitForSameTree(src, dst, 120_000)
    const leftovers = (await fs.readdir(dst)).filter((n) => n.startsWith('.spare-tmp-'))
    expect(leftovers).toEqual([])
  })

  it('stops promptly while waiting for blocks from a peer that left', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    for (let i = 0; i < 4; i++)
      await writeRandomFile(path.join(src, `big-${i}.bin`), 32 * 1024 * 1024, i + 11)
    const { owner, reader, dst } = await joinAfterImport(src)
    // Files are being written (temp files exist) but not all are done.
    await waitFor(
      async () => (await fs.readdir(dst).catch(() => [])).some((n) => n.startsWith('.spare-tmp-')),
      { intervalMs: 10, timeoutMs: 60_000, what: 'a transfer in progress' },
    )
    await owner.kill9()
    expect((await reader.folders())[0]!.localBytes).toBeLessThan(4 * 32 * 1024 * 1024)
    const started = Date.now()
    const code = await reader.stop()
    expect(code, reader.output.slice(-2000)).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it("reports a reader's own edits as local changes, never sends them, and keeps them when the owner changes the file", async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'a.txt'), 'owner a\n')
    await fs.writeFile(path.join(src, 'b.txt'), 'owner b\n')
    await fs.writeFile(path.join(src, 'c.txt'), 'owner c\n')
    const { reader, dst } = await syncedPair(src)

    await fs.writeFile(path.join(dst, 'a.txt'), 'reader edit\n')
    await fs.rm(path.join(dst, 'b.txt'))
    await fs.writeFile(path.join(dst, 'mine.txt'), 'reader only\n')
    let seen: unknown = null
    await waitFor(
      async () => {
        const [f] = await reader.folders()
        seen = f!.localChanges
        return f!.localChanges.length === 3
      },
      { what: 'local changes' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(seen)}`)
    })
    const [f] = await reader.folders()
    expect(f!.localChanges).toEqual([
      { path: '/a.txt', kind: 'modified' },
      { path: '/b.txt', kind: 'deleted' },
      { path: '/mine.txt', kind: 'added' },
    ])
    // Nothing went to the owner.
    await new Promise((r) => setTimeout(r, 500))
    expect(await fs.readFile(path.join(src, 'a.txt'), 'utf8')).toBe('owner a\n')
    await expect(fs.access(path.join(src, 'mine.txt'))).rejects.toThrow()

    // The owner changes the file the reader edited: the owner's version lands, the reader's is kept.
    await fs.writeFile(path.join(src, 'a.txt'), 'owner a, version 2\n')
    await waitFor(
      async () => (await fs.readFile(path.join(dst, 'a.txt'), 'utf8')) === 'owner a, version 2\n',
    )
    const names = await fs.readdir(dst)
    const copy = names.find((n) => /^a\.sync-conflict-\d{8}-\d{6}-local\.txt$/.test(n))
    expect(copy, names.join(', ')).toBeDefined()
    expect(await fs.readFile(path.join(dst, copy!), 'utf8')).toBe('reader edit\n')
  })

  it('keeps no plaintext name or content in any data directory', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    const secretName = 'quarterly-secret-plan-7f3a.txt'
    const secretText = 'the launch code is tangerine-42, do not tell anyone\n'.repeat(20)
    await fs.mkdir(path.join(src, 'private-folder-name-91c2'))
    await fs.writeFile(path.join(src, 'private-folder-name-91c2', secretName), secretText)
    const { owner, reader } = await syncedPair(src)
    await owner.stop()
    await reader.stop()
    const needles = ['quarterly-secret-plan', 'private-folder-name-91c2', 'tangerine-42'].map((n) =>
      Buffer.from(n),
    )
    async function grep(dir: string): Promise<string[]> {
      const hits: string[] = []
      for (const d of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
        if (!d.isFile()) continue
        const file = path.join(d.parentPath, d.name)
        if (
          file.includes(`${path.sep}logs${path.sep}`) ||
          file.endsWith('settings.json') ||
          file.endsWith('index.json')
        )
          continue
        const buf = await fs.readFile(file)
        for (const n of needles) if (buf.includes(n)) hits.push(`${file}: ${n.toString()}`)
      }
      return hits
    }
    // The cores (blocks, tree, headers) are encrypted at rest too; only the local settings, the
    // reader's own index of the folder it mirrors, and the logs may name paths.
    expect(await grep(owner.dataDir)).toEqual([])
    expect(await grep(reader.dataDir)).toEqual([])
  })

  it('stops syncing on unshare and leaves the files on disk', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'keep.txt'), 'keep me\n')
    const { reader, dst, folder } = await syncedPair(src)
    const res = await reader.cli(['unshare', folder.id])
    expect(res.code).toBe(0)
    expect(await reader.folders()).toEqual([])
    await fs.writeFile(path.join(src, 'later.txt'), 'not synced\n')
    await new Promise((r) => setTimeout(r, 1500))
    await expect(fs.access(path.join(dst, 'later.txt'))).rejects.toThrow()
    expect(await fs.readFile(path.join(dst, 'keep.txt'), 'utf8')).toBe('keep me\n')
    expect((await reader.cli(['unshare', folder.id])).code).toBe(2)
  })

  it('pauses and resumes syncing, and stays paused across a restart', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'first.txt'), '1\n')
    const { reader, dst } = await syncedPair(src)

    expect((await reader.cli(['pause'])).code).toBe(0)
    await waitFor(async () => {
      const [f] = await reader.folders()
      return f!.state === 'paused' && f!.peers === 0
    })
    await fs.writeFile(path.join(src, 'while-paused.txt'), 'later\n')
    await new Promise((r) => setTimeout(r, 2000))
    await expect(fs.access(path.join(dst, 'while-paused.txt'))).rejects.toThrow()

    await reader.stop()
    await reader.start()
    expect((await reader.json<{ paused: boolean }>(['status'])).paused).toBe(true)
    await new Promise((r) => setTimeout(r, 1500))
    await expect(fs.access(path.join(dst, 'while-paused.txt'))).rejects.toThrow()

    expect((await reader.cli(['resume'])).code).toBe(0)
    await waitForSameTree(src, dst)
    await waitFor(async () => (await reader.folders())[0]!.state === 'idle')
  })

  it('changes the network mode live, without a restart', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'hello.txt'), 'hello\n')
    const owner = await startDaemon(t.cleanup, t.network)
    const { invite } = await share(owner, src)
    // The reader starts on a network of its own, where nobody has the folder.
    const elsewhere = await localTestnet(t.cleanup)
    const reader = await startDaemon(t.cleanup, elsewhere)
    const dst = path.join(await tempDir(t.cleanup), 'mirror')
    expect((await reader.cli(['join', invite, dst])).code).toBe(0)
    await new Promise((r) => setTimeout(r, 1500))
    await expect(fs.access(path.join(dst, 'hello.txt'))).rejects.toThrow()
    // Bad input is refused and changes nothing.
    const bad = await reader.cli(['network', 'no-port-here'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/HOST:PORT/)
    // Moving to the owner's network: the folder syncs, and the choice is saved.
    const status = await reader.json<{ network: { bootstrap: string[] } }>(['network', t.network])
    expect(status.network.bootstrap.join(',')).toBe(t.network)
    await waitForSameTree(src, dst)
    const saved = JSON.parse(
      await fs.readFile(path.join(reader.dataDir, 'settings.json'), 'utf8'),
    ) as {
      network: string
    }
    expect(saved.network).toBe(t.network)
  })

  it('keeps its folders across a restart of both sides', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'one.txt'), '1\n')
    const { owner, reader, dst } = await syncedPair(src)
    await owner.stop()
    await reader.stop()
    // Changes made while everything was off are picked up by the owner's scan at start.
    await fs.writeFile(path.join(src, 'two.txt'), '2\n')
    await fs.rm(path.join(src, 'one.txt'))
    await owner.start()
    await reader.start()
    await waitForSameTree(src, dst)
  })
})
