// What each contender's run produces, and the side-by-side report: an aligned table with the
// ratio Spare/Syncthing for every figure, plus the same data as JSON.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Dataset, TwoWaySpec } from './dataset.ts'
import type { TreeStats } from './measure.ts'

export type ToolName = 'spare' | 'syncthing'

/**
 * The two-way section's figures (figures 7 to 11): three devices that all write one folder.
 * Times are milliseconds, byte counts bytes; null when not reached.
 */
export interface TwoWayFigures {
  /** The section ran to its end (single figures may still have failed: see `failed`). */
  ok: boolean
  error: string | null
  /** Figure key → why it failed. */
  failed: Record<string, string>
  /** From starting the three devices until B and C hold every file of A's seed. */
  setupMs: number | null
  /** Figure 7: a new 4 KiB file written at B, at A (median of the runs). */
  newFileMs: number | null
  newFileRuns: Array<number | null>
  /** Figure 8: 1 MiB changed inside a 25 MB file at A, until B holds the new content. */
  editMs: number | null
  /** Bytes B received meanwhile, by the tool's own count (Spare: peers' bytesDown, block
   *  payload only; Syncthing: connections' inBytesTotal, everything on its connection). */
  editBytes: number | null
  /** Bytes that crossed the loopback interface meanwhile (every process, IP headers too). */
  editWireBytes: number | null
  /** Before figure 9: the folder of big files moved into A's folder, until B holds it. */
  bigAddMs: number | null
  /** Figure 9: A's folder of big files renamed, until B's tree shows it renamed. */
  renameMs: number | null
  renameBytes: number | null
  renameWireBytes: number | null
  /** Figure 10: a new folder of small files until the device reports it idle with all counted. */
  indexMs: number | null
  indexFiles: number | null
  indexProc: TreeStats | null
  /** Figure 11: C away (since figure 7), changes on all three, C back: until the three trees
   *  are identical. */
  partitionMs: number | null
  logs: string[]
  notes: string[]
}

export function emptyTwoWay(): TwoWayFigures {
  return {
    ok: false,
    error: null,
    failed: {},
    setupMs: null,
    newFileMs: null,
    newFileRuns: [],
    editMs: null,
    editBytes: null,
    editWireBytes: null,
    bigAddMs: null,
    renameMs: null,
    renameBytes: null,
    renameWireBytes: null,
    indexMs: null,
    indexFiles: null,
    indexProc: null,
    partitionMs: null,
    logs: [],
    notes: [],
  }
}

/** One contender's figures. Times are milliseconds; null when not reached or not observable. */
export interface ToolResult {
  tool: ToolName
  version: string | null
  ok: boolean
  /** Not run at all (Syncthing not installed): does not fail the bench. */
  skipped: boolean
  /** The one-way section (figures 1 to 6) ran; `ok` and `error` are about it. */
  oneWay: boolean
  error: string | null
  /** Owner daemon: spawn until its API answers. */
  ownerStartMs: number | null
  /** Figure 1: Spare from `spare share` until idle with every file counted; Syncthing from its
   *  start until its initial scan is done. */
  importMs: number | null
  /** Syncthing: the scan alone (state scanning → idle), from its events (else polled). */
  scanOnlyMs: number | null
  /** Reader daemon: spawn until its API answers. */
  readerStartMs: number | null
  /** From the reader's start until it is connected to the owner. */
  connectMs: number | null
  /** Figure 2: from the reader's start until every file is there with its size and content. */
  deliverMs: number | null
  /** From the moment the reader was told about the folder (Spare: `spare join`). */
  deliverFromToldMs: number | null
  /** Figure 3: dataset bytes / figure 2, in MB/s (10^6 bytes). */
  mbps: number | null
  /** Figure 4: median of the new-file runs. */
  newFileMs: number | null
  newFileRuns: Array<number | null>
  /** Figure 5: process trees of each daemon. */
  ownerProc: TreeStats | null
  readerProc: TreeStats | null
  /** CPU seconds each daemon used between the reader's start and its completion. */
  ownerCpuDeliver: number | null
  readerCpuDeliver: number | null
  /** Figure 6: bytes allocated by each data directory. */
  ownerDisk: number | null
  readerDisk: number | null
  /** Result of comparing the reader's tree with the dataset. */
  check: string | null
  logs: string[]
  notes: string[]
  /** Figures 7 to 11; null when the two-way section did not run. */
  twoWay: TwoWayFigures | null
}

