// The CPU limits, as BOINC volunteers know them: how much CPU time jobs may use and on how many
// cores; when they may run (only when idle, not while other programs are busy, not on battery,
// within a daily schedule); and, tucked away, what one job may take. Checked here with the
// contract's ranges before anything is sent; the schedule's grammar is the engine's to check, and
// its refusal is shown at the schedule's field.
import { useRef, useState } from 'react'
import { ChevronRight } from 'lucide-react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { ErrorAlert } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { LimitField } from './LimitField.tsx'
import { SaveRow } from './SaveRow.tsx'
import { ALL_CPU_LIMITS, CPU_LIMITS, JOB_LIMITS, type LimitDef, type LimitKey } from './limits.ts'
import { useLimitsForm } from './useLimitsForm.ts'

const JOB_KEYS: ReadonlySet<LimitKey> = new Set(JOB_LIMITS.map((d) => d.key))

function byKey(key: LimitKey): LimitDef {
  const def = CPU_LIMITS.find((d) => d.key === key)
  if (!def) throw new Error(`no CPU limit ${key}`)
  return def
}

export function CpuLimitsForm({
  status,
  onSaved,
}: {
  status: DonateStatus
  onSaved: (status: DonateStatus) => void
}) {
  const details = useRef<HTMLDetailsElement>(null)
  const [advancedOpen, setAdvancedOpen] = useState(false)
  const form = useLimitsForm({
    defs: ALL_CPU_LIMITS,
    status,
    onSaved,
    beforeFocus: (key) => {
      // A field to fix under "Limits per job": open it first, or the field can't take focus.
      if (JOB_KEYS.has(key) && details.current && !details.current.open) {
        details.current.open = true
        setAdvancedOpen(true)
      }
    },
  })
  const field = (key: LimitKey) => <LimitField key={key} {...form.field(byKey(key))} />

  return (
    <form noValidate onSubmit={(e) => void form.submit(e)} className="space-y-6 p-5">
      <p className="text-xs text-zinc-500 dark:text-zinc-400">
        Jobs are small WebAssembly programs other Spare nodes submit. They run in a sandbox that
        can’t reach your files or the network, and each result is compared with other donors’: one
        that agrees is credited in your ledger.
      </p>
      <fieldset className="space-y-4">
        <legend className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">How much</legend>
        <div className="grid gap-5 md:grid-cols-2">
          {field('cpuPercent')}
          {field('cpuCores')}
        </div>
      </fieldset>
      <fieldset className="space-y-4">
        <legend className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">When</legend>
        <div className="grid gap-5 md:grid-cols-2">
          {field('onlyIdleMs')}
          {field('suspendAboveOtherPercent')}
        </div>
        {field('schedule')}
        {field('allowOnBattery')}
      </fieldset>
      <details
        ref={details}
        open={advancedOpen}
        onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}
        className="group rounded-lg border border-zinc-200 dark:border-zinc-800"
      >
        <summary className="flex cursor-pointer list-none items-center gap-2 rounded-lg px-3 py-2 text-sm font-medium text-zinc-700 select-none hover:bg-zinc-50 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-300 dark:hover:bg-zinc-800/60 [&::-webkit-details-marker]:hidden">
          <ChevronRight
            aria-hidden="true"
            className="size-4 shrink-0 transition-transform group-open:rotate-90"
          />
          Limits per job
        </summary>
        <div className="grid gap-5 border-t border-zinc-200 p-4 md:grid-cols-2 dark:border-zinc-800">
          {JOB_LIMITS.map((def) => (
            <LimitField key={def.key} {...form.field(def)} />
          ))}
        </div>
      </details>
      <SaveRow form={form} label="Save CPU limits" savedText="CPU limits saved." />
      {form.error ? (
        <ErrorAlert title="Couldn’t save the CPU limits">{errorMessage(form.error)}</ErrorAlert>
      ) : null}
    </form>
  )
}
