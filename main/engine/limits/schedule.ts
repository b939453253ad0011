// When donor jobs may run: a weekly schedule in local time, as people type it.
//
//   09:00-17:00                               every day, nine to five
//   mon-fri 18:00-08:00; sat,sun 00:00-24:00   weekday nights (see "past midnight") and weekends
//   22:00-06:00; sat,sun 00:00-24:00           every night, and weekends all day
//   mon-fri 09:00-12:00, 13:00-17:00            two windows a day
//   daily 00:00-24:00; wed 00:00-06:00          every day, but on Wednesdays only until six
//
// Grammar (case-insensitive; spaces around '-' and ',' don't matter):
//   schedule := rule (SEP rule)*         SEP: ';' or a new line, or ',' when a day follows
//   rule     := [days] range (',' range | ' ' range)*
//   days     := day-set (',' day-set)*   day-set: a day (mon, monday, ...), a range of days
//                                         (mon-fri; fri-mon wraps past Sunday), daily, weekdays
//                                         or weekends
//   range    := HH:MM-HH:MM               hours 0-23 (one or two digits), minutes 00-59; 24:00 is
//                                         allowed as an end
// So after a time range, a ',' followed by a day starts a new rule ("mon-fri 18:00-08:00,
// sat,sun 00:00-24:00"), while one followed by a time adds a window to the same rule.
//
// Meaning. A rule says which times of each of its days jobs may run; days that no rule names
// don't run at all ("mon-fri 09:00-17:00" leaves the weekend out). Omitted days or `daily` mean
// all seven. A later rule naming a day replaces what earlier rules said about that day: BOINC's
// per-weekday override ("09:00-17:00; sat 10:00-12:00"). A rule that later rules replace on every
// one of its days would do nothing, so it is refused (it is almost always a mistake: write the
// general rule first, or give one day several windows in one rule).
//
// Past midnight. `18:00-08:00` (end before start) wraps around the day, as in BOINC: on each of
// the rule's days it means 00:00-08:00 and 18:00-24:00 of that day. So "mon-fri 18:00-08:00" runs
// Monday morning until eight but not Saturday morning; together with "sat,sun 00:00-24:00" that
// is every weeknight and the whole weekend with no gap. A start equal to the end is refused: it
// could mean nothing or all day; all day is 00:00-24:00.
//
// Time is local wall-clock time with minute resolution: a date is looked up by its weekday and
// its hours and minutes, never by adding milliseconds, so DST changes move nothing. A window
// inside the hour that the spring-forward change skips doesn't happen that day.

export interface ScheduleRule {
  /** The rule as written, trimmed (for messages). */
  text: string
  /** Weekdays, 0 = Sunday (as Date.getDay()). */
  days: number[]
  /** Windows in minutes of the day, [start, end) with 0 ≤ start, end ≤ 1440; end < start wraps. */
  ranges: Array<[number, number]>
}

export interface Schedule {
  /** The schedule as given, trimmed. */
  text: string
  rules: ScheduleRule[]
  /**
   * For each weekday (0 = Sunday) the minutes of the day jobs may run: sorted, merged, disjoint
   * [start, end) intervals within 0..1440.
   */
  week: Array<Array<[number, number]>>
}

const EXAMPLE = "for example 'mon-fri 18:00-08:00; sat,sun 00:00-24:00'"

const DAY_NAMES: ReadonlyArray<readonly string[]> = [
  ['sun', 'sunday'],
  ['mon', 'monday'],
  ['tue', 'tues', 'tuesday'],
  ['wed', 'wednesday'],
  ['thu', 'thur', 'thurs', 'thursday'],
  ['fri', 'friday'],
  ['sat', 'saturday'],
]

const SHORT = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

const KEYWORDS: ReadonlyMap<string, number[]> = new Map([
  ['daily', [0, 1, 2, 3, 4, 5, 6]],
  ['everyday', [0, 1, 2, 3, 4, 5, 6]],
  ['weekdays', [1, 2, 3, 4, 5]],
  ['weekends', [0, 6]],
  ['weekend', [0, 6]],
])

function dayIndex(name: string): number | null {
  const n = name.toLowerCase()
  const i = DAY_NAMES.findIndex((names) => names.includes(n))
  return i < 0 ? null : i
}