export function emptyResult(tool: ToolName): ToolResult {
  return {
    tool,
    version: null,
    ok: false,
    skipped: false,
    oneWay: true,
    error: null,
    ownerStartMs: null,
    importMs: null,
    scanOnlyMs: null,
    readerStartMs: null,
    connectMs: null,
    deliverMs: null,
    deliverFromToldMs: null,
    mbps: null,
    newFileMs: null,
    newFileRuns: [],
    ownerProc: null,
    readerProc: null,
    ownerCpuDeliver: null,
    readerCpuDeliver: null,
    ownerDisk: null,
    readerDisk: null,
    check: null,
    logs: [],
    notes: [],
    twoWay: null,
  }
}

/** Every section that ran passed: the one-way run, and the two-way one with each of its figures. */
export function resultOk(r: ToolResult): boolean {
  if (r.skipped) return true
  const twoWayOk = !r.twoWay || (r.twoWay.ok && Object.keys(r.twoWay.failed).length === 0)
  return (!r.oneWay || r.ok) && twoWayOk
}

const MiB = 1024 * 1024

/** What the report describes: the one-way dataset and the two-way data, each when it ran. */
export interface ReportData {
  dataset: Dataset | null
  twoWay: TwoWaySpec | null
}

interface Row {
  /** Stable name in the JSON output. */
  key: string
  label: string | ((c: ReportData) => string)
  /** How the figure is read: lower is better, higher is better, or informational. */
  better: 'lower' | 'higher' | 'info'
  value: (r: ToolResult, c: ReportData) => number | null
  format: (v: number) => string
  /** For 'info' rows with no ratio. */
  noRatio?: boolean
  /** A two-way figure whose failure shows in its cells (key of TwoWayFigures.failed). */
  figure?: string
}

/** A line of the table that names a section. */
interface Heading {
  heading: string
}

const secs = (v: number) => `${(v / 1000).toFixed(2)} s`
const mib = (v: number) => `${(v / MiB).toFixed(0)} MiB`
const times = (v: number) => `${v.toFixed(2)}×`
const mbps = (v: number) => `${v.toFixed(1)} MB/s`
const cpu = (v: number) => `${v.toFixed(1)} s`
const perSec = (v: number) => `${v.toFixed(0)} files/s`
const bytes = (v: number) =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB` : `${v} B`
const mb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(0)} MB`)

const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b)
const tw = <K extends keyof TwoWayFigures>(r: ToolResult, k: K): TwoWayFigures[K] | null =>
  r.twoWay ? r.twoWay[k] : null

