// Donation limits as people type them ('50GB', '1.5 GiB', '2MB/s', '20%', 'off') and back. The
// same rules as the engine's parser (main/engine/limits/units.ts), which the renderer cannot
// import: units are case-insensitive, kB/MB/GB/TB are decimal (1 GB = 10^9 bytes, as disks are
// sold), KiB/MiB/GiB/TiB binary (1 GiB = 2^30), a bare number is bytes. Single letters ('50G')
// are refused rather than guessed. 'off' (or 'none', 'unlimited') turns a limit off. A rate of 0 is
// refused: it would stall every transfer for good, so 'off' is how to say "no limit".
//
// Every parser answers with the value or one sentence for the form, never throws.

/** Nothing a person could mean by a disk or rate limit is above 1 EB (10^18 bytes). */
export const MAX_BYTES = 1e18

const UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['kb', 1e3],
  ['mb', 1e6],
  ['gb', 1e9],
  ['tb', 1e12],
  ['pb', 1e15],
  ['kib', 2 ** 10],
  ['mib', 2 ** 20],
  ['gib', 2 ** 30],
  ['tib', 2 ** 40],
  ['pib', 2 ** 50],
])

const UNIT_LIST = 'kB, MB, GB, TB (decimal) or KiB, MiB, GiB, TiB (binary)'

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

/** What a limit measures: bytes of disk, a share of the disk, or bytes per second. */
export type LimitKind = 'size' | 'percent' | 'rate'

const EXAMPLE: Record<LimitKind, string> = {
  size: '50GB or 1.5 GiB',
  percent: '20%',
  rate: '2MB/s or 500 KiB/s',
}

/** Words that turn a limit off. */
const OFF = new Set(['off', 'none', 'unlimited'])

export function isOff(text: string): boolean {
  return OFF.has(text.trim().toLowerCase())
}

function refuse<T>(error: string): Parsed<T> {
  return { ok: false, error }
}

function parseQuantity(text: string, kind: 'size' | 'rate'): Parsed<number> {
  const s = text.trim()
  if (s === '') return refuse(`Enter a ${kind}, like ${EXAMPLE[kind]}, or off.`)
  if (s.startsWith('-')) return refuse(`A ${kind} can’t be negative.`)
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/i.exec(s)
  if (!m) return refuse(`Enter a number with a unit, like ${EXAMPLE[kind]}.`)
  const unit = m[2] ?? ''
  const mult = UNITS.get(unit.toLowerCase())
  if (mult === undefined) return refuse(`Unknown unit “${unit}”: use ${UNIT_LIST}.`)
  const num = Number(m[1])
  if (!Number.isFinite(num)) return refuse(`Enter a number with a unit, like ${EXAMPLE[kind]}.`)
  const bytes = Math.round(num * mult)
  if (!(bytes <= MAX_BYTES)) return refuse('Too large: the most is 1 EB.')
  return { ok: true, value: bytes }
}

/** '50GB' = 5·10^10, '1.5 GiB' = 1.5·2^30, '10 kB', '1234' (bytes), '0'. Rounds to whole bytes. */
export function parseSize(text: string): Parsed<number> {
  return parseQuantity(text, 'size')
}

/** Bytes per second: '2MB/s', '500 KiB/s', '2MB' (the '/s' is optional); 'off' gives null. */
export function parseRate(text: string): Parsed<number | null> {
  if (isOff(text)) return { ok: true, value: null }
  const body = text.trim().replace(/\s*\/\s*s(ec)?$/i, '')
  const rate = parseQuantity(body, 'rate')
  if (!rate.ok) return rate
  if (rate.value === 0) return refuse('A rate must be more than 0: use off for no limit.')
  return rate
}

