// `npm run bench`: shares one dataset from one daemon to another on loopback (one-way, figures 1
// to 6), then runs three devices that all write one folder (two-way, figures 7 to 11), with Spare
// and with Syncthing in the same run, and prints their figures side by side with the ratio
// Spare/Syncthing; then donated disk (hosting, Spare only: how closely usage tracks the limit and
// hosting throughput, each figure beside its baseline); then donated CPU (cpu-throttle.ts, Spare
// only: busy loops held to their CPU share, beside the same loops unthrottled). Run it inside
// ../shared/tools/offline (a network namespace with only loopback):
//   ../shared/tools/offline npm run bench -- [--small] [--only spare|syncthing]
//     [--section one-way|two-way|hosting|cpu] [--json FILE]
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  benchCpuThrottle,
  cpuThrottleRatios,
  formatCpuThrottle,
  killCpuBenchJobs,
  type CpuThrottleResult,
} from './cpu-throttle.ts'
import { benchComputeE2e, formatComputeE2e, type ComputeE2eResult } from './compute.ts'
import { FULL, SMALL, ensureDataset, twoWaySpec, type Dataset } from './dataset.ts'
import {
  describeMachine,
  killAllDaemons,
  mkdirSpread,
  probeMachine,
  runCommand,
  type RunContext,
} from './measure.ts'
import {
  emptyResult,
  emptyTwoWay,
  formatReport,
  resultOk,
  writeJson,
  type ReportData,
  type ToolName,
  type ToolResult,
} from './report.ts'
import { runSpare } from './spare.ts'
import { runSpareTwoWay } from './spare-two-way.ts'
import { formatHosting, hostingOk, runHosting, type HostingFigures } from './hosting.ts'
import { ensureSyncthing, runSyncthing } from './syncthing.ts'
import { runSyncthingTwoWay } from './syncthing-two-way.ts'
import type { TwoWayContext } from './two-way.ts'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '..', '..')

const USAGE = `usage: node --import tsx test/bench/run.ts [options]   (npm run bench -- [options])

Run it inside ../shared/tools/offline: it starts daemons, a DHT node and Syncthing.

  --small              quick smoke datasets: one-way 2 × 5 MB + 200 × 4 KiB instead of 20 × 25 MB
                       + 5,000 × 4 KiB in 50 folders; two-way a 64 MB folder to rename instead of
                       1 GB and 10,000 files to index instead of 100,000; hosting a 40 MB folder
                       against a 16 MB limit and a 20 MB folder instead of 200 MB, 64 MB, 100 MB
  --only TOOL          spare or syncthing (default: both, Spare first)
  --section PART       one-way (figures 1-6), two-way (figures 7-11; three writers of one
                       folder), hosting (donated disk: usage against the limit, hosting
                       throughput; Spare only) or cpu (donated CPU: busy loops held to 25 % and
                       50 % of a core, and how fast 0 %, pause and a schedule stop them; Spare
                       only; 60 s per figure, 10 s with --small); default: all four
  --rename-mb N        size of the folder renamed in figure 9, MB (default 1000; 64 with --small)
  --index-files N      files indexed in figure 10 (default 100000; 10000 with --small)
  --work DIR           work directory: cached datasets and runs (default: ${path.join(os.tmpdir(), 'spare-bench')})
  --json FILE          also write the results as JSON to FILE
  --runs N             new-file runs, one-way and two-way (default 5; the figure is their median)
  --gap MS             pause before each new-file run and each timed two-way change
                       (default 1000)
  --timeout S          limit for each long wait: import, delivery, two-way setup and
                       indexing (default 600)
  --spare-bin PATH     the Spare CLI (default: bin/spare of this repo)
  --spare-probe HOW    how to poll Spare's state: api (the CLI's own HTTP client, in this
                       process; default) or cli (a \`spare folders\` process per poll)
  --keep               keep the run directories (folders, data dirs, logs)
  --settle S           wait until S seconds have passed since the bench last deleted files
                       before each run (default 0; 61 on Linux where run directories can't
                       get block groups of their own with chattr +T). On ext4 without a
                       journal, creating a file near many just-deleted ones costs 0.3-1 ms
                       instead of 30-50 µs, and each run deletes the last run's files.
  --no-install         do not try to apt-get install syncthing when it is missing
  --allow-network      run even though this process can reach a non-loopback network
  -h, --help           this text`