const ROWS: Array<Row | Heading> = [
  {
    key: 'ownerStart',
    label: 'owner daemon start (to API up)',
    better: 'lower',
    value: (r) => r.ownerStartMs,
    format: secs,
  },
  {
    key: 'import',
    label: '1. import / initial scan',
    better: 'lower',
    value: (r) => r.importMs,
    format: secs,
  },
  {
    key: 'scanOnly',
    label: '   scan alone (Syncthing: its StateChanged event)',
    better: 'info',
    value: (r) => r.scanOnlyMs,
    format: secs,
    noRatio: true,
  },
  {
    key: 'readerStart',
    label: 'reader daemon start (to API up)',
    better: 'lower',
    value: (r) => r.readerStartMs,
    format: secs,
  },
  {
    key: 'firstConnection',
    label: 'first connection (from reader start)',
    better: 'lower',
    value: (r) => r.connectMs,
    format: secs,
  },
  {
    key: 'deliver',
    label: '2. reader holds every byte (from start)',
    better: 'lower',
    value: (r) => r.deliverMs,
    format: secs,
  },
  {
    key: 'deliverFromTold',
    label: '   from being told (Spare: join)',
    better: 'lower',
    value: (r) => r.deliverFromToldMs,
    format: secs,
  },
  {
    key: 'deliverFromConnection',
    label: '   from first connection',
    better: 'lower',
    value: (r) => sub(r.deliverMs, r.connectMs),
    format: secs,
  },
  {
    key: 'throughput',
    label: '3. end-to-end throughput',
    better: 'higher',
    value: (r) => r.mbps,
    format: mbps,
  },
  {
    key: 'newFile',
    label: '4. new 4 KiB file at reader (median)',
    better: 'lower',
    value: (r) => r.newFileMs,
    format: secs,
  },
  {
    key: 'rssOwner',
    label: '5. peak RSS owner daemon',
    better: 'lower',
    value: (r) => r.ownerProc?.sumHwm ?? null,
    format: mib,
  },
  {
    key: 'rssReader',
    label: '   peak RSS reader daemon',
    better: 'lower',
    value: (r) => r.readerProc?.sumHwm ?? null,
    format: mib,
  },
  {
    key: 'rssOwnerLargestProcess',
    label: '   largest process, owner (Syncthing: worker)',
    better: 'lower',
    value: (r) => r.ownerProc?.maxProcessHwm ?? null,
    format: mib,
  },
  {
    key: 'rssReaderLargestProcess',
    label: '   largest process, reader (Syncthing: worker)',
    better: 'lower',
    value: (r) => r.readerProc?.maxProcessHwm ?? null,
    format: mib,
  },
  {
    key: 'cpuOwnerDeliver',
    label: '   CPU owner during delivery',
    better: 'lower',
    value: (r) => r.ownerCpuDeliver,
    format: cpu,
  },
  {
    key: 'cpuReaderDeliver',
    label: '   CPU reader during delivery',
    better: 'lower',
    value: (r) => r.readerCpuDeliver,
    format: cpu,
  },
  {
    key: 'diskOwnerX',
    label: '6. disk: owner data dir / folder',
    better: 'lower',
    value: (r, c) =>
      r.ownerDisk === null || !c.dataset ? null : r.ownerDisk / c.dataset.totalBytes,
    format: times,
  },
  {
    key: 'diskReaderX',
    label: '   disk: reader data dir / folder',
    better: 'lower',
    value: (r, c) =>
      r.readerDisk === null || !c.dataset ? null : r.readerDisk / c.dataset.totalBytes,
    format: times,
  },
  { heading: 'two-way: 3 writers A, B, C (C away during 7, 8, 9 and the changes of 11)' },
  {
    key: 'twoWaySetup',
    label: '   setup: B and C hold the seed (from start)',
    better: 'lower',
    value: (r) => tw(r, 'setupMs'),
    format: secs,
    figure: 'setup',
  },
  {
    key: 'twoWayNewFile',
    label: '7. new 4 KiB file written at B, at A (median)',
    better: 'lower',
    value: (r) => tw(r, 'newFileMs'),
    format: secs,
    figure: 'newFile',
  },
  {
    key: 'twoWayEdit',
    label: (c) =>
      `8. ${c.twoWay ? mb(c.twoWay.editLength) : '1 MB'} changed in 25 MB file at A, at B`,
    better: 'lower',
    value: (r) => tw(r, 'editMs'),
    format: secs,
    figure: 'edit',
  },
  {
    key: 'twoWayEditBytes',
    label: '   bytes B received (tool count)',
    better: 'lower',
    value: (r) => tw(r, 'editBytes'),
    format: bytes,
    figure: 'edit',
  },
  {
    key: 'twoWayEditWire',
    label: '   loopback traffic meanwhile (all, IP)',
    better: 'lower',
    value: (r) => tw(r, 'editWireBytes'),
    format: bytes,
    figure: 'edit',
  },
  {
    key: 'twoWayBigAdd',
    label: (c) => `   ${c.twoWay ? mb(c.twoWay.renameBytes) : 'big'} folder moved into A, at B`,
    better: 'lower',
    value: (r) => tw(r, 'bigAddMs'),
    format: secs,
    figure: 'rename',
  },
  {
    key: 'twoWayRename',
    label: (c) => `9. ${c.twoWay ? mb(c.twoWay.renameBytes) : 'big'} folder renamed at A, at B`,
    better: 'lower',
    value: (r) => tw(r, 'renameMs'),
    format: secs,
    figure: 'rename',
  },
  {
    key: 'twoWayRenameBytes',
    label: '   bytes B received (tool count)',
    better: 'lower',
    value: (r) => tw(r, 'renameBytes'),
    format: bytes,
    figure: 'rename',
  },
  {
    key: 'twoWayRenameWire',
    label: '   loopback traffic meanwhile (all, IP)',
    better: 'lower',
    value: (r) => tw(r, 'renameWireBytes'),
    format: bytes,
    figure: 'rename',
  },
  {
    key: 'twoWayIndex',
    label: (c) =>
      `10. index ${c.twoWay ? c.twoWay.index.smallFiles.toLocaleString('en-US') : 'many'} small files (to idle)`,
    better: 'lower',
    value: (r) => tw(r, 'indexMs'),
    format: secs,
    figure: 'index',
  },
  {
    key: 'twoWayIndexRate',
    label: '    files indexed per second',
    better: 'higher',
    value: (r) => {
      const ms = tw(r, 'indexMs')
      const n = tw(r, 'indexFiles')
      return ms && n ? n / (ms / 1000) : null
    },
    format: perSec,
    figure: 'index',
  },
  {
    key: 'twoWayIndexRss',
    label: '    peak RSS while indexing',
    better: 'lower',
    value: (r) => tw(r, 'indexProc')?.sumHwm ?? null,
    format: mib,
    figure: 'index',
  },
  {
    key: 'twoWayIndexRssLargest',
    label: '    largest process (Syncthing: worker)',
    better: 'lower',
    value: (r) => tw(r, 'indexProc')?.maxProcessHwm ?? null,
    format: mib,
    figure: 'index',
  },
  {
    key: 'twoWayPartition',
    label: '11. 3 writers after a partition: identical',
    better: 'lower',
    value: (r) => tw(r, 'partitionMs'),
    format: secs,
    figure: 'partition',
  },
]

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n)
}

