import { describe, expect, it } from 'vitest'
import {
  diskBudget,
  formatExactSize,
  formatLimit,
  parseLimit,
  parsePercent,
  parseRate,
  parseSize,
} from './units.ts'

const value = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!r.ok) throw new Error(`expected a value, got: ${r.error}`)
  return r.value
}
const error = (r: { ok: boolean; error?: string }): string => {
  if (r.ok) throw new Error('expected an error')
  return r.error ?? ''
}

describe('units: sizes', () => {
  it('reads decimal and binary units, case-insensitive, with or without a space', () => {
    expect(value(parseSize('50GB'))).toBe(50e9)
    expect(value(parseSize('50 gb'))).toBe(50e9)
    expect(value(parseSize('1.5 GiB'))).toBe(1.5 * 2 ** 30)
    expect(value(parseSize('500MB'))).toBe(500e6)
    expect(value(parseSize('10 kB'))).toBe(10_000)
    expect(value(parseSize('2 KiB'))).toBe(2048)
    expect(value(parseSize('1TB'))).toBe(1e12)
    expect(value(parseSize('1 TiB'))).toBe(2 ** 40)
    expect(value(parseSize('.5MB'))).toBe(500_000)
    expect(value(parseSize('  1234  '))).toBe(1234)
    expect(value(parseSize('0'))).toBe(0)
    expect(value(parseSize('7 B'))).toBe(7)
  })

  it('rounds to whole bytes', () => {
    expect(value(parseSize('1.0005 kB'))).toBe(1001)
    expect(Number.isInteger(value(parseSize('1.1 KiB')))).toBe(true)
  })

  it('refuses empty, negative, malformed, unknown units and more than 1 EB', () => {
    expect(error(parseSize(''))).toMatch(/^Enter a size, like 50GB/)
    expect(error(parseSize('-5GB'))).toBe('A size can’t be negative.')
    expect(error(parseSize('GB'))).toMatch(/^Enter a number with a unit/)
    expect(error(parseSize('5 G B'))).toMatch(/^Enter a number with a unit/)
    expect(error(parseSize('50G'))).toMatch(/^Unknown unit “G”: use kB, MB, GB, TB/)
    expect(error(parseSize('3 parsecs'))).toMatch(/^Unknown unit “parsecs”/)
    expect(error(parseSize('2000 PB'))).toBe('Too large: the most is 1 EB.')
    expect(value(parseSize('1000 PB'))).toBe(1e18)
  })
})

describe('units: rates', () => {
  it('reads rates with or without /s, and off', () => {
    expect(value(parseRate('2MB/s'))).toBe(2e6)
    expect(value(parseRate('2 MB / s'))).toBe(2e6)
    expect(value(parseRate('500 KiB/s'))).toBe(512_000)
    expect(value(parseRate('5MB'))).toBe(5e6)
    expect(value(parseRate('1 mb/sec'))).toBe(1e6)
    expect(value(parseRate('off'))).toBeNull()
    expect(value(parseRate(' OFF '))).toBeNull()
    expect(value(parseRate('unlimited'))).toBeNull()
  })

  it('refuses 0, negatives and unknown units', () => {
    expect(error(parseRate('0'))).toBe('A rate must be more than 0: use off for no limit.')
    expect(error(parseRate('0 MB/s'))).toMatch(/more than 0/)
    expect(error(parseRate('-1MB/s'))).toBe('A rate can’t be negative.')
    expect(error(parseRate('2 Mbit/s'))).toMatch(/^Unknown unit “Mbit”/)
    expect(error(parseRate(''))).toMatch(/^Enter a rate, like 2MB\/s/)
  })
})

describe('units: percentages', () => {
  it('reads 20 and 20%, decimals too', () => {
    expect(value(parsePercent('20'))).toBe(20)
    expect(value(parsePercent('20 %'))).toBe(20)
    expect(value(parsePercent('12.5%'))).toBe(12.5)
    expect(value(parsePercent('100%'))).toBe(100)
  })

  it('refuses 0, more than 100, negatives and words', () => {
    expect(error(parsePercent('0'))).toMatch(/more than 0/)
    expect(error(parsePercent('101'))).toBe('A percentage must be at most 100.')
    expect(error(parsePercent('-5%'))).toBe('A percentage can’t be negative.')
    expect(error(parsePercent('half'))).toMatch(/optionally followed by %/)
  })
})

describe('units: any limit', () => {
  it('turns every kind off with off', () => {
    expect(value(parseLimit('size', 'off'))).toBeNull()
    expect(value(parseLimit('percent', 'none'))).toBeNull()
    expect(value(parseLimit('rate', 'off'))).toBeNull()
    expect(value(parseLimit('size', '1GB'))).toBe(1e9)
    expect(value(parseLimit('percent', '5%'))).toBe(5)
    expect(value(parseLimit('rate', '1MB/s'))).toBe(1e6)
  })

  it('formats values so they parse back to exactly the same number', () => {
    expect(formatExactSize(50e9)).toBe('50 GB')
    expect(formatExactSize(1.5 * 2 ** 30)).toBe('1.5 GiB')
    expect(formatExactSize(2 ** 30)).toBe('1 GiB')
    expect(formatExactSize(1e12)).toBe('1 TB')
    expect(formatExactSize(1_234_567)).toBe('1234.567 kB')
    expect(formatExactSize(1_000_000_001)).toBe('1000000001 B')
    expect(formatExactSize(0)).toBe('0 B')
    expect(formatLimit('size', null)).toBe('off')
    expect(formatLimit('percent', 12.5)).toBe('12.5%')
    expect(formatLimit('rate', 2e6)).toBe('2 MB/s')
    for (const n of [0, 1, 999, 1024, 5e10, 1.5 * 2 ** 30, 123_456_789, 2 ** 40 + 1, 1e18]) {
      expect(value(parseSize(formatExactSize(n)))).toBe(n)
      expect(value(parseRate(formatLimit('rate', n || 1)))).toBe(n || 1)
    }
  })
})

describe('units: the disk budget', () => {
  const fs = { total: 1000e9, free: 300e9 }
  const none = { diskBytes: null, diskPercent: null, leaveFreeBytes: null }

  it('donates nothing without a disk limit', () => {
    expect(diskBudget(none, 0, fs)).toEqual({
      budget: 0,
      byRule: { disk: null, percent: null, leaveFree: null },
      binding: 'none',
    })
  })

  it('takes the smallest cap, naming the first rule on a tie', () => {
    const b = diskBudget({ diskBytes: 50e9, diskPercent: 10, leaveFreeBytes: 100e9 }, 20e9, fs)
    expect(b.byRule).toEqual({ disk: 50e9, percent: 100e9, leaveFree: 220e9 })
    expect(b).toMatchObject({ budget: 50e9, binding: 'disk' })
    expect(diskBudget({ ...none, diskBytes: 100e9, diskPercent: 10 }, 0, fs).binding).toBe('disk')
    expect(diskBudget({ ...none, diskPercent: 2 }, 0, fs)).toMatchObject({
      budget: 20e9,
      binding: 'percent',
    })
  })

  it('lets leave-free only stop growth, never go below usage', () => {
    const b = diskBudget({ ...none, leaveFreeBytes: 400e9 }, 30e9, fs)
    expect(b).toMatchObject({ budget: 30e9, binding: 'leaveFree' })
  })
})
