// A published folder's reader given an entry whose blocks lie past the end of the folder's content
// core (a hostile or broken owner): no peer can ever serve them. The reader must list the file as
// refused and go on applying the owner's later changes, not wait for those blocks forever.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type Hyperdrive from 'hyperdrive'
// @ts-expect-error sub-encoder ships no types; it is Hyperdrive's own key encoding.
import SubEncoder from 'sub-encoder'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { publishTo, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

function driveOf(node: SpareNode): Hyperdrive {
  const folders = (node as unknown as { folders: Map<string, { drive: Hyperdrive | null }> })
    .folders
  const drive = [...folders.values()][0]?.drive
  if (!drive) throw new Error('no drive open')
  return drive
}

async function summary(node: SpareNode): Promise<FolderSummary> {
  const [f] = (await new SpareService(node).call('folders.list', {})) as FolderSummary[]
  return f!
}

describe('a published folder reader', () => {
  it('refuses a file whose blocks no peer can have, and goes on syncing', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-missing-')
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    await fs.mkdir(aDir)
    await fs.writeFile(path.join(aDir, 'first.txt'), 'first\n')
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network })
    await publishTo(a, b, aDir, bDir)
    await waitFor(
      async () => (await read(path.join(bDir, 'first.txt'))) === 'first\n',
      30_000,
      'first sync',
    )
    // An entry naming blocks far past the end of the content core.
    const drive = driveOf(a)
    const blobs = await drive.getBlobs()
    const past = blobs.core.length + 1000
    const keyEncoding = new SubEncoder('files', 'utf-8') as unknown
    await (drive.db as unknown as { put(k: string, v: object, o: object): Promise<void> }).put(
      '/beyond.txt',
      {
        executable: false,
        linkname: null,
        blob: { blockOffset: past, blockLength: 1, byteOffset: 1 << 30, byteLength: 5 },
        metadata: { kind: 'file', mtime: Date.now(), size: 5 },
      },
      { keyEncoding },
    )
    await new Promise((r) => setTimeout(r, 2000))
    await fs.writeFile(path.join(aDir, 'later.txt'), 'later\n')
    await waitFor(
      async () => (await read(path.join(bDir, 'later.txt'))) === 'later\n',
      20_000,
      'the later file',
    )
    expect((await summary(b)).refused.map((r) => r.path)).toContain('/beyond.txt')
    await expect(fs.access(path.join(bDir, 'beyond.txt'))).rejects.toThrow()
  }, 60_000)
})
