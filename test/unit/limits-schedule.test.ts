import { describe, expect, it } from 'vitest'
import {
  formatMinutes,
  inSchedule,
  nextChange,
  parseSchedule,
  type Schedule,
} from '../../main/engine/limits/schedule.ts'
import { DonateLimitsSchema } from '../../main/engine/limits/governor.ts'
import { formatDuration, parseDuration } from '../../main/engine/limits/units.ts'

// 2026-01-04 is a Sunday: day(0) = Sunday 4 Jan, day(1) = Monday 5 Jan, ... day(6) = Saturday.
const at = (day: number, h: number, m = 0) => new Date(2026, 0, 4 + day, h, m)
const SUN = 0
const MON = 1
const WED = 3
const FRI = 5
const SAT = 6

/** Minutes of the week that are in, as 'day HH:MM-HH:MM' strings, for compact expectations. */
function windows(s: Schedule): string[] {
  const names = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
  return s.week.flatMap((day, d) =>
    day.map(([a, b]) => `${names[d]} ${formatMinutes(a)}-${formatMinutes(b)}`),
  )
}

describe('parseSchedule', () => {
  it('reads a daily window', () => {
    const s = parseSchedule('09:00-17:00')
    expect(s.week.every((d) => JSON.stringify(d) === '[[540,1020]]')).toBe(true)
    expect(s.rules).toEqual([
      { text: '09:00-17:00', days: [0, 1, 2, 3, 4, 5, 6], ranges: [[540, 1020]] },
    ])
  })

  it('reads days, ranges of days, lists and keywords', () => {
    expect(parseSchedule('mon-fri 09:00-17:00').rules[0]?.days).toEqual([1, 2, 3, 4, 5])
    expect(parseSchedule('sat,sun 10:00-12:00').rules[0]?.days).toEqual([0, 6])
    expect(parseSchedule('Sat, Sunday 10:00-12:00').rules[0]?.days).toEqual([0, 6])
    expect(parseSchedule('fri-mon 10:00-12:00').rules[0]?.days).toEqual([0, 1, 5, 6])
    expect(parseSchedule('mon-wed,fri 10:00-12:00').rules[0]?.days).toEqual([1, 2, 3, 5])
    expect(parseSchedule('daily 10:00-12:00').rules[0]?.days).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(parseSchedule('weekdays 10:00-12:00').rules[0]?.days).toEqual([1, 2, 3, 4, 5])
    expect(parseSchedule('weekends 10:00-12:00').rules[0]?.days).toEqual([0, 6])
    expect(parseSchedule('MON - FRI 9:00 - 17:30').rules[0]).toEqual({
      text: 'MON-FRI 9:00-17:30',
      days: [1, 2, 3, 4, 5],
      ranges: [[540, 1050]],
    })
  })

  it('separates rules with ";", new lines, or "," before a day', () => {
    const want = [
      'sun 00:00-24:00',
      'mon 00:00-08:00',
      'mon 18:00-24:00',
      'tue 00:00-08:00',
      'tue 18:00-24:00',
      'wed 00:00-08:00',
      'wed 18:00-24:00',
      'thu 00:00-08:00',
      'thu 18:00-24:00',
      'fri 00:00-08:00',
      'fri 18:00-24:00',
      'sat 00:00-24:00',
    ]
    for (const text of [
      'mon-fri 18:00-08:00; sat,sun 00:00-24:00',
      'mon-fri 18:00-08:00\nsat,sun 00:00-24:00',
      'mon-fri 18:00-08:00, sat,sun 00:00-24:00',
      'mon-fri 18:00-08:00 sat,sun 00:00-24:00',
      ' mon-fri 18:00-08:00 ;; sat,sun 00:00-24:00 ; ',
    ]) {
      expect(windows(parseSchedule(text)), text).toEqual(want)
    }
    expect(parseSchedule('mon-fri 18:00-08:00, sat,sun 00:00-24:00').rules).toHaveLength(2)
  })

  it('gives a rule several windows with "," or spaces between times', () => {
    for (const text of ['mon 09:00-12:00, 13:00-17:00', 'mon 09:00-12:00 13:00-17:00']) {
      expect(windows(parseSchedule(text))).toEqual(['mon 09:00-12:00', 'mon 13:00-17:00'])
    }
    // Overlapping and touching windows merge.
    expect(windows(parseSchedule('mon 09:00-12:00, 11:00-13:00, 13:00-14:00'))).toEqual([
      'mon 09:00-14:00',
    ])
  })

  it('wraps an end before the start around the day, as BOINC does', () => {
    expect(windows(parseSchedule('sat 22:00-06:00'))).toEqual([
      'sat 00:00-06:00',
      'sat 22:00-24:00',
    ])
    expect(windows(parseSchedule('sat 22:00-00:00'))).toEqual(['sat 22:00-24:00'])
    expect(windows(parseSchedule('sat 00:00-24:00'))).toEqual(['sat 00:00-24:00'])
  })

  it('lets a later rule replace what earlier ones said about its days', () => {
    expect(windows(parseSchedule('09:00-17:00; sat,sun 10:00-12:00; wed 00:00-24:00'))).toEqual([
      'sun 10:00-12:00',
      'mon 09:00-17:00',
      'tue 09:00-17:00',
      'wed 00:00-24:00',
      'thu 09:00-17:00',
      'fri 09:00-17:00',
      'sat 10:00-12:00',
    ])
    // Partly replaced is fine.
    expect(windows(parseSchedule('sat,sun 10:00-12:00; sun 14:00-15:00'))).toEqual([
      'sun 14:00-15:00',
      'sat 10:00-12:00',
    ])
  })

  it.each([
    ['', /^Invalid schedule: it is empty/],
    ['   ', /^Invalid schedule: it is empty/],
    [' ; ', /no rules/],
    ['25:00-26:00', /'25:00' in '25:00-26:00' is not a time of day \(hours go from 00 to 23\)/],
    ['09:60-10:00', /'09:60'.*minutes go from 00 to 59/],
    ['24:00-06:00', /'24:00' in '24:00-06:00' can only end a range/],
    ['24:30-06:00', /'24:30'.*hours go from 00 to 23/],
    ['mon-xyz 09:00-10:00', /'xyz' is not a day: use mon, tue/],
    ['xyz 09:00-10:00', /'xyz' is not a day/],
    ['mon-tue-wed 09:00-10:00', /'mon-tue-wed' is not a day or a range of days/],
    ['09:00', /'09:00' is not a time range: write start-end/],
    ['9-17', /'9-17' is not a time range: write HH:MM-HH:MM/],
    ['09:00-', /'09:00-' is not a time range/],
    ['09:00-10:00-11:00', /is not a time range/],
    ['9.00-17.00', /'9.00-17.00' is not a time range/],
    ['sat', /'sat' has no hours: add a time range, like 'sat 10:00-14:00'/],
    ['09:00-17:00; sat', /'sat' has no hours/],
    ['09:00-09:00', /starts when it ends; for all day write 00:00-24:00/],
    [
      'sat 10:00-12:00; 09:00-17:00',
      /'sat 10:00-12:00' does nothing: the later rule '09:00-17:00'/,
    ],
    ['mon 09:00-12:00; mon 13:00-17:00', /several windows in one rule/],
    [
      'mon-fri 09:00-12:00; mon-wed 00:00-01:00; thu,fri 02:00-03:00',
      /later rules 'mon-wed 00:00-01:00' and 'thu,fri 02:00-03:00' replace it on mon, tue, wed/,
    ],
  ])('refuses %j with a message naming the bad part', (text, message) => {
    expect(() => parseSchedule(text)).toThrow(message)
  })

  it('puts the schedule and an example in its errors', () => {
    expect(() => parseSchedule('mon-xyz 09:00-10:00')).toThrow(
      /^Invalid schedule 'mon-xyz 09:00-10:00': .*\(for example 'mon-fri 18:00-08:00; sat,sun 00:00-24:00'\)$/,
    )
  })
})

