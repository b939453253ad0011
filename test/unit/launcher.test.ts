// bin/spare's launcher line: run directly, `spare daemon` gets the malloc settings and V8 flags a
// long-running daemon needs and, on Linux, the SCHED_BATCH policy, in the same process (no
// wrapper: SIGTERM and kill -9 reach the daemon itself); every other command runs as before.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli, SPARE, waitFor } from '../helpers/daemon.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()
const linux = process.platform === 'linux'

const MALLOC_VARS = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_'] as const
const DAEMON_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=50']

/** The environment of a test, without anything that would change what the launcher does. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of [...MALLOC_VARS, 'SPARE_DAEMON_NODE_FLAGS', 'SPARE_NODE', 'SPARE_DAEMON_BATCH'])
    delete env[k]
  return { ...env, ...extra }
}

/** A thread's scheduling policy (field 41 of /proc/.../stat): 0 SCHED_OTHER, 3 SCHED_BATCH. */
function policyOf(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38])
}
const SCHED_BATCH = 3
/** This test's own policy: what a command that the launcher leaves alone inherits. */
const OWN_POLICY = linux ? policyOf('/proc/self/stat') : null
/** The launcher asks for SCHED_BATCH only where chrt is there and allowed to set it. */
const CHRT_WORKS = linux && spawnSync('chrt', ['-b', '0', 'true']).status === 0
const DAEMON_POLICY = CHRT_WORKS ? SCHED_BATCH : OWN_POLICY

interface Seen {
  args: string[]
  arena: string | null
  mmap: string | null
  /** The scheduling policy it runs under; null where there is no /proc. */
  policy: number | null
}

/**
 * Runs bin/spare directly with a stand-in `node` first on PATH (the process edge) that reports
 * the arguments and malloc variables it was started with.
 */
async function launch(args: string[], env: Record<string, string> = {}): Promise<Seen> {
  const bin = await fx.tmpDir('spare-launcher-')
  const report = path.join(bin, 'report.json')
  await fs.writeFile(
    path.join(bin, 'node'),
    [
      '#!/bin/sh',
      `exec "${process.execPath}" -e 'const fs = require("fs"); let policy = null;` +
        ` try { const s = fs.readFileSync("/proc/self/stat", "utf8");` +
        ` policy = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[38]) } catch {}` +
        ` fs.writeFileSync(process.argv[1], JSON.stringify({` +
        ` args: process.argv.slice(2), arena: process.env.MALLOC_ARENA_MAX ?? null,` +
        ` mmap: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, policy }))' "${report}" "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  )
  const child = spawn(SPARE, args, {
    env: cleanEnv({ ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }),
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  expect(code, stderr).toBe(0)
  return JSON.parse(await fs.readFile(report, 'utf8')) as Seen
}

describe.skipIf(process.platform === 'win32')('bin/spare launcher line', () => {
  it('runs $SPARE_NODE instead of node from PATH when it is set, and expands no globs', async () => {
    const dir = await fx.tmpDir('spare-launcher-node-')
    const report = path.join(dir, 'which.txt')
    const other = path.join(dir, 'other node')
    await fs.writeFile(other, `#!/bin/sh\necho "$@" > "${report}"\n`, { mode: 0o755 })
    // The stand-in on PATH never runs, so launch() finds no report of its own.
    await expect(
      launch(['daemon'], { SPARE_NODE: other, SPARE_DAEMON_NODE_FLAGS: '--x *' }),
    ).rejects.toThrow(/ENOENT/)
    // Unquoted flags are split into words but not expanded against the files here.
    expect((await fs.readFile(report, 'utf8')).trim()).toBe(`--x * ${SPARE} daemon`)
  })

  it('runs other commands with node and their own arguments only', async () => {
    expect(await launch(['status', '--json'])).toEqual({
      args: [SPARE, 'status', '--json'],
      arena: null,
      mmap: null,
      policy: OWN_POLICY,
    })
    // A folder named "daemon-files" is not the daemon command.
    expect((await launch(['share', 'daemon-files'])).args).toEqual([SPARE, 'share', 'daemon-files'])
  })

  it('gives `spare daemon` the malloc settings, V8 flags and SCHED_BATCH, wherever the command stands', async () => {
    const want = { arena: '2', mmap: '1048576', policy: DAEMON_POLICY }
    expect(await launch(['daemon', '--network', 'local'])).toEqual({
      args: [...DAEMON_FLAGS, SPARE, 'daemon', '--network', 'local'],
      ...want,
    })
    expect(await launch(['--data-dir', '/tmp/x', 'daemon'])).toEqual({
      args: [...DAEMON_FLAGS, SPARE, '--data-dir', '/tmp/x', 'daemon'],
      ...want,
    })
  })

  it("keeps the user's own malloc values and node flags", async () => {
    const seen = await launch(['daemon'], {
      MALLOC_ARENA_MAX: '4',
      MALLOC_MMAP_THRESHOLD_: '65536',
      SPARE_DAEMON_NODE_FLAGS: '--max-old-space-size=300',
    })
    expect(seen).toEqual({
      args: ['--max-old-space-size=300', SPARE, 'daemon'],
      arena: '4',
      mmap: '65536',
      policy: DAEMON_POLICY,
    })
    // Empty: Node's own defaults.
    expect((await launch(['daemon'], { SPARE_DAEMON_NODE_FLAGS: '' })).args).toEqual([
      SPARE,
      'daemon',
    ])
    // SPARE_DAEMON_BATCH=0: the normal scheduling policy.
    expect((await launch(['daemon'], { SPARE_DAEMON_BATCH: '0' })).policy).toBe(OWN_POLICY)
  })

  it.runIf(linux)('finds chrt (util-linux), so the daemon runs as SCHED_BATCH here', () => {
    // Without chrt the daemon still runs, with the normal policy; this says so instead of
    // letting the checks above pass on the fallback unnoticed.
    expect(CHRT_WORKS, 'chrt -b 0 true failed: no SCHED_BATCH for the daemon').toBe(true)
  })
})

