// A damaged compute/compute.json, on a real node: the node names the file and says what it did
// (status notices), or refuses to start naming it; a newer Spare's file is never written over.
import { describe, expect, it } from 'vitest'
import { promises as fs, existsSync } from 'node:fs'
import path from 'node:path'
import { SpareNode } from '../../main/engine/node.ts'
import { hashHex } from '../../main/engine/compute/compute.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

/** A data directory whose node ran once, so compute.json exists; returns it and the file. */
async function ranOnce(): Promise<{ dataDir: string; file: string; net: string }> {
  const net = await fx.testnet()
  const dataDir = path.join(await fx.tmpDir(), 'data')
  const node = new SpareNode({ dataDir, network: net, logLevel: 'fatal' })
  await node.ready()
  await node.close()
  const file = path.join(dataDir, 'compute', 'compute.json')
  expect(existsSync(file)).toBe(true)
  return { dataDir, file, net }
}

async function startAgain(dataDir: string, net: string): Promise<SpareNode> {
  const node = new SpareNode({ dataDir, network: net, logLevel: 'fatal' })
  fx.defer(() => node.close())
  return node
}

describe('a damaged compute.json', () => {
  it('cut short by a crash: set aside, kept, and named in the node status', async () => {
    const { dataDir, file, net } = await ranOnce()
    const text = await fs.readFile(file, 'utf8')
    const cut = text.slice(0, Math.floor(text.length / 2))
    await fs.writeFile(file, cut)
    const node = await startAgain(dataDir, net)
    await node.ready()
    const notices = node.status().notices ?? []
    expect(notices).toHaveLength(1)
    expect(notices[0]).toContain(file)
    const aside = (await fs.readdir(path.dirname(file))).find((n) => n.includes('.corrupt-'))
    expect(aside).toBeDefined()
    expect(notices[0]).toContain(aside)
    expect(await fs.readFile(path.join(path.dirname(file), aside!), 'utf8')).toBe(cut)
  })

  it('from a newer Spare: refuses to start, naming the file, and leaves it as it was', async () => {
    const { dataDir, file, net } = await ranOnce()
    const doc = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
    const text = JSON.stringify({ ...doc, format: 2, somethingNew: [1] })
    await fs.writeFile(file, text)
    const node = await startAgain(dataDir, net)
    const err = await node.ready().then(
      () => null,
      (e: unknown) => e as Error,
    )
    expect(err?.message).toContain(file)
    expect(err?.message).toContain('newer Spare')
    expect(await fs.readFile(file, 'utf8')).toBe(text)
    expect(await fs.readdir(path.dirname(file))).not.toContainEqual(
      expect.stringContaining('.corrupt-'),
    )
  })

  it('a directory in its place: refuses to start, naming the file', async () => {
    const { dataDir, file, net } = await ranOnce()
    await fs.rm(file)
    await fs.mkdir(file)
    const node = await startAgain(dataDir, net)
    const err = await node.ready().then(
      () => null,
      (e: unknown) => e as Error,
    )
    expect(err?.message).toContain(file)
    expect((await fs.stat(file)).isDirectory()).toBe(true)
  })

  it("a done job's output damaged on disk: an error naming it, not the damaged bytes", async () => {
    const { dataDir, file, net } = await ranOnce()
    const output = Buffer.from('the answer the donors agreed on\n')
    const id = 'ab'.repeat(32)
    const job = {
      id,
      nonce: 'cd'.repeat(16),
      name: 'job',
      state: 'done',
      replicas: 1,
      quorum: 1,
      wallMs: 60_000,
      moduleBytes: 8,
      inputBytes: 0,
      submittedAt: Date.now() - 1000,
      finishedAt: Date.now(),
      donors: [],
      resultHash: hashHex(output),
      outputBytes: output.length,
      error: null,
    }
    const doc = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
    await fs.writeFile(file, JSON.stringify({ ...doc, submitted: [job] }))
    const out = path.join(dataDir, 'compute', 'jobs', `${id}.output`)
    await fs.writeFile(out, output)
    const node = await startAgain(dataDir, net)
    await node.ready()
    expect((await node.job(id)).output).toBe(output.toString('base64'))
    // Cut short by a crash while it was written (or changed since).
    await fs.writeFile(out, output.subarray(0, 10))
    await expect(node.job(id)).rejects.toThrow(
      /compute\/jobs\/abab.*\.output\) was damaged on disk/,
    )
  })
})
