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

// Durations ('5m', '90s', '1h30m', '2 days') for idle thresholds, snoozes and the like. Units are
// case-insensitive: ms; s, sec, second(s); m, min, minute(s); h, hr, hour(s); d, day(s). Parts may
// be combined from the largest unit down ('1h30m', '1h 30m'). A bare number is minutes, the unit
// BOINC's "in use" setting and `spare donate pause` use; write '90s' or '500ms' for less. Months
// and years are refused (their length varies), and so is anything over a year.

/** The longest duration parseDuration accepts: one year. */
export const MAX_DURATION_MS = 365 * 24 * 3600 * 1000

const DURATION_UNITS: ReadonlyArray<[RegExp, number]> = [
  [/^ms$/, 1],
  [/^(s|secs?|seconds?)$/, 1000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(h|hrs?|hours?)$/, 3_600_000],
  [/^(d|days?)$/, 86_400_000],
]

/**
 * Parses a duration into milliseconds: '5m' = 300000, '90s', '1.5h', '1h30m', '2 days', '500ms',
 * '0'. A bare number is minutes ('3' = 180000). Rounds to whole milliseconds. Throws on empty,
 * negative, malformed, unknown units, units out of order ('30m1h') and more than a year.
 */
export function parseDuration(text: string): number {
  const s = text.trim()
  const bad = (why: string): never => {
    const shown = s === '' ? 'an empty value' : `'${text}'`
    throw new Error(`Invalid duration ${shown}: ${why} (for example 5m, 90s, 1h30m or 2d)`)
  }
  if (s === '') bad('expected a number with a unit')
  if (s.startsWith('-')) bad('it must not be negative')
  if (/^(\d+(?:\.\d*)?|\.\d+)$/.test(s)) {
    const ms = Math.round(Number(s) * 60_000)
    if (ms > MAX_DURATION_MS) bad('too long, the most is a year (365d)')
    return ms
  }
  const part = /(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)\s*/giy
  let total = 0
  let lastMult = Infinity
  let at = 0
  while (at < s.length) {
    part.lastIndex = at
    const m = part.exec(s)
    if (!m) bad('expected numbers with units such as ms, s, m, h or d')
    const unit = (m?.[2] ?? '').toLowerCase()
    const found = DURATION_UNITS.find(([re]) => re.test(unit))
    if (!found) {
      const hint = /^(mo|mon|months?|y|yrs?|years?|w|wks?|weeks?)$/.test(unit)
        ? ': use days (30d)'
        : ': use ms, s, m, h or d'
      bad(`unknown unit '${m?.[2]}'${hint}`)
    }
    const mult = found?.[1] ?? 1
    if (mult >= lastMult) bad('give the larger units first, each once (1h30m)')
    lastMult = mult
    total += Number(m?.[1]) * mult
    at = part.lastIndex
  }
  const ms = Math.round(total)
  if (!(ms <= MAX_DURATION_MS)) bad('too long, the most is a year (365d)')
  return ms
}

/**
 * Formats milliseconds for people, in at most two units: 500 → '500 ms', 45000 → '45 s',
 * 180000 → '3 min', 5400000 → '1 h 30 min', 93600000 → '1 d 2 h'.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms)
  if (ms < 0) return `-${formatDuration(-ms)}`
  if (ms < 1000) return `${Math.round(ms)} ms`
  const steps: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ]
  for (let i = 0; i < steps.length; i++) {
    const [name, size] = steps[i] as [string, number]
    const sub = steps[i + 1]
    // Round to the smaller unit first, so that 59.6 s reads '1 min', not '60 s'.
    const rounded = sub ? Math.round(ms / sub[1]) * sub[1] : Math.round(ms / size) * size
    if (rounded < size) continue
    const big = Math.floor(rounded / size)
    const rest = sub ? Math.round((rounded - big * size) / sub[1]) : 0
    return sub && rest > 0 ? `${big} ${name} ${rest} ${sub[0]}` : `${big} ${name}`
  }
  return `${Math.round(ms / 1000)} s`
}