/** A share of the disk: '20' or '20%' (decimals allowed), more than 0 and at most 100. */
export function parsePercent(text: string): Parsed<number> {
  const s = text.trim()
  if (s === '') return refuse(`Enter a percentage, like ${EXAMPLE.percent}, or off.`)
  if (s.startsWith('-')) return refuse('A percentage can’t be negative.')
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*%?$/.exec(s)
  if (!m) return refuse(`Enter a number, optionally followed by %, like ${EXAMPLE.percent}.`)
  const p = Number(m[1])
  if (!(p > 0)) return refuse('A percentage must be more than 0: use off for no limit.')
  if (p > 100) return refuse('A percentage must be at most 100.')
  return { ok: true, value: p }
}

/** Any limit as typed: its value, or null for 'off'. */
export function parseLimit(kind: LimitKind, text: string): Parsed<number | null> {
  if (isOff(text)) return { ok: true, value: null }
  if (kind === 'rate') return parseRate(text)
  if (kind === 'percent') return parsePercent(text)
  return parseSize(text)
}

// Largest first; at one magnitude the decimal unit first: 1 TB before 1 TiB.
const EXACT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['PB', 1e15],
  ['PiB', 2 ** 50],
  ['TB', 1e12],
  ['TiB', 2 ** 40],
  ['GB', 1e9],
  ['GiB', 2 ** 30],
  ['MB', 1e6],
  ['MiB', 2 ** 20],
  ['kB', 1e3],
  ['KiB', 2 ** 10],
]

/**
 * Bytes as text that parses back to exactly the same number: 5e10 → '50 GB', 1.5·2^30 → '1.5 GiB',
 * 1234567 → '1234.567 kB', 1000000001 → '1000000001 B'. What a limit's field starts with.
 */
export function formatExactSize(bytes: number): string {
  for (const [unit, mult] of EXACT_UNITS) {
    const n = bytes / mult
    if (n < 1) continue
    const short = Number(n.toFixed(3))
    // Decimals only on a readable number: '1234.567 kB', but '1000000001 B', not '1000000.001 kB'.
    if (!Number.isInteger(short) && short >= 10_000) continue
    if (Math.round(short * mult) === bytes) return `${short} ${unit}`
  }
  return `${bytes} B`
}

/** A limit's value as its field shows it: 'off', '50 GB', '20%' or '2 MB/s'. */
export function formatLimit(kind: LimitKind, value: number | null): string {
  if (value === null) return 'off'
  if (kind === 'percent') return `${value}%`
  if (kind === 'rate') return `${formatExactSize(value)}/s`
  return formatExactSize(value)
}

/** The limits of the disk budget, as the contract names them. */
export interface DiskLimits {
  diskBytes: number | null
  diskPercent: number | null
  leaveFreeBytes: number | null
}

export type DiskRule = 'disk' | 'percent' | 'leaveFree'

export interface DiskBudget {
  budget: number
  byRule: Record<DiskRule, number | null>
  binding: DiskRule | 'none'
}

/**
 * The engine's rule (BOINC's): each disk limit that is set caps what hosted data may use and the
 * smallest cap wins; with none set nothing is donated. leaveFree lets hosted data grow only while
 * the disk keeps that much free. Used to warn before a save that would evict hosted folders.
 */
export function diskBudget(
  limits: DiskLimits,
  used: number,
  fs: { total: number; free: number },
): DiskBudget {
  const byRule: Record<DiskRule, number | null> = {
    disk: limits.diskBytes,
    percent: limits.diskPercent === null ? null : Math.floor((fs.total * limits.diskPercent) / 100),
    leaveFree:
      limits.leaveFreeBytes === null ? null : used + Math.max(0, fs.free - limits.leaveFreeBytes),
  }
  let budget = 0
  let binding: DiskBudget['binding'] = 'none'
  for (const rule of ['disk', 'percent', 'leaveFree'] as const) {
    const cap = byRule[rule]
    if (cap === null) continue
    if (binding === 'none' || cap < budget) {
      budget = cap
      binding = rule
    }
  }
  return { budget, byRule, binding }
}
