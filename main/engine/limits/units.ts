// Sizes, rates and percentages as people type them on the command line ('50GB', '1.5 GiB',
// '2MB/s', '20%') and back. Units are case-insensitive: kB/KB/MB/GB/TB are decimal (1 GB = 10^9
// bytes, as disks are sold), KiB/MiB/GiB/TiB binary (1 GiB = 2^30). A bare number is bytes.
// Single letters ('50G', '2M') are refused rather than guessed: tools disagree on whether they
// mean GB or GiB. Every error names what was wrong and gives an example that would work.

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

const UNIT_LIST = 'B, kB, MB, GB, TB or KiB, MiB, GiB, TiB'

type Kind = 'size' | 'rate'

const EXAMPLE: Record<Kind, string> = { size: '50GB', rate: '2MB/s' }

function fail(kind: Kind, text: string, why: string): never {
  const what = kind === 'size' ? 'size' : 'rate'
  const shown = text.trim() === '' ? 'an empty value' : `'${text}'`
  throw new Error(`Invalid ${what} ${shown}: ${why} (for example ${EXAMPLE[kind]})`)
}

function parseQuantity(text: string, kind: Kind, original: string): number {
  const s = text.trim()
  if (s === '') fail(kind, original, `expected a number with an optional unit`)
  if (s.startsWith('-')) fail(kind, original, 'it must not be negative')
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/i.exec(s)
  if (!m) fail(kind, original, `expected a number with an optional unit (${UNIT_LIST})`)
  const num = Number(m[1])
  const unit = (m[2] ?? '').toLowerCase()
  const mult = UNITS.get(unit)
  if (mult === undefined) fail(kind, original, `unknown unit '${m[2]}': use ${UNIT_LIST}`)
  if (!Number.isFinite(num)) fail(kind, original, 'not a number')
  const bytes = Math.round(num * mult)
  if (!(bytes <= MAX_BYTES)) fail(kind, original, 'too large, the most is 1 EB')
  return bytes
}

/**
 * Parses a size: '50GB' = 5e10, '1.5 GiB' = 1.5 × 2^30, '10 kB', '1234' (bytes), '0'.
 * Rounds to whole bytes. Throws on empty, negative, malformed, unknown units and values > 1 EB.
 */
export function parseSize(text: string): number {
  return parseQuantity(text, 'size', text)
}

/** Words that mean "no rate limit". */
const NO_LIMIT = new Set(['off', 'unlimited', 'none'])

/**
 * Parses a rate in bytes per second: '2MB/s', '500 KiB/s', '2MB' (the '/s' is optional).
 * 'off', 'unlimited' and 'none' give null: no limit. A rate of 0 is refused (it would stall
 * every transfer for good); say 'off' for no limit.
 */
export function parseRate(text: string): number | null {
  const s = text.trim()
  if (NO_LIMIT.has(s.toLowerCase())) return null
  const body = s.replace(/\s*\/\s*s(ec)?$/i, '')
  const rate = parseQuantity(body, 'rate', text)
  if (rate === 0) fail('rate', text, "a rate must be more than 0; use 'off' for no limit")
  return rate
}

/** Parses a percentage: '20' or '20%' (decimals allowed); it must be more than 0 and at most 100. */
export function parsePercent(text: string): number {
  const s = text.trim()
  const bad = (why: string): never => {
    const shown = s === '' ? 'an empty value' : `'${text}'`
    throw new Error(`Invalid percentage ${shown}: ${why} (for example 20%)`)
  }
  if (s === '') bad('expected a number')
  if (s.startsWith('-')) bad('it must not be negative')
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*%?$/.exec(s)
  if (!m) bad('expected a number, optionally followed by %')
  const p = Number(m?.[1])
  if (!(p > 0)) bad('it must be more than 0')
  if (p > 100) bad('it must be at most 100')
  return p
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']

/** 3 significant digits at most, trailing zeros dropped: 1.5, 12.3, 123, 1.23. */
function short(n: number): string {
  const digits = n >= 100 ? 0 : n >= 10 ? 1 : 2
  return String(Number(n.toFixed(digits)))
}

/** Formats bytes with decimal units: 0 → '0 B', 1500 → '1.5 kB', 5e10 → '50 GB'. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes)
  if (bytes < 0) return `-${formatSize(-bytes)}`
  let i = 0
  let n = bytes
  while (i < DECIMAL_UNITS.length - 1 && Number(short(n)) >= 1000) {
    n /= 1000
    i++
  }
  return `${short(n)} ${DECIMAL_UNITS[i]}`
}

/** Formats bytes per second: 2e6 → '2 MB/s'; null (no limit) → 'unlimited'. */
export function formatRate(bytesPerSec: number | null): string {
  return bytesPerSec === null ? 'unlimited' : `${formatSize(bytesPerSec)}/s`
}
