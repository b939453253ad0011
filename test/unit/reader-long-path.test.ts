// A published folder's reader given a folder it cannot create (its path, under the reader's own
// root, is longer than the system allows: a deep tree shared from a shorter root, or a hostile
// owner). That folder is listed as refused; the rest of the folder still syncs.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import type { SpareNode } from '../../main/engine/node.ts'
import { publishTo, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

async function summary(node: SpareNode): Promise<FolderSummary> {
  const [f] = (await new SpareService(node).call('folders.list', {})) as FolderSummary[]
  return f!
}

describe('a published folder reader', () => {
  it('refuses a folder it cannot create and syncs the rest', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-long-')
    const aDir = path.join(dir, 'a')
    // The reader's root is 250 bytes longer than the owner's.
    const bDir = path.join(dir, 'b'.repeat(250))
    await fs.mkdir(aDir)
    // Folders nested until the path is near the system's limit (4,096 bytes) on the owner.
    let deep = aDir
    let deepest = ''
    while (deep.length + 201 < 4080) {
      deep = path.join(deep, 'd'.repeat(200))
      deepest = deep
    }
    await fs.mkdir(deepest, { recursive: true })
    await fs.writeFile(path.join(aDir, 'ok.txt'), 'fine\n')
    const a = await fx.readyNode({ network })
    const b = await fx.readyNode({ network })
    await publishTo(a, b, aDir, bDir)
    await waitFor(
      async () => (await read(path.join(bDir, 'ok.txt'))) === 'fine\n',
      20_000,
      'the file beside the deep folder',
    )
    await fs.writeFile(path.join(aDir, 'later.txt'), 'later\n')
    await waitFor(
      async () => (await read(path.join(bDir, 'later.txt'))) === 'later\n',
      20_000,
      'a later file',
    )
    const s = await summary(b)
    const refused = s.refused.map((r) => r.path)
    expect(refused.some((p) => p.startsWith('/ddd'))).toBe(true)
  }, 60_000)
})
