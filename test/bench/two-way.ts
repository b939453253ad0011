// The two-way section (figures 7 to 11), the same steps for both tools. Three devices A, B and C
// write one folder that A starts with (the seed). Each tool's module starts its devices and
// answers a few questions through a Cluster; what is measured here looks only at the folders,
// the loopback interface and the byte counters the tools report themselves.
//
//   setup  from starting the devices until B and C hold the seed (its big files excepted)
//   7      C goes away (sync paused on it); new 4 KiB files written at B, until each is at A
//   8      1 MiB overwritten in place in the middle of a 25 MB file at A, until B holds the new
//          content; bytes B received (the tool's count) and bytes on the loopback meanwhile
//   11     changes on all three while C is still away (new files on each, an edit on A and C to
//          the same file, a deletion on B, a rename on C); C comes back: until the three trees
//          are identical (C also gets what it missed of 7 and 8)
//   9      C goes away again; the seed's folder of big files moved into A's folder, until B holds
//          it; then renamed at A, until B shows it renamed (every file under its new name, the
//          old folder gone); bytes as in 8. C never needs the big files: the bench moves 1 GB
//          once, not twice. Last, because a tool that gets it wrong leaves trees that differ.
// Figure 10 (indexing many small files) needs a device of its own: see each tool's module.
import { createHash } from 'node:crypto'
import { existsSync, promises as fs, statSync } from 'node:fs'
import path from 'node:path'
import {
  keystream,
  linkDataset,
  type Dataset,
  type ManifestEntry,
  type TwoWaySpec,
} from './dataset.ts'
import {
  BenchError,
  checkTree,
  compareTrees,
  describeCheck,
  loopbackBytes,
  median,
  newFileLatency,
  now,
  pollUntil,
  sha256File,
  sleep,
  waitForFiles,
} from './measure.ts'
import type { TwoWayFigures } from './report.ts'

/** What the harness hands each tool's two-way run. */
export interface TwoWayContext {
  spec: TwoWaySpec
  seed: Dataset
  index: Dataset
  /** A fresh directory for this tool's folders, data directories and logs. */
  runDir: string
  /** New-file runs, the pause before each (and before each timed change), the poll interval. */
  runs: number
  gapMs: number
  pollMs: number
  /** Upper bound for the long waits (setup, indexing). */
  timeoutMs: number
  log: (msg: string) => void
}

/** Three running devices that all write one folder, as a tool's module set them up. */
export interface Cluster {
  /** The folder of A, B and C. */
  readonly dirs: readonly [string, string, string]
  /** Names a tool keeps inside a synced folder (not user content). */
  readonly ignore: (rel: string) => boolean
  /** Bytes device i received from its peers so far, by the tool's own count; null if unknown. */
  bytesIn(i: number): Promise<number | null>
  /** Cuts device i off from the others; it keeps running and keeps recording local changes. */
  disconnect(i: number): Promise<void>
  reconnect(i: number): Promise<void>
  /** Resolves once device i has recorded its own changes to these paths (relative, '/'). */
  recorded(i: number, rels: string[]): Promise<void>
  /** Each device's own view of the folder, for error messages. */
  describe(): Promise<string>
}

export const DEVICES = ['A', 'B', 'C'] as const

/** The timed waits of figures 8, 9 and 11 end after this long at most. */
const FIGURE_LIMIT_MS = 90_000
/**
 * C comes back this long after it connected (at the start) at the earliest. Syncthing dials an
 * address at most once a minute, so a device back within a minute of its last connection waits
 * up to a minute for a peer's next dial (a 3 s partition took it 55 s to converge, nearly all of
 * it that wait). Real partitions last longer, so both tools get one that does: the figure
 * measures converging, not that timer.
 */
const AWAY_MIN_MS = 65_000
/**
 * Figure 10 polls the indexing device's state this often (both tools). Spare's summary once
 * walked every file; its counts now follow changed paths, but both tools keep this one pace.
 */
