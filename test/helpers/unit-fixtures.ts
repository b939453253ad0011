// Shared fixtures for the unit tests: temp directories, a local HyperDHT testnet on 127.0.0.1 and
// real SpareNodes. Every fixture registers its own teardown; teardowns run after each test in
// reverse order of creation (close the node before destroying the testnet, remove the directory
// last), and all of them run even when one fails.
import { afterAll, afterEach, beforeAll } from 'vitest'
import { existsSync, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import createTestnet from 'hyperdht/testnet.js'
import { SpareNode, type SpareNodeOptions } from '../../main/engine/node.ts'
import { SpareService } from '../../main/engine/api/service.ts'

export interface Fixtures {
  /** Registers a teardown step; runs after the current test, last registered first. */
  defer(fn: () => unknown): void
  /** A fresh directory under os.tmpdir(), removed after the test. */
  tmpDir(prefix?: string): Promise<string>
  /** A 3-node HyperDHT testnet on 127.0.0.1; returns the bootstrap list as a network setting. */
  testnet(): Promise<string>
  /** A SpareNode (not yet ready) on the given or a fresh data dir, closed after the test. */
  node(opts?: Partial<SpareNodeOptions>): Promise<SpareNode>
  /** A SpareNode that is ready. */
  readyNode(opts?: Partial<SpareNodeOptions>): Promise<SpareNode>
}

/** Call once per test file (at top level or in a describe). */
export function useFixtures(): Fixtures {
  const stack: Array<() => unknown> = []
  let network: string | null = null

  afterEach(async () => {
    const errors: unknown[] = []
    while (stack.length) {
      const fn = stack.pop()!
      try {
        await fn()
      } catch (err) {
        errors.push(err)
      }
    }
    network = null
    if (errors.length) throw errors[0]
  })

  const fx: Fixtures = {
    defer(fn) {
      stack.push(fn)
    },
    async tmpDir(prefix = 'spare-unit-') {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
      fx.defer(() => fs.rm(dir, { recursive: true, force: true }))
      return dir
    },
    async testnet() {
      const testnet = await createTestnet(3, { host: '127.0.0.1' })
      fx.defer(() => testnet.destroy())
      network = testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
      return network
    },
    async node(opts = {}) {
      const dataDir = opts.dataDir ?? path.join(await fx.tmpDir('spare-unit-data-'), 'data')
      const net = opts.network ?? network ?? (await fx.testnet())
      const node = new SpareNode({ logLevel: 'warn', ...opts, dataDir, network: net })
      fx.defer(() => node.close())
      return node
    },
    async readyNode(opts = {}) {
      const node = await fx.node(opts)
      await node.ready()
      return node
    },
  }
  return fx
}

/**
 * A data directory on a fresh testnet, for tests that stop a node and start another on it:
 * `start()` gives a node on it (logging nothing, not yet ready, closed after the test), and
 * `folder` is a directory holding a.txt ("a\n") to share.
 */
export async function restartable(
  fx: Fixtures,
): Promise<{ dataDir: string; folder: string; start(): Promise<SpareNode> }> {
  await fx.testnet()
  const dataDir = path.join(await fx.tmpDir(), 'data')
  const folder = await fx.tmpDir()
  await fs.writeFile(path.join(folder, 'a.txt'), 'a\n')
  return { dataDir, folder, start: () => fx.node({ dataDir, logLevel: 'fatal' }) }
}

/** Runs a short-lived child process to its end and returns its pid: a pid of a dead process. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  const pid = child.pid
  await new Promise<void>((resolve) => child.once('exit', () => resolve()))
  if (!pid) throw new Error('could not spawn a child process')
  return pid
}

/** Starts a child process that stays alive until killed; kills it after the test. */
export async function livePid(fx: Fixtures): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve())
    child.once('error', reject)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  fx.defer(kill)
  return { pid: child.pid!, kill }
}

/** File mode bits (permissions only). */
export async function modeOf(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777
}

type Falsy = false | 0 | '' | null | undefined

/** Polls until `check` returns a truthy value, or throws after `ms`. */
export async function waitFor<T>(
  check: () => T | Falsy | Promise<T | Falsy>,
  ms = 5000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v as T
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Counts the turns of the event loop on which `file` is missing, until `stop()`, which returns
 * the count: a node replacing a file in place must never leave its path empty (its fetch and
 * writes take many turns, so a gap is seen).
 */
export function watchGaps(file: string): { stop(): number } {
  let gaps = 0
  let looking = true
  const look = (): void => {
    if (!existsSync(file)) gaps++
    if (looking) setImmediate(look)
  }
  look()
  return {
    stop() {
      looking = false
      return gaps
    },
  }
}

/** Node `a` publishes `aDir` (a one-way folder) and node `b` joins it into `bDir`. */
export async function publishTo(
  a: SpareNode,
  b: SpareNode,
  aDir: string,
  bDir: string,
): Promise<void> {
  const shared = (await new SpareService(a).call('folders.share', {
    path: aDir,
    mode: 'publish',
  })) as { invite: string }
  await new SpareService(b).call('folders.join', { invite: shared.invite, path: bDir })
}

/**
 * Two ready nodes on one fresh testnet, the API service of each (what the tests drive), and the
 * paths of their folders under one temp dir: A's made (empty, for the test to fill), B's not.
 */
export async function twoNodes(
  fx: Fixtures,
  prefix = 'spare-pair-',
): Promise<{
  a: SpareNode
  b: SpareNode
  as: SpareService
  bs: SpareService
  aDir: string
  bDir: string
}> {
  const network = await fx.testnet()
  const root = await fx.tmpDir(prefix)
  const [a, b] = [await fx.readyNode({ network }), await fx.readyNode({ network })]
  const [aDir, bDir] = [path.join(root, 'a'), path.join(root, 'b')]
  await fs.mkdir(aDir)
  return { a, b, as: new SpareService(a), bs: new SpareService(b), aDir, bDir }
}

/**
 * Sets SPARE_HOSTING_TIMERS (hosting's periods, e.g. "audit=700,receipt=1200") for the tests of
 * the calling file, and puts back what was there after them.
 */
export function useHostingTimers(spec: string): void {
  let saved: string | undefined
  beforeAll(() => {
    saved = process.env.SPARE_HOSTING_TIMERS
    process.env.SPARE_HOSTING_TIMERS = spec
  })
  afterAll(() => {
    if (saved === undefined) delete process.env.SPARE_HOSTING_TIMERS
    else process.env.SPARE_HOSTING_TIMERS = saved
  })
}
