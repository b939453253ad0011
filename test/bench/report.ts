// What each contender's run produces, and the side-by-side report: an aligned table with the
// ratio Spare/Syncthing for every figure, plus the same data as JSON.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Dataset } from './dataset.ts'
import type { TreeStats } from './measure.ts'

export type ToolName = 'spare' | 'syncthing'

/** One contender's figures. Times are milliseconds; null when not reached or not observable. */
export interface ToolResult {
  tool: ToolName
  version: string | null
  ok: boolean
  /** Not run at all (Syncthing not installed): does not fail the bench. */
  skipped: boolean
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
}

export function emptyResult(tool: ToolName): ToolResult {
  return {
    tool,
    version: null,
    ok: false,
    skipped: false,
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
  }
}

const MiB = 1024 * 1024

interface Row {
  /** Stable name in the JSON output. */
  key: string
  label: string
  /** How the figure is read: lower is better, higher is better, or informational. */
  better: 'lower' | 'higher' | 'info'
  value: (r: ToolResult, d: Dataset) => number | null
  format: (v: number) => string
  /** For 'info' rows with no ratio. */
  noRatio?: boolean
}

const secs = (v: number) => `${(v / 1000).toFixed(2)} s`
const mib = (v: number) => `${(v / MiB).toFixed(0)} MiB`
const times = (v: number) => `${v.toFixed(2)}×`
const mbps = (v: number) => `${v.toFixed(1)} MB/s`
const cpu = (v: number) => `${v.toFixed(1)} s`

const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b)

const ROWS: Row[] = [
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
    value: (r, d) => (r.ownerDisk === null ? null : r.ownerDisk / d.totalBytes),
    format: times,
  },
  {
    key: 'diskReaderX',
    label: '   disk: reader data dir / folder',
    better: 'lower',
    value: (r, d) => (r.readerDisk === null ? null : r.readerDisk / d.totalBytes),
    format: times,
  },
]

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n)
}

/** The aligned table, Spare and Syncthing side by side with the ratio Spare/Syncthing. */
export function formatReport(dataset: Dataset, results: ToolResult[], machine?: string): string {
  const spare = results.find((r) => r.tool === 'spare') ?? null
  const st = results.find((r) => r.tool === 'syncthing') ?? null
  const lines: string[] = []
  const d = dataset
  const smallCount = d.spec.smallFiles
  lines.push(
    `dataset "${d.spec.name}": ${d.files.length} files, ${(d.totalBytes / 1e6).toFixed(1)} MB ` +
      `(${d.spec.bigFiles} × ${(d.spec.bigSize / 1e6).toFixed(0)} MB + ${smallCount} × ` +
      `${(d.spec.smallSize / 1024).toFixed(0)} KiB in ${d.spec.smallFolders} folders)`,
  )
  if (machine) lines.push(`machine: ${machine}`)
  for (const r of results) {
    const status = r.skipped
      ? `  SKIPPED: ${r.error ?? '?'}`
      : r.ok
        ? ''
        : `  FAILED: ${r.error ?? '?'}`
    lines.push(`${r.tool}: ${r.version ?? 'version unknown'}${status}`)
  }
  lines.push('')
  const header = ['figure', 'Spare', 'Syncthing', 'Spare/Syncthing']
  const table: string[][] = [header]
  for (const row of ROWS) {
    const a = spare ? row.value(spare, d) : null
    const b = st ? row.value(st, d) : null
    if (a === null && b === null) continue
    let ratio = ''
    if (!row.noRatio && a !== null && b !== null && b !== 0) {
      const x = a / b
      const good = row.better === 'lower' ? x < 1 : row.better === 'higher' ? x > 1 : null
      ratio = `${x.toFixed(2)}${good === null ? '' : good ? '  (better)' : '  (worse)'}`
    }
    table.push([
      row.label,
      a === null ? '-' : row.format(a),
      b === null ? '-' : row.format(b),
      ratio,
    ])
  }
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)))
  for (const [i, r] of table.entries()) {
    lines.push(
      r
        .map((cell, c) => pad(cell, widths[c] ?? 0, c === 1 || c === 2))
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
    if (!r.ok && r.logs.length) lines.push(`${r.tool} logs: ${r.logs.join(', ')}`)
  }
  return lines.join('\n')
}

export async function writeJson(
  file: string,
  dataset: Dataset,
  results: ToolResult[],
  extra: Record<string, unknown>,
): Promise<void> {
  const doc = {
    date: new Date().toISOString(),
    ...extra,
    dataset: {
      spec: dataset.spec,
      files: dataset.files.length,
      bytes: dataset.totalBytes,
    },
    results: results.map((r) => ({
      ...r,
      diskOwnerX: r.ownerDisk === null ? null : r.ownerDisk / dataset.totalBytes,
      diskReaderX: r.readerDisk === null ? null : r.readerDisk / dataset.totalBytes,
    })),
    ratios: ratios(dataset, results),
  }
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true })
  await fs.writeFile(file, JSON.stringify(doc, null, 2) + '\n')
}

function ratios(d: Dataset, results: ToolResult[]): Record<string, number | null> {
  const spare = results.find((r) => r.tool === 'spare')
  const st = results.find((r) => r.tool === 'syncthing')
  const out: Record<string, number | null> = {}
  for (const row of ROWS) {
    if (row.noRatio) continue
    const a = spare ? row.value(spare, d) : null
    const b = st ? row.value(st, d) : null
    out[row.key] = a !== null && b ? a / b : null
  }
  return out
}
