// State files set aside as damaged at a start (hosting.json, a two-way folder's index) are named
// in the node's status, not only in its log: real nodes on real data directories.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { restartable, useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('a node started on damaged state files', () => {
  it('names hosting.json and a folder index it set aside', async () => {
    const { dataDir, folder, start } = await restartable(fx)
    const first = await start()
    await first.ready()
    const { folder: f } = await first.share(folder, 'f', 'sync')
    await new Promise((r) => setTimeout(r, 500))
    await first.close()

    const hosting = path.join(dataDir, 'hosting.json')
    const index = path.join(dataDir, 'folders', f.id, 'sync-index.json')
    for (const file of [hosting, index]) {
      const text = await fs.readFile(file, 'utf8')
      await fs.writeFile(file, text.slice(0, Math.floor(text.length / 2)))
    }
    const node = await start()
    await node.ready()
    const notices = node.status().notices ?? []
    expect(notices).toHaveLength(2)
    for (const file of [hosting, index]) {
      const n = notices.find((x) => x.startsWith(`${file} could not be read`))
      expect(n).toContain(`${file}.corrupt-`)
    }
    expect(await fs.readFile(path.join(folder, 'a.txt'), 'utf8')).toBe('a\n')
    // A later start names nothing: those were this start's.
    await node.close()
    const again = await start()
    await again.ready()
    expect(again.status().notices).toEqual([])
  })
  it('sets aside a two-way folder index that cannot be read, and opens the folder', async () => {
    const { dataDir, folder, start } = await restartable(fx)
    const first = await start()
    await first.ready()
    const { folder: f } = await first.share(folder, 'f', 'sync')
    await first.close()

    // A directory where the index was: reading it fails with EISDIR.
    const index = path.join(dataDir, 'folders', f.id, 'sync-index.json')
    await fs.rm(index, { force: true })
    await fs.mkdir(index)
    const node = await start()
    await node.ready()
    const open = node.status()
    expect(open.notices?.find((x) => x.startsWith(`${index} could not be read`))).toBeDefined()
    expect(node.listFolders().map((x) => x.id)).toContain(f.id)
    expect((await fs.stat(index).catch(() => null))?.isDirectory()).not.toBe(true)
    expect(await fs.readFile(path.join(folder, 'a.txt'), 'utf8')).toBe('a\n')
  })
})
