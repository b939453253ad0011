import { describe, expect, it } from 'vitest'
import {
  formatBytes,
  formatClock,
  formatCpuTime,
  formatCredit,
  formatDuration,
  formatRelative,
  formatRelativeMs,
  percent,
  shortId,
} from './format.ts'

describe('format', () => {
  it('formats bytes in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(1000)).toBe('1 KB')
    expect(formatBytes(1_234_567)).toBe('1.2 MB')
    expect(formatBytes(250_000_000_000)).toBe('250 GB')
    expect(formatBytes(-1)).toBe('—')
  })

  it('moves to the next unit when rounding reaches 1000', () => {
    expect(formatBytes(999_999)).toBe('1 MB')
    expect(formatBytes(999_600)).toBe('1 MB')
    expect(formatBytes(999_400)).toBe('999 KB')
    expect(formatBytes(999_999_999_999)).toBe('1 TB')
    expect(formatBytes(99_960)).toBe('100 KB')
    expect(formatCredit(-999_999)).toBe('-1 MB·h')
  })

  it('never shows 100 % before the end', () => {
    expect(percent(0, 0)).toBe(0)
    expect(percent(999, 1000)).toBe(99)
    expect(percent(1000, 1000)).toBe(100)
    expect(percent(250, 1000)).toBe(25)
  })

  it('formats durations from seconds', () => {
    expect(formatDuration(12)).toBe('12 s')
    expect(formatDuration(250)).toBe('4 min 10 s')
    expect(formatDuration(3725)).toBe('1 h 2 min')
    expect(formatDuration(3 * 86_400 + 4 * 3600)).toBe('3 d 4 h')
  })

  it('formats times relative to now', () => {
    const now = Date.parse('2025-01-01T12:00:00Z')
    expect(formatRelative('2025-01-01T11:59:58Z', now)).toBe('just now')
    expect(formatRelative('2025-01-01T11:55:00Z', now)).toBe('5 minutes ago')
    expect(formatRelative('2025-01-01T09:00:00Z', now)).toBe('3 hours ago')
    expect(formatRelative('2024-12-31T12:00:00Z', now)).toBe('yesterday')
    expect(formatRelative('garbage', now)).toBeNull()
  })

  it('formats ledger credit in byte-hours', () => {
    expect(formatCredit(3_200_000_000)).toBe('3.2 GB·h')
    expect(formatCredit(0)).toBe('0 B·h')
    expect(formatCredit(-1_500_000)).toBe('-1.5 MB·h')
    expect(formatCredit(Number.NaN)).toBe('—')
    // Tiny amounts are not rounded to nothing.
    expect(formatCredit(0.004)).toBe('< 1 B·h')
    expect(formatCredit(0.7, { signed: true })).toBe('< 1 B·h')
    expect(formatCredit(-0.2)).toBe('> -1 B·h')
    expect(formatCredit(3_200_000_000, { signed: true })).toBe('+3.2 GB·h')
    expect(formatCredit(-3, { signed: true })).toBe('-3 B·h')
    expect(formatCredit(0, { signed: true })).toBe('0 B·h')
  })

  it('shortens long ids and formats times given in ms', () => {
    expect(shortId('0123456789abcdef0123')).toBe('0123456789ab…')
    expect(shortId('abc')).toBe('abc')
    const now = Date.parse('2025-01-01T12:00:00Z')
    expect(formatRelativeMs(now - 5 * 60_000, now)).toBe('5 minutes ago')
    expect(formatRelativeMs(Number.NaN, now)).toBe('—')
    expect(formatRelativeMs(1e20, now)).toBe('—')
  })

  it('formats CPU time, in ms below a second', () => {
    expect(formatCpuTime(850)).toBe('850 ms')
    expect(formatCpuTime(42_000)).toBe('42 s')
    expect(formatCpuTime(125_000)).toBe('2 min 5 s')
    expect(formatCpuTime(-1)).toBe('—')
  })

  it('formats a time soon: the clock today, the day too within the week, the date later', () => {
    const now = new Date(2030, 0, 2, 9, 0).getTime()
    const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
    const later = new Date(2030, 0, 2, 14, 5)
    expect(formatClock(later.getTime(), now)).toBe(clock.format(later))
    const tomorrow = new Date(2030, 0, 3, 0, 30)
    const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' }).format(tomorrow)
    expect(formatClock(tomorrow.getTime(), now)).toContain(weekday)
    expect(formatClock(tomorrow.getTime(), now)).toContain(clock.format(tomorrow))
    const month = new Intl.DateTimeFormat(undefined, { month: 'short' }).format(
      new Date(2030, 2, 1),
    )
    expect(formatClock(new Date(2030, 2, 1, 8, 0).getTime(), now)).toContain(month)
    expect(formatClock(Number.NaN, now)).toBe('—')
  })
})