function fail(text: string, why: string, example = true): never {
  const shown = text.trim() === '' ? '' : ` '${text.trim()}'`
  throw new Error(`Invalid schedule${shown}: ${why}${example ? ` (${EXAMPLE})` : ''}`)
}

/** Minutes of the day for 'HH:MM'; `end` allows 24:00. */
function parseTime(text: string, token: string, t: string, end: boolean): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(t)
  if (!m) fail(text, `'${token}' is not a time range: write HH:MM-HH:MM, like 09:00-17:00`)
  const h = Number(m?.[1])
  const min = Number(m?.[2])
  if (h === 24 && min === 0 && end) return 1440
  if (h === 24 && min === 0) fail(text, `'${t}' in '${token}' can only end a range; start at 00:00`)
  if (h > 23) fail(text, `'${t}' in '${token}' is not a time of day (hours go from 00 to 23)`)
  if (min > 59) fail(text, `'${t}' in '${token}' is not a time of day (minutes go from 00 to 59)`)
  return h * 60 + min
}

function parseRange(text: string, token: string): [number, number] {
  const parts = token.split('-')
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    fail(text, `'${token}' is not a time range: write start-end, like 09:00-17:00`)
  }
  const start = parseTime(text, token, parts[0] ?? '', false)
  const end = parseTime(text, token, parts[1] ?? '', true)
  if (start === end) {
    fail(text, `'${token}' starts when it ends; for all day write 00:00-24:00`)
  }
  return [start, end]
}

function parseDays(text: string, token: string): number[] {
  const kw = KEYWORDS.get(token.toLowerCase())
  if (kw) return kw
  const parts = token.split('-')
  const hint =
    'use mon, tue, wed, thu, fri, sat, sun, a range like mon-fri, daily, weekdays or weekends'
  if (parts.length > 2 || parts.some((p) => p === '')) {
    fail(text, `'${token}' is not a day or a range of days: ${hint}`)
  }
  const idx = parts.map((p) => {
    const i = dayIndex(p)
    if (i === null) fail(text, `'${p}' is not a day: ${hint}`)
    return i ?? 0
  })
  if (idx.length === 1) return [idx[0] ?? 0]
  const [a, b] = idx as [number, number]
  const days: number[] = []
  for (let d = a; ; d = (d + 1) % 7) {
    days.push(d)
    if (d === b) break
  }
  return days
}

/** Adds [start, end) (end < start wraps within the day) to a day's minute set. */
function addRange(day: Array<[number, number]>, [start, end]: [number, number]): void {
  if (end > start) day.push([start, end])
  else {
    if (end > 0) day.push([0, end])
    day.push([start, 1440])
  }
}

function merge(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...intervals].sort((x, y) => x[0] - y[0] || x[1] - y[1])
  const out: Array<[number, number]> = []
  for (const [s, e] of sorted) {
    const last = out[out.length - 1]
    if (last && s <= last[1]) last[1] = Math.max(last[1], e)
    else out.push([s, e])
  }
  return out
}

/**
 * Parses a schedule (grammar and meaning at the top of the file). Throws an Error that names the
 * bad part and shows an example.
 */
