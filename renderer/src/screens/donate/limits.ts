// The donation limits, as the Donate screen names and explains them, and how each one's field
// reads and writes it: the five disk and bandwidth limits, and the CPU ones. A limit's type comes
// from the contract (a number, a boolean, a schedule string, each maybe null); its definition turns
// it into what its field shows (a Draft) and reads the field back into a change for donate.set.
import type { DonateStatus } from '../../../../shared/contract.ts'
import {
  formatDurationMs,
  formatIdleMs,
  parseBusyPercent,
  parseCores,
  parseCpuPercent,
  parseIdleMs,
  parseJobMemory,
  parseJobWallMs,
  parseSchedule,
} from '../../lib/cpu-units.ts'
import {
  formatExactSize,
  formatLimit,
  parseLimit,
  type DiskRule,
  type LimitKind,
  type Parsed,
} from '../../lib/units.ts'

export type Limits = DonateStatus['limits']
export type LimitKey = keyof Limits

/** What a limit's field holds: whether its switch (or checkbox) is on, and its text. */
export interface Draft {
  on: boolean
  text: string
}

/**
 * How a limit is edited:
 *  - 'switch': a switch turns it off (null) or on, and a text field holds its value;
 *  - 'text': a text field only (empty may mean off, as the limit's parser says);
 *  - 'checkbox': on or off, nothing to type.
 */
export type LimitControl = 'switch' | 'text' | 'checkbox'

/** One limit's field, whatever the type of its value. */
export interface LimitDef {
  key: LimitKey
  control: LimitControl
  /** The field's label and the limit's name everywhere on the screen. */
  label: string
  hint: (status: DonateStatus) => string
  placeholder: string
  inputMode?: 'numeric' | 'decimal'
  /** What the field starts with: the node's value. */
  draftOf: (limits: Limits) => Draft
  /**
   * The change the field asks for: {} when it says what the node has, one key otherwise; or the
   * sentence that says what is wrong with it.
   */
  changeOf: (draft: Draft, status: DonateStatus) => Parsed<Partial<Limits>>
  /** Whether a refusal from the node is about this limit (its message names it). */
  names: (message: string) => boolean
}

interface LimitSpec<K extends LimitKey> {
  key: K
  control: LimitControl
  label: string
  hint: string | ((status: DonateStatus) => string)
  placeholder: string
  inputMode?: 'numeric' | 'decimal'
  toDraft: (value: Limits[K]) => Draft
  fromDraft: (draft: Draft, status: DonateStatus) => Parsed<Limits[K]>
  /** Words of the node's refusals that point at this limit, besides its key. */
  mentions?: RegExp
}

function defineLimit<K extends LimitKey>(spec: LimitSpec<K>): LimitDef {
  const { key, hint, mentions } = spec
  return {
    key,
    control: spec.control,
    label: spec.label,
    hint: typeof hint === 'string' ? () => hint : hint,
    placeholder: spec.placeholder,
    ...(spec.inputMode ? { inputMode: spec.inputMode } : {}),
    draftOf: (limits) => spec.toDraft(limits[key]),
    changeOf: (draft, status) => {
      const parsed = spec.fromDraft(draft, status)
      if (!parsed.ok) return parsed
      const change: Partial<Limits> = {}
      if (!Object.is(parsed.value, status.limits[key])) change[key] = parsed.value
      return { ok: true, value: change }
    },
    names: (message) => message.includes(key) || (mentions?.test(message) ?? false),
  }
}

/** A limit that is a number or off (null), behind a switch. */
function switchable(
  format: (value: number) => string,
  parse: (text: string, status: DonateStatus) => Parsed<number | null>,
): {
  control: 'switch'
  toDraft: (value: number | null) => Draft
  fromDraft: (draft: Draft, status: DonateStatus) => Parsed<number | null>
} {
  return {
    control: 'switch',
    toDraft: (value) =>
      value === null ? { on: false, text: '' } : { on: true, text: format(value) },
    fromDraft: (draft, status) =>
      draft.on ? parse(draft.text, status) : { ok: true, value: null },
  }
}

function diskLimit(kind: LimitKind) {
  return switchable(
    (value) => formatLimit(kind, value),
    (text) => parseLimit(kind, text),
  )
}

export const DISK_LIMITS: readonly LimitDef[] = [
  defineLimit({
    key: 'diskBytes',
    ...diskLimit('size'),
    label: 'Size limit',
    hint: 'Donate at most this much, like 50GB, 1.5 GiB or 500MB.',
    placeholder: '50GB',
  }),
  defineLimit({
    key: 'diskPercent',
    ...diskLimit('percent'),
    label: 'Share of the disk',
    hint: 'Donate at most this share of the disk’s size, like 20%.',
    placeholder: '20%',
  }),
  defineLimit({
    key: 'leaveFreeBytes',
    ...diskLimit('size'),
    label: 'Leave free',
    hint: 'Hosted data grows only while the disk keeps this much free, like 10GB.',
    placeholder: '10GB',
  }),
]

