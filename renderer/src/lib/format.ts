// Formatting of sizes, counts, durations and times for people.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const

/** Decimal units like the operating systems' file managers: 1 KB = 1000 B. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—'
  let value = bytes
  let unit = 0
  const digitsOf = (v: number, u: number) => (u === 0 || v >= 100 ? 0 : 1)
  // Goes up a unit also when rounding would show 1000: 999 999 B is "1 MB", not "1000 KB".
  while (unit < UNITS.length - 1 && Number(value.toFixed(digitsOf(value, unit))) >= 1000) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(digitsOf(value, unit)).replace(/\.0$/, '')} ${UNITS[unit]}`
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function formatCount(n: number): string {
  return integer.format(n)
}

/** A whole percentage, never rounding up to 100 before the end. */
export function percent(part: number, whole: number): number {
  if (whole <= 0) return part > 0 ? 100 : 0
  const p = Math.floor((Math.min(part, whole) / whole) * 100)
  return part >= whole ? 100 : Math.min(p, 99)
}

/** "3 d 4 h", "5 h 12 min", "4 min 10 s", "12 s" from seconds. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return '—'
  const s = Math.floor(totalSeconds)
  const days = Math.floor(s / 86_400)
  const hours = Math.floor((s % 86_400) / 3_600)
  const minutes = Math.floor((s % 3_600) / 60)
  const seconds = s % 60
  if (days > 0) return `${days} d ${hours} h`
  if (hours > 0) return `${hours} h ${minutes} min`
  if (minutes > 0) return `${minutes} min ${seconds} s`
  return `${seconds} s`
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })

/** "just now", "5 minutes ago", "yesterday", or null for an unreadable date. */
export function formatRelative(iso: string, now: number): string | null {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return null
  const diff = Math.round((t - now) / 1000)
  const abs = Math.abs(diff)
  if (abs < 10) return 'just now'
  if (abs < 60) return relative.format(diff, 'second')
  if (abs < 3_600) return relative.format(Math.round(diff / 60), 'minute')
  if (abs < 86_400) return relative.format(Math.round(diff / 3_600), 'hour')
  return relative.format(Math.round(diff / 86_400), 'day')
}

export function formatDateTime(iso: string): string {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  return new Date(t).toLocaleString()
}

/**
 * Ledger credit, in byte-hours: 1 GB kept for an hour, or 1 GB served, is 1 GB·h. Negative for a
 * balance in debt: "-3.2 GB·h"; `signed` puts "+" before a positive one (a balance). Credit under
 * 1 B·h (a few ms of a small folder) is "< 1 B·h" (or "> -1 B·h"), never a rounded "0 B·h" that
 * would read as none at all.
 */
export function formatCredit(byteHours: number, { signed = false } = {}): string {
  if (!Number.isFinite(byteHours)) return '—'
  if (byteHours > 0 && byteHours < 1) return '< 1 B·h'
  if (byteHours < 0 && byteHours > -1) return '> -1 B·h'
  const sign = byteHours < 0 ? '-' : signed && byteHours > 0 ? '+' : ''
  return `${sign}${formatBytes(Math.abs(byteHours))}·h`
}

/** The start of a long id (a node's identity, a key) for a list; the whole id goes in a title. */
export function shortId(id: string, length = 12): string {
  return id.length > length ? `${id.slice(0, length)}…` : id
}

/** "5 minutes ago" for a time in ms since the epoch. */
export function formatRelativeMs(ms: number, now: number): string {
  if (!validTime(ms)) return '—'
  return formatRelative(new Date(ms).toISOString(), now) ?? new Date(ms).toLocaleString()
}

/** A time in ms since the epoch, in the user's locale; '—' for an unreadable one. */
export function formatTimeMs(ms: number): string {
  return validTime(ms) ? new Date(ms).toLocaleString() : '—'
}

/** The ISO form of a time in ms, for <time dateTime>; undefined for an unreadable one. */
export function isoOf(ms: number): string | undefined {
  return validTime(ms) ? new Date(ms).toISOString() : undefined
}

/** Dates go up to ±8.64·10^15 ms; past that (or NaN) there is no date to show. */
function validTime(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15
}

/** CPU time: "2 min 5 s", "850 ms" below a second. */
export function formatCpuTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  return formatDuration(ms / 1000)
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dayAndClock = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
})
const dateAndClock = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
})

/**
 * A time soon, in the user's locale: "14:05" today, "Tue 14:05" within the week, "Mar 3, 14:05"
 * later; '—' for an unreadable one.
 */
export function formatClock(ms: number, now: number): string {
  if (!validTime(ms) || !validTime(now)) return '—'
  const at = new Date(ms)
  const today = new Date(now)
  if (at.toDateString() === today.toDateString()) return clock.format(at)
  if (Math.abs(ms - now) < 6 * 86_400_000) return dayAndClock.format(at)
  return dateAndClock.format(at)
}