export function parseSchedule(text: string): Schedule {
  if (typeof text !== 'string') fail('', 'expected text')
  const trimmed = text.trim()
  if (trimmed === '') {
    fail(
      text,
      'it is empty; write when jobs may run, like 09:00-17:00, or clear it for any hour',
      false,
    )
  }
  const rules: ScheduleRule[] = []
  for (const piece of trimmed.split(/[;\n]/)) {
    const normal = piece
      .replace(/\s*-\s*/g, '-')
      .replace(/\s*,\s*/g, ',')
      .trim()
    if (normal === '') continue
    const tokens = normal.split(/[\s,]+/).filter((t) => t !== '')
    // Group the tokens: day tokens, then range tokens; a day after a range starts a new rule.
    let days: string[] = []
    let ranges: string[] = []
    const flush = () => {
      if (ranges.length === 0) {
        const what = days.join(',')
        fail(text, `'${what}' has no hours: add a time range, like '${what} 10:00-14:00'`)
      }
      const ruleDays =
        days.length === 0 ? [0, 1, 2, 3, 4, 5, 6] : days.flatMap((d) => parseDays(text, d))
      const label = [days.join(','), ranges.join(', ')].filter((x) => x !== '').join(' ')
      rules.push({
        text: label,
        days: [...new Set(ruleDays)].sort((x, y) => x - y),
        ranges: ranges.map((r) => parseRange(text, r)),
      })
      days = []
      ranges = []
    }
    for (const token of tokens) {
      if (/^\d/.test(token) || token.includes(':')) ranges.push(token)
      else {
        if (ranges.length > 0) flush()
        days.push(token)
      }
    }
    flush()
  }
  if (rules.length === 0) fail(text, 'no rules: write when jobs may run, like 09:00-17:00')

  // Later rules replace earlier ones day by day; a rule replaced on all its days is refused.
  const owner: number[] = new Array(7).fill(-1)
  rules.forEach((rule, i) => {
    for (const d of rule.days) owner[d] = i
  })
  rules.forEach((rule, i) => {
    if (rule.days.every((d) => owner[d] !== i)) {
      const later = [...new Set(rule.days.map((d) => owner[d] ?? 0))].map(
        (j) => `'${rules[j]?.text ?? ''}'`,
      )
      const on = rule.days.length === 7 ? 'every day' : rule.days.map((d) => SHORT[d]).join(', ')
      fail(
        text,
        `'${rule.text}' does nothing: the later ${later.length > 1 ? 'rules' : 'rule'} ` +
          `${later.join(' and ')} ${later.length > 1 ? 'replace' : 'replaces'} it on ${on}. ` +
          "Put the general rule first, or give a day several windows in one rule, like 'mon " +
          "09:00-12:00, 13:00-17:00'",
        false,
      )
    }
  })
  const week: Array<Array<[number, number]>> = []
  for (let d = 0; d < 7; d++) {
    const day: Array<[number, number]> = []
    const rule = owner[d] === -1 ? null : rules[owner[d] ?? 0]
    for (const r of rule?.ranges ?? []) addRange(day, r)
    week.push(merge(day))
  }
  return { text: trimmed, rules, week }
}

/** Whether `minute` (0..1439) of weekday `day` is inside the schedule. */
function inWeek(s: Schedule, day: number, minute: number): boolean {
  return (s.week[day] ?? []).some(([a, b]) => minute >= a && minute < b)
}

/** Whether jobs may run at `date` (its local weekday, hour and minute). */
export function inSchedule(s: Schedule, date: Date): boolean {
  return inWeek(s, date.getDay(), date.getHours() * 60 + date.getMinutes())
}

/**
 * The next local time, after `date`, at which inSchedule changes; null when it never does (a
 * schedule that covers the whole week). Minute resolution: the Date is at a whole minute.
 */
export function nextChange(s: Schedule, date: Date): Date | null {
  const now = inSchedule(s, date)
  const y = date.getFullYear()
  const mo = date.getMonth()
  const d0 = date.getDate()
  // The state depends on (weekday, minute) only, so one week and a day covers every change.
  for (let k = 0; k <= 8; k++) {
    const day = new Date(y, mo, d0 + k, 12).getDay()
    const edges = new Set<number>([0])
    for (const [a, b] of s.week[day] ?? []) {
      edges.add(a)
      if (b < 1440) edges.add(b)
    }
    for (const minute of [...edges].sort((a, b) => a - b)) {
      if (inWeek(s, day, minute) !== now) {
        let at = new Date(y, mo, d0 + k, Math.floor(minute / 60), minute % 60)
        if (at.getTime() <= date.getTime()) {
          // In the hour the fall-back change repeats, the same local time comes again.
          const again = new Date(at.getTime() + 3600_000)
          if (again.getHours() === at.getHours() && again.getMinutes() === at.getMinutes()) {
            at = again
          }
        }
        // A local time the spring-forward change skips becomes the time after the gap, where
        // the state may not have changed at all (a window inside the skipped hour doesn't
        // happen that day): only a real change, after `date`, counts.
        if (at.getTime() > date.getTime() && inSchedule(s, at) !== now) return at
      }
    }
  }
  return null
}

/** 'HH:MM' for minutes of the day (1440 → '24:00'). */
export function formatMinutes(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
}