export const INDEX_POLL_MS = 250
/** "N polls took median X ms, max Y ms": how long a tool took to answer its state. */
export function describePolls(ms: number[]): string {
  if (!ms.length) return 'no polls'
  const sorted = [...ms].sort((x, y) => x - y)
  const mid = sorted[Math.floor(sorted.length / 2)] ?? 0
  const max = sorted[sorted.length - 1] ?? 0
  return `${ms.length} state polls took median ${mid.toFixed(0)} ms, max ${max.toFixed(0)} ms`
}
/** Untimed checks that devices agree before a step (they should already). */
const AGREE_LIMIT_MS = 60_000

/** A file's SHA-256, computed again only when its inode, size or mtime changed. */
function contentProbe(file: string): () => Promise<string | null> {
  let seen = ''
  let sum: string | null = null
  return async () => {
    let key: string
    try {
      const st = statSync(file)
      key = `${st.ino}:${st.size}:${st.mtimeMs}`
    } catch {
      return null
    }
    if (key !== seen) {
      sum = await sha256File(file).catch(() => null)
      seen = key
    }
    return sum
  }
}

/** Runs one figure; a failure is recorded against it and does not stop the others. */
async function figure(
  ctx: TwoWayContext,
  fig: TwoWayFigures,
  key: string,
  run: () => Promise<void>,
): Promise<boolean> {
  try {
    await run()
    return true
  } catch (err) {
    const msg = (err as Error).message
    fig.failed[key] = msg
    ctx.log(`two-way: figure "${key}" FAILED: ${msg}`)
    return false
  }
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex')
}

const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a)

/** The part of the seed that A's folder starts with: all but the folder of big files. */
export function baseFiles(ctx: TwoWayContext): ManifestEntry[] {
  return ctx.seed.files.filter((f) => !f.path.startsWith(`${ctx.spec.renameDir}/`))
}

/** A's folder at the start: a copy of the cached seed without its folder of big files. */
export async function prepareSeed(ctx: TwoWayContext, dir: string): Promise<void> {
  const skip = path.join(ctx.seed.root, ctx.spec.renameDir)
  await fs.rm(dir, { recursive: true, force: true })
  await fs.cp(ctx.seed.root, dir, {
    recursive: true,
    preserveTimestamps: true,
    filter: (src) => src !== skip && !src.startsWith(skip + path.sep),
  })
}

/** Figure 10's folder: the cached tree of small files, hard-linked (see linkDataset). */
export async function prepareIndexTree(ctx: TwoWayContext, dir: string): Promise<void> {
  const t = now()
  await linkDataset(ctx.index.root, dir)
  ctx.log(
    `two-way: ${ctx.index.files.length} files linked into ${dir} in ${((now() - t) / 1000).toFixed(1)} s`,
  )
}

/**
 * Figures 7, 8, 9 and 11 on a running cluster whose devices were started at `startedAt`;
 * `ready` resolves once every device may write (after the seed is everywhere). Throws
 * only when the cluster never gets going (setup); each figure's own failure is recorded in
 * `fig.failed` and the next figure still runs.
 */
