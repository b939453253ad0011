// How much disk is donated: the budget and the rule that sets it, the hosted data against each
// disk limit's cap, and the disk itself.
import { CircleSlash, HardDrive } from 'lucide-react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { Meter } from '../../components/Meter.tsx'
import { Badge, Stat } from '../../components/ui.tsx'
import { formatBytes, percent } from '../../lib/format.ts'
import type { DiskRule } from '../../lib/units.ts'
import { DISK_RULES, ruleName } from './limits.ts'

const BINDING_PHRASE: Record<DiskRule, string> = {
  disk: 'the size limit',
  percent: 'the share of the disk',
  leaveFree: 'the free space to leave',
}

/** What a rule's limit says, in words: "at most 50 GB", "at most 20 % of the disk". */
function ruleSetting(rule: DiskRule, status: DonateStatus): string {
  const { limits } = status
  if (rule === 'disk')
    return limits.diskBytes === null ? '' : `at most ${formatBytes(limits.diskBytes)}`
  if (rule === 'percent')
    return limits.diskPercent === null ? '' : `at most ${limits.diskPercent} % of the disk`
  return limits.leaveFreeBytes === null ? '' : `keep ${formatBytes(limits.leaveFreeBytes)} free`
}

function RuleRow({ rule, status }: { rule: DiskRule; status: DonateStatus }) {
  const name = ruleName(rule)
  const cap = status.disk.byRule[rule]
  const binding = status.disk.binding === rule
  const used = status.usedBytes
  const over = cap !== null && used > cap
  return (
    <li aria-label={name} className="space-y-1.5 py-3 first:pt-0 last:pb-0">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-sm">
        <span className="font-medium text-zinc-900 dark:text-zinc-100">{name}</span>
        {cap === null ? (
          <Badge>Off</Badge>
        ) : (
          <span className="text-xs text-zinc-500 dark:text-zinc-400">
            {ruleSetting(rule, status)}
          </span>
        )}
        {binding ? <Badge tone="indigo">Binding</Badge> : null}
        {over ? <Badge tone="amber">Over by {formatBytes(used - cap)}</Badge> : null}
        {cap !== null ? (
          <span className="ml-auto text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
            {formatBytes(used)} of {formatBytes(cap)}
          </span>
        ) : null}
      </div>
      {cap !== null ? (
        <Meter
          label={`${name}: used of its cap`}
          value={used}
          max={cap}
          text={`${formatBytes(used)} of ${formatBytes(cap)}`}
          tone={over ? 'amber' : binding ? 'indigo' : 'zinc'}
        />
      ) : null}
    </li>
  )
}

export function DiskUsage({ status }: { status: DonateStatus }) {
  const { disk, fs, usedBytes } = status
  const none = disk.binding === 'none'
  const diskUsed = Math.max(0, fs.total - fs.free)
  return (
    <div className="space-y-5 p-5">
      {none ? (
        <p
          data-testid="donate-summary"
          className="flex items-start gap-2.5 rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2.5 text-sm text-zinc-700 dark:border-zinc-800 dark:bg-zinc-900/60 dark:text-zinc-300"
        >
          <CircleSlash aria-hidden="true" className="mt-0.5 size-4 shrink-0 text-zinc-500" />
          <span>
            <strong className="font-medium text-zinc-900 dark:text-zinc-100">
              Donating nothing until you set a disk limit.
            </strong>{' '}
            Turn on a size limit, a share of the disk or a free-space limit below.
          </span>
        </p>
      ) : (
        <div className="space-y-1.5">
          <p data-testid="donate-summary" className="text-sm text-zinc-700 dark:text-zinc-300">
            Donating up to{' '}
            <strong className="font-semibold text-zinc-900 dark:text-zinc-100">
              {formatBytes(disk.budget)}
            </strong>
            , set by {BINDING_PHRASE[disk.binding as DiskRule]}, the smallest of the limits that are
            on. {formatBytes(usedBytes)} used ({percent(usedBytes, disk.budget)} %).
          </p>
          <Meter
            label="Donated disk used"
            value={usedBytes}
            max={disk.budget}
            text={`${formatBytes(usedBytes)} of ${formatBytes(disk.budget)}`}
            tone={usedBytes > disk.budget ? 'amber' : 'indigo'}
          />
        </div>
      )}

      <ul aria-label="Disk limits" className="divide-y divide-zinc-100 dark:divide-zinc-800">
        {DISK_RULES.map(({ rule }) => (
          <RuleRow key={rule} rule={rule} status={status} />
        ))}
      </ul>

      <div className="rounded-lg border border-zinc-200 p-4 dark:border-zinc-800">
        <div className="mb-3 flex flex-wrap items-center gap-2">
          <HardDrive aria-hidden="true" className="size-4 text-zinc-500" />
          <h3 className="text-sm font-medium text-zinc-900 dark:text-zinc-100">This disk</h3>
          <span className="ml-auto text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
            {formatBytes(diskUsed)} used, {formatBytes(fs.free)} free of {formatBytes(fs.total)}
          </span>
        </div>
        <Meter
          label="Disk space used"
          value={diskUsed}
          max={fs.total}
          text={`${formatBytes(diskUsed)} used, ${formatBytes(fs.free)} free of ${formatBytes(fs.total)}`}
          tone="sky"
        />
        <dl className="mt-3 grid grid-cols-2 gap-x-4 gap-y-3 sm:grid-cols-4">
          <Stat label="Free">{formatBytes(fs.free)}</Stat>
          <Stat label="Size">{formatBytes(fs.total)}</Stat>
          <Stat label="Kept for others">{formatBytes(usedBytes)}</Stat>
          <Stat label="Donating up to">{none ? 'Nothing' : formatBytes(disk.budget)}</Stat>
        </dl>
      </div>
    </div>
  )
}
