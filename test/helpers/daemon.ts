// Test helpers for integration tests: a local HyperDHT testnet on 127.0.0.1, real `spare daemon`
// processes with their own data directories, and the real CLI. Everything registers its own
// teardown through `cleanup`.
import { spawn, type ChildProcess } from 'node:child_process'
import { promises as fs, createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import createTestnet from 'hyperdht/testnet.js'
import type { FolderSummary } from '../../shared/contract.ts'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const SPARE = path.join(ROOT, 'bin', 'spare')

type Teardown = () => Promise<void> | void

export class Cleanup {
  private readonly steps: Teardown[] = []
  add(step: Teardown): void {
    this.steps.push(step)
  }
  async run(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!
      try {
        await step()
      } catch (err) {
        console.error('teardown step failed:', err)
      }
    }
  }
}

export async function tempDir(cleanup: Cleanup, prefix = 'spare-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  cleanup.add(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

/** A testnet of 3 DHT nodes on 127.0.0.1; returns the bootstrap list as `host:port,...`. */
export async function localTestnet(cleanup: Cleanup): Promise<string> {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  cleanup.add(() => testnet.destroy())
  return testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export function runCli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SPARE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`spare ${args.join(' ')} timed out\n${stderr}`))
    }, opts.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
}

export class TestDaemon {
  proc: ChildProcess | null = null
  output = ''

  constructor(
    readonly dataDir: string,
    readonly network: string,
    /** More arguments for `spare daemon` (say, a fixed --port). */
    readonly extraArgs: readonly string[] = [],
  ) {}

  async start(): Promise<void> {
    await fs.rm(path.join(this.dataDir, 'api.json'), { force: true })
    const child = spawn(
      process.execPath,
      [
        SPARE,
        'daemon',
        '--data-dir',
        this.dataDir,
        '--network',
        this.network,
        '--log-level',
        'debug',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.proc = child
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()))
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`daemon exited early (${code}):\n${this.output}`)),
      ),
    )
    exited.catch(() => {})
    await Promise.race([
      waitFor(async () => (await this.cli(['status', '--json'])).code === 0, {
        timeoutMs: 30_000,
        what: 'daemon start',
      }),
      exited,
    ])
  }

  cli(args: string[]): Promise<CliResult> {
    return runCli([...args, '--data-dir', this.dataDir])
  }

  async json<T>(args: string[]): Promise<T> {
    const res = await this.cli([...args, '--json'])
    if (res.code !== 0)
      throw new Error(`spare ${args.join(' ')} failed (${res.code}): ${res.stderr}`)
    return JSON.parse(res.stdout) as T
  }

  async folders(): Promise<FolderSummary[]> {
    return this.json<FolderSummary[]>(['folders'])
  }

  /** SIGTERM and wait for a clean exit; returns the exit code. */
  async stop(): Promise<number | null> {
    const child = this.proc
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null
    const done = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    )
    child.kill('SIGTERM')
    const code = await done
    this.proc = null
    return code
  }

  /** kill -9: no chance to clean up. */
  async kill9(): Promise<void> {
    const child = this.proc
    if (!child || child.exitCode !== null) return
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await done
    this.proc = null
  }
}

export async function startDaemon(
  cleanup: Cleanup,
  network: string,
  dataDir?: string,
): Promise<TestDaemon> {
  const dir = dataDir ?? (await tempDir(cleanup, 'spare-data-'))
  const d = new TestDaemon(dir, network)
  cleanup.add(async () => {
    const code = await d.stop()
    if (code !== null && code !== 0)
      console.error(`daemon ${dir} exited with ${code}:\n${d.output}`)
  })
  await d.start()
  return d
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  let lastErr: unknown = null
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (err) {
      lastErr = err
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))
  }
  throw new Error(
    `timed out waiting for ${opts.what ?? 'condition'}${lastErr ? `: ${String(lastErr)}` : ''}`,
  )
}

export interface TreeItem {
  type: 'file' | 'dir' | 'symlink'
  size?: number
  sha?: string
  exec?: boolean
  target?: string
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** A full description of a folder tree: types, sizes, hashes, exec bits and link targets. */
export async function snapshotTree(
  root: string,
  opts: { ignoreTemp?: boolean } = {},
): Promise<Record<string, TreeItem>> {
  const out: Record<string, TreeItem> = {}
  async function walk(dir: string): Promise<void> {
    for (const d of await fs.readdir(dir, { withFileTypes: true })) {
      if (opts.ignoreTemp && d.name.startsWith('.spare-tmp-')) continue
      const abs = path.join(dir, d.name)
      const rel = path.relative(root, abs).split(path.sep).join('/')
      const st = await fs.lstat(abs)
      if (st.isSymbolicLink()) out[rel] = { type: 'symlink', target: await fs.readlink(abs) }
      else if (st.isDirectory()) {
        out[rel] = { type: 'dir' }
        await walk(abs)
      } else if (st.isFile()) {
        out[rel] = {
          type: 'file',
          size: st.size,
          sha: await sha256(abs),
          exec: (st.mode & 0o100) !== 0,
        }
      }
    }
  }
  await walk(root)
  return out
}

/** Waits until `dst` holds exactly the tree of `src`. */
export async function waitForSameTree(src: string, dst: string, timeoutMs = 60_000): Promise<void> {
  let last = ''
  await waitFor(
    async () => {
      const [a, b] = await Promise.all([snapshotTree(src), snapshotTree(dst)])
      const same = JSON.stringify(sorted(a)) === JSON.stringify(sorted(b))
      if (!same) last = diffTrees(a, b)
      return same
    },
    { timeoutMs, intervalMs: 200, what: `${dst} to match ${src}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${last}`)
  })
}

function sorted(t: Record<string, TreeItem>): Array<[string, TreeItem]> {
  return Object.entries(t).sort(([a], [b]) => a.localeCompare(b))
}

export function diffTrees(a: Record<string, TreeItem>, b: Record<string, TreeItem>): string {
  const lines: string[] = []
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[k])
    const y = JSON.stringify(b[k])
    if (x !== y) lines.push(`${k}: ${x ?? 'missing'} vs ${y ?? 'missing'}`)
  }
  return lines.slice(0, 20).join('\n')
}

export async function writeRandomFile(file: string, size: number, seed = 1): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true })
  const h = await fs.open(file, 'w')
  try {
    const chunk = 1024 * 1024
    let x = seed >>> 0 || 1
    for (let off = 0; off < size; off += chunk) {
      const n = Math.min(chunk, size - off)
      const buf = Buffer.allocUnsafe(n)
      for (let i = 0; i < n; i += 4) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        buf.writeUInt32LE(x >>> 0, Math.min(i, n - 4))
      }
      await h.write(buf)
    }
  } finally {
    await h.close()
  }
}
