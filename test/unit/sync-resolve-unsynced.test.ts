// Keeping a conflict copy renames it over the original. When the user edited the original after
// the conflict and the scan has not recorded that edit yet, the rename threw the edit away with
// no version anywhere. Now the original must be exactly as last recorded (a file's size, mtime,
// inode and exec bit, a link's target): otherwise CONFLICT, nothing moves, and the path is
// scanned, so a try a moment later replaces it and the edit stays restorable as a version.
// Two real writers on a local testnet; A's scans are held (its private `scan` waits on a gate)
// while the user edits, so the edit is certainly unrecorded when resolve runs.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import type { ConflictInfo } from '../../main/engine/sync/sync-folder.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** The part of a two-way folder this test reaches into (private in SyncFolder). */
interface FolderInside {
  scan(): Promise<void>
}

async function summary(s: SpareService): Promise<FolderSummary> {
  return ((await s.call('folders.list', {})) as FolderSummary[])[0]!
}

/** Holds the folder's scans until `release` is called (a scan asked for meanwhile waits). */
function holdScans(node: SpareNode, id: string): { release(): void } {
  const inside = (node as unknown as { folders: Map<string, FolderInside> }).folders.get(id)!
  const real = inside.scan
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  inside.scan = async function (this: FolderInside) {
    await gate
    return real.call(this)
  }
  return {
    release() {
      inside.scan = real
      release()
    },
  }
}

describe('keeping a conflict copy over an original edited since', () => {
  it('refuses while the edit is unrecorded, then replaces it, the edit restorable', async () => {
    const network = await fx.testnet()
    const root = await fx.tmpDir('spare-resolve-')
    const bData = path.join(root, 'data-b')
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network, dataDir: bData })
    const [aDir, bDir] = [path.join(root, 'a'), path.join(root, 'b')]
    await fs.mkdir(aDir)
    await fs.writeFile(path.join(aDir, 'notes.txt'), 'first\n')
    const as = new SpareService(a)
    const shared = (await as.call('folders.share', { path: aDir, mode: 'sync' })) as {
      folder: { id: string }
      invite: string
    }
    const id = shared.folder.id
    await new SpareService(b).call('folders.join', { invite: shared.invite, path: bDir })
    await waitFor(
      async () => (await fs.readFile(path.join(bDir, 'notes.txt'), 'utf8').catch(() => '')) !== '',
      60_000,
      'B to join',
    )
    await waitFor(async () => (await summary(new SpareService(b))).state === 'idle', 20_000)
    await b.close()

    // Apart, both change notes.txt and make a link `ln`; A's versions are later and win.
    const later = new Date(Date.now() + 60_000)
    const earlier = new Date(Date.now() - 60_000)
    await fs.writeFile(path.join(aDir, 'notes.txt'), 'from A\n')
    await fs.utimes(path.join(aDir, 'notes.txt'), later, later)
    await fs.symlink('target-a', path.join(aDir, 'ln'))
    await fs.lutimes(path.join(aDir, 'ln'), later, later)
    await fs.writeFile(path.join(bDir, 'notes.txt'), 'from B\n')
    await fs.utimes(path.join(bDir, 'notes.txt'), earlier, earlier)
    await fs.symlink('target-b', path.join(bDir, 'ln'))
    await fs.lutimes(path.join(bDir, 'ln'), earlier, earlier)
    await waitFor(async () => (await summary(as)).state === 'idle', 20_000)
    const bs = new SpareService(await fx.readyNode({ network, dataDir: bData }))

    let conflicts: ConflictInfo[] = []
    await waitFor(
      async () => {
        conflicts = (await as.call('folders.conflicts', { id })) as ConflictInfo[]
        const copies = await Promise.all(
          conflicts.map((c) => fs.lstat(path.join(aDir, c.path)).catch(() => null)),
        )
        return (
          conflicts.length === 2 && copies.every(Boolean) && (await summary(as)).state === 'idle'
        )
      },
      60_000,
      'both conflict copies at A',
    )
    const copyOf = (orig: string): string => conflicts.find((c) => c.original === orig)!.path
    expect(await fs.readFile(path.join(aDir, copyOf('/notes.txt')), 'utf8')).toBe('from B\n')
    expect(await fs.readlink(path.join(aDir, copyOf('/ln')))).toBe('target-b')

    // The user edits both originals at A; no scan runs before resolve.
    const held = holdScans(a, id)
    fx.defer(() => held.release()) // (before A closes: a held scan would keep it open)
    await fs.writeFile(path.join(aDir, 'notes.txt'), 'edited after the conflict\n')
    await fs.rm(path.join(aDir, 'ln'))
    await fs.symlink('target-edited', path.join(aDir, 'ln'))
    for (const orig of ['/notes.txt', '/ln']) {
      await expect(
        as.call('folders.resolveConflict', { id, path: copyOf(orig), keep: 'copy' }),
      ).rejects.toMatchObject({ code: 'CONFLICT' })
    }
    expect(await fs.readFile(path.join(aDir, 'notes.txt'), 'utf8')).toBe(
      'edited after the conflict\n',
    )
    expect(await fs.readlink(path.join(aDir, 'ln'))).toBe('target-edited')
    expect(await fs.readFile(path.join(aDir, copyOf('/notes.txt')), 'utf8')).toBe('from B\n')
    expect(await fs.readlink(path.join(aDir, copyOf('/ln')))).toBe('target-b')

    // Once the scan has recorded the edits, keeping the copies replaces them.
    held.release()
    await waitFor(
      async () => {
        const v = (await as.call('folders.versions', { id, path: 'notes.txt' })) as Array<{
          current: boolean
          size: number
        }>
        return v[0]?.current === true && v[0].size === 'edited after the conflict\n'.length
      },
      30_000,
      'the edit to be recorded',
    )
    await waitFor(async () => (await summary(as)).state === 'idle', 20_000)
    for (const orig of ['/notes.txt', '/ln']) {
      expect(
        await as.call('folders.resolveConflict', { id, path: copyOf(orig), keep: 'copy' }),
      ).toEqual({ path: orig })
    }
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'notes.txt'), 'utf8').catch(() => '')) === 'from B\n' &&
        (await fs.readlink(path.join(bDir, 'ln')).catch(() => '')) === 'target-b' &&
        ((await as.call('folders.conflicts', { id })) as ConflictInfo[]).length === 0,
      60_000,
      'the kept copies to reach B',
    )
    expect(await fs.readFile(path.join(aDir, 'notes.txt'), 'utf8')).toBe('from B\n')
    expect(await fs.readlink(path.join(aDir, 'ln'))).toBe('target-b')

    // The edit made after the conflict is a version, restorable on either device.
    const versions = (await bs.call('folders.versions', { id, path: 'notes.txt' })) as Array<{
      id: string
      size: number
    }>
    const edit = versions.find((v) => v.size === 'edited after the conflict\n'.length)
    expect(edit).toBeDefined()
    const to = path.join(await fx.tmpDir('spare-restored-'), 'notes.txt')
    await bs.call('folders.restore', { id, path: 'notes.txt', version: edit!.id, to })
    expect(await fs.readFile(to, 'utf8')).toBe('edited after the conflict\n')
  }, 200_000)
})