export async function clusterFigures(
  ctx: TwoWayContext,
  tool: string,
  cluster: Cluster,
  fig: TwoWayFigures,
  startedAt: number,
  ready: () => Promise<void> = async () => {},
): Promise<void> {
  const { spec, seed, log } = ctx
  const [a, b, c] = cluster.dirs
  const limit = Math.min(ctx.timeoutMs, FIGURE_LIMIT_MS)
  const names = [...DEVICES]

  /**
   * Polls until the trees are equal (and `extra`, when given, names no difference); returns the
   * moment a poll found them so.
   */
  const same = async (
    roots: string[],
    what: string,
    timeoutMs = limit,
    extra?: () => Promise<string | null>,
  ): Promise<number> => {
    let last = ''
    const which = roots.map((r) => names[cluster.dirs.indexOf(r)] ?? r)
    try {
      return await pollUntil(
        what,
        async () => {
          const res = await compareTrees(roots, which, cluster.ignore)
          last = res.diff || ((await extra?.()) ?? '')
          return last ? null : now()
        },
        { intervalMs: 100, timeoutMs },
      )
    } catch (err) {
      throw new BenchError(
        `${(err as Error).message}; last difference: ${last}; ${await cluster.describe()}`,
      )
    }
  }

  // Setup: B and C receive the seed.
  const base = baseFiles(ctx)
  const baseBytes = base.reduce((sum, f) => sum + f.size, 0)
  log(`${tool}: waiting for B and C to hold the seed (${(baseBytes / 1e6).toFixed(0)} MB)`)
  const setupOk = await figure(ctx, fig, 'setup', async () => {
    const at = await Promise.all(
      [b, c].map((dir) => waitForFiles(dir, base, { intervalMs: 100, timeoutMs: ctx.timeoutMs })),
    ).catch(async (err: Error) => {
      throw new BenchError(`${err.message}; ${await cluster.describe()}`)
    })
    fig.setupMs = Math.max(...at) - startedAt
    log(
      `${tool}: B and C hold the seed after ${(fig.setupMs / 1000).toFixed(2)} s; checking content`,
    )
    for (const [i, dir] of [b, c].entries()) {
      const check = await checkTree(dir, base, cluster.ignore)
      if (!check.ok) {
        throw new BenchError(
          `${names[i + 1]}'s tree differs from the seed: ${describeCheck(check)}`,
        )
      }
    }
    await ready()
  })
  if (!setupOk) throw new BenchError(`setup failed: ${fig.failed.setup ?? '?'}`)

  fig.notes.push(
    `C comes back ${AWAY_MIN_MS / 1000} s after its last connection at the earliest (Syncthing redials at most once a minute)`,
  )
  // Figure 7: C away; new files from B to A.
  await cluster.disconnect(2)
  /** Keeps C away until AWAY_MIN_MS have passed since it connected (at the start). */
  const stayAway = async () => {
    const left = AWAY_MIN_MS - (now() - startedAt)
    if (left > 0) {
      log(
        `${tool}: keeping C away ${(left / 1000).toFixed(0)} s more (${AWAY_MIN_MS / 1000} s since its last connection)`,
      )
      await sleep(left)
    }
  }
  await figure(ctx, fig, 'newFile', async () => {
    log(`${tool}: C is away; ${ctx.runs} new 4 KiB files, B → A`)
    fig.newFileRuns = await newFileLatency({
      ownerDir: b,
      readerDir: a,
      runs: ctx.runs,
      gapMs: ctx.gapMs,
      pollMs: ctx.pollMs,
      timeoutMs: 60_000,
      log,
    })
    const arrived = fig.newFileRuns.filter((v): v is number => v !== null)
    fig.newFileMs = median(arrived)
    if (!arrived.length) throw new BenchError('no new file written at B reached A within 60 s')
  })

  // Figure 8: 1 MiB overwritten inside a 25 MB file at A.
  await figure(ctx, fig, 'edit', async () => {
    await same([a, b], 'A and B to agree before the edit', AGREE_LIMIT_MS)
    const src = path.join(a, spec.editFile)
    const dst = path.join(b, spec.editFile)
    const patch = keystream(seed.spec.seed, `edit:${spec.editFile}`)(spec.editLength)
    const expected = await fs.readFile(src)
    patch.copy(expected, spec.editOffset)
    const want = sha256(expected)
    const before = statSync(dst)
    await sleep(ctx.gapMs)
    const bytes0 = await cluster.bytesIn(1)
    const wire0 = loopbackBytes()
    log(
      `${tool}: overwriting ${spec.editLength} bytes at ${spec.editOffset} of A's ${spec.editFile}`,
    )
    const t0 = now()
    const fh = await fs.open(src, 'r+')
    try {
      await fh.write(patch, 0, patch.length, spec.editOffset)
    } finally {
      await fh.close()
    }
    const at = await pollUntil(
      `B to hold the changed ${spec.editFile}`,
      async () => {
        let st
        try {
          st = statSync(dst)
        } catch {
          return null
        }
        if (st.ino === before.ino && st.mtimeMs === before.mtimeMs && st.size === before.size) {
          return null
        }
        const seen = now()
        return (await sha256File(dst).catch(() => '')) === want ? seen : null
      },
      { intervalMs: 50, timeoutMs: limit },
    ).catch(async (err: Error) => {
      throw new BenchError(`${err.message}; ${await cluster.describe()}`)
    })
    fig.editMs = at - t0
    // The last acknowledgements and index updates after the content are part of the change.
    await sleep(1000)
    fig.editBytes = delta(bytes0, await cluster.bytesIn(1))
    fig.editWireBytes = delta(wire0, loopbackBytes())
    log(
      `${tool}: B holds the new content after ${(fig.editMs / 1000).toFixed(2)} s; ` +
        `B received ${fig.editBytes ?? '?'} bytes (tool count), loopback ${fig.editWireBytes ?? '?'}`,
    )
  })

  // Figure 11: C, away since figure 7, missed 7 and 8; now changes on every side.
  await figure(ctx, fig, 'partition', async () => {
    await same([a, b], 'A and B to agree before the changes of figure 11', AGREE_LIMIT_MS)
    const small = seed.files.filter((f) => f.path.startsWith('small/')).map((f) => f.path)
    const edited = small[0]
    const deleted = small[Math.floor(small.length / 2)]
    const movedFrom = small[small.length - 1]
    if (!edited || !deleted || !movedFrom || new Set([edited, deleted, movedFrom]).size < 3) {
      throw new BenchError('the seed has too few small files for figure 11')
    }
    const movedTo = movedFrom.replace(/\.bin$/, '-moved.bin')
    log(`${tool}: changes on A, B and C while C is away`)
    const changes: string[][] = [[], [], []]
    const added: string[] = []
    for (const [i, dir] of cluster.dirs.entries()) {
      for (let k = 0; k < 10; k++) {
        const rel = `partition/${(names[i] ?? '?').toLowerCase()}-${k}.bin`
        await fs.mkdir(path.join(dir, 'partition'), { recursive: true })
        await fs.writeFile(path.join(dir, rel), keystream('partition', rel)(4096))
        changes[i]?.push(rel)
        added.push(rel)
      }
    }
    await fs.writeFile(path.join(a, edited), keystream('partition-edit-a', edited)(4096))
    changes[0]?.push(edited)
    await fs.rm(path.join(b, deleted))
    changes[1]?.push(deleted)
    await fs.rename(path.join(c, movedFrom), path.join(c, movedTo))
    changes[2]?.push(movedFrom, movedTo)
    await fs.writeFile(path.join(c, edited), keystream('partition-edit-c', edited)(4096))
    changes[2]?.push(edited)
    await Promise.all(changes.map((rels, i) => cluster.recorded(i, rels)))
    await same([a, b], 'A and B to agree while C is away', AGREE_LIMIT_MS)
    await sleep(ctx.gapMs)
    await stayAway()
    // Trees compare big files by size: C must also hold figure 8's content.
    const editWant = await sha256File(path.join(a, spec.editFile))
    const editAtC = contentProbe(path.join(c, spec.editFile))
    const t0 = now()
    await cluster.reconnect(2)
    log(`${tool}: C is back; waiting for the three trees to be identical`)
    const at = await same([a, b, c], 'the three trees to be identical', limit, async () => {
      return (await editAtC()) === editWant ? null : `${spec.editFile} at C is not A's`
    })
    fig.partitionMs = at - t0
    log(`${tool}: identical after ${(fig.partitionMs / 1000).toFixed(2)} s`)
    // Identical is not enough: nobody's change may be lost.
    const lost = [
      ...added.filter((rel) => !existsSync(path.join(a, rel))).map((rel) => `${rel} missing`),
      ...(existsSync(path.join(a, deleted)) ? [`${deleted} (deleted at B) is back`] : []),
      ...(existsSync(path.join(a, movedTo)) ? [] : [`${movedTo} (renamed at C) missing`]),
      ...(existsSync(path.join(a, movedFrom)) ? [`${movedFrom} (renamed at C) is back`] : []),
      ...(existsSync(path.join(a, edited)) ? [] : [`${edited} (edited at A and C) missing`]),
    ]
    const dir = path.dirname(path.join(a, edited))
    const copies = (await fs.readdir(dir)).filter((n) => n.includes('.sync-conflict-'))
    fig.notes.push(
      `figure 11: ${added.length} new files, 1 deletion, 1 rename and 1 file edited on both A ` +
        `and C; the converged tree has ${copies.length} conflict ${copies.length === 1 ? 'copy' : 'copies'} of it`,
    )
    if (lost.length)
      throw new BenchError(`the trees agree but changes were lost: ${lost.join('; ')}`)
  })

  // Figure 9, last: a failure here leaves trees that no later step could compare. C is away.
  await figure(ctx, fig, 'rename', async () => {
    await same([a, b, c], 'A, B and C to agree before figure 9', AGREE_LIMIT_MS)
    await cluster.disconnect(2)
    const from = spec.renameDir
    const to = `${spec.renameDir}-renamed`
    const big = seed.files.filter((f) => f.path.startsWith(`${from}/`))
    const moved: ManifestEntry[] = big.map((f) => ({ ...f, path: to + f.path.slice(from.length) }))
    // The big files appear at A at once: copied next to the folder, then moved in.
    const staging = path.join(ctx.runDir, 'staging')
    await fs.rm(staging, { recursive: true, force: true })
    await fs.mkdir(staging, { recursive: true })
    await fs.cp(path.join(seed.root, from), path.join(staging, from), {
      recursive: true,
      preserveTimestamps: true,
    })
    log(`${tool}: moving ${big.length} files (${spec.renameBytes} bytes) into A's ${from}/`)
    const t1 = now()
    await fs.rename(path.join(staging, from), path.join(a, from))
    const held = await waitForFiles(b, big, { intervalMs: 100, timeoutMs: ctx.timeoutMs }).catch(
      async (err: Error) => {
        throw new BenchError(`${err.message}; ${await cluster.describe()}`)
      },
    )
    fig.bigAddMs = held - t1
    log(`${tool}: B holds them after ${(fig.bigAddMs / 1000).toFixed(2)} s; checking content`)
    const got = await checkTree(b, big, cluster.ignore)
    if (!got.ok) throw new BenchError(`B's copy of the big files is wrong: ${describeCheck(got)}`)
    await same([a, b], 'A and B to agree before the rename', AGREE_LIMIT_MS)
    await sleep(ctx.gapMs)
    const bytes0 = await cluster.bytesIn(1)
    const wire0 = loopbackBytes()
    log(
      `${tool}: renaming A's ${from}/ (${moved.length} files, ${spec.renameBytes} bytes) to ${to}/`,
    )
    const t0 = now()
    await fs.rename(path.join(a, from), path.join(a, to))
    const fail = async (err: Error): Promise<never> => {
      throw new BenchError(`${err.message}; ${await cluster.describe()}`)
    }
    await waitForFiles(b, moved, { intervalMs: 50, timeoutMs: limit }).catch(fail)
    const at = await pollUntil(
      `B's ${from}/ to be gone (B holds the files under their new names)`,
      () => (existsSync(path.join(b, from)) ? null : now()),
      { intervalMs: 50, timeoutMs: limit },
    ).catch(async (err: Error) => {
      // What crossed anyway says whether the content moved without being sent again.
      fig.renameBytes = delta(bytes0, await cluster.bytesIn(1))
      fig.renameWireBytes = delta(wire0, loopbackBytes())
      fig.notes.push(
        'figure 9 failed; its byte counts cover the time until the wait for the old folder ended',
      )
      const left = await fs.readdir(path.join(b, from)).catch(() => [])
      return fail(new Error(`${err.message}: it still holds ${left.length} entries`))
    })
    fig.renameMs = at - t0
    await sleep(1000)
    fig.renameBytes = delta(bytes0, await cluster.bytesIn(1))
    fig.renameWireBytes = delta(wire0, loopbackBytes())
    log(
      `${tool}: B shows the rename after ${(fig.renameMs / 1000).toFixed(2)} s; ` +
        `B received ${fig.renameBytes ?? '?'} bytes (tool count), loopback ${fig.renameWireBytes ?? '?'}`,
    )
    const check = await checkTree(b, moved, cluster.ignore)
    if (!check.ok) throw new BenchError(`B's renamed files are wrong: ${describeCheck(check)}`)
  })
}
