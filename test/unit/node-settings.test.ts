// A hand-edited settings.json is an error that names the file, whichever field is wrong: real
// nodes on real data directories.
import { describe, expect, it } from 'vitest'
import { promises as fs, existsSync } from 'node:fs'
import path from 'node:path'
import { SettingsError, SpareNode } from '../../main/engine/node.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('SpareNode and a hand-edited settings file', () => {
  it.each([['locl'], ['127.0.0.1'], ['localhost:0']])(
    'refuses the saved network %j naming settings.json, and leaves the file',
    async (network) => {
      const dataDir = path.join(await fx.tmpDir(), 'data')
      await fs.mkdir(dataDir, { recursive: true })
      const file = path.join(dataDir, 'settings.json')
      const text = JSON.stringify({ version: 1, network })
      await fs.writeFile(file, text)
      // No network option: the saved one is what the node starts on.
      const node = new SpareNode({ dataDir, logLevel: 'warn' })
      fx.defer(() => node.close())
      const err = await node.ready().then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(SettingsError)
      expect((err as Error).message).toContain(file)
      expect((err as Error).message).toContain('"network"')
      expect(await fs.readFile(file, 'utf8')).toBe(text)
      expect(existsSync(path.join(dataDir, 'spare.lock'))).toBe(false)
    },
  )

  it('refuses an unknown SPARE_LOG_LEVEL by name, not with a pino internal error', async () => {
    const dataDir = path.join(await fx.tmpDir(), 'data')
    const before = process.env.SPARE_LOG_LEVEL
    process.env.SPARE_LOG_LEVEL = 'verbose'
    fx.defer(() => {
      if (before === undefined) delete process.env.SPARE_LOG_LEVEL
      else process.env.SPARE_LOG_LEVEL = before
    })
    const node = new SpareNode({ dataDir, network: await fx.testnet() })
    fx.defer(() => node.close())
    await expect(node.ready()).rejects.toThrow(
      'SPARE_LOG_LEVEL "verbose" is not a log level (fatal, error, warn, info, debug, trace)',
    )
    expect(existsSync(path.join(dataDir, 'spare.lock'))).toBe(false)
  })

  it('cut short by a crash: refused, pointing to the copy before the last change, which starts', async () => {
    const network = await fx.testnet()
    const dataDir = path.join(await fx.tmpDir(), 'data')
    const [one, two] = [await fx.tmpDir(), await fx.tmpDir()]
    const first = new SpareNode({ dataDir, network, logLevel: 'warn' })
    await first.ready()
    const { folder } = await first.share(one, 'one', 'sync')
    await first.share(two, 'two', 'sync')
    await first.close()
    // A crash while settings.json was being rewritten, on a file system whose rename is not atomic.
    const file = path.join(dataDir, 'settings.json')
    const text = await fs.readFile(file, 'utf8')
    await fs.writeFile(file, text.slice(0, Math.floor(text.length / 2)))
    const node = new SpareNode({ dataDir, network, logLevel: 'warn' })
    fx.defer(() => node.close())
    const err = await node.ready().then(
      () => null,
      (e: unknown) => e as Error,
    )
    const prev = path.join(dataDir, 'settings.json.prev')
    expect(err).toBeInstanceOf(SettingsError)
    expect(err?.message).toContain(`are in ${prev}`)
    // Doing what it says brings the folders back, keys and all, up to the change before.
    await fs.copyFile(prev, file)
    const again = new SpareNode({ dataDir, network, logLevel: 'warn' })
    fx.defer(() => again.close())
    await again.ready()
    expect(again.listFolders().map((f) => f.id)).toEqual([folder.id])
  })
})
