import { describe, expect, it } from 'vitest'
import {
  formatDurationMs,
  formatIdleMs,
  parseBusyPercent,
  parseCores,
  parseCpuPercent,
  parseDurationMs,
  parseIdleMs,
  parseJobMemory,
  parseJobWallMs,
  parseSchedule,
} from './cpu-units.ts'

const value = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!r.ok) throw new Error(`expected a value, got: ${r.error}`)
  return r.value
}
const error = (r: { ok: boolean; error?: string }): string => {
  if (r.ok) throw new Error('expected an error')
  return r.error ?? ''
}

describe('cpu units: shares of CPU', () => {
  it('reads the CPU time jobs may use; empty, 0 and off donate none', () => {
    expect(value(parseCpuPercent('25'))).toBe(25)
    expect(value(parseCpuPercent(' 12.5 % '))).toBe(12.5)
    expect(value(parseCpuPercent('100%'))).toBe(100)
    for (const none of ['', '  ', '0', '0%', 'off']) expect(value(parseCpuPercent(none))).toBeNull()
    expect(error(parseCpuPercent('150'))).toBe('A share of CPU time must be at most 100 %.')
    expect(error(parseCpuPercent('-5'))).toMatch(/can’t be negative/)
    expect(error(parseCpuPercent('half'))).toMatch(/Enter a percentage, like 25%/)
  })

  it('reads the other programs’ threshold, 0 to 100', () => {
    expect(value(parseBusyPercent('25%'))).toBe(25)
    expect(value(parseBusyPercent('0'))).toBe(0)
    expect(error(parseBusyPercent(''))).toMatch(/switch it off/)
    expect(error(parseBusyPercent('101'))).toMatch(/at most 100/)
    expect(error(parseBusyPercent('lots'))).toMatch(/Enter a number/)
  })

  it('reads whole cores from 1 to the machine’s', () => {
    expect(value(parseCores('4', 8))).toBe(4)
    expect(value(parseCores(' 8 ', 8))).toBe(8)
    expect(error(parseCores('9', 8))).toBe('This computer has 8 cores: use at most 8.')
    expect(error(parseCores('2', 1))).toBe('This computer has 1 core: use at most 1.')
    expect(error(parseCores('0', 8))).toMatch(/At least 1 core/)
    expect(error(parseCores('1.5', 8))).toBe('Cores must be a whole number.')
    expect(error(parseCores('two', 8))).toMatch(/whole number of cores from 1 to 8/)
    expect(error(parseCores('', 8))).toMatch(/from 1 to 8/)
  })
})

describe('cpu units: times', () => {
  it('reads times with units, a bare number as minutes', () => {
    expect(value(parseDurationMs('3'))).toBe(180_000)
    expect(value(parseDurationMs('1.5'))).toBe(90_000)
    expect(value(parseDurationMs('90 s'))).toBe(90_000)
    expect(value(parseDurationMs('10min'))).toBe(600_000)
    expect(value(parseDurationMs('1 h 30 min'))).toBe(5_400_000)
    expect(value(parseDurationMs('1.5h'))).toBe(5_400_000)
    expect(value(parseDurationMs('2 Days'))).toBe(172_800_000)
    expect(error(parseDurationMs('10 fortnights'))).toBe(
      'Unknown unit “fortnights”: use s, min, h or d.',
    )
    expect(error(parseDurationMs('soon'))).toMatch(/Enter a time/)
    expect(error(parseDurationMs('5 min later 3'))).toMatch(/Enter a time/)
    expect(error(parseDurationMs('-3'))).toMatch(/can’t be negative/)
  })

  it('formats times so they parse back to exactly the same number', () => {
    expect(formatDurationMs(600_000)).toBe('10 min')
    expect(formatDurationMs(5_400_000)).toBe('1 h 30 min')
    expect(formatDurationMs(90_000)).toBe('1 min 30 s')
    expect(formatDurationMs(86_400_000)).toBe('1 d')
    expect(formatDurationMs(1_500)).toBe('1.5 s')
    for (const ms of [1000, 61_000, 3_600_000, 90_061_000, 1_234, 7 * 86_400_000]) {
      expect(value(parseDurationMs(formatDurationMs(ms)))).toBe(ms)
    }
    expect(formatIdleMs(180_000)).toBe('3')
    expect(formatIdleMs(90_000)).toBe('1 min 30 s')
    expect(value(parseIdleMs(formatIdleMs(90_000)))).toBe(90_000)
  })

  it('checks the idle time and a job’s wall time against their ranges', () => {
    expect(value(parseIdleMs('3'))).toBe(180_000)
    expect(error(parseIdleMs('0'))).toMatch(/more than 0: switch it off/)
    expect(error(parseIdleMs('8 d'))).toBe('The idle time must be at most a week.')
    expect(value(parseJobWallMs('10 min'))).toBe(600_000)
    expect(error(parseJobWallMs('500 ms'))).toBe('A job may take at least 1 s.')
    expect(error(parseJobWallMs('25 h'))).toBe('A job may take at most 24 h.')
  })
})

describe('cpu units: a job’s memory and the schedule', () => {
  it('reads a job’s memory between 16 MiB and 64 GiB', () => {
    expect(value(parseJobMemory('256 MiB'))).toBe(256 * 2 ** 20)
    expect(value(parseJobMemory('1GB'))).toBe(1e9)
    expect(error(parseJobMemory('1 MB'))).toBe('A job needs at least 16 MiB of memory.')
    expect(error(parseJobMemory('65 GiB'))).toBe('At most 64 GiB of memory per job.')
    expect(error(parseJobMemory('lots'))).toMatch(/Enter a number with a unit/)
  })

  it('passes the schedule on for the engine to check; empty is at any time', () => {
    expect(value(parseSchedule(' mon-fri 18:00-08:00 '))).toBe('mon-fri 18:00-08:00')
    expect(value(parseSchedule(''))).toBeNull()
    expect(value(parseSchedule('off'))).toBeNull()
    expect(error(parseSchedule('9'.repeat(501)))).toMatch(/at most 500 characters/)
  })
})