/**
 * How long to wait after the bench deleted files, where run directories can't be spread over
 * block groups of their own (mkdirSpread). ext4 without a journal (these machines) passes over
 * inodes freed in the last 60 s (360 s while their inode table block is dirty) when it allocates
 * one, so creating a file near many just-deleted ones took 0.3-1 ms instead of 30-50 µs.
 */
function defaultSettleMs(spread: boolean): number {
  return process.platform === 'linux' && !spread ? 61_000 : 0
}

function fail(msg: string): never {
  console.error(msg)
  process.exit(2)
}

/** Non-loopback interfaces with an address: none inside ../shared/tools/offline. */
function outsideInterfaces(): string[] {
  const out: string[] = []
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (addrs?.some((a) => !a.internal)) out.push(name)
  }
  return out
}

async function main(): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        small: { type: 'boolean', default: false },
        only: { type: 'string' },
        section: { type: 'string' },
        'rename-mb': { type: 'string' },
        'index-files': { type: 'string' },
        work: { type: 'string' },
        json: { type: 'string' },
        runs: { type: 'string', default: '5' },
        gap: { type: 'string', default: '1000' },
        timeout: { type: 'string', default: '600' },
        'spare-bin': { type: 'string' },
        'spare-probe': { type: 'string', default: 'api' },
        keep: { type: 'boolean', default: false },
        settle: { type: 'string' },
        'no-install': { type: 'boolean', default: false },
        'allow-network': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    })
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`)
  }
  const o = parsed.values
  if (o.help) {
    console.log(USAGE)
    return 0
  }
  const only = o.only
  if (only !== undefined && only !== 'spare' && only !== 'syncthing') {
    fail(`--only takes spare or syncthing, not "${only}"`)
  }
  const num = (name: string, v: string | undefined, min: number) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number >= ${min}`)
    return n
  }
  const section = o.section
  if (
    section !== undefined &&
    section !== 'one-way' &&
    section !== 'two-way' &&
    section !== 'hosting' &&
    section !== 'cpu'
  ) {
    fail(`--section takes one-way, two-way, hosting or cpu, not "${section}"`)
  }
  const oneWay = section === undefined || section === 'one-way'
  const twoWay = section === undefined || section === 'two-way'
  const hosting = (section === undefined || section === 'hosting') && only !== 'syncthing'
  const cpu = (section === undefined || section === 'cpu') && only !== 'syncthing'
  const renameMb = o['rename-mb'] === undefined ? undefined : num('rename-mb', o['rename-mb'], 1)
  const indexFiles =
    o['index-files'] === undefined ? undefined : num('index-files', o['index-files'], 1)
  const probe = o['spare-probe']
  if (probe !== 'api' && probe !== 'cli') fail(`--spare-probe takes api or cli, not "${probe}"`)
  const runs = num('runs', o.runs, 1)
  const gapMs = num('gap', o.gap, 0)
  const timeoutMs = num('timeout', o.timeout, 1) * 1000
  const outside = outsideInterfaces()
  if (outside.length && !o['allow-network']) {
    fail(
      `refusing to run with network interfaces up (${outside.join(', ')}): run it inside ` +
        '../shared/tools/offline, e.g.\n  ../shared/tools/offline npm run bench\n' +
        '(or pass --allow-network; every address the bench uses is on 127.0.0.1)',
    )
  }

  const started = Date.now()
  const log = (msg: string) =>
    console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`)
  const work = path.resolve(o.work ?? path.join(os.tmpdir(), 'spare-bench'))
  await fs.mkdir(work, { recursive: true })
  // The runs directory changed last when a run was deleted (by this bench, or one before it).
  let lastDelete = (await fs.stat(path.join(work, 'runs')).catch(() => null))?.mtimeMs ?? 0
  const spread = await mkdirSpread(path.join(work, 'runs'))
  const settleMs =
    o.settle === undefined ? defaultSettleMs(spread) : num('settle', o.settle, 0) * 1000
  log(
    spread
      ? 'run directories: each in a block group of its own (chattr +T)'
      : 'run directories: where the file system puts them (chattr +T not available)',
  )
  const remove = async (dir: string): Promise<void> => {
    await fs.rm(dir, { recursive: true, force: true })
    lastDelete = Date.now()
  }
  const settle = async (what: string): Promise<void> => {
    const wait = lastDelete + settleMs - Date.now()
    if (wait <= 0) return
    log(`${what}: waiting ${(wait / 1000).toFixed(0)} s, files were deleted just before (--settle)`)
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
  const dataset = oneWay ? await ensureDataset(work, o.small ? SMALL : FULL, log) : null
  const spec = twoWay ? twoWaySpec(o.small, { renameMb, indexFiles }) : null
  let seed: Dataset | null = null
  let index: Dataset | null = null
  if (spec) {
    seed = await ensureDataset(work, spec.seed, log)
    index = await ensureDataset(work, spec.index, log)
  }
  const machineBefore = await probeMachine(work)
  log(`machine: ${describeMachine(machineBefore)}`)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const runRoot = path.join(work, 'runs', stamp)
  // Each run directory, and each directory made in one (a device's folder or data directory),
  // gets a block group of its own, away from the inodes the last runs freed. Where the runs
  // directory could not be flagged, none can: chattr is not tried again.
  const mkdirRun = async (dir: string): Promise<void> => {
    if (spread) await mkdirSpread(dir)
    else await fs.mkdir(dir, { recursive: true })
  }
  await mkdirRun(runRoot)
  const spareBin = path.resolve(o['spare-bin'] ?? path.join(REPO, 'bin', 'spare'))

  // The hosting and cpu sections alone run no one-way or two-way figures: neither tool is needed.
  const tools: ToolName[] = !oneWay && !twoWay ? [] : only ? [only] : ['spare', 'syncthing']
  const results: ToolResult[] = []
  let kept = false
  for (const tool of tools) {
    let result = emptyResult(tool)
    let syncthingVersion: string | null = null
    if (tool === 'syncthing') {
      syncthingVersion = await ensureSyncthing(!o['no-install'], log)
      if (!syncthingVersion) {
        result.skipped = true
        result.error = 'syncthing is not installed (see above)'
        results.push(result)
        continue
      }
    }
    const runDir = path.join(runRoot, tool)
    if (dataset) {
      await mkdirRun(runDir)
      const ctx: RunContext = {
        files: dataset.files,
        totalBytes: dataset.totalBytes,
        datasetRoot: dataset.root,
        runDir,
        runs,
        gapMs,
        pollMs: 20,
        timeoutMs,
        log,
      }
      await settle(`${tool}: one-way`)
      log(`---- ${tool}: one-way ----`)
      result =
        tool === 'spare'
          ? await runSpare(ctx, spareBin, probe)
          : await runSyncthing(ctx, syncthingVersion ?? '?')
    } else {
      result.oneWay = false
      if (tool === 'spare') {
        const v = await runCommand(process.execPath, [spareBin, '--version'], { timeoutMs: 30_000 })
        result.version = v.code === 0 ? v.stdout.trim() : null
      } else result.version = syncthingVersion
    }
    const twoWayDir = path.join(runRoot, `${tool}-two-way`)
    if (spec && seed && index) {
      await mkdirRun(twoWayDir)
      const ctx: TwoWayContext = {
        spec,
        seed,
        index,
        runDir: twoWayDir,
        runs,
        gapMs,
        pollMs: 20,
        timeoutMs,
        log,
      }
      await settle(`${tool}: two-way`)
      log(`---- ${tool}: two-way ----`)
      try {
        result.twoWay =
          tool === 'spare'
            ? await runSpareTwoWay(ctx, spareBin, probe)
            : await runSyncthingTwoWay(ctx)
      } catch (err) {
        result.twoWay = emptyTwoWay()
        result.twoWay.error = (err as Error).message
        log(`${tool}: two-way FAILED: ${result.twoWay.error}`)
      }
    }
    results.push(result)
    const dirs: Array<[string, boolean]> = [
      [runDir, result.oneWay && !result.ok],
      [
        twoWayDir,
        !!result.twoWay && (!result.twoWay.ok || Object.keys(result.twoWay.failed).length > 0),
      ],
    ]
    for (const [dir, failed] of dirs) {
      if (failed) {
        log(`${tool}: run directory kept for its logs: ${dir}`)
        kept = true
      } else if (!o.keep) await remove(dir)
    }
  }
  let hostingFig: HostingFigures | null = null
  if (hosting) {
    const hostingDir = path.join(runRoot, 'spare-hosting')
    await mkdirRun(hostingDir)
    await settle('spare: hosting')
    log('---- spare: hosting ----')
    hostingFig = await runHosting({
      small: o.small,
      work,
      runDir: hostingDir,
      bin: spareBin,
      timeoutMs,
      log,
    })
    if (!hostingOk(hostingFig)) {
      log(`spare: run directory kept for its logs: ${hostingDir}`)
      kept = true
    } else if (!o.keep) await fs.rm(hostingDir, { recursive: true, force: true })
  }
  let cpuFig: CpuThrottleResult | null = null
  let computeFig: ComputeE2eResult | null = null
  if (cpu) {
    log('---- spare: cpu ----')
    cpuFig = await benchCpuThrottle({ durationMs: o.small ? 10_000 : 60_000, log })
    log('---- spare: cpu, end to end through daemons ----')
    computeFig = await benchComputeE2e({ windowMs: o.small ? 10_000 : 60_000, log })
  }
  if (!o.keep && !kept)
    await fs.rm(runRoot, { recursive: true, force: true }).catch(() => undefined)

  console.log('')
  const machineAfter = await probeMachine(work)
  const machine = `before ${describeMachine(machineBefore)}; after: load ${machineAfter.load.map((x) => x.toFixed(1)).join(' ')}`
  const data: ReportData = { dataset, twoWay: spec }
  if (results.length) console.log(formatReport(data, results, machine))
  if (hostingFig) {
    if (results.length) console.log('')
    console.log(formatHosting(hostingFig, results.length ? undefined : machine))
  }
  if (cpuFig) {
    if (results.length || hostingFig) console.log('')
    else console.log(`machine: ${machine}`)
    console.log(formatCpuThrottle(cpuFig))
    if (computeFig) console.log(formatComputeE2e(computeFig))
  }
  if (o.keep) console.log(`\nrun directories kept under ${runRoot}`)
  if (o.json) {
    await writeJson(o.json, data, results, {
      machine: { before: machineBefore, after: machineAfter, node: process.version },
      options: { small: o.small, only: only ?? null, section: section ?? null, runs, gapMs },
      hosting: hostingFig,
      cpu: cpuFig ? { ...cpuFig, ratios: cpuThrottleRatios(cpuFig), endToEnd: computeFig } : null,
    })
    console.log(`\nJSON written to ${path.resolve(o.json)}`)
  }
  return results.every(resultOk) &&
    (!hostingFig || hostingOk(hostingFig)) &&
    (!cpuFig || cpuFig.ok) &&
    (!computeFig || computeFig.ok)
    ? 0
    : 1
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAllDaemons()
    killCpuBenchJobs()
    process.exit(130)
  })
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killAllDaemons()
    killCpuBenchJobs()
    console.error(err instanceof Error ? (err.stack ?? err.message) : err)
    process.exit(1)
  },
)