/** `spare daemon` run directly, as a user runs it; resolves once its API answers. */
async function startDirect(dataDir: string, network: string): Promise<ChildProcess> {
  const child = spawn(SPARE, ['daemon', '--data-dir', dataDir, '--network', network], {
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  fx.defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`daemon exited early (${code ?? signal}): ${stderr}`)),
    ),
  )
  exited.catch(() => {})
  await Promise.race([
    waitFor(async () => (await runCli(['status', '--json', '--data-dir', dataDir])).code === 0, {
      timeoutMs: 30_000,
      what: 'daemon start',
    }),
    exited,
  ])
  return child
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** Every live process whose command line names `dataDir`. */
async function processesFor(dataDir: string): Promise<number[]> {
  const out: number[] = []
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir))
        out.push(Number(pid))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

describe.skipIf(!linux)('spare daemon run directly', () => {
  it('is the node process itself, with the settings, and SIGTERM stops it with exit code 0', async () => {
    const network = await fx.testnet()
    const dataDir = path.join(await fx.tmpDir(), 'data')
    const child = await startDirect(dataDir, network)
    const pid = child.pid!
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    expect(path.basename(argv[0]!)).toBe('node')
    expect(argv.slice(1, 5)).toEqual([...DAEMON_FLAGS, SPARE, 'daemon'])
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    expect(environ).toContain('MALLOC_ARENA_MAX=2')
    expect(environ).toContain('MALLOC_MMAP_THRESHOLD_=1048576')
    // Every thread (event loop, thread pool, V8's, RocksDB's) runs as SCHED_BATCH.
    const threads = await fs.readdir(`/proc/${pid}/task`)
    expect(threads.length).toBeGreaterThan(4)
    for (const tid of threads) expect(policyOf(`/proc/${pid}/task/${tid}/stat`)).toBe(DAEMON_POLICY)
    // No second process runs the daemon: the one we started is it.
    expect(await processesFor(dataDir)).toEqual([pid])

    child.kill('SIGTERM')
    expect(await exitOf(child)).toEqual({ code: 0, signal: null })
    expect(await processesFor(dataDir)).toEqual([])
  })

  it('dies at once on kill -9 and leaves nothing running, so it restarts on the same data', async () => {
    const network = await fx.testnet()
    const dataDir = path.join(await fx.tmpDir(), 'data')
    const child = await startDirect(dataDir, network)
    child.kill('SIGKILL')
    expect(await exitOf(child)).toEqual({ code: null, signal: 'SIGKILL' })
    expect(await processesFor(dataDir)).toEqual([])

    await fs.rm(path.join(dataDir, 'api.json'), { force: true })
    const again = await startDirect(dataDir, network)
    again.kill('SIGTERM')
    expect(await exitOf(again)).toEqual({ code: 0, signal: null })
  })
})
