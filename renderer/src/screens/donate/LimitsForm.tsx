// The disk and bandwidth limits: three disk limits (the smallest wins) and the two hosting rates.
// Each can be switched off (or typed as 'off'); what is typed is checked here with the engine's
// rules before anything is sent, and Save sends donate.set with only the limits that changed.
import { TriangleAlert } from 'lucide-react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { ErrorAlert } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { formatBytes, formatCount } from '../../lib/format.ts'
import { diskBudget } from '../../lib/units.ts'
import { LimitField } from './LimitField.tsx'
import { SaveRow } from './SaveRow.tsx'
import { ALL_LIMITS, DISK_LIMITS, RATE_LIMITS, type LimitDef, type Limits } from './limits.ts'
import { useLimitsForm } from './useLimitsForm.ts'

/**
 * What saving the edited `change` would do to the folders kept for others, or null when nothing.
 * Only an edit that lowers what may be kept below what is kept warns: hosted data already over
 * the current limits (the disk filled up, or the node has yet to evict) is DiskUsage's to show,
 * and nothing edited drops nothing more.
 */
function evictionWarning(status: DonateStatus, change: Partial<Limits>): string | null {
  if (status.hosting.length === 0 || Object.keys(change).length === 0) return null
  const now = diskBudget(status.limits, status.usedBytes, status.fs)
  const next = diskBudget({ ...status.limits, ...change }, status.usedBytes, status.fs)
  if (next.budget >= status.usedBytes || next.budget >= now.budget) return null
  const n = status.hosting.length
  if (next.binding === 'none') {
    return `With no disk limit this node donates nothing: the ${formatCount(n)} ${n === 1 ? 'folder' : 'folders'} it keeps for others will be dropped.`
  }
  return `With these limits this node can keep ${formatBytes(next.budget)}, less than the ${formatBytes(status.usedBytes)} it keeps for others now: folders are dropped, least recently needed first, until it fits.`
}

export function LimitsForm({
  status,
  onSaved,
}: {
  status: DonateStatus
  onSaved: (status: DonateStatus) => void
}) {
  const form = useLimitsForm({ defs: ALL_LIMITS, status, onSaved })
  const warning = evictionWarning(status, form.change)
  const field = (def: LimitDef) => <LimitField key={def.key} {...form.field(def)} />

  return (
    <form noValidate onSubmit={(e) => void form.submit(e)} className="space-y-6 p-5">
      <fieldset className="space-y-4">
        <legend className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">Disk</legend>
        <p className="-mt-2 text-xs text-zinc-500 dark:text-zinc-400">
          Nothing is donated until at least one disk limit is on. With several, the smallest one
          wins.
        </p>
        <div className="grid gap-5 md:grid-cols-3">{DISK_LIMITS.map(field)}</div>
      </fieldset>
      <fieldset className="space-y-4">
        <legend className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">
          Bandwidth for hosting
        </legend>
        <p className="-mt-2 text-xs text-zinc-500 dark:text-zinc-400">
          Only traffic for folders kept for others is limited; your own folders sync at full speed.
          Off means no limit.
        </p>
        <div className="grid gap-5 md:grid-cols-2">{RATE_LIMITS.map(field)}</div>
      </fieldset>
      {warning ? (
        <p className="flex items-start gap-2.5 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2.5 text-sm text-amber-900 dark:border-amber-900/70 dark:bg-amber-950/50 dark:text-amber-100">
          <TriangleAlert aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
          <span>{warning}</span>
        </p>
      ) : null}
      <SaveRow form={form} label="Save limits" savedText="Limits saved." />
      {form.error ? (
        <ErrorAlert title="Couldn’t save the limits">{errorMessage(form.error)}</ErrorAlert>
      ) : null}
    </form>
  )
}
