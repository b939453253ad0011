// hosting.json from a newer Spare, or one that cannot be read (a directory in its place), on a
// real node: the node refuses to start naming the file, and leaves it as it was. Starting afresh
// dropped every hosted folder, host, ban, strike and receipt in flight, and wrote over the file.
import { describe, expect, it } from 'vitest'
import { promises as fs, existsSync } from 'node:fs'
import path from 'node:path'
import { SpareNode } from '../../main/engine/node.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** A data directory whose node ran once, so hosting.json exists; returns it and the file. */
async function ranOnce(): Promise<{ dataDir: string; file: string; net: string }> {
  const net = await fx.testnet()
  const dataDir = path.join(await fx.tmpDir(), 'data')
  const node = new SpareNode({ dataDir, network: net, logLevel: 'fatal' })
  await node.ready()
  await node.close()
  const file = path.join(dataDir, 'hosting.json')
  expect(existsSync(file)).toBe(true)
  return { dataDir, file, net }
}

async function startError(dataDir: string, net: string): Promise<Error | null> {
  const node = new SpareNode({ dataDir, network: net, logLevel: 'fatal' })
  fx.defer(() => node.close())
  return node.ready().then(
    () => null,
    (e: unknown) => e as Error,
  )
}

describe('a hosting.json this Spare cannot use', () => {
  it('from a newer Spare: refuses to start, naming the file, and leaves it as it was', async () => {
    const { dataDir, file, net } = await ranOnce()
    const doc = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
    const text = JSON.stringify({ ...doc, format: 2, strikes: { ['ab'.repeat(32)]: 3 } })
    await fs.writeFile(file, text)
    const err = await startError(dataDir, net)
    expect(err?.message).toContain(file)
    expect(err?.message).toContain('newer Spare')
    expect(await fs.readFile(file, 'utf8')).toBe(text)
    expect(await fs.readdir(dataDir)).not.toContainEqual(expect.stringContaining('.corrupt-'))
  })

  it('a directory in its place: refuses to start, naming the file', async () => {
    const { dataDir, file, net } = await ranOnce()
    await fs.rm(file)
    await fs.mkdir(file)
    const err = await startError(dataDir, net)
    expect(err?.message).toContain(file)
    expect((await fs.stat(file)).isDirectory()).toBe(true)
  })
})
