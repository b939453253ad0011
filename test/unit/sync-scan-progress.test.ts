// A full scan of a two-way folder reports how far it has got (`scan` in the folder's summary),
// so `spare folders` and the UI show progress instead of 0 files until the scan ends. A real
// node on disk shares a folder of 6,000 files in 30 folders.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { SpareService } from '../../main/engine/api/service.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe("a full scan's progress", () => {
  it('counts up to every path while scanning, and is gone once idle', async () => {
    const dir = await fx.tmpDir('spare-scan-progress-')
    for (let d = 0; d < 30; d++) {
      await fs.mkdir(path.join(dir, `d${d}`))
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fs.writeFile(path.join(dir, `d${d}`, `f${i}.txt`), `file ${d}/${i}`),
        ),
      )
    }
    const node = await fx.readyNode()
    const service = new SpareService(node)
    const updates: Array<{ state: string; scan: { done: number; total: number } | null }> = []
    service.subscribe((event, data) => {
      if (event === 'folder.updated') {
        const f = data as { state: string; scan: { done: number; total: number } | null }
        updates.push({ state: f.state, scan: f.scan })
      }
    })
    await service.call('folders.share', { path: dir, mode: 'sync' })

    // Polled between turns of the event loop, as a client's requests would come.
    const seen: Array<{ done: number; total: number }> = []
    const until = Date.now() + 60_000
    for (;;) {
      const f = node.listFolders()[0]!
      if (f.scan) seen.push(f.scan)
      if (f.state === 'idle' && f.files === 6000) {
        expect(f.scan).toBeNull()
        break
      }
      if (Date.now() > until) throw new Error(`not idle in time: ${JSON.stringify(f)}`)
      await new Promise((r) => setImmediate(r))
    }
    // 6,000 files and 30 folders; what was looked at never goes back.
    const mid = seen.filter((s) => s.done > 0 && s.done < s.total)
    expect(mid.length).toBeGreaterThan(0)
    expect(Math.max(...seen.map((s) => s.total))).toBe(6030)
    expect(seen.every((s) => s.done <= s.total)).toBe(true)
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done)
    }
    // Listeners hear of it as it goes, not only at the end.
    expect(updates.some((u) => u.scan && u.scan.done > 0 && u.scan.done < u.scan.total)).toBe(true)
  }, 90_000)
})