function isHeading(row: Row | Heading): row is Heading {
  return 'heading' in row
}

function labelOf(row: Row, c: ReportData): string {
  return typeof row.label === 'string' ? row.label : row.label(c)
}

/** A cell: the value, FAILED when its two-way figure failed, else '-'. */
function cell(r: ToolResult | null, row: Row, c: ReportData): string {
  if (!r) return '-'
  const v = row.value(r, c)
  if (v !== null) return row.format(v)
  if (row.figure && r.twoWay?.failed[row.figure] !== undefined) return 'FAILED'
  return '-'
}

function describeData(c: ReportData): string[] {
  const lines: string[] = []
  const d = c.dataset
  if (d) {
    lines.push(
      `dataset "${d.spec.name}": ${d.files.length} files, ${(d.totalBytes / 1e6).toFixed(1)} MB ` +
        `(${d.spec.bigFiles} × ${(d.spec.bigSize / 1e6).toFixed(0)} MB + ${d.spec.smallFiles} × ` +
        `${(d.spec.smallSize / 1024).toFixed(0)} KiB in ${d.spec.smallFolders} folders)`,
    )
  }
  const t = c.twoWay
  if (t) {
    const s = t.seed
    const idx = t.index
    lines.push(
      `two-way seed "${s.name}": ${s.bigFiles} × ${mb(s.bigSize)} in ${t.renameDir}/ (moved into A, then renamed, in 9), ` +
        `${t.editFile} (${mb(t.editLength)} at offset ${t.editOffset} changed in 8), ` +
        `${s.smallFiles} × ${(s.smallSize / 1024).toFixed(0)} KiB in ${s.smallFolders} folders; ` +
        `index tree "${idx.name}": ${idx.smallFiles.toLocaleString('en-US')} × ` +
        `${(idx.smallSize / 1024).toFixed(0)} KiB in ${idx.smallFolders} folders`,
    )
  }
  return lines
}

