// A data directory whose store was emptied, lost or swapped while settings.json still names its
// folders: the store gives another node id. A start on it silently became a new node (ledger and
// credit gone) and its owned folders published new drives nobody follows. And a damaged store is
// named. Real nodes.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { NODE_ID_FILE } from '../../main/engine/node.ts'
import { restartable, useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('a data directory whose store is not its own', () => {
  it('refuses to start, naming the store and what to do; settings are left', async () => {
    const { dataDir, folder, start } = await restartable(fx)
    const first = await start()
    await first.ready()
    const id = first.nodeId
    await first.share(folder, 'f', 'publish')
    await first.close()
    const settings = await fs.readFile(path.join(dataDir, 'settings.json'), 'utf8')

    // The store is gone (a backup that left it out, say): an empty directory in its place.
    await fs.rm(path.join(dataDir, 'store'), { recursive: true })
    await fs.mkdir(path.join(dataDir, 'store'))
    const node = await start()
    const err = await node.ready().then(
      () => null,
      (e: unknown) => e as Error,
    )
    expect(err?.message).toContain(`the store ${path.join(dataDir, 'store')} is not this`)
    expect(err?.message).toContain(id)
    expect(err?.message).toContain(`remove ${path.join(dataDir, NODE_ID_FILE)}`)
    expect(await fs.readFile(path.join(dataDir, 'settings.json'), 'utf8')).toBe(settings)
  })

  it('starts as before when the store is its own, and on a data directory of an older Spare', async () => {
    const { dataDir, start } = await restartable(fx)
    const first = await start()
    await first.ready()
    const id = first.nodeId
    await first.close()
    expect((await fs.readFile(path.join(dataDir, NODE_ID_FILE), 'utf8')).trim()).toBe(id)
    await fs.rm(path.join(dataDir, NODE_ID_FILE)) // as an older Spare left it
    for (let i = 0; i < 2; i++) {
      const again = await start()
      await again.ready()
      expect(again.nodeId).toBe(id)
      await again.close()
    }
  })

  it('a damaged store: refused, naming it', async () => {
    const { dataDir, start } = await restartable(fx)
    const first = await start()
    await first.ready()
    await first.close()
    // RocksDB's pointer to its manifest, cut short.
    await fs.writeFile(path.join(dataDir, 'store', 'db', 'CURRENT'), '')
    const node = await start()
    await expect(node.ready()).rejects.toThrow(
      `the store ${path.join(dataDir, 'store')} cannot be opened`,
    )
  })
})
