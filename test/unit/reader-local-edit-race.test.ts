// A published folder's reader must keep what its user wrote, even when the user writes while the
// owner's new version of the same file is being downloaded and written. Two real nodes on a local
// testnet; at B, the moment the reader opens its temp copy of f.txt (the process edge: fs.open is
// wrapped), the user overwrites f.txt. The reader decided before that write whether the file on
// disk was its own; it must look again before renaming the new version over it.
import { afterEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import type { SpareService } from '../../main/engine/api/service.ts'
import { TEMP_PREFIX } from '../../main/engine/folders/safe-path.ts'
import { twoNodes, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const realOpen = fs.open
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

afterEach(() => {
  fs.open = realOpen
})

/**
 * Runs `onTempOpen` each time the reader opens a temp file in `dir`, before the open goes on;
 * when it throws, the open fails with that error.
 */
function onTempOpen(dir: string, hook: () => Promise<void>): void {
  fs.open = (async (...args: Parameters<typeof fs.open>) => {
    const file = String(args[0])
    if (path.dirname(file) === dir && path.basename(file).startsWith(TEMP_PREFIX)) await hook()
    return realOpen(...args)
  }) as typeof fs.open
}

async function pair(): Promise<{ aDir: string; bDir: string; bs: SpareService }> {
  const { as, bs, aDir, bDir } = await twoNodes(fx, 'spare-edit-race-')
  await fs.writeFile(path.join(aDir, 'f.txt'), 'version one\n')
  const shared = (await as.call('folders.share', { path: aDir, mode: 'publish' })) as {
    invite: string
  }
  await bs.call('folders.join', { invite: shared.invite, path: bDir })
  await waitFor(
    async () => (await read(path.join(bDir, 'f.txt'))) === 'version one\n',
    30_000,
    'first sync',
  )
  return { aDir, bDir, bs }
}

async function summary(bs: SpareService): Promise<FolderSummary> {
  const [f] = (await bs.call('folders.list', {})) as FolderSummary[]
  return f!
}

/** Names in `dir` whose content is `text`. */
async function holding(dir: string, text: string): Promise<string[]> {
  const out: string[] = []
  for (const n of await fs.readdir(dir)) if ((await read(path.join(dir, n))) === text) out.push(n)
  return out
}

const COPY = /^f\.sync-conflict-\d{8}-\d{6}-local\.txt$/

describe('a published folder reader, when its user edits a file the owner changed', () => {
  it('keeps an edit made while the new version is written as a conflict copy', async () => {
    const { aDir, bDir, bs } = await pair()
    const edit = 'my local edit, made during the download\n'
    let edited = false
    onTempOpen(bDir, async () => {
      if (edited) return
      edited = true
      await fs.writeFile(path.join(bDir, 'f.txt'), edit)
    })
    await fs.writeFile(path.join(aDir, 'f.txt'), 'version two from the owner\n')
    await waitFor(
      async () => (await read(path.join(bDir, 'f.txt'))) === 'version two from the owner\n',
      30_000,
      'the owner version at B',
    )
    expect(edited).toBe(true)
    const kept = await waitFor(async () => {
      const names = await holding(bDir, edit)
      return names.length ? names : null
    }, 5000)
    expect(kept).toHaveLength(1)
    expect(kept[0]).toMatch(COPY)
    await waitFor(
      async () =>
        (await summary(bs)).localChanges.some(
          (c) => c.path === `/${kept[0]}` && c.kind === 'added',
        ),
      5000,
      'the conflict copy reported',
    )
  }, 60_000)

  it('reports an edit made while a write that then fails, and places the version on retry', async () => {
    const { aDir, bDir, bs } = await pair()
    const edit = 'my local edit, made while the write failed\n'
    let failing = true
    let edited = false
    onTempOpen(bDir, async () => {
      if (!failing) return
      if (!edited) {
        edited = true
        await fs.writeFile(path.join(bDir, 'f.txt'), edit)
        // Long enough for the watcher's event to be looked at while the file is being written.
        await new Promise((r) => setTimeout(r, 1500))
      }
      throw Object.assign(new Error('EIO: i/o error, open'), { code: 'EIO' })
    })
    await fs.writeFile(path.join(aDir, 'f.txt'), 'version two from the owner\n')
    // The edit is reported as the user's change while the owner's version cannot be written.
    await waitFor(
      async () =>
        (await summary(bs)).localChanges.some((c) => c.path === '/f.txt' && c.kind === 'modified'),
      10_000,
      'the edit reported as a local change',
    )
    expect(await read(path.join(bDir, 'f.txt'))).toBe(edit)
    const s = await summary(bs)
    expect(s.refused.some((r) => r.path === '/f.txt')).toBe(true)
    // Writes work again: the failed path is tried again without any new change from the owner.
    failing = false
    await waitFor(
      async () => (await read(path.join(bDir, 'f.txt'))) === 'version two from the owner\n',
      30_000,
      'the owner version placed on retry',
    )
    const kept = await holding(bDir, edit)
    expect(kept).toHaveLength(1)
    expect(kept[0]).toMatch(COPY)
    await waitFor(
      async () => !(await summary(bs)).refused.some((r) => r.path === '/f.txt'),
      5000,
      'the failure no longer listed',
    )
  }, 60_000)
})