/** The aligned table, Spare and Syncthing side by side with the ratio Spare/Syncthing. */
export function formatReport(c: ReportData, results: ToolResult[], machine?: string): string {
  const spare = results.find((r) => r.tool === 'spare') ?? null
  const st = results.find((r) => r.tool === 'syncthing') ?? null
  const lines: string[] = [...describeData(c)]
  if (machine) lines.push(`machine: ${machine}`)
  for (const r of results) {
    const problems: string[] = []
    if (r.skipped) problems.push(`SKIPPED: ${r.error ?? '?'}`)
    else {
      if (r.oneWay && !r.ok) problems.push(`FAILED: ${r.error ?? '?'}`)
      if (r.twoWay && !r.twoWay.ok) problems.push(`two-way FAILED: ${r.twoWay.error ?? '?'}`)
    }
    lines.push(
      `${r.tool}: ${r.version ?? 'version unknown'}${problems.map((p) => `  ${p}`).join('')}`,
    )
  }
  lines.push('')
  const header = ['figure', 'Spare', 'Syncthing', 'Spare/Syncthing']
  const table: string[][] = [header]
  let heading: string | null = null
  for (const row of ROWS) {
    if (isHeading(row)) {
      heading = row.heading
      continue
    }
    const a = spare ? row.value(spare, c) : null
    const b = st ? row.value(st, c) : null
    const ca = cell(spare, row, c)
    const cb = cell(st, row, c)
    if (ca === '-' && cb === '-') continue
    if (heading) {
      table.push([`-- ${heading}`, '', '', ''])
      heading = null
    }
    let ratio = ''
    if (!row.noRatio && a !== null && b !== null && b !== 0) {
      const x = a / b
      const good = row.better === 'lower' ? x < 1 : row.better === 'higher' ? x > 1 : null
      ratio = `${x.toFixed(2)}${good === null ? '' : good ? '  (better)' : '  (worse)'}`
    }
    table.push([labelOf(row, c), ca, cb, ratio])
  }
  const widths = header.map((_, i) =>
    Math.max(...table.filter((r) => !r[0]?.startsWith('-- ')).map((r) => (r[i] ?? '').length)),
  )
  for (const [i, r] of table.entries()) {
    if (r[0]?.startsWith('-- ')) {
      lines.push(r[0])
      continue
    }
    lines.push(
      r
        .map((cellText, col) => pad(cellText, widths[col] ?? 0, col === 1 || col === 2))
        .join('   ')
        .trimEnd(),
    )
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('   '))
  }
  lines.push('')
  lines.push('Times: lower is better. Throughput: higher is better. "-": not measured.')
  for (const r of results) {
    const runs = r.newFileRuns
      .map((v) => (v === null ? 'timeout' : (v / 1000).toFixed(2)))
      .join(', ')
    if (runs) lines.push(`${r.tool} new-file runs (s): ${runs}`)
    for (const [label, p] of [
      ['owner', r.ownerProc],
      ['reader', r.readerProc],
      ['indexing', r.twoWay?.indexProc ?? null],
    ] as const) {
      if (!p) continue
      const procs = p.processes.map((x) => `${x.name}[${x.pid}] ${mib(x.hwm)}`).join(' + ')
      lines.push(
        `${r.tool} ${label} processes (VmHWM; the figure is their sum): ${procs}; ` +
          `peak summed VmRSS ${mib(p.peakTreeRss)}; CPU ${p.cpu.toFixed(1)} s`,
      )
    }
    if (r.ownerDisk !== null || r.readerDisk !== null) {
      lines.push(
        `${r.tool} data dirs: owner ${r.ownerDisk === null ? '-' : mib(r.ownerDisk)}, ` +
          `reader ${r.readerDisk === null ? '-' : mib(r.readerDisk)} (allocated blocks, like du)`,
      )
    }
    if (r.check) lines.push(`${r.tool} reader tree: ${r.check}`)
    for (const n of r.notes) lines.push(`${r.tool}: ${n}`)
    if (r.oneWay && !r.ok && r.logs.length) lines.push(`${r.tool} logs: ${r.logs.join(', ')}`)
    const t = r.twoWay
    if (t) {
      const twoRuns = t.newFileRuns
        .map((v) => (v === null ? 'timeout' : (v / 1000).toFixed(2)))
        .join(', ')
      if (twoRuns) lines.push(`${r.tool} two-way new-file runs B → A (s): ${twoRuns}`)
      for (const [fig, why] of Object.entries(t.failed)) {
        lines.push(`${r.tool} two-way figure "${fig}" FAILED: ${why}`)
      }
      for (const n of t.notes) lines.push(`${r.tool} two-way: ${n}`)
      if ((!t.ok || Object.keys(t.failed).length) && t.logs.length) {
        lines.push(`${r.tool} two-way logs: ${t.logs.join(', ')}`)
      }
    }
  }
  return lines.join('\n')
}

export async function writeJson(
  file: string,
  c: ReportData,
  results: ToolResult[],
  extra: Record<string, unknown>,
): Promise<void> {
  const d = c.dataset
  const doc = {
    date: new Date().toISOString(),
    ...extra,
    dataset: d
      ? {
          spec: d.spec,
          files: d.files.length,
          bytes: d.totalBytes,
        }
      : null,
    twoWay: c.twoWay,
    results: results.map((r) => ({
      ...r,
      diskOwnerX: r.ownerDisk === null || !d ? null : r.ownerDisk / d.totalBytes,
      diskReaderX: r.readerDisk === null || !d ? null : r.readerDisk / d.totalBytes,
    })),
    ratios: ratios(c, results),
  }
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true })
  await fs.writeFile(file, JSON.stringify(doc, null, 2) + '\n')
}

function ratios(c: ReportData, results: ToolResult[]): Record<string, number | null> {
  const spare = results.find((r) => r.tool === 'spare')
  const st = results.find((r) => r.tool === 'syncthing')
  const out: Record<string, number | null> = {}
  for (const row of ROWS) {
    if (isHeading(row) || row.noRatio) continue
    const a = spare ? row.value(spare, c) : null
    const b = st ? row.value(st, c) : null
    out[row.key] = a !== null && b ? a / b : null
  }
  return out
}
