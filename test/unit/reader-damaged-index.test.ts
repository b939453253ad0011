// A published folder reader whose index (DATA/folders/ID/index.json) was damaged while it was
// down: the index is rebuilt, the damaged one set aside and named in the node's status, a local
// edit is kept, and the owner's changes keep arriving. Two real nodes on a local testnet.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { publishTo, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '')

describe('a reader whose index was damaged', () => {
  it.each([
    ['cut short', async (f: string) => fs.writeFile(f, (await read(f)).slice(0, 20))],
    [
      'a directory in its place',
      async (f: string) => {
        await fs.rm(f)
        await fs.mkdir(f)
      },
    ],
  ])('%s: set aside, named, rebuilt; the local edit kept', async (_l, damage) => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-reader-index-')
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    await fs.mkdir(aDir)
    await fs.writeFile(path.join(aDir, 'y'), 'file y\n')
    const a = await fx.readyNode({ network })
    const bData = path.join(await fx.tmpDir('spare-reader-index-data-'), 'data')
    const b = await fx.readyNode({ network, dataDir: bData })
    await publishTo(a, b, aDir, bDir)
    await waitFor(async () => (await read(path.join(bDir, 'y'))) === 'file y\n', 30_000, 'first')
    await b.close()
    await fs.writeFile(path.join(bDir, 'y'), 'reader edit\n')
    const [id] = await fs.readdir(path.join(bData, 'folders'))
    const index = path.join(bData, 'folders', id!, 'index.json')
    await damage(index)
    await fs.writeFile(path.join(aDir, 'later.txt'), 'later\n')

    const b2 = await fx.readyNode({ network, dataDir: bData })
    await waitFor(async () => (await read(path.join(bDir, 'later.txt'))) === 'later\n', 30_000)
    const notice = (b2.status().notices ?? []).find((n) => n.startsWith(index))
    expect(notice).toContain(`${index}.corrupt-`)
    // The reader's own edit is still on disk, under its name or as a conflict copy.
    const names = await fs.readdir(bDir)
    const texts = await Promise.all(names.map((n) => read(path.join(bDir, n))))
    expect(texts).toContain('reader edit\n')
    // And the rebuilt index is saved again (a directory in the way made every save fail).
    await b2.close()
    expect((await fs.stat(index)).isFile()).toBe(true)
  })
})