describe('inSchedule', () => {
  it('is in from the start minute up to, not including, the end minute', () => {
    const s = parseSchedule('09:00-17:00')
    expect(inSchedule(s, at(MON, 8, 59))).toBe(false)
    expect(inSchedule(s, at(MON, 9, 0))).toBe(true)
    expect(inSchedule(s, new Date(2026, 0, 5, 16, 59, 59, 999))).toBe(true)
    expect(inSchedule(s, at(MON, 17, 0))).toBe(false)
  })

  it('follows the days, with wraps on each day', () => {
    const s = parseSchedule('mon-fri 18:00-08:00; sat,sun 00:00-24:00')
    expect(inSchedule(s, at(MON, 7, 59))).toBe(true)
    expect(inSchedule(s, at(MON, 8, 0))).toBe(false)
    expect(inSchedule(s, at(MON, 12, 0))).toBe(false)
    expect(inSchedule(s, at(MON, 18, 0))).toBe(true)
    expect(inSchedule(s, at(MON, 23, 59))).toBe(true)
    expect(inSchedule(s, at(FRI, 23, 0))).toBe(true)
    expect(inSchedule(s, at(SAT, 3, 0))).toBe(true)
    expect(inSchedule(s, at(SUN, 12, 0))).toBe(true)
  })

  it('leaves out the days no rule names', () => {
    const s = parseSchedule('mon-fri 09:00-17:00')
    expect(inSchedule(s, at(SAT, 12, 0))).toBe(false)
    expect(inSchedule(s, at(SUN, 12, 0))).toBe(false)
    expect(inSchedule(s, at(WED, 12, 0))).toBe(true)
  })

  it('allows 24:00 as the end of the day', () => {
    const s = parseSchedule('sat 20:00-24:00')
    expect(inSchedule(s, at(SAT, 23, 59))).toBe(true)
    expect(inSchedule(s, at(SUN, 0, 0))).toBe(false)
  })
})

