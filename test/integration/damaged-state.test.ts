// State files under the data directory damaged while the daemon was down (a crash mid-write on a
// file system without an atomic rename, a disk that filled, a hand edit): a real daemon starts,
// and both its start-up output and `spare status` name what it could not read and what it did.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary, NodeStatus } from '../../shared/contract.ts'
import { Cleanup, localTestnet, startDaemon, tempDir } from '../helpers/daemon.ts'

let cleanup: Cleanup
beforeEach(() => {
  cleanup = new Cleanup()
})
afterEach(async () => {
  await cleanup.run()
})

describe('a daemon whose state files were damaged while it was down', () => {
  it('names a damaged compute.json and a folder it could not open', async () => {
    const network = await localTestnet(cleanup)
    const src = await tempDir(cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'hello.txt'), 'hello\n')
    const d = await startDaemon(cleanup, network)
    const { folder } = await d.json<{ folder: FolderSummary }>(['share', src])
    expect(await d.stop()).toBe(0)

    const computeFile = path.join(d.dataDir, 'compute', 'compute.json')
    const text = await fs.readFile(computeFile, 'utf8')
    await fs.writeFile(computeFile, text.slice(0, Math.floor(text.length / 2)))
    // A file where the folder's state directory was: the folder cannot open. (A directory where
    // its index was no longer does that: the index is set aside and rebuilt.)
    const stateDir = path.join(d.dataDir, 'folders', folder.id)
    await fs.rm(stateDir, { recursive: true, force: true })
    await fs.writeFile(stateDir, 'not a directory\n')

    d.output = ''
    await d.start()
    const status = await d.json<NodeStatus>(['status'])
    const notices = status.notices ?? []
    expect(notices).toHaveLength(2)
    expect(notices.find((n) => n.includes(computeFile))).toContain('.corrupt-')
    expect(notices.find((n) => n.includes(folder.id))).toContain(src)
    const text2 = (await d.cli(['status'])).stdout
    for (const n of notices) expect(text2).toContain(`Notice    ${n}`)
    expect(d.output).toContain(`notice   ${notices[0]}`)
    // Nothing of the user's is gone: the folder's file, and its record (it is still shared).
    expect(await fs.readFile(path.join(src, 'hello.txt'), 'utf8')).toBe('hello\n')
    const settings = JSON.parse(
      await fs.readFile(path.join(d.dataDir, 'settings.json'), 'utf8'),
    ) as { folders: Array<{ id: string }> }
    expect(settings.folders.map((f) => f.id)).toEqual([folder.id])
  })
})