export const RATE_LIMITS: readonly LimitDef[] = [
  defineLimit({
    key: 'upBytesPerSec',
    ...diskLimit('rate'),
    label: 'Upload limit',
    hint: 'How fast this node sends hosted data to others, like 2MB/s.',
    placeholder: '2MB/s',
  }),
  defineLimit({
    key: 'downBytesPerSec',
    ...diskLimit('rate'),
    label: 'Download limit',
    hint: 'How fast this node fetches data it agreed to host, like 5MB/s.',
    placeholder: '5MB/s',
  }),
]

export const ALL_LIMITS: readonly LimitDef[] = [...DISK_LIMITS, ...RATE_LIMITS]

/** The CPU limits, BOINC's: how much, how many cores, when. */
export const CPU_LIMITS: readonly LimitDef[] = [
  defineLimit({
    key: 'cpuPercent',
    control: 'text',
    label: 'Use at most this much CPU time',
    hint: 'A share of each core’s time, like 25%: jobs are paused and resumed ten times a second to stay at it. 0 or empty: donate no CPU.',
    placeholder: '0 (no CPU donated)',
    inputMode: 'decimal',
    // 0 and null both mean no CPU; the field shows either as empty.
    toDraft: (value) => ({ on: true, text: value ? `${value}%` : '' }),
    fromDraft: (draft, status) => {
      const parsed = parseCpuPercent(draft.text)
      // Emptied while the node says 0: nothing changes.
      if (parsed.ok && parsed.value === null && !status.limits.cpuPercent) {
        return { ok: true, value: status.limits.cpuPercent }
      }
      return parsed
    },
  }),
  defineLimit({
    key: 'cpuCores',
    control: 'text',
    label: 'Cores to use',
    hint: (status) => {
      const n = status.cpu.machineCores
      return `How many jobs run at once, one core each: 1 to ${n} (this computer has ${n} ${n === 1 ? 'core' : 'cores'}).`
    },
    placeholder: '1',
    inputMode: 'numeric',
    toDraft: (value) => ({ on: true, text: String(value) }),
    fromDraft: (draft, status) => parseCores(draft.text, status.cpu.machineCores),
    mentions: /\bcores?\b/i,
  }),
  defineLimit({
    key: 'onlyIdleMs',
    ...switchable(formatIdleMs, parseIdleMs),
    label: 'Only when the computer has been idle for',
    hint: 'Minutes without keyboard or mouse input, like 3 (or 90 s, 1 h). Off: jobs also run while you use the computer.',
    placeholder: '3',
    mentions: /\bidle\b/i,
  }),
  defineLimit({
    key: 'suspendAboveOtherPercent',
    ...switchable((value) => `${value}%`, parseBusyPercent),
    label: 'Suspend while other programs use more than',
    hint: 'A share of the whole computer’s CPU, like 25%: jobs wait while your own programs need it. Off: never.',
    placeholder: '25%',
  }),
  defineLimit({
    key: 'allowOnBattery',
    control: 'checkbox',
    label: 'Also on battery power',
    hint: 'Off: jobs are suspended while the computer runs on battery.',
    placeholder: '',
    toDraft: (value) => ({ on: value, text: '' }),
    fromDraft: (draft) => ({ ok: true, value: draft.on }),
    mentions: /\bbattery\b/i,
  }),
  defineLimit({
    key: 'schedule',
    control: 'text',
    label: 'Daily schedule',
    hint: 'When jobs may run, like 09:00-17:00, or mon-fri 18:00-08:00; sat,sun 00:00-24:00. Empty: at any time.',
    placeholder: 'At any time',
    toDraft: (value) => ({ on: true, text: value ?? '' }),
    fromDraft: (draft) => parseSchedule(draft.text),
    mentions: /\bschedule\b/i,
  }),
]

/** The limits of each job, tucked away under "Limits per job". */
export const JOB_LIMITS: readonly LimitDef[] = [
  defineLimit({
    key: 'jobMemoryBytes',
    control: 'text',
    label: 'Memory per job',
    hint: 'At most this much memory for one job, like 256 MiB (16 MiB to 64 GiB). A job that needs more fails.',
    placeholder: '256 MiB',
    toDraft: (value) => ({ on: true, text: formatExactSize(value) }),
    fromDraft: (draft) => parseJobMemory(draft.text),
    mentions: /\bmemory\b/i,
  }),
  defineLimit({
    key: 'jobWallMs',
    control: 'text',
    label: 'Time per job',
    hint: 'At most this long for one job on this computer, like 10 min or 1 h (1 s to 24 h). A job that takes longer is stopped.',
    placeholder: '10 min',
    toDraft: (value) => ({ on: true, text: formatDurationMs(value) }),
    fromDraft: (draft) => parseJobWallMs(draft.text),
    mentions: /\bwall\b/i,
  }),
]

export const ALL_CPU_LIMITS: readonly LimitDef[] = [...CPU_LIMITS, ...JOB_LIMITS]

/** The disk rules of the budget, in the engine's order, with the limit each comes from. */
export const DISK_RULES: ReadonlyArray<{ rule: DiskRule; limit: LimitDef }> = [
  { rule: 'disk', limit: DISK_LIMITS[0] as LimitDef },
  { rule: 'percent', limit: DISK_LIMITS[1] as LimitDef },
  { rule: 'leaveFree', limit: DISK_LIMITS[2] as LimitDef },
]

export function ruleName(rule: DiskRule): string {
  return DISK_RULES.find((r) => r.rule === rule)?.limit.label ?? rule
}