describe('nextChange', () => {
  it('finds the next start or end', () => {
    const s = parseSchedule('mon-fri 18:00-08:00; sat,sun 00:00-24:00')
    expect(nextChange(s, at(MON, 10, 0))).toEqual(at(MON, 18, 0))
    expect(nextChange(s, at(MON, 18, 0))).toEqual(at(2, 8, 0))
    // Friday night runs into the weekend and on to Monday 08:00.
    expect(nextChange(s, at(FRI, 20, 0))).toEqual(new Date(2026, 0, 12, 8, 0))
    expect(nextChange(s, at(SAT, 1, 0))).toEqual(new Date(2026, 0, 12, 8, 0))
  })

  it('rounds down to the minute and skips the current minute', () => {
    const s = parseSchedule('09:00-17:00')
    expect(nextChange(s, new Date(2026, 0, 5, 8, 59, 30))).toEqual(at(MON, 9, 0))
    expect(nextChange(s, at(MON, 9, 0))).toEqual(at(MON, 17, 0))
    expect(nextChange(s, new Date(2026, 0, 5, 16, 59, 59))).toEqual(at(MON, 17, 0))
  })

  it('looks ahead across days that have no window', () => {
    const s = parseSchedule('wed 10:00-11:00')
    expect(nextChange(s, at(WED, 11, 0))).toEqual(new Date(2026, 0, 14, 10, 0))
    expect(nextChange(s, at(SAT, 11, 0))).toEqual(at(WED + 7, 10, 0))
  })

  it('is null when nothing ever changes', () => {
    expect(nextChange(parseSchedule('00:00-24:00'), at(MON, 12))).toBeNull()
    expect(nextChange(parseSchedule('daily 00:00-12:00, 12:00-24:00'), at(MON, 12))).toBeNull()
  })

  it('counts in wall-clock minutes, so a DST change moves nothing', () => {
    const before = process.env.TZ
    process.env.TZ = 'Europe/Berlin'
    try {
      // The TZ change must have taken effect for this test to mean anything.
      expect(new Date(2026, 2, 29, 12).getTimezoneOffset()).toBe(-120)
      expect(new Date(2026, 2, 28, 12).getTimezoneOffset()).toBe(-60)
      const s = parseSchedule('22:00-06:00')
      // Spring forward on 29 March 2026 (02:00 → 03:00): still 06:00 local, a 7 h night.
      const next = nextChange(s, new Date(2026, 2, 28, 23, 0))
      expect(next).toEqual(new Date(2026, 2, 29, 6, 0))
      expect(next?.getHours()).toBe(6)
      expect(inSchedule(s, new Date(2026, 2, 29, 3, 30))).toBe(true)
      // Fall back on 25 October 2026.
      expect(nextChange(s, new Date(2026, 9, 24, 23, 0))?.getHours()).toBe(6)
      expect(nextChange(s, new Date(2026, 9, 25, 7, 0))?.getHours()).toBe(22)
    } finally {
      if (before === undefined) delete process.env.TZ
      else process.env.TZ = before
    }
  })

  it('skips a window the spring-forward change leaves out, and finds one fall-back repeats', () => {
    const before = process.env.TZ
    process.env.TZ = 'Europe/Berlin'
    try {
      expect(new Date(2026, 2, 29, 12).getTimezoneOffset()).toBe(-120)
      // 02:00-03:00 does not happen on 29 March 2026 (02:00 → 03:00): the next start is the
      // night after, not 03:00 (what 02:00 that day turns into), when jobs still may not run.
      const s = parseSchedule('02:00-03:00')
      const next = nextChange(s, new Date(2026, 2, 28, 23, 0))
      expect(next).toEqual(new Date(2026, 2, 30, 2, 0))
      expect(inSchedule(s, next!)).toBe(true)
      const late = parseSchedule('02:30-02:45')
      expect(nextChange(late, new Date(2026, 2, 29, 1, 0))).toEqual(new Date(2026, 2, 30, 2, 30))
      // Fall back on 25 October 2026 (03:00 → 02:00): 02:30-02:45 comes twice. Just after the
      // first, the next start is the second, an hour after the first.
      const first = new Date(2026, 9, 25, 2, 30)
      const after = new Date(first.getTime() + 20 * 60_000)
      expect(inSchedule(late, after)).toBe(false)
      expect(nextChange(late, after)?.getTime()).toBe(first.getTime() + 3600_000)
    } finally {
      if (before === undefined) delete process.env.TZ
      else process.env.TZ = before
    }
  })
})

