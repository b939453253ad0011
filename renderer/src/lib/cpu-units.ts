// Donated-CPU limits as people type them and back: shares of CPU time ('25', '25%'), cores, times
// ('3' minutes, '90 s', '1 h 30 min'), the memory of a job ('256 MiB') and the daily schedule.
// The ranges are the contract's (shared/contract.ts, DonateLimitsSchema); the schedule's grammar is
// the engine's to check (it refuses a bad one with BAD_INPUT), so only its length is checked here.
//
// Every parser answers with the value or one sentence for the form, never throws.
import { isOff, parseSize, type Parsed } from './units.ts'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

function refuse<T>(error: string): Parsed<T> {
  return { ok: false, error }
}

const NUMBER = /^(\d+(?:\.\d*)?|\.\d+)$/

/** '25', '25%', '12.5 %' → the number; null when it isn't one. */
function readPercent(text: string): number | null {
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*%?$/.exec(text.trim())
  return m ? Number(m[1]) : null
}

/**
 * The share of CPU time donor jobs may use: '25' or '25%', at most 100. Empty, 0 and 'off' give
 * null: no CPU is donated (the contract reads null and 0 alike).
 */
export function parseCpuPercent(text: string): Parsed<number | null> {
  const s = text.trim()
  if (s === '' || isOff(s)) return { ok: true, value: null }
  if (s.startsWith('-')) return refuse('A share of CPU time can’t be negative.')
  const p = readPercent(s)
  if (p === null) return refuse('Enter a percentage, like 25%, or 0 to donate no CPU.')
  if (p > 100) return refuse('A share of CPU time must be at most 100 %.')
  return { ok: true, value: p === 0 ? null : p }
}

/** The other programs' share of the machine above which jobs are suspended: 0 to 100. */
export function parseBusyPercent(text: string): Parsed<number> {
  const s = text.trim()
  if (s === '') return refuse('Enter a percentage, like 25%, or switch it off.')
  if (s.startsWith('-')) return refuse('A percentage can’t be negative.')
  const p = readPercent(s)
  if (p === null) return refuse('Enter a number, optionally followed by %, like 25%.')
  if (p > 100) return refuse('A percentage must be at most 100.')
  return { ok: true, value: p }
}

/** How many jobs at once, one core each: a whole number from 1 to the machine's cores. */
export function parseCores(text: string, machineCores: number): Parsed<number> {
  const s = text.trim()
  const most = Math.max(1, Math.floor(machineCores))
  if (s === '') return refuse(`Enter a number of cores from 1 to ${most}.`)
  if (!NUMBER.test(s)) return refuse(`Enter a whole number of cores from 1 to ${most}.`)
  const n = Number(s)
  if (!Number.isInteger(n)) return refuse('Cores must be a whole number.')
  if (n < 1) return refuse('At least 1 core: to donate no CPU, set its CPU time to 0.')
  if (n > most) {
    return refuse(
      `This computer has ${most} ${most === 1 ? 'core' : 'cores'}: use at most ${most}.`,
    )
  }
  return { ok: true, value: n }
}

const TIME_UNITS: ReadonlyMap<string, number> = new Map([
  ['ms', 1],
  ['s', SECOND],
  ['sec', SECOND],
  ['secs', SECOND],
  ['second', SECOND],
  ['seconds', SECOND],
  ['m', MINUTE],
  ['min', MINUTE],
  ['mins', MINUTE],
  ['minute', MINUTE],
  ['minutes', MINUTE],
  ['h', HOUR],
  ['hr', HOUR],
  ['hrs', HOUR],
  ['hour', HOUR],
  ['hours', HOUR],
  ['d', DAY],
  ['day', DAY],
  ['days', DAY],
])

/**
 * A length of time in ms: '10 min', '90s', '1 h 30 min', '1.5h'. A bare number is minutes ('3').
 * Rounds to whole ms.
 */
export function parseDurationMs(text: string): Parsed<number> {
  const s = text.trim().toLowerCase()
  if (s === '') return refuse('Enter a time, like 10 min, 90 s or 1 h.')
  if (s.startsWith('-')) return refuse('A time can’t be negative.')
  if (NUMBER.test(s)) return { ok: true, value: Math.round(Number(s) * MINUTE) }
  const part = /(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)\s*/gy
  let total = 0
  let at = 0
  let m: RegExpExecArray | null
  while ((m = part.exec(s)) !== null) {
    const unit = TIME_UNITS.get(m[2] ?? '')
    if (unit === undefined) return refuse(`Unknown unit “${m[2]}”: use s, min, h or d.`)
    total += Number(m[1]) * unit
    at = part.lastIndex
  }
  if (at !== s.length || at === 0) return refuse('Enter a time, like 10 min, 90 s or 1 h 30 min.')
  return { ok: true, value: Math.round(total) }
}

/** ms as text that parses back to exactly the same number: '10 min', '1 h 30 min', '1.5 s'. */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms} ms`
  if (ms === 0) return '0 s'
  const parts: string[] = []
  let rest = Math.round(ms)
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['min', MINUTE],
  ] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) parts.push(`${n} ${unit}`)
    rest -= n * size
  }
  if (rest > 0) parts.push(`${Number((rest / SECOND).toFixed(3))} s`)
  return parts.join(' ')
}

/** The idle time before jobs may run: more than 0 and at most a week. */
export function parseIdleMs(text: string): Parsed<number> {
  const parsed = parseDurationMs(text)
  if (!parsed.ok) return parsed
  if (parsed.value <= 0) {
    return refuse('The idle time must be more than 0: switch it off to run while in use too.')
  }
  if (parsed.value > 7 * DAY) return refuse('The idle time must be at most a week.')
  return parsed
}

/** The idle time as its field shows it: whole minutes as a bare number ('3'), else a time. */
export function formatIdleMs(ms: number): string {
  return ms > 0 && ms % MINUTE === 0 ? String(ms / MINUTE) : formatDurationMs(ms)
}

export const JOB_MEMORY_MIN = 16 * 1024 ** 2
export const JOB_MEMORY_MAX = 64 * 1024 ** 3

/** The memory one job may use: 16 MiB to 64 GiB, like '256 MiB' or '1 GB'. */
export function parseJobMemory(text: string): Parsed<number> {
  const parsed = parseSize(text)
  if (!parsed.ok) return parsed
  if (parsed.value < JOB_MEMORY_MIN) return refuse('A job needs at least 16 MiB of memory.')
  if (parsed.value > JOB_MEMORY_MAX) return refuse('At most 64 GiB of memory per job.')
  return parsed
}

/** The wall time one job may take: 1 s to 24 h. */
export function parseJobWallMs(text: string): Parsed<number> {
  const parsed = parseDurationMs(text)
  if (!parsed.ok) return parsed
  if (parsed.value < SECOND) return refuse('A job may take at least 1 s.')
  if (parsed.value > DAY) return refuse('A job may take at most 24 h.')
  return parsed
}

export const SCHEDULE_MAX_CHARS = 500

/**
 * The daily schedule as typed; empty (or 'off', 'none') gives null: at any time. Its grammar is
 * the engine's to check.
 */
export function parseSchedule(text: string): Parsed<string | null> {
  const s = text.trim()
  if (s === '' || isOff(s)) return { ok: true, value: null }
  if (s.length > SCHEDULE_MAX_CHARS) {
    return refuse(`A schedule is at most ${SCHEDULE_MAX_CHARS} characters.`)
  }
  return { ok: true, value: s }
}
