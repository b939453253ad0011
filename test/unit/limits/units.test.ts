import { describe, expect, it } from 'vitest'
import {
  formatRate,
  formatSize,
  parsePercent,
  parseRate,
  parseSize,
} from '../../../main/engine/limits/units.ts'

describe('parseSize', () => {
  it.each([
    ['50GB', 50e9],
    ['1.5 GiB', 1.5 * 2 ** 30],
    ['500MB', 500e6],
    ['10 kB', 10_000],
    ['10 KB', 10_000],
    ['10kb', 10_000],
    ['0', 0],
    ['1234', 1234],
    ['1234 B', 1234],
    ['2 TB', 2e12],
    ['3 KiB', 3072],
    ['3 kib', 3072],
    ['1 MiB', 2 ** 20],
    ['1 TiB', 2 ** 40],
    ['.5 GB', 5e8],
    ['  7 MB  ', 7e6],
    ['1 PB', 1e15],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  it('rounds to whole bytes', () => {
    expect(parseSize('1.0004 kB')).toBe(1000)
    expect(parseSize('1.5')).toBe(2)
  })

  it.each([
    ['', /empty value.*for example 50GB/],
    ['   ', /empty value/],
    ['-5GB', /'-5GB'.*must not be negative.*for example 50GB/],
    ['abc', /'abc'.*expected a number.*for example 50GB/],
    ['NaN', /expected a number/],
    ['Infinity', /expected a number/],
    ['5 XB', /unknown unit 'XB'.*GiB.*for example 50GB/],
    ['50G', /unknown unit 'G'/],
    ['1e9', /expected a number/],
    ['1.2.3 GB', /expected a number/],
    ['2 EB', /unknown unit 'EB'/],
    ['1001 PB', /too large.*1 EB/],
    ['5GB/s', /expected a number/],
  ])('refuses %j', (text, message) => {
    expect(() => parseSize(text)).toThrow(message)
  })
})

describe('parseRate', () => {
  it.each([
    ['2MB/s', 2e6],
    ['500 KiB/s', 500 * 1024],
    ['500KiB / s', 500 * 1024],
    ['2MB', 2e6],
    ['1 GB/sec', 1e9],
    ['100', 100],
    ['100/s', 100],
  ])('%j is %d bytes per second', (text, rate) => {
    expect(parseRate(text)).toBe(rate)
  })

  it.each(['off', 'OFF', 'unlimited', ' Unlimited ', 'none'])('%j is no limit', (text) => {
    expect(parseRate(text)).toBeNull()
  })

  it.each([
    ['0', /more than 0.*'off'.*for example 2MB\/s/],
    ['0 MB/s', /more than 0/],
    ['-2MB/s', /negative.*for example 2MB\/s/],
    ['fast', /'fast'.*expected a number/],
    ['2 MB/min', /unknown unit|expected a number/],
    ['', /empty value.*2MB\/s/],
  ])('refuses %j', (text, message) => {
    expect(() => parseRate(text)).toThrow(message)
  })
})

describe('parsePercent', () => {
  it.each([
    ['20', 20],
    ['20%', 20],
    [' 12.5 % ', 12.5],
    ['100', 100],
    ['0.5', 0.5],
  ])('%j is %d', (text, p) => {
    expect(parsePercent(text)).toBe(p)
  })

  it.each([
    ['0', /more than 0.*for example 20%/],
    ['0%', /more than 0/],
    ['101', /at most 100/],
    ['-5', /negative/],
    ['', /empty value/],
    ['twenty', /expected a number/],
    ['20%%', /expected a number/],
  ])('refuses %j', (text, message) => {
    expect(() => parsePercent(text)).toThrow(message)
  })
})

describe('formatSize and formatRate', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1500, '1.5 kB'],
    [999_999, '1 MB'],
    [123_456_789, '123 MB'],
    [50e9, '50 GB'],
    [1.5 * 2 ** 30, '1.61 GB'],
    [2e12, '2 TB'],
    [12.3e15, '12.3 PB'],
    [1e18, '1 EB'],
    [-1500, '-1.5 kB'],
  ])('%d bytes is %j', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text)
  })

  it('formats rates and no limit', () => {
    expect(formatRate(2e6)).toBe('2 MB/s')
    expect(formatRate(512_000)).toBe('512 kB/s')
    expect(formatRate(null)).toBe('unlimited')
  })

  it('round-trips through the parsers', () => {
    for (const n of [0, 1, 999, 1000, 1500, 50e9, 2e12]) expect(parseSize(formatSize(n))).toBe(n)
    expect(parseRate(formatRate(5e6))).toBe(5e6)
    expect(parseRate(formatRate(null))).toBeNull()
  })
})