describe('DonateLimitsSchema.schedule', () => {
  it("refuses a bad schedule with parseSchedule's message and accepts a good one or null", () => {
    const r = DonateLimitsSchema.safeParse({ schedule: 'mon-xyz 09:00-10:00' })
    expect(r.success).toBe(false)
    expect(r.error?.issues[0]?.path).toEqual(['schedule'])
    expect(r.error?.issues[0]?.message).toMatch(/^Invalid schedule 'mon-xyz 09:00-10:00': 'xyz'/)
    expect(DonateLimitsSchema.parse({ schedule: '09:00-17:00' }).schedule).toBe('09:00-17:00')
    expect(DonateLimitsSchema.parse({ schedule: null }).schedule).toBeNull()
    expect(DonateLimitsSchema.parse({}).schedule).toBeNull()
  })
})

// Durations (units.ts) are the schedule's other half on the command line: idle thresholds and
// snoozes. Their tests live here with the other time parsing of limits/.
describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['5 min', 300_000],
    ['90s', 90_000],
    ['90 seconds', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['2d', 172_800_000],
    ['2 days', 172_800_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['3', 180_000],
    ['0.5', 30_000],
    ['0', 0],
    [' 10M ', 600_000],
    ['365d', 365 * 86_400_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each([
    ['', /^Invalid duration an empty value: .*for example 5m/],
    ['-5m', /must not be negative/],
    ['abc', /'abc'.*expected numbers with units/],
    ['5 parsecs', /unknown unit 'parsecs': use ms, s, m, h or d/],
    ['2w', /unknown unit 'w': use days \(30d\)/],
    ['1mo', /unknown unit 'mo': use days/],
    ['30m1h', /larger units first/],
    ['1h1h', /larger units first/],
    ['5m-', /expected numbers with units/],
    ['366d', /too long, the most is a year/],
    ['1e9', /expected numbers with units|unknown unit/],
    ['999999999', /too long/],
  ])('refuses %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message)
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [500, '500 ms'],
    [45_000, '45 s'],
    [180_000, '3 min'],
    [90_000, '1 min 30 s'],
    [5_400_000, '1 h 30 min'],
    [3_600_000, '1 h'],
    [93_600_000, '1 d 2 h'],
    [3_599_999, '1 h'],
  ])('%d ms is %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})
