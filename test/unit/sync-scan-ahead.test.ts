// A two-way folder's scan reads small files ahead of their turn (lookAhead in sync-folder.ts).
// Two real nodes on a local testnet: a tree with files on both sides of every size the read-ahead
// treats differently (empty, one byte, a chunk, past a chunk, past the read-ahead limit), nested
// folders and a symlink reaches the other writer byte for byte; then an edit that keeps a
// file's size does too.
import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { SpareService } from '../../main/engine/api/service.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

const SIZES = [0, 1, 4096, 128 * 1024 - 1, 128 * 1024, 128 * 1024 + 1, 256 * 1024, 256 * 1024 + 1]

function content(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size)
  let x = seed * 2654435761 + 1
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  async function walk(dir: string): Promise<void> {
    for (const d of await fs.readdir(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name)
      const rel = path.relative(root, abs)
      if (d.isSymbolicLink()) out[rel] = `-> ${await fs.readlink(abs)}`
      else if (d.isDirectory()) {
        out[rel] = 'dir'
        await walk(abs)
      } else {
        out[rel] = createHash('sha256')
          .update(await fs.readFile(abs))
          .digest('hex')
      }
    }
  }
  await walk(root)
  return out
}

describe('scanning ahead', () => {
  it('records files of every size as they are, and a same-size edit after', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir('spare-ahead-')
    const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
    const [aDir, bDir] = [path.join(dir, 'a'), path.join(dir, 'b')]
    let seed = 1
    for (let d = 0; d < 6; d++) {
      const sub = path.join(aDir, `d${d}`, 'inner')
      await fs.mkdir(sub, { recursive: true })
      for (const size of SIZES) {
        await fs.writeFile(path.join(sub, `f${size}.bin`), content(seed++, size))
        await fs.writeFile(path.join(aDir, `d${d}`, `g${size}.bin`), content(seed++, size))
      }
    }
    await fs.symlink('d0/inner/f1.bin', path.join(aDir, 'link'))
    const shared = (await new SpareService(a).call('folders.share', {
      path: aDir,
      mode: 'sync',
    })) as { invite: string }
    await new SpareService(b).call('folders.join', { invite: shared.invite, path: bDir })
    const want = await tree(aDir)
    expect(Object.keys(want)).toHaveLength(6 * (2 + 2 * SIZES.length) + 1)
    await waitFor(
      async () => JSON.stringify(await tree(bDir).catch(() => ({}))) === JSON.stringify(want),
      60_000,
      "B to hold A's tree",
    )

    // Same size, new bytes: the watcher's scan reads it ahead too, and must not take it for the
    // content the index recorded.
    const edited = path.join(aDir, 'd3', 'inner', 'f4096.bin')
    await fs.writeFile(edited, content(999, 4096))
    await waitFor(
      async () =>
        (await fs.readFile(path.join(bDir, 'd3', 'inner', 'f4096.bin'))).equals(content(999, 4096)),
      60_000,
      'the edit to reach B',
    )
  }, 120_000)
})
