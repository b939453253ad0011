// The five donation limits, as the Donate screen names and explains them.
import type { DonateStatus } from '../../../../shared/contract.ts'
import type { DiskRule, LimitKind } from '../../lib/units.ts'

export type Limits = DonateStatus['limits']
export type LimitKey = keyof Limits

export interface LimitDef {
  key: LimitKey
  kind: LimitKind
  /** The field's label and the limit's name everywhere on the screen. */
  label: string
  hint: string
  placeholder: string
}

export const DISK_LIMITS: readonly LimitDef[] = [
  {
    key: 'diskBytes',
    kind: 'size',
    label: 'Size limit',
    hint: 'Donate at most this much, like 50GB, 1.5 GiB or 500MB.',
    placeholder: '50GB',
  },
  {
    key: 'diskPercent',
    kind: 'percent',
    label: 'Share of the disk',
    hint: 'Donate at most this share of the disk’s size, like 20%.',
    placeholder: '20%',
  },
  {
    key: 'leaveFreeBytes',
    kind: 'size',
    label: 'Leave free',
    hint: 'Hosted data grows only while the disk keeps this much free, like 10GB.',
    placeholder: '10GB',
  },
]

export const RATE_LIMITS: readonly LimitDef[] = [
  {
    key: 'upBytesPerSec',
    kind: 'rate',
    label: 'Upload limit',
    hint: 'How fast this node sends hosted data to others, like 2MB/s.',
    placeholder: '2MB/s',
  },
  {
    key: 'downBytesPerSec',
    kind: 'rate',
    label: 'Download limit',
    hint: 'How fast this node fetches data it agreed to host, like 5MB/s.',
    placeholder: '5MB/s',
  },
]

export const ALL_LIMITS: readonly LimitDef[] = [...DISK_LIMITS, ...RATE_LIMITS]

/** The disk rules of the budget, in the engine's order, with the limit each comes from. */
export const DISK_RULES: ReadonlyArray<{ rule: DiskRule; limit: LimitDef }> = [
  { rule: 'disk', limit: DISK_LIMITS[0] as LimitDef },
  { rule: 'percent', limit: DISK_LIMITS[1] as LimitDef },
  { rule: 'leaveFree', limit: DISK_LIMITS[2] as LimitDef },
]

export function ruleName(rule: DiskRule): string {
  return DISK_RULES.find((r) => r.rule === rule)?.limit.label ?? rule
}
